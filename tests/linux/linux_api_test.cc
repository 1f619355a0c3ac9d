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

TEST_P(LinuxApi, StreamingMapsMoveBytes) {
  const dmakit_machine_config c = config();
  EXPECT_C_PASSES(c_streaming_maps_move_bytes(&c));
}

TEST_P(LinuxApi, ScatterlistsMapAndMoveBytes) {
  const dmakit_machine_config c = config();
  EXPECT_C_PASSES(c_scatterlists_map_and_move_bytes(&c));
}

TEST_P(LinuxApi, CoherentMemoryAndPoolsAreSharedWithTheDevice) {
  const dmakit_machine_config c = config();
  EXPECT_C_PASSES(c_coherent_memory_and_pools_are_shared_with_the_device(&c));
}

TEST_P(LinuxApi, DeclaredMemoryServesCoherentAllocations) {
  const dmakit_machine_config c = config();
  EXPECT_C_PASSES(c_declared_memory_serves_coherent_allocations(&c));
}

TEST_P(LinuxApi, MaskAllocationsStayUnderTheirMasks) {
  const dmakit_machine_config c = config();
  EXPECT_C_PASSES(c_mask_allocations_stay_under_their_masks(&c));
}

TEST_P(LinuxApi, VmallocMemoryIsNotOneDmaBuffer) {
  const dmakit_machine_config c = config();
  EXPECT_C_PASSES(c_vmalloc_memory_is_not_one_dma_buffer(&c));
}

TEST_P(LinuxApi, BadCallsReportAndChangeNothing) {
  const dmakit_machine_config c = config();
  EXPECT_C_PASSES(c_bad_calls_report_and_change_nothing(&c));
}

TEST_P(LinuxApi, DmaengineCopiesAndReports) {
  const dmakit_machine_config c = config();
  EXPECT_C_PASSES(c_dmaengine_copies_and_reports(&c));
}

TEST_P(LinuxApi, MisuseCheckerReportsABuggyDriver) {
  const dmakit_machine_config c = config();
  EXPECT_C_PASSES(c_misuse_checker_reports_a_buggy_driver(&c));
}

INSTANTIATE_TEST_SUITE_P(Platforms, LinuxApi,
                         ::testing::Values(Platform{"Bounce", DMAKIT_IOMMU_NONE},
                                           Platform{"IommuStrict", DMAKIT_IOMMU_STRICT},
                                           Platform{"IommuLazy", DMAKIT_IOMMU_LAZY},
                                           Platform{"Passthrough", DMAKIT_IOMMU_PASSTHROUGH}),
                         [](const ::testing::TestParamInfo<Platform>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
