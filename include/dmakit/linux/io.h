/* SPDX-License-Identifier: Apache-2.0 */
/* CPU-side address conversions (asm/io.h) for the direct map of the current machine. */
#ifndef DMAKIT_LINUX_IO_H
#define DMAKIT_LINUX_IO_H

#include "dmakit/linux/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The physical address of a direct-map pointer; 0 (with dmakit_last_error set) for a pointer that
 * is not one, such as vmalloc memory. */
phys_addr_t virt_to_phys(const volatile void* addr);
/* The direct-map pointer of a RAM address; NULL outside RAM. */
void* phys_to_virt(phys_addr_t addr);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_IO_H */
