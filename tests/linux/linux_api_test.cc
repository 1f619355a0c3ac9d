// SPDX-License-Identifier: Apache-2.0
// Runs the C11 checks of linux_api_c.c on every platform kind a driver meets: no IOMMU with bounce
// buffers, IOMMU strict and lazy, and passthrough, each with RAM above 4 GiB.
#include <gtest/gtest.h>

#include <string>

#include "dmakit/linux/machine.h"
#include "linux/linux_api_c.h"

namespace {

struct Platform {
  const char* name;
  int iommu;
};

class LinuxApi : public ::testing::TestWithParam<Platform> {
 protected:
  dmakit_machine_config config() const {
    dmakit_machine_config c;
    dmakit_machine_config_default(&c);
    c.iommu = GetParam().iommu;
    return c;
  }
};

// Each check returns the line of its first failed CHECK, 0 when all passed.
#define EXPECT_C_PASSES(call) EXPECT_EQ((call), 0) << "linux_api_c.c line; " << dmakit_last_error()

TEST(LinuxApiMachine, BadConfigsAreRefusedWithTheFieldNamed) {
  EXPECT_C_PASSES(c_bad_machine_configs_are_refused());
}

// One test per C check, on every platform.
#define C_CHECK_ON_EVERY_PLATFORM(Name, check) \
  TEST_P(LinuxApi, Name) {                     \
    const dmakit_machine_config c = config();  \
    EXPECT_C_PASSES(check(&c));                \
  }

C_CHECK_ON_EVERY_PLATFORM(StreamingMapsMoveBytes, c_streaming_maps_move_bytes)
C_CHECK_ON_EVERY_PLATFORM(ScatterlistsMapAndMoveBytes, c_scatterlists_map_and_move_bytes)
C_CHECK_ON_EVERY_PLATFORM(CoherentMemoryAndPoolsAreSharedWithTheDevice,
                          c_coherent_memory_and_pools_are_shared_with_the_device)
C_CHECK_ON_EVERY_PLATFORM(DeclaredMemoryServesCoherentAllocations,
                          c_declared_memory_serves_coherent_allocations)
C_CHECK_ON_EVERY_PLATFORM(MaskAllocationsStayUnderTheirMasks,
                          c_mask_allocations_stay_under_their_masks)
C_CHECK_ON_EVERY_PLATFORM(VmallocMemoryIsNotOneDmaBuffer, c_vmalloc_memory_is_not_one_dma_buffer)
C_CHECK_ON_EVERY_PLATFORM(BadCallsReportAndChangeNothing, c_bad_calls_report_and_change_nothing)
C_CHECK_ON_EVERY_PLATFORM(DmaengineCopiesAndReports, c_dmaengine_copies_and_reports)
C_CHECK_ON_EVERY_PLATFORM(MisuseCheckerReportsABuggyDriver, c_misuse_checker_reports_a_buggy_driver)
C_CHECK_ON_EVERY_PLATFORM(RemainingNamesKeepTheKernelsMeaning,
                          c_remaining_names_keep_the_kernels_meaning)

INSTANTIATE_TEST_SUITE_P(Platforms, LinuxApi,
                         ::testing::Values(Platform{"Bounce", DMAKIT_IOMMU_NONE},
                                           Platform{"IommuStrict", DMAKIT_IOMMU_STRICT},
                                           Platform{"IommuLazy", DMAKIT_IOMMU_LAZY},
                                           Platform{"Passthrough", DMAKIT_IOMMU_PASSTHROUGH}),
                         [](const ::testing::TestParamInfo<Platform>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
