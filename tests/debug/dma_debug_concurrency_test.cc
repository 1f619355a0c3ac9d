// SPDX-License-Identifier: Apache-2.0
// The checker under two threads (run it under the tsan preset): correct drivers on two devices,
// sharing one TO_DEVICE page, stay silent; a buggy one is reported exactly as often as it errs.
#include <gtest/gtest.h>

#include <array>
#include <thread>
#include <vector>

#include "dmakit/debug/dma_debug.h"
#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/cpu_access.h"
#include "dmakit/dma/mapping.h"
#include "testing/small_machine.h"

namespace dmakit::debug {
namespace {

using dma::Device;

class DmaDebugConcurrencyTest : public ::testing::Test {
 protected:
  DmaDebugConcurrencyTest()
      : machine_(testing::small_machine_config()),
        platform_(machine_),
        checker_(DmaDebug::attach(platform_, quiet())) {}
  static DmaDebugConfig quiet() {
    DmaDebugConfig config;
    config.action = ReportAction::Count;
    config.keep_reports = 16;
    return config;
  }
  std::byte* buffer() {
    return machine_.page_address(
        machine_.page_allocator().alloc_pages(machine::kGfpKernel, 0).value());
  }

  static constexpr int kRounds = 2000;
  machine::Machine machine_;
  dma::Platform platform_;
  DmaDebug& checker_;
};

TEST_F(DmaDebugConcurrencyTest, TwoCorrectDriversStaySilent) {
  Device a(platform_, "nic0");
  Device b(platform_, "nic1");
  std::byte* shared = buffer();
  auto driver = [&](Device& dev, std::byte* own) {
    std::array<std::byte, 64> bytes{};
    for (int i = 0; i < kRounds; ++i) {
      const DmaAddr tx = dma::map_single(dev, shared, 256, Direction::ToDevice).value();
      ASSERT_FALSE(dma::mapping_error(dev, tx));
      const DmaAddr rx = dma::map_single(dev, own, 512, Direction::FromDevice).value();
      ASSERT_FALSE(dma::mapping_error(dev, rx));
      ASSERT_TRUE(dma::device_read(dev, tx, bytes));
      ASSERT_TRUE(dma::device_write(dev, rx, bytes));
      ASSERT_TRUE(dma::sync_single_for_cpu(dev, rx, 512, Direction::FromDevice));
      dma::cpu_read(platform_, own, bytes);
      dma::cpu_read(platform_, shared, bytes);
      ASSERT_TRUE(dma::unmap_single(dev, rx, 512, Direction::FromDevice));
      ASSERT_TRUE(dma::unmap_single(dev, tx, 256, Direction::ToDevice));
    }
  };
  std::byte* own_a = buffer();
  std::byte* own_b = buffer();
  std::thread ta(driver, std::ref(a), own_a);
  std::thread tb(driver, std::ref(b), own_b);
  ta.join();
  tb.join();
  EXPECT_EQ(checker_.total_reports(), 0u) << checker_.summary_text();
  EXPECT_EQ(checker_.live_mappings(), 0u);
}

TEST_F(DmaDebugConcurrencyTest, EveryErrorOfTwoThreadsIsCounted) {
  Device a(platform_, "nic0");
  Device b(platform_, "nic1");
  auto buggy = [&](Device& dev, std::byte* buf) {
    for (int i = 0; i < kRounds; ++i) {
      const DmaAddr dma = dma::map_single(dev, buf, 256, Direction::ToDevice).value();
      ASSERT_FALSE(dma::mapping_error(dev, dma));
      (void)dma::unmap_single(dev, dma, 128, Direction::ToDevice);
    }
  };
  std::thread ta(buggy, std::ref(a), buffer());
  std::thread tb(buggy, std::ref(b), buffer());
  ta.join();
  tb.join();
  EXPECT_EQ(checker_.count(Misuse::UnmapWrongSize), 2u * kRounds);
  EXPECT_EQ(checker_.total_reports(), 2u * kRounds);
  EXPECT_EQ(checker_.reports().size(), 16u);
  EXPECT_EQ(checker_.live_mappings(), 0u);
}

}  // namespace
}  // namespace dmakit::debug
