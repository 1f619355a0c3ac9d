// SPDX-License-Identifier: Apache-2.0
// Runs the C11 checks of linux_api_c.c on every platform kind a driver meets: no IOMMU with bounce
// buffers, IOMMU strict and lazy, and passthrough, each with RAM above 4 GiB.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "dmakit/linux/dma-mapping.h"
#include "dmakit/linux/dmaengine.h"
#include "dmakit/linux/dmapool.h"
#include "dmakit/linux/err.h"
#include "dmakit/linux/machine.h"
#include "dmakit/linux/mempool.h"
#include "dmakit/linux/slab.h"
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

dmakit_machine* default_machine() {
  dmakit_machine_config c;
  dmakit_machine_config_default(&c);
  return dmakit_machine_create(&c);
}

bool last_error_has(const char* text) { return std::strstr(dmakit_last_error(), text) != nullptr; }

TEST(LinuxApiMachine, DevicesOutliveTheirMachineAsRefusedHandles) {
  dmakit_machine* m = default_machine();
  ASSERT_NE(m, nullptr);
  device* dev = dmakit_device_create(m, "nic", 0);
  ASSERT_NE(dev, nullptr);
  dma_pool* pool = dma_pool_create("rings", dev, 64, 8, 0);
  ASSERT_NE(pool, nullptr);
  dma_addr_t handle = 0;
  void* block = dma_pool_alloc(pool, GFP_KERNEL, &handle);
  ASSERT_NE(block, nullptr);
  dmakit_machine_destroy(m);  // ends the device and its pool, not their handles

  EXPECT_STREQ(dev_name(dev), "nic");
  EXPECT_EQ(dma_get_mask(dev), 0u);
  EXPECT_TRUE(last_error_has("outlived its machine")) << dmakit_last_error();
  char buf[8];
  EXPECT_EQ(dmakit_device_read(dev, handle, buf, sizeof buf), -EINVAL);
  EXPECT_EQ(dma_pool_alloc(pool, GFP_KERNEL, &handle), nullptr);
  EXPECT_TRUE(last_error_has("outlived its device")) << dmakit_last_error();
  EXPECT_EQ(dmakit_device_create(m, "late", 0), nullptr);
  EXPECT_TRUE(last_error_has("no machine")) << dmakit_last_error();
  dma_pool_destroy(pool);
  dmakit_device_destroy(dev);
}

TEST(LinuxApiMachine, MempoolsOutliveTheirMachineAsRefusedHandles) {
  dmakit_machine* m = default_machine();
  ASSERT_NE(m, nullptr);
  mempool_t* pool = mempool_create_pool_pmask(2, 64, DMA_BIT_MASK(24));
  ASSERT_NE(pool, nullptr);
  void* element = mempool_alloc(pool, GFP_KERNEL);
  ASSERT_NE(element, nullptr);
  dmakit_machine_destroy(m);
  EXPECT_EQ(mempool_alloc(pool, GFP_KERNEL), nullptr);
  EXPECT_TRUE(last_error_has("outlived its machine")) << dmakit_last_error();
  ::testing::internal::CaptureStderr();
  mempool_free(element, pool);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("mempool_free: the pool outlived its machine"), std::string::npos) << err;
  mempool_destroy(pool);
}

TEST(LinuxApiMachine, TheEnginesDeviceBelongsToTheMachine) {
  dmakit_machine* m = default_machine();
  ASSERT_NE(m, nullptr);
  dma_cap_mask_t mask;
  dma_cap_zero(mask);
  dma_cap_set(DMA_MEMCPY, mask);
  dma_chan* chan = dma_request_chan_by_mask(&mask);
  ASSERT_FALSE(IS_ERR(chan));
  device* engine = dmaengine_get_dma_device(chan);
  ASSERT_NE(engine, nullptr);
  ::testing::internal::CaptureStderr();
  dmakit_device_destroy(engine);  // refused: the engine still uses it
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("dmakit_device_destroy"), std::string::npos) << err;
  EXPECT_STREQ(dev_name(dmaengine_get_dma_device(chan)), dev_name(engine));
  dmakit_machine_destroy(m);  // and its device with it (the leak check of asan builds)
}

TEST(LinuxApiMachine, DevicesDestroyedFirstLeaveTheMachineWhole) {
  dmakit_machine* m = default_machine();
  ASSERT_NE(m, nullptr);
  device* dev = dmakit_device_create(m, "nic", 0);
  ASSERT_NE(dev, nullptr);
  dma_pool* pool = dma_pool_create("rings", dev, 64, 8, 0);
  ASSERT_NE(pool, nullptr);
  dmakit_device_destroy(dev);  // the pool ends with it
  EXPECT_EQ(dma_pool_alloc(pool, GFP_KERNEL, nullptr), nullptr);
  EXPECT_TRUE(last_error_has("outlived its device")) << dmakit_last_error();
  dma_pool_destroy(pool);
  device* again = dmakit_device_create(m, "nic", 0);  // the name is free again
  EXPECT_NE(again, nullptr);
  dmakit_machine_destroy(m);
  dmakit_device_destroy(again);
}

TEST(LinuxApiMachine, ASecondDestroyIsRefusedWithAMessage) {
  dmakit_machine* m = default_machine();
  ASSERT_NE(m, nullptr);
  device* dev = dmakit_device_create(m, "nic", 0);
  ASSERT_NE(dev, nullptr);
  dmakit_device_destroy(dev);
  ::testing::internal::CaptureStderr();
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
  dmakit_machine_destroy(m);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("dmakit_device_destroy"), std::string::npos) << err;
  EXPECT_NE(err.find("dmakit_machine_destroy"), std::string::npos) << err;
}

