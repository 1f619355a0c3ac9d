// SPDX-License-Identifier: Apache-2.0
// The controller with on-board memory: its ring lives in declared device memory, its copies move
// checksummed data between host buffers on every platform kind.
#include "dmakit/devices/local_memory_device.h"

#include <gtest/gtest.h>

#include <cstring>

#include "dmakit/devices/local_memory_driver.h"
#include "dmakit/dma/declared_memory.h"
#include "testing/platform_kinds.h"

namespace dmakit::devices {
namespace {

using testing::PlatformKind;
using testing::PlatformUnderTest;

class LocalMemoryOnEveryPlatform : public ::testing::TestWithParam<PlatformKind> {};

TEST_P(LocalMemoryOnEveryPlatform, KeepsItsRingOnBoardAndCopiesIntact) {
  PlatformUnderTest platform(GetParam());
  LocalMemoryController ctrl(platform.add_device("raid0"), {});
  {
    Result<std::unique_ptr<LocalMemoryDriver>> driver =
        LocalMemoryDriver::open(ctrl.device(), ctrl.registers(), 8);
    ASSERT_TRUE(driver) << driver.error().to_string();
    const dma::DeclaredMemory* mem = ctrl.device().declared_memory();
    ASSERT_NE(mem, nullptr);
    EXPECT_TRUE(mem->contains((*driver)->ring()));
    EXPECT_GE((*driver)->ring_dma(), mem->device_addr());
    std::vector<std::pair<std::byte*, std::byte*>> copies;
    for (unsigned i = 0; i < 8; ++i) {
      const std::uint32_t size = 1000 + i * 3001;
      std::byte* src = platform.buffer(size, static_cast<std::byte>(i + 1));
      std::byte* dst = platform.buffer(size);
      ASSERT_TRUE((*driver)->copy(dst, src, size));
      copies.emplace_back(src, dst);
    }
    EXPECT_EQ((*driver)->copy(copies[0].second, copies[0].first, 10).error().code, Errc::Busy);
    EXPECT_EQ(ctrl.service(), 8u);
    const Result<std::size_t> done = (*driver)->complete();
    ASSERT_TRUE(done) << done.error().to_string();
    EXPECT_EQ(*done, 8u);
    for (unsigned i = 0; i < 8; ++i)
      EXPECT_EQ(std::memcmp(copies[i].first, copies[i].second, 1000 + i * 3001), 0);
    EXPECT_EQ(ctrl.counters().faults, 0u);
  }
  EXPECT_EQ(ctrl.device().declared_memory(), nullptr);  // closing gives the memory back
}

INSTANTIATE_TEST_SUITE_P(Kinds, LocalMemoryOnEveryPlatform,
                         ::testing::ValuesIn(testing::kDataPathKinds), testing::PlatformKindName());

}  // namespace
}  // namespace dmakit::devices
