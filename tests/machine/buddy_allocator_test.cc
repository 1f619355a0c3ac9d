// SPDX-License-Identifier: Apache-2.0
#include "dmakit/machine/buddy_allocator.h"

#include <gtest/gtest.h>

#include <vector>

namespace dmakit::machine {
namespace {

constexpr Pfn kZonePages = 4096;  // 16 MiB

class BuddyAllocatorTest : public ::testing::Test {
 protected:
  std::vector<Page> mem_map_ = std::vector<Page>(kZonePages);
  BuddyAllocator buddy_{mem_map_.data(), 0, kZonePages};
  Pfn pfn(const Page* p) const { return static_cast<Pfn>(p - mem_map_.data()); }
};

TEST_F(BuddyAllocatorTest, AddFreeRangeMakesLargestAlignedBlocks) {
  buddy_.add_free_range(3, 2048 + 5);
  // [3,4) o0, [4,8) o2, [8,16) o3 ... [512,1024) o9, [1024,2048) o10, [2048,2052) o2, [2052,2053)
  // o0
  EXPECT_EQ(buddy_.free_blocks(10), 1u);
  EXPECT_EQ(buddy_.free_blocks(0), 2u);
  EXPECT_EQ(buddy_.free_blocks(2), 2u);
  EXPECT_EQ(buddy_.free_pages(), 2050u);
  buddy_.validate();
}

TEST_F(BuddyAllocatorTest, AllocSplitsAndKeepsTheLowerHalf) {
  buddy_.add_free_range(0, 1024);
  Page* page = buddy_.alloc(0);
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(pfn(page), 0u);
  EXPECT_TRUE(page->is_head());
  for (unsigned order = 0; order < kMaxOrder; ++order) EXPECT_EQ(buddy_.free_blocks(order), 1u);
  EXPECT_EQ(buddy_.free_pages(), 1023u);
  buddy_.validate();
}

TEST_F(BuddyAllocatorTest, FreeCoalescesBackToOneBlock) {
  buddy_.add_free_range(0, 1024);
  std::vector<Page*> pages;
  for (int i = 0; i < 1024; ++i) pages.push_back(buddy_.alloc(0));
  EXPECT_EQ(buddy_.alloc(0), nullptr);
  for (std::size_t i = 0; i < pages.size(); i += 2) buddy_.free(pages[i], 0);
  EXPECT_EQ(buddy_.free_blocks(0), 512u);  // no buddy pairs yet
  for (std::size_t i = 1; i < pages.size(); i += 2) buddy_.free(pages[i], 0);
  EXPECT_EQ(buddy_.free_blocks(10), 1u);
  EXPECT_EQ(buddy_.free_pages(), 1024u);
  buddy_.validate();
}

TEST_F(BuddyAllocatorTest, BlocksAreNaturallyAligned) {
  buddy_.add_free_range(1, kZonePages);
  for (unsigned order = 0; order <= kMaxOrder; ++order) {
    Page* page = buddy_.alloc(order);
    ASSERT_NE(page, nullptr) << order;
    EXPECT_EQ(pfn(page) % (Pfn{1} << order), 0u) << order;
  }
}

TEST_F(BuddyAllocatorTest, NeverMergesAcrossTheZoneEdge) {
  // A zone [0, 1536): the buddy of [1024, 1536) at order 9 is inside, at order 10 it would reach
  // out.
  std::vector<Page> map(2048);
  BuddyAllocator zone(map.data(), 0, 1536);
  zone.add_free_range(0, 1536);
  EXPECT_EQ(zone.free_blocks(10), 1u);
  EXPECT_EQ(zone.free_blocks(9), 1u);
  zone.validate();
}

TEST_F(BuddyAllocatorTest, ExhaustionReturnsNull) {
  buddy_.add_free_range(0, 8);
  EXPECT_EQ(buddy_.alloc(4), nullptr);
  EXPECT_NE(buddy_.alloc(3), nullptr);
  EXPECT_EQ(buddy_.alloc(0), nullptr);
}

TEST_F(BuddyAllocatorTest, DoubleFreeIsCaughtByTheAlwaysOnCheck) {
  buddy_.add_free_range(0, 8);
  Page* page = buddy_.alloc(0);
  buddy_.free(page, 0);
  EXPECT_DEATH(buddy_.free(page, 0), "not an allocated block");
}

TEST(ForEachAlignedBlock, DecomposesIntoLargestAlignedBlocks) {
  std::vector<std::pair<Pfn, unsigned>> blocks;
  for_each_aligned_block(6, 6 + 11, [&](Pfn p, unsigned o) { blocks.emplace_back(p, o); });
  const std::vector<std::pair<Pfn, unsigned>> expected = {{6, 1}, {8, 3}, {16, 0}};
  EXPECT_EQ(blocks, expected);
}

}  // namespace
}  // namespace dmakit::machine
