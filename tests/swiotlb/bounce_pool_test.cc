// SPDX-License-Identifier: Apache-2.0
#include "dmakit/swiotlb/bounce_pool.h"

#include <gtest/gtest.h>

#include <vector>

#include "dmakit/core/units.h"

namespace dmakit::swiotlb {
namespace {

constexpr std::uint64_t kSegment = kSegmentSlots * kSlotSize;  // 256 KiB
const PhysAddr kBase(64 * kMiB);

PhysAddr at(std::uint64_t offset) { return PhysAddr(0x7'0000'0000 + offset); }

TEST(BouncePool, MapsUpTo128SlotsAndNoMore) {
  BouncePool pool({kBase, kBase + 2 * kSegment}, 1);
  const Result<BounceRun> max = pool.reserve(at(0), kMaxRunBytes, {}, 0);
  ASSERT_TRUE(max);
  EXPECT_EQ(max->slots, 128u);
  const Result<BounceRun> over = pool.reserve(at(0), kMaxRunBytes + 1, {}, 0);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::InvalidArgument);
  EXPECT_EQ(pool.used_slots(), 128u);
  ASSERT_TRUE(pool.release(max->bounce, kMaxRunBytes));
  EXPECT_EQ(pool.used_slots(), 0u);
  pool.validate();
}

TEST(BouncePool, MaxMappingSizeIsTheKernels) {
  EXPECT_EQ(BouncePool::max_mapping_size(0), 256 * kKiB);
  EXPECT_EQ(BouncePool::max_mapping_size(0xfff), 252 * kKiB);  // roundup(0xfff, 2 KiB) = 4 KiB
  EXPECT_EQ(BouncePool::max_mapping_size(0x7ff), 254 * kKiB);
}

TEST(BouncePool, RunsNeverCrossASegment) {
  BouncePool pool({kBase, kBase + 2 * kSegment}, 1);
  const Result<BounceRun> first = pool.reserve(at(0), 127 * kSlotSize, {}, 0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->bounce, kBase);
  // One slot is left in segment 0; two slots must come from segment 1.
  const Result<BounceRun> two = pool.reserve(at(0), 2 * kSlotSize, {}, 0);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->bounce, kBase + kSegment);
  const Result<BounceRun> one = pool.reserve(at(0), 100, {}, 0);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->bounce, kBase + kSegment + 2 * kSlotSize);  // next fit goes on from the cursor
  pool.validate();
}

TEST(BouncePool, FreedNeighboursCoalesceWithinTheirSegment) {
  BouncePool pool({kBase, kBase + kSegment}, 1);
  std::vector<PhysAddr> slots;
  for (unsigned i = 0; i < kSegmentSlots; ++i) {
    const Result<BounceRun> r = pool.reserve(at(i * kSlotSize), 64, {}, 0);
    ASSERT_TRUE(r) << i;
    slots.push_back(r->bounce);
  }
  EXPECT_EQ(pool.reserve(at(0), 64, {}, 0).error().code, Errc::NoBounceSlot);
  for (unsigned i = 0; i < kSegmentSlots; i += 2) ASSERT_TRUE(pool.release(slots[i], 64));
  pool.validate();
  // Every other slot is free: no two are contiguous.
  EXPECT_EQ(pool.reserve(at(0), kSlotSize + 1, {}, 0).error().code, Errc::NoBounceSlot);
  ASSERT_TRUE(pool.release(slots[5], 64));  // joins 4 and 6 into a run of three
  pool.validate();
  const Result<BounceRun> three = pool.reserve(at(0), 3 * kSlotSize, {}, 0);
  ASSERT_TRUE(three);
  EXPECT_EQ(three->bounce, slots[4]);
  pool.validate();
}