TEST(LinuxApiMachine, DestroyingTheNewestMachineMakesThePreviousOneCurrent) {
  dmakit_machine* first = default_machine();
  dmakit_machine* second = default_machine();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  dmakit_machine_destroy(second);
  void* p = kmalloc(64, GFP_KERNEL);
  EXPECT_NE(p, nullptr) << dmakit_last_error();
  EXPECT_EQ(ksize(p), 64u);
  kfree(p);
  // Destroying an older machine leaves the newest current.
  dmakit_machine* third = default_machine();
  ASSERT_NE(third, nullptr);
  dmakit_machine_destroy(first);
  p = kmalloc(64, GFP_KERNEL);
  EXPECT_NE(p, nullptr) << dmakit_last_error();
  kfree(p);
  dmakit_machine_destroy(third);
  EXPECT_EQ(kmalloc(64, GFP_KERNEL), nullptr);
  EXPECT_TRUE(last_error_has("no machine")) << dmakit_last_error();
}

TEST(LinuxApiMachine, ADeviceOnNoParticularNodeIsCreatedAndABadNodeIsNamed) {
  dmakit_machine* m = default_machine();
  ASSERT_NE(m, nullptr);
  device* dev = dmakit_device_create(m, "nic0", NUMA_NO_NODE);
  ASSERT_NE(dev, nullptr) << dmakit_last_error();
  dma_addr_t handle = 0;
  void* cpu = dma_alloc_coherent(dev, 4096, &handle, GFP_KERNEL);
  EXPECT_NE(cpu, nullptr) << dmakit_last_error();
  dma_free_coherent(dev, 4096, cpu, handle);
  EXPECT_EQ(dmakit_device_create(m, "nic1", -2), nullptr);
  EXPECT_TRUE(last_error_has("node -2 of a machine with 1 nodes")) << dmakit_last_error();
  EXPECT_EQ(dmakit_device_create(m, "nic1", 1), nullptr);
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
}

TEST(LinuxApiMachine, DeviceIoWithANullBufferIsRefused) {
  dmakit_machine* m = default_machine();
  ASSERT_NE(m, nullptr);
  device* dev = dmakit_device_create(m, "nic", 0);
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dmakit_device_read(dev, 0x1000, nullptr, 8), -EINVAL);
  EXPECT_TRUE(last_error_has("dmakit_device_read: a NULL buffer")) << dmakit_last_error();
  EXPECT_EQ(dmakit_device_write(dev, 0x1000, nullptr, 8), -EINVAL);
  EXPECT_TRUE(last_error_has("dmakit_device_write: a NULL buffer")) << dmakit_last_error();
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
}

TEST(LinuxApiMachine, AllocCoherentWithANullHandleSetsTheLastError) {
  dmakit_machine* m = default_machine();
  ASSERT_NE(m, nullptr);
  device* dev = dmakit_device_create(m, "nic", 0);
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dma_alloc_coherent(dev, 4096, nullptr, GFP_KERNEL), nullptr);
  EXPECT_TRUE(last_error_has("dma_alloc_coherent: a NULL handle")) << dmakit_last_error();
  dmakit_device_destroy(dev);
  dmakit_machine_destroy(m);
}

TEST(LinuxApiMachine, CallsThatReturnNothingReportANullDeviceOnStderr) {
  dmakit_machine* m = default_machine();
  ASSERT_NE(m, nullptr);
  scatterlist sg;
  sg_init_table(&sg, 1);
  ::testing::internal::CaptureStderr();
  dma_unmap_single(nullptr, 0x1000, 64, DMA_TO_DEVICE);
  dma_unmap_page(nullptr, 0x1000, 64, DMA_TO_DEVICE);
  dma_unmap_sg(nullptr, &sg, 1, DMA_TO_DEVICE);
  dma_sync_single_for_cpu(nullptr, 0x1000, 64, DMA_TO_DEVICE);
  dma_sync_single_for_device(nullptr, 0x1000, 64, DMA_TO_DEVICE);
  dma_sync_sg_for_cpu(nullptr, &sg, 1, DMA_TO_DEVICE);
  dma_sync_sg_for_device(nullptr, &sg, 1, DMA_TO_DEVICE);
  dma_free_coherent(nullptr, 64, nullptr, 0x1000);
  dma_release_declared_memory(nullptr);
  dma_pool_free(nullptr, nullptr, 0);
  const std::string err = ::testing::internal::GetCapturedStderr();
  for (const char* call :
       {"dma_unmap_single: a NULL device", "dma_unmap_page: a NULL device",
        "dma_unmap_sg: a NULL device", "dma_sync_single_for_cpu: a NULL device",
        "dma_sync_single_for_device: a NULL device", "dma_sync_sg_for_cpu: a NULL device",
        "dma_sync_sg_for_device: a NULL device", "dma_free_coherent: a NULL device",
        "dma_release_declared_memory: a NULL device", "dma_pool_free: a NULL pool"})
    EXPECT_NE(err.find(call), std::string::npos) << call << " in:\n" << err;
  dmakit_machine_destroy(m);
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
C_CHECK_ON_EVERY_PLATFORM(HugeSizesAreRefusedNotWrapped, c_huge_sizes_are_refused_not_wrapped)
C_CHECK_ON_EVERY_PLATFORM(MapPageRefusesOffsetsThatWrapThePage,
                          c_map_page_refuses_offsets_that_wrap)
C_CHECK_ON_EVERY_PLATFORM(LoopingOrShortScatterlistsAreRefused,
                          c_looping_or_short_scatterlists_are_refused)
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
