// SPDX-License-Identifier: Apache-2.0
#include "dmakit/machine/page_allocator.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dmakit/machine/machine.h"
#include "testing/small_machine.h"

namespace dmakit::machine {
namespace {

using testing::plain_machine_config;
using testing::small_machine_config;

MachineConfig single_node_small() {
  MachineConfig config = small_machine_config();
  config.node_count = 1;
  config.page_cache_high = 0;
  return config;
}

std::uint64_t end_of(const Machine& m, const Page* page, unsigned order) {
  return m.page_to_phys(page).value() + (kPageSize << order);
}

// Allocates order-`order` blocks with `gfp` until the allocator refuses; returns them.
std::vector<Page*> exhaust(PageAllocator& pages, Gfp gfp, unsigned order, int node = kLocalNode) {
  std::vector<Page*> taken;
  for (Result<Page*> p = pages.alloc_pages(gfp, order, node); p;
       p = pages.alloc_pages(gfp, order, node))
    taken.push_back(*p);
  return taken;
}

TEST(PageAllocator, KernelRequestsFallBackFromNormalToDma32) {
  Machine m(single_node_small());
  PageAllocator& pages = m.page_allocator();
  const Zone* normal = m.nodes()[0].zone(ZoneKind::Normal);
  const std::vector<Page*> blocks = exhaust(pages, kGfpKernel, kMaxOrder);
  std::uint64_t in_normal = 0;
  for (const Page* p : blocks) in_normal += normal->contains(m.memory().page_to_pfn(p)) ? 1 : 0;
  EXPECT_EQ(in_normal * (Pfn{1} << kMaxOrder), normal->present_pages());
  EXPECT_GT(blocks.size(), in_normal);
  EXPECT_EQ(pages.stats().zone_fallbacks, blocks.size() - in_normal);
}

TEST(PageAllocator, Dma32RequestsNeverReachNormal) {
  Machine m(single_node_small());
  PageAllocator& pages = m.page_allocator();
  const std::vector<Page*> blocks = exhaust(pages, kGfpDma32, 0);
  ASSERT_FALSE(blocks.empty());
  for (const Page* p : blocks) EXPECT_LE(end_of(m, p, 0), 48 * kMiB);
  EXPECT_GT(m.nodes()[0].zone(ZoneKind::Normal)->free_pages(), 0u);
  const Result<Page*> refused = pages.alloc_pages(kGfpDma32, 0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::NoMemory);
  EXPECT_NE(refused.error().message.find("node 0 DMA32, node 0 DMA"), std::string::npos)
      << refused.error().message;
}

TEST(PageAllocator, DmaRequestsStayBelowTheDmaLimit) {
  Machine m(single_node_small());
  for (const Page* p : exhaust(m.page_allocator(), kGfpDma, 2))
    EXPECT_LE(end_of(m, p, 2), 8 * kMiB);
}

TEST(PageAllocator, LowmemReserveKeepsDmaZoneForDmaRequests) {
  Machine m(single_node_small());
  PageAllocator& pages = m.page_allocator();
  const Zone* dma = m.nodes()[0].zone(ZoneKind::Dma);
  // (8192 DMA32 pages + 14336 Normal pages) / 256
  ASSERT_EQ(dma->lowmem_reserve(ZoneKind::Normal), 88u);
  (void)exhaust(pages, kGfpKernel, 0);
  EXPECT_EQ(dma->free_pages(), 88u);
  // What the reserve kept back is there for a request that needs it.
  EXPECT_TRUE(pages.alloc_pages(kGfpDma, 0));
}

TEST(PageAllocator, ReserveRatioZeroTurnsProtectionOff) {
  MachineConfig config = single_node_small();
  config.lowmem_reserve_ratio = {0, 0};
  Machine m(config);
  (void)exhaust(m.page_allocator(), kGfpKernel, 0);
  EXPECT_EQ(m.nodes()[0].zone(ZoneKind::Dma)->free_pages(), 0u);
}

TEST(PageAllocator, MissingDmaZoneMeansDmaRequestsFail) {
  MachineConfig config = single_node_small();
  config.zone_dma_limit.reset();
  Machine m(config);
  const Result<Page*> r = m.page_allocator().alloc_pages(kGfpDma, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no such zone"), std::string::npos) << r.error().message;
}

TEST(PageAllocator, ExactAllocationKeepsOnlyThePagesAskedFor) {
  Machine m(plain_machine_config(16 * kMiB));
  PageAllocator& pages = m.page_allocator();
  const Zone* zone = m.zones()[0];
  const std::uint64_t before = zone->free_pages();
  const Result<Page*> p = pages.alloc_pages_exact(kGfpKernel, 5 * kPageSize - 100);
  ASSERT_TRUE(p);
  EXPECT_EQ(zone->free_pages(), before - 5);
  // Freed with a different size: refused, nothing lost.
  EXPECT_FALSE(pages.free_pages_exact(*p, 6 * kPageSize));
  EXPECT_EQ(zone->free_pages(), before - 5);
  EXPECT_TRUE(pages.free_pages_exact(*p, 5 * kPageSize - 100));
  EXPECT_EQ(zone->free_pages(), before);
  EXPECT_EQ(zone->free_blocks()[kMaxOrder], 4u);  // merged back into 4 MiB blocks
}

TEST(PageAllocator, ExactAllocationRejectsZeroAndOversizedRequests) {
  Machine m(plain_machine_config(16 * kMiB));
  EXPECT_EQ(m.page_allocator().alloc_pages_exact(kGfpKernel, 0).error().code,
            Errc::InvalidArgument);
  EXPECT_EQ(m.page_allocator().alloc_pages_exact(kGfpKernel, 4 * kMiB + 1).error().code,
            Errc::InvalidArgument);
}

TEST(PageAllocator, ZeroFlagClearsRecycledMemory) {
  Machine m(plain_machine_config(16 * kMiB));
  PageAllocator& pages = m.page_allocator();
  Page* p = pages.alloc_pages(kGfpKernel, 1).value();
  std::memset(m.page_address(p), 0xa5, 2 * kPageSize);
  ASSERT_TRUE(pages.free_pages(p, 1));
  Page* again = pages.alloc_pages(kGfpKernel | kGfpZero, 1).value();
  ASSERT_EQ(again, p);  // the buddy lists hand the same block back first
  const std::byte* bytes = m.page_address(again);
  for (std::uint64_t i = 0; i < 2 * kPageSize; ++i) ASSERT_EQ(bytes[i], std::byte{0}) << i;
}

TEST(PageAllocator, BadFreesAreRefusedAndLoseNothing) {
  Machine m(plain_machine_config(16 * kMiB));
  PageAllocator& pages = m.page_allocator();
  Page* p = pages.alloc_pages(kGfpKernel, 2).value();
  const std::uint64_t free_before = m.zones()[0]->free_pages();

  const Status wrong_order = pages.free_pages(p, 1);
  ASSERT_FALSE(wrong_order);
  EXPECT_NE(wrong_order.error().message.find("order-2 block, freed as order 1"), std::string::npos);
  const Status tail = pages.free_pages(p + 1, 0);
  ASSERT_FALSE(tail);
  EXPECT_NE(tail.error().message.find("not the head"), std::string::npos);
  Page foreign{};
  EXPECT_EQ(pages.free_pages(&foreign, 0).error().code, Errc::BadAddress);
  EXPECT_EQ(pages.free_pages(nullptr, 0).error().code, Errc::BadAddress);
  EXPECT_EQ(m.zones()[0]->free_pages(), free_before);

  ASSERT_TRUE(pages.free_pages(p, 2));
  const Status twice = pages.free_pages(p, 2);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("double free"), std::string::npos);
  m.validate();
}

TEST(PageAllocator, RejectsImpossibleRequests) {
  Machine m(plain_machine_config(16 * kMiB));
  PageAllocator& pages = m.page_allocator();
  EXPECT_EQ(pages.alloc_pages(kGfpKernel, kMaxOrder + 1).error().code, Errc::InvalidArgument);
  EXPECT_EQ(pages.alloc_pages(kGfpDma | kGfpDma32, 0).error().code, Errc::InvalidArgument);
  EXPECT_EQ(pages.alloc_pages(kGfpKernel, 0, 1).error().code, Errc::InvalidArgument);
  EXPECT_EQ(pages.stats().allocations, 0u);
}

TEST(PageAllocator, PrefersTheRequestedNodeThenFallsBack) {
  MachineConfig config = small_machine_config();
  config.page_cache_high = 0;
  Machine m(config);
  PageAllocator& pages = m.page_allocator();
  const PhysRange node1 = m.nodes()[1].span;

  const std::vector<Page*> local = exhaust(pages, kGfpKernel | kGfpThisNode, 0, 1);
  ASSERT_FALSE(local.empty());
  for (const Page* p : local) EXPECT_TRUE(node1.contains(m.page_to_phys(p)));
  EXPECT_EQ(pages.stats().node_misses, 0u);

  const Page* elsewhere = pages.alloc_pages(kGfpKernel, 0, 1).value();
  EXPECT_TRUE(m.nodes()[0].span.contains(m.page_to_phys(elsewhere)));
  EXPECT_EQ(pages.stats().node_misses, 1u);
}

TEST(PageAllocator, LocalNodeIsTheCallingThreadsNode) {
  Machine m(small_machine_config());
  set_thread_node(1);
  const Page* p = m.page_allocator().alloc_pages(kGfpKernel, 3).value();
  set_thread_node(0);
  EXPECT_TRUE(m.nodes()[1].span.contains(m.page_to_phys(p)));
}

TEST(PageAllocator, CountsAllocationsAndFailures) {
  Machine m(plain_machine_config(4 * kMiB));
  PageAllocator& pages = m.page_allocator();
  ASSERT_TRUE(pages.alloc_pages(kGfpKernel, kMaxOrder));
  EXPECT_FALSE(pages.alloc_pages(kGfpKernel, 0));
  EXPECT_EQ(pages.stats().allocations, 1u);
  EXPECT_EQ(pages.stats().failures, 1u);
  EXPECT_EQ(m.zones()[0]->stats().refused, 2u);  // tried again after draining the page caches
}

TEST(PageAllocator, SmallBlocksGoThroughThePageCachesAndDrainBack) {
  MachineConfig config = plain_machine_config(16 * kMiB);
  config.page_cache_high = 64;
  config.page_cache_batch = 16;
  config.page_cache_shards = 1;
  Machine m(config);
  PageAllocator& pages = m.page_allocator();
  const Zone* zone = m.zones()[0];
  const auto initial = zone->free_blocks();

  Page* small = pages.alloc_pages(kGfpKernel, 0).value();
  EXPECT_EQ(zone->cached_pages(), 15u);  // a batch of 16 came over, one handed out
  Page* medium = pages.alloc_pages(kGfpKernel, 3).value();
  EXPECT_EQ(zone->cached_pages(), 15u + 8u);  // order 3: 16 >> 3 = 2 blocks, one handed out
  ASSERT_TRUE(pages.free_pages(medium, 3));
  ASSERT_TRUE(pages.free_pages(small, 0));
  EXPECT_EQ(zone->cached_pages(), 16u + 16u);
  m.validate();

  // Past the high mark a cache gives its oldest blocks back to the buddy lists.
  std::vector<Page*> many;
  for (int i = 0; i < 100; ++i) many.push_back(pages.alloc_pages(kGfpKernel, 0).value());
  for (Page* p : many) ASSERT_TRUE(pages.free_pages(p, 0));
  EXPECT_LE(zone->cached_pages(), 64u);
  m.validate();

  pages.drain_caches();
  EXPECT_EQ(zone->cached_pages(), 0u);
  EXPECT_EQ(zone->free_blocks(), initial);
}

}  // namespace
}  // namespace dmakit::machine