TEST(BouncePool, KeepsTheBitsTheDeviceAlignsOn) {
  BouncePool pool({kBase, kBase + kSegment}, 1);
  const BounceRequest nvme{.min_align_mask = 0xfff};
  const Result<BounceRun> low = pool.reserve(at(0x234), 512, nvme, 0);
  ASSERT_TRUE(low);
  EXPECT_EQ(low->bounce.value() & 0xfff, 0x234u);
  // Bit 11 comes from the slot choice, the rest from an offset into it.
  const Result<BounceRun> high = pool.reserve(at(0x934), 512, nvme, 0);
  ASSERT_TRUE(high);
  EXPECT_EQ(high->bounce.value() & 0xfff, 0x934u);
  const Result<BounceMapping> m = pool.find(high->bounce + 10);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->orig, at(0x934 + 10));
  EXPECT_EQ(m->remaining, 502u);
  ASSERT_TRUE(pool.release(low->bounce, 512));
  ASSERT_TRUE(pool.release(high->bounce, 512));
  EXPECT_EQ(pool.used_slots(), 0u);
  pool.validate();
}

TEST(BouncePool, PageSizedMappingsArePageAligned) {
  BouncePool pool({kBase, kBase + kSegment}, 1);
  ASSERT_TRUE(pool.reserve(at(0), 100, {}, 0));  // moves the cursor off a page boundary
  const Result<BounceRun> small = pool.reserve(at(0x800), kPageSize - 1, {}, 0);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->bounce, kBase + kSlotSize);  // below a page only slot alignment holds
  const Result<BounceRun> page = pool.reserve(at(0x800), kPageSize, {}, 0);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->bounce, kBase + 2 * kPageSize);
}

TEST(BouncePool, AllocAlignmentPadsWithWholeSlots) {
  BouncePool pool({kBase, kBase + kSegment}, 1);
  // A granule-aligned caller (an IOMMU bouncing for a 64 KiB granule) keeping 16 address bits.
  const BounceRequest granule{.min_align_mask = 0xffff, .alloc_align_mask = 0xffff};
  const Result<BounceRun> r = pool.reserve(at(0x1234), 1000, granule, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bounce.value() & 0xffff, 0x1234u);
  EXPECT_EQ(r->slots, 32u);  // the whole 64 KiB granule, two padding slots included
  EXPECT_FALSE(pool.find(r->bounce - kSlotSize));  // padding is no part of the mapping
  ASSERT_TRUE(pool.release(r->bounce, 1000));
  EXPECT_EQ(pool.used_slots(), 0u);
  pool.validate();
}

TEST(BouncePool, RunsStayWithinTheDevicesReach) {
  BouncePool pool({kBase, kBase + 8 * kSegment}, 1);
  // The device reaches only the first 512 KiB of the pool, as a 30-bit device reaches only the
  // part of a larger pool below 1 GiB.
  const BounceRequest narrow{.bus_limit = kBase.value() + 2 * kSegment - 1};
  unsigned served = 0;
  for (;; ++served) {
    const Result<BounceRun> r = pool.reserve(at(0), kSegment / 2, narrow, 0);
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::NoBounceSlot);
      break;
    }
    EXPECT_LE(r->bounce.value() + kSegment / 2 - 1, narrow.bus_limit);
  }
  EXPECT_EQ(served, 4u);
  EXPECT_TRUE(pool.reserve(at(0), kSegment / 2, {}, 0));  // the rest is there for others
  // A bus offset moves the device's view: bus = physical + offset.
  const BounceRequest shifted{.bus_offset = -static_cast<std::int64_t>(kBase.value()),
                              .bus_limit = 6 * kSegment - 1};
  const Result<BounceRun> r = pool.reserve(at(0), kSegment, shifted, 0);
  ASSERT_TRUE(r);
  EXPECT_LE(r->bounce.value() - kBase.value() + kSegment - 1, shifted.bus_limit);
  EXPECT_FALSE(pool.reachable_under(0, kBase.value() - 1));
  EXPECT_TRUE(pool.reachable_under(shifted.bus_offset, kSlotSize - 1));
}

