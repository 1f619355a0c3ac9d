/* SPDX-License-Identifier: Apache-2.0 */
/* Checks of the C API written in C (linux_api_c.c) and run by linux_api_test.cc: each returns 0
 * when it passes, else the line of the first check that failed. */
#ifndef DMAKIT_TESTS_LINUX_API_C_H
#define DMAKIT_TESTS_LINUX_API_C_H

#include "dmakit/linux/machine.h"

#ifdef __cplusplus
extern "C" {
#endif

int c_bad_machine_configs_are_refused(void);
int c_streaming_maps_move_bytes(const struct dmakit_machine_config* cfg);
int c_scatterlists_map_and_move_bytes(const struct dmakit_machine_config* cfg);
int c_coherent_memory_and_pools_are_shared_with_the_device(const struct dmakit_machine_config* cfg);
int c_declared_memory_serves_coherent_allocations(const struct dmakit_machine_config* cfg);
int c_mask_allocations_stay_under_their_masks(const struct dmakit_machine_config* cfg);
int c_vmalloc_memory_is_not_one_dma_buffer(const struct dmakit_machine_config* cfg);
int c_bad_calls_report_and_change_nothing(const struct dmakit_machine_config* cfg);
int c_huge_sizes_are_refused_not_wrapped(const struct dmakit_machine_config* cfg);
int c_map_page_refuses_offsets_that_wrap(const struct dmakit_machine_config* cfg);
int c_looping_or_short_scatterlists_are_refused(const struct dmakit_machine_config* cfg);
int c_dmaengine_copies_and_reports(const struct dmakit_machine_config* cfg);
int c_misuse_checker_reports_a_buggy_driver(const struct dmakit_machine_config* cfg);
int c_remaining_names_keep_the_kernels_meaning(const struct dmakit_machine_config* cfg);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_TESTS_LINUX_API_C_H */
