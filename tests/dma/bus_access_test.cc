// SPDX-License-Identifier: Apache-2.0
// translate_for_access: the RAM a device access reaches, with device_read's checks, for engines
// that copy between two bus ranges without a bounce through a temporary buffer.
#include "dmakit/dma/bus_access.h"

#include <gtest/gtest.h>

#include <cstring>

#include "dmakit/dma/mapping.h"
#include "dmakit/dma/platform.h"
#include "dmakit/iommu/iommu.h"
#include "testing/bounce_machine.h"

namespace dmakit::dma {
namespace {

TEST(TranslateForAccess, DirectDeviceReachesOneSpanThroughTheBusOffset) {
  machine::Machine m(testing::bounce_machine_config());
  Platform platform(m);
  Device dev(platform, "dev");
  dev.set_bus_offset(0x1000'0000);
  std::vector<AccessSpan> spans;
  ASSERT_TRUE(
      translate_for_access(dev, DmaAddr(0x1000'0000 + kMiB), 3 * kPageSize, Access::Read, spans));
  ASSERT_EQ(spans.size(), 1U);
  EXPECT_EQ(spans[0].mem, m.memory().direct_map(PhysAddr(kMiB)));
  EXPECT_EQ(spans[0].size, 3 * kPageSize);
  const Status zero = translate_for_access(dev, DmaAddr(kMiB), 0, Access::Read, spans);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, Errc::InvalidArgument);
  const Status beyond = translate_for_access(dev, DmaAddr(4 * kGiB), 16, Access::Write, spans);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().code, Errc::Fault);
  EXPECT_EQ(spans.size(), 1U);
}

TEST(TranslateForAccess, MergesAdjacentPagesAndUndoesEverythingOnAFault) {
  machine::Machine m(testing::bounce_machine_config());
  Platform platform(m);
  iommu::Iommu unit(m, {});
  Device dev(platform, "dev");
  dev.attach(&unit.create_domain({.policy = iommu::InvalidationPolicy::Strict}));
  std::byte* buf = m.memory().direct_map(PhysAddr(40 * kGiB));
  const Result<DmaAddr> ro = map_single(dev, buf, 4 * kPageSize, Direction::ToDevice);
  ASSERT_TRUE(ro);
  std::vector<AccessSpan> spans;
  ASSERT_TRUE(translate_for_access(dev, *ro + 100, 4 * kPageSize - 100, Access::Read, spans));
  ASSERT_EQ(spans.size(), 1U);  // four physically contiguous pages: one span
  EXPECT_EQ(spans[0].mem, buf + 100);
  EXPECT_EQ(spans[0].size, 4 * kPageSize - 100);
  // A second range starting right after the first merges into it, and a refused one (a write to a
  // TO_DEVICE mapping) leaves the list as it was, merge undone.
  const Result<DmaAddr> next = map_single(dev, buf + 4 * kPageSize, kPageSize, Direction::ToDevice);
  ASSERT_TRUE(next);
  const std::uint64_t faults = unit.faults().count();
  const Status refused = translate_for_access(dev, *next, kPageSize, Access::Write, spans);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::Fault);
  EXPECT_EQ(unit.faults().count(), faults + 1);
  ASSERT_EQ(spans.size(), 1U);
  EXPECT_EQ(spans[0].size, 4 * kPageSize - 100);
  ASSERT_TRUE(translate_for_access(dev, *next, kPageSize, Access::Read, spans));
  ASSERT_EQ(spans.size(), 1U);
  EXPECT_EQ(spans[0].size, 5 * kPageSize - 100);
  ASSERT_TRUE(unmap_single(dev, *ro, 4 * kPageSize, Direction::ToDevice));
  ASSERT_TRUE(unmap_single(dev, *next, kPageSize, Direction::ToDevice));
}

}  // namespace
}  // namespace dmakit::dma