TEST(BouncePool, RunsDoNotCrossTheSegmentBoundaryMask) {
  BouncePool pool({kBase, kBase + kSegment}, 1);
  ASSERT_TRUE(pool.reserve(at(0), 40 * kKiB, {}, 0));
  const BounceRequest boundary{.segment_boundary_mask = 0xffff};
  const Result<BounceRun> r = pool.reserve(at(0), 48 * kKiB, boundary, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bounce.value() >> 16, (r->bounce.value() + 48 * kKiB - 1) >> 16);
}

TEST(BouncePool, ReleaseWantsTheMappingsStartAndSize) {
  BouncePool pool({kBase, kBase + kSegment}, 1);
  const Result<BounceRun> r = pool.reserve(at(0x10), 5000, {}, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(pool.release(r->bounce, 4999).error().code, Errc::InvalidArgument);
  EXPECT_EQ(pool.release(r->bounce + kSlotSize, 5000 - kSlotSize).error().code,
            Errc::InvalidArgument);
  EXPECT_EQ(pool.release(PhysAddr(0), 5000).error().code, Errc::InvalidArgument);
  EXPECT_EQ(pool.used_slots(), 3u);
  ASSERT_TRUE(pool.release(r->bounce, 5000));
  EXPECT_EQ(pool.release(r->bounce, 5000).error().code, Errc::InvalidArgument);  // twice
  pool.validate();
}

TEST(BouncePool, FindAnswersInsideLiveMappingsOnly) {
  BouncePool pool({kBase, kBase + kSegment}, 1);
  const Result<BounceRun> r = pool.reserve(at(0x100), 3000, {}, 0);
  ASSERT_TRUE(r);
  const Result<BounceMapping> head = pool.find(r->bounce);
  ASSERT_TRUE(head);
  EXPECT_TRUE(head->start);
  EXPECT_EQ(head->orig, at(0x100));
  const Result<BounceMapping> tail = pool.find(r->bounce + 2999);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->orig, at(0x100 + 2999));
  EXPECT_EQ(tail->remaining, 1u);
  EXPECT_FALSE(pool.find(r->bounce + 3000));
  ASSERT_TRUE(pool.release(r->bounce, 3000));
  EXPECT_FALSE(pool.find(r->bounce));
}

TEST(BouncePool, AreasSplitTheSegmentsAndThreadsStartInTheirOwn) {
  BouncePool pool({kBase, kBase + 8 * kSegment}, 4);
  EXPECT_EQ(pool.area_count(), 4u);
  const Result<BounceRun> r = pool.reserve(at(0), 64, {}, 2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bounce, kBase + 4 * kSegment);  // area 2 holds segments 4 and 5
  // Areas never outnumber segments.
  EXPECT_EQ(BouncePool(2 * kSegment, 8).area_count(), 2u);
}

TEST(BouncePool, TransientPoolServesBetweenActivationAndRetirement) {
  BouncePool pool(kSegment, 1);
  EXPECT_FALSE(pool.active());
  EXPECT_FALSE(pool.contains(kBase));
  EXPECT_EQ(pool.reserve(at(0), 64, {}, 0).error().code, Errc::NoBounceSlot);
  ASSERT_TRUE(pool.activate({kBase, kBase + kSegment}));
  EXPECT_FALSE(pool.activate({kBase, kBase + kSegment}));
  const Result<BounceRun> r = pool.reserve(at(0), 64, {}, 0);
  ASSERT_TRUE(r);
  EXPECT_TRUE(pool.retire_if_empty().empty());  // busy
  ASSERT_TRUE(pool.release(r->bounce, 64));
  EXPECT_EQ(pool.retire_if_empty(), (PhysRange{kBase, kBase + kSegment}));
  EXPECT_FALSE(pool.active());
}

}  // namespace
}  // namespace dmakit::swiotlb
