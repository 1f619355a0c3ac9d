// SPDX-License-Identifier: Apache-2.0
// map_sg on the direct path over random lists: segments cover the entries in order, merge only
// physically adjacent entries, and never exceed the max segment size or cross the boundary mask.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "dmakit/dma/mapping.h"
#include "dmakit/dma/platform.h"
#include "testing/small_machine.h"

namespace dmakit::dma {
namespace {

machine::MachineConfig small() { return testing::compact_machine_config(256 * kMiB); }

RC_GTEST_PROP(ScatterlistProperty, DirectMergingHonoursSegmentLimits, ()) {
  machine::Machine m(small());
  Platform platform(m);
  Device dev(platform, "sg");
  const std::uint64_t max_seg = kPageSize * *rc::gen::inRange<std::uint64_t>(1, 20);
  const std::uint64_t boundary = dma_bit_mask(*rc::gen::inRange(13u, 20u));
  RC_ASSERT(dev.set_max_segment_size(max_seg).has_value());
  RC_ASSERT(dev.set_segment_boundary_mask(boundary).has_value());

  // Entries over a 1 MiB region at 32 MiB, some adjacent, some not; each inside one page.
  SgTable table;
  std::uint64_t phys = 32 * kMiB;
  const int n = *rc::gen::inRange(1, 40);
  for (int i = 0; i < n; ++i) {
    if (*rc::gen::inRange(0, 4) == 0) phys = align_up(phys, kPageSize) + kPageSize;  // a gap
    const std::uint64_t room = kPageSize - phys % kPageSize;
    // Half the entries run to the end of their page, so contiguous runs cross pages and grow long.
    const auto len =
        *rc::gen::arbitrary<bool>() ? room : *rc::gen::inRange<std::uint64_t>(1, room + 1);
    table.add(m.memory().pfn_to_page(phys / kPageSize),
              static_cast<std::uint32_t>(phys % kPageSize), static_cast<std::uint32_t>(len));
    phys += len;
  }
  const std::size_t segments = map_sg(dev, table, Direction::ToDevice).value();
  RC_ASSERT(segments == table.nents());
  RC_ASSERT(segments >= 1u);
  RC_ASSERT(segments <= table.orig_nents());

  // Walk the entries and the segments together: the segments are the entries, in order.
  std::size_t seg = 0;
  std::uint64_t used = 0;  // bytes of the current segment matched so far
  for (const ScatterEntry& e : table.entries()) {
    const std::uint64_t entry_dma = m.page_to_phys(e.page).value() + e.offset;
    const ScatterEntry& s = table.entries()[seg];
    if (used == s.dma_length) {
      ++seg;
      used = 0;
    }
    RC_ASSERT(seg < segments);
    const ScatterEntry& cur = table.entries()[seg];
    RC_ASSERT(cur.dma_address.value() + used == entry_dma);
    used += e.length;
  }
  RC_ASSERT(seg == segments - 1);
  RC_ASSERT(used == table.entries()[seg].dma_length);
  for (std::size_t i = 0; i < segments; ++i) {
    const ScatterEntry& s = table.entries()[i];
    // A merged segment stays within the limits (a single entry is never split).
    const std::uint64_t first = s.dma_address.value();
    const std::uint64_t last = first + s.dma_length - 1;
    RC_ASSERT(s.dma_length <= std::max<std::uint64_t>(max_seg, kPageSize));
    if (s.dma_length > kPageSize || (first & ~boundary) != (last & ~boundary)) {
      RC_ASSERT(s.dma_length <= max_seg);
      RC_ASSERT((first & ~boundary) == (last & ~boundary));
    }
  }
  for (std::size_t i = segments; i < table.orig_nents(); ++i)
    RC_ASSERT(table.entries()[i].dma_length == 0u);
  RC_ASSERT(unmap_sg(dev, table, Direction::ToDevice).has_value());
  RC_ASSERT(table.nents() == 0u);
}

TEST(Scatterlist, AdjacentPagesMergeIntoOneSegmentWithinTheLimit) {
  machine::Machine m(small());
  Platform platform(m);
  Device dev(platform, "sg");
  SgTable table =
      SgTable::from_buffer(m, m.phys_to_virt(PhysAddr(64 * kMiB + 100)).value(), 5 * kPageSize)
          .value();
  EXPECT_EQ(table.orig_nents(), 6u);  // starts mid-page
  EXPECT_EQ(map_sg(dev, table, Direction::FromDevice).value(), 1u);
  EXPECT_EQ(table.entries()[0].dma_address, DmaAddr(64 * kMiB + 100));
  EXPECT_EQ(table.entries()[0].dma_length, 5 * kPageSize);
  ASSERT_TRUE(unmap_sg(dev, table, Direction::FromDevice));
  ASSERT_TRUE(dev.set_max_segment_size(2 * kPageSize));
  EXPECT_EQ(map_sg(dev, table, Direction::FromDevice).value(), 3u);
  ASSERT_TRUE(unmap_sg(dev, table, Direction::FromDevice));
}

TEST(Scatterlist, AnUnmappableListLeavesNothingMapped) {
  machine::MachineConfig c = small();
  c.ram_size = 8 * kGiB;
  c.holes = {{"pci", {PhysAddr(3 * kGiB), PhysAddr(4 * kGiB)}}};
  machine::Machine m(c);
  Platform platform(m);
  Device dev(platform, "sg");
  SgTable table = SgTable::from_pages(std::vector<machine::Page*>{
      m.memory().pfn_to_page(kMiB / kPageSize * 100),
      m.memory().pfn_to_page(5 * kGiB / kPageSize)});  // above the 32-bit mask
  const auto r = map_sg(dev, table, Direction::ToDevice);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::AboveMask);
  EXPECT_EQ(table.nents(), 0u);
  for (const ScatterEntry& e : table.entries()) EXPECT_EQ(e.dma_length, 0u);
  EXPECT_FALSE(unmap_sg(dev, table, Direction::ToDevice));  // nothing to unmap
}

TEST(Scatterlist, ChainingAppendsEntries) {
  machine::Machine m(small());
  SgTable a = SgTable::from_pages(std::vector<machine::Page*>{m.memory().pfn_to_page(9000)});
  SgTable b = SgTable::from_pages(
      std::vector<machine::Page*>{m.memory().pfn_to_page(9001), m.memory().pfn_to_page(9003)});
  a.chain(std::move(b));
  EXPECT_EQ(a.orig_nents(), 3u);
  EXPECT_EQ(a.length(), 3 * kPageSize);
}

}  // namespace
}  // namespace dmakit::dma
