// SPDX-License-Identifier: Apache-2.0
#include "dmakit/machine/vmalloc_area.h"

#include <gtest/gtest.h>

#include <cstring>

#include "dmakit/machine/machine.h"
#include "testing/small_machine.h"

namespace dmakit::machine {
namespace {

std::uint64_t free_pages(Machine& m) {
  m.page_allocator().drain_caches();
  std::uint64_t total = 0;
  for (const Zone* zone : m.zones()) total += zone->free_pages();
  return total;
}

TEST(VmallocArea, WritesLandInTheSimulatedRamBehindEachPage) {
  Machine m(testing::small_machine_config());
  VmallocArea& area = m.vmalloc_area();
  constexpr std::uint64_t kBytes = 10 * kPageSize + 17;
  std::byte* p = area.vmalloc(kBytes).value();
  for (std::uint64_t i = 0; i < kBytes; ++i) p[i] = static_cast<std::byte>(i * 7);
  for (std::uint64_t i = 0; i < kBytes; i += 1013) {
    const PhysAddr phys = area.vmalloc_to_phys(p + i).value();
    EXPECT_EQ(*m.phys_to_virt(phys).value(), static_cast<std::byte>(i * 7)) << i;
  }
  EXPECT_EQ(area.allocated_bytes(), 11 * kPageSize);
  EXPECT_TRUE(area.vfree(p));
  EXPECT_EQ(area.allocated_bytes(), 0u);
}

TEST(VmallocArea, PagesAreNotOneDmaBuffer) {
  Machine m(testing::small_machine_config());
  std::byte* p = m.vmalloc_area().vmalloc(3 * kPageSize).value();
  const Result<PhysAddr> phys = m.virt_to_phys(p);
  ASSERT_FALSE(phys);
  EXPECT_EQ(phys.error().code, Errc::BadAddress);
  EXPECT_NE(phys.error().message.find("vmalloc"), std::string::npos);
  EXPECT_TRUE(m.vmalloc_area().vfree(p));
}

TEST(VmallocArea, FreeGivesEveryPageBack) {
  Machine m(testing::small_machine_config());
  const std::uint64_t before = free_pages(m);
  std::byte* p = m.vmalloc_area().vmalloc(100 * kPageSize).value();
  EXPECT_EQ(free_pages(m), before - 100);
  ASSERT_TRUE(m.vmalloc_area().vfree(p));
  EXPECT_EQ(free_pages(m), before);
  m.validate();
}

TEST(VmallocArea, VfreeOfAnythingButAnAllocationStartIsRefused) {
  Machine m(testing::small_machine_config());
  VmallocArea& area = m.vmalloc_area();
  std::byte* p = area.vmalloc(2 * kPageSize).value();
  EXPECT_EQ(area.vfree(p + kPageSize).error().code, Errc::InvalidArgument);
  int local = 0;
  EXPECT_EQ(area.vfree(&local).error().code, Errc::InvalidArgument);
  ASSERT_TRUE(area.vfree(p));
  EXPECT_EQ(area.vfree(p).error().code, Errc::InvalidArgument);
  EXPECT_EQ(area.vmalloc_to_page(p).error().code, Errc::BadAddress);
}

TEST(VmallocArea, WindowExhaustionLosesNoPages) {
  MachineConfig config = testing::small_machine_config();
  config.vmalloc_size = 8 * kPageSize;
  Machine m(config);
  const std::uint64_t before = free_pages(m);
  std::byte* first = m.vmalloc_area().vmalloc(4 * kPageSize).value();
  const Result<std::byte*> second = m.vmalloc_area().vmalloc(4 * kPageSize);  // + guard: no room
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::NoMemory);
  EXPECT_EQ(free_pages(m), before - 4);
  ASSERT_TRUE(m.vmalloc_area().vfree(first));
  EXPECT_TRUE(m.vmalloc_area().vmalloc(7 * kPageSize));  // freed window merged back
}

TEST(VmallocArea, RejectsZeroBytes) {
  Machine m(testing::small_machine_config());
  EXPECT_EQ(m.vmalloc_area().vmalloc(0).error().code, Errc::InvalidArgument);
}

TEST(VmallocAreaDeathTest, RunningOffTheEndHitsTheGuardPage) {
  Machine m(testing::small_machine_config());
  volatile std::byte* p = m.vmalloc_area().vmalloc(kPageSize).value();
  p[kPageSize - 1] = std::byte{1};
  EXPECT_DEATH(p[kPageSize] = std::byte{1}, "");
}

}  // namespace
}  // namespace dmakit::machine
