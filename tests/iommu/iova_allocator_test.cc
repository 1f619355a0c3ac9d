// SPDX-License-Identifier: Apache-2.0
#include "dmakit/iommu/iova_allocator.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

#include "dmakit/core/config_error.h"
#include "dmakit/core/mask.h"
#include "dmakit/core/units.h"

namespace dmakit::iommu {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

constexpr std::uint64_t kLimit = 0x1000;

IovaAllocatorConfig plain_config() {
  IovaAllocatorConfig config;
  config.caches = false;
  return config;
}

// One shard, and no trimming unless a test asks: every count is predictable.
IovaAllocatorConfig cached_config() {
  IovaAllocatorConfig config;
  config.cache_shards = 1;
  config.depot_trim_interval = hours(1);
  return config;
}

TEST(IovaAllocator, AllocatesTopDownBelowTheLimit) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.alloc(1, kLimit).value(), 0xfffu);
  EXPECT_EQ(iova.alloc(1, kLimit).value(), 0xffeu);
  EXPECT_EQ(iova.alloc(2, kLimit).value(), 0xffcu);
  EXPECT_EQ(iova.alloc(1, 0x800).value(), 0x7ffu);
  iova.validate();
}

TEST(IovaAllocator, NeverHandsOutPfnsBelowTheStartSoIovaZeroStaysUnused) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.alloc(1, 2).value(), 1u);
  const Result<std::uint64_t> none = iova.alloc(1, 2);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::NoIovaSpace);

  IovaAllocatorConfig config = plain_config();
  config.start_pfn = 16;
  IovaAllocator high_start(config);
  EXPECT_EQ(high_start.alloc(4, 20).value(), 16u);
  EXPECT_FALSE(high_start.alloc(1, 20));
  EXPECT_EQ(high_start.alloc(1, 16).error().code, Errc::NoIovaSpace);
  EXPECT_EQ(high_start.stats().failures, 2u);
}

TEST(IovaAllocator, SizeAlignedRangesStartOnTheNextPowerOfTwo) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.alloc(1, kLimit).value(), 0xfffu);
  // 3 pages are rounded up to 4 and start on a multiple of 4.
  const std::uint64_t three = iova.alloc(3, kLimit).value();
  EXPECT_EQ(three, 0xff8u);
  EXPECT_EQ(iova.find(three)->pages(), 4u);
  EXPECT_EQ(iova.alloc(5, kLimit).value(), 0xff0u);
  // Above 32 pages sizes are kept, but the start is still aligned to the next power of two.
  const std::uint64_t forty = iova.alloc(40, kLimit).value();
  EXPECT_EQ(forty, 0xfc0u);
  EXPECT_EQ(iova.find(forty)->pages(), 40u);
  iova.validate();
}

TEST(IovaAllocator, UnalignedRangesTakeExactlyTheirSize) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.alloc(1, kLimit, /*size_aligned=*/false).value(), 0xfffu);
  EXPECT_EQ(iova.alloc(3, kLimit, /*size_aligned=*/false).value(), 0xffcu);
  EXPECT_EQ(iova.alloc(5, kLimit, /*size_aligned=*/false).value(), 0xff7u);
  EXPECT_EQ(iova.find(0xffc)->pages(), 3u);
  iova.validate();
}

TEST(IovaAllocator, FreedRangeIsFoundByTheNextSearchFromTheCachedNode) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.alloc(4, kLimit).value(), 0xffcu);
  const std::uint64_t middle = iova.alloc(4, kLimit).value();
  EXPECT_EQ(iova.alloc(4, kLimit).value(), 0xff4u);
  ASSERT_TRUE(iova.free(middle, 4));
  EXPECT_EQ(iova.alloc(4, kLimit).value(), middle);
  EXPECT_EQ(iova.alloc(4, kLimit).value(), 0xff0u);
  iova.validate();
}

TEST(IovaAllocator, NextSearchContinuesBelowTheLastRangeInserted) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.alloc(1, 0x100).value(), 0xffu);
  // The search starts at the cached node, not at the limit, as iova.c's does.
  EXPECT_EQ(iova.alloc(1, kLimit).value(), 0xfeu);
  iova.validate();
}

TEST(IovaAllocator, SearchesAboveTheCachedNodeWhenNothingFitsBelowIt) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.alloc(1, 2).value(), 1u);
  EXPECT_EQ(iova.alloc(1, kLimit).value(), 0xfffu);
  iova.validate();
}

TEST(IovaAllocator, Full32BitSpaceFailsFastUntilAFreeBelow4GiB) {
  IovaAllocatorConfig config = plain_config();
  config.granule = kGiB;  // pfns 1, 2 and 3 lie below 4 GiB
  IovaAllocator iova(config);
  ASSERT_EQ(iova.dma32_pfn(), 4u);
  EXPECT_EQ(iova.alloc(1, 4).value(), 3u);
  EXPECT_EQ(iova.alloc(1, 4).value(), 2u);
  EXPECT_EQ(iova.alloc(1, 4).value(), 1u);
  EXPECT_FALSE(iova.alloc(1, 4));  // searched, and remembered
  EXPECT_EQ(iova.stats().fast_fails, 0u);
  EXPECT_FALSE(iova.alloc(1, 4));
  EXPECT_EQ(iova.stats().fast_fails, 1u);
  // The space above 4 GiB is not affected.
  EXPECT_EQ(iova.alloc(1, 100).value(), 99u);
  ASSERT_TRUE(iova.free(2, 1));
  EXPECT_EQ(iova.alloc(1, 4).value(), 2u);
  EXPECT_EQ(iova.stats().fast_fails, 1u);
}

TEST(IovaAllocator, FailureUnderANarrowerLimitDoesNotMarkThe32BitSpaceFull) {
  IovaAllocatorConfig config = plain_config();
  config.granule = kGiB;
  IovaAllocator iova(config);
  EXPECT_EQ(iova.alloc(1, 2).value(), 1u);
  EXPECT_FALSE(iova.alloc(1, 2));
  EXPECT_EQ(iova.alloc(1, 4).value(), 3u);
  EXPECT_EQ(iova.stats().fast_fails, 0u);
}

TEST(IovaAllocator, CachedNodesStayValidWhenTheRangesTheyNameAreFreed) {
  IovaAllocatorConfig config = plain_config();
  config.granule = kGiB;
  IovaAllocator iova(config);
  ASSERT_EQ(iova.alloc(1, 4).value(), 3u);     // the 32-bit cached node
  ASSERT_EQ(iova.alloc(1, 100).value(), 99u);  // the cached node above 4 GiB
  // Freeing pfn 3 moves the 32-bit cached node to its successor, above 4 GiB; freeing that one
  // must move it again.
  ASSERT_TRUE(iova.free(3, 1));
  ASSERT_TRUE(iova.free(99, 1));
  iova.validate();
  EXPECT_EQ(iova.alloc(1, 4).value(), 3u);
  EXPECT_EQ(iova.alloc(1, 100).value(), 99u);
  iova.validate();
}

TEST(IovaAllocator, NothingIsHandedOutAboveTheAperture) {
  IovaAllocatorConfig config = cached_config();
  config.iova_bits = 24;  // 4096 pfns of 4 KiB
  IovaAllocator iova(config);
  EXPECT_EQ(iova.end_pfn(), 4096u);
  EXPECT_EQ(iova.alloc(1, iova.limit_pfn_for_mask(dma_bit_mask(64))).value(), 4095u);
  // Below the 64-page block the first allocation's cache miss took.
  EXPECT_EQ(iova.alloc(40, std::uint64_t{1} << 40).value(),
            4096u - 2 * IovaAllocator::kRefillPages);
}

TEST(IovaAllocator, ZeroPagesIsAnInvalidArgument) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.alloc(0, kLimit).error().code, Errc::InvalidArgument);
}

TEST(IovaAllocator, ReservedRangesAreNeverHandedOutNorFreed) {
  IovaAllocator iova(plain_config());
  ASSERT_TRUE(iova.reserve(0xf00, kLimit));
  EXPECT_EQ(iova.alloc(1, kLimit).value(), 0xeffu);
  const std::optional<IovaRange> range = iova.find(0xf80);
  ASSERT_TRUE(range);
  EXPECT_EQ(range->kind, IovaRangeKind::Reserved);
  EXPECT_EQ(range->pfn, 0xf00u);
  EXPECT_EQ(range->end_pfn, kLimit);
  EXPECT_EQ(iova.free(0xf00, 0x100).error().code, Errc::InvalidArgument);
  EXPECT_EQ(iova.find(0xf00)->kind, IovaRangeKind::Reserved);
  iova.validate();
}

TEST(IovaAllocator, OverlappingReservationsMerge) {
  IovaAllocator iova(plain_config());
  ASSERT_TRUE(iova.reserve(10, 20));
  ASSERT_TRUE(iova.reserve(15, 30));
  ASSERT_TRUE(iova.reserve(12, 13));
  const std::optional<IovaRange> range = iova.find(12);
  ASSERT_TRUE(range);
  EXPECT_EQ(range->pfn, 10u);
  EXPECT_EQ(range->end_pfn, 30u);
  EXPECT_EQ(iova.stats().tree_ranges, 1u);
  EXPECT_EQ(iova.reserve(5, 5).error().code, Errc::InvalidArgument);
  iova.validate();
}

TEST(IovaAllocator, ReservingAnAllocatedRangeIsBusyAndChangesNothing) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.alloc(1, kLimit).value(), 0xfffu);
  const Status reserved = iova.reserve(0xff0, kLimit);
  ASSERT_FALSE(reserved);
  EXPECT_EQ(reserved.error().code, Errc::Busy);
  EXPECT_FALSE(iova.find(0xff5));
  EXPECT_EQ(iova.stats().tree_ranges, 1u);
  iova.validate();
}

TEST(IovaAllocator, ReservingMovesCachedRangesOutOfTheWay) {
  IovaAllocator iova(cached_config());
  const std::uint64_t pfn = iova.alloc(1, kLimit).value();
  ASSERT_TRUE(iova.free(pfn, 1));
  ASSERT_TRUE(iova.reserve(0xff0, kLimit));
  EXPECT_EQ(iova.stats().flushes, 1u);
  // The top of the highest aligned refill block left below the reservation.
  EXPECT_EQ(iova.alloc(1, kLimit).value(), 0xfbfu);
  iova.validate();
}

class IovaAllocatorFree : public ::testing::TestWithParam<bool> {};

TEST_P(IovaAllocatorFree, RefusesUnknownRangesWrongSizesAndDoubleFreesChangingNothing) {
  IovaAllocatorConfig config = cached_config();
  config.caches = GetParam();
  IovaAllocator iova(config);
  const std::uint64_t pfn = iova.alloc(3, kLimit).value();
  EXPECT_EQ(iova.free(pfn + 1, 3).error().code, Errc::InvalidArgument);
  EXPECT_EQ(iova.free(pfn, 4).error().code, Errc::InvalidArgument);  // rounded size, not asked
  EXPECT_EQ(iova.free(0x10, 1).error().code, Errc::InvalidArgument);
  EXPECT_EQ(iova.stats().live_ranges, 1u);
  EXPECT_EQ(iova.find(pfn)->kind, IovaRangeKind::Allocated);
  iova.validate();
  ASSERT_TRUE(iova.free(pfn, 3));
  EXPECT_EQ(iova.free(pfn, 3).error().code, Errc::InvalidArgument);
  EXPECT_EQ(iova.stats().frees, 1u);
  EXPECT_EQ(iova.stats().live_ranges, 0u);
  iova.validate();
}

INSTANTIATE_TEST_SUITE_P(CachesOnAndOff, IovaAllocatorFree, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "Cached" : "PlainTree";
                         });

TEST(IovaAllocator, FindTellsAllocatedFromCachedRanges) {
  IovaAllocator iova(cached_config());
  const std::uint64_t pfn = iova.alloc(4, kLimit).value();
  std::optional<IovaRange> range = iova.find(pfn + 2);
  ASSERT_TRUE(range);
  EXPECT_EQ(range->pfn, pfn);
  EXPECT_EQ(range->pages(), 4u);
  EXPECT_EQ(range->kind, IovaRangeKind::Allocated);
  ASSERT_TRUE(iova.free(pfn, 4));
  EXPECT_EQ(iova.find(pfn)->kind, IovaRangeKind::Cached);
  iova.flush_caches();
  EXPECT_FALSE(iova.find(pfn));
  EXPECT_FALSE(iova.find(0));
}

TEST(IovaAllocator, CacheMissTakesAnAlignedBlockAndServesItTopDown) {
  IovaAllocator iova(cached_config());
  std::vector<std::uint64_t> pfns;
  for (std::uint64_t i = 0; i < IovaAllocator::kRefillPages / 4; ++i)
    pfns.push_back(iova.alloc(4, kLimit).value());
  for (std::size_t i = 0; i < pfns.size(); ++i) EXPECT_EQ(pfns[i], kLimit - 4 * (i + 1));
  IovaStats s = iova.stats();
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.cache_hits, IovaAllocator::kRefillPages / 4 - 1);
  EXPECT_EQ(s.cached_ranges, 0u);
  iova.validate();
  EXPECT_EQ(iova.alloc(4, kLimit).value(), kLimit - IovaAllocator::kRefillPages - 4);
  EXPECT_EQ(iova.stats().cache_misses, 2u);
}

TEST(IovaAllocator, ThreadsTakeTheirRangesFromBlocksOfTheirOwn) {
  IovaAllocatorConfig config = cached_config();
  config.cache_shards = 2;
  IovaAllocator iova(config);
  std::array<std::vector<std::uint64_t>, 2> pfns;
  std::array<std::thread, 2> threads;
  std::latch both_running(2);  // so that they hold different thread slots, hence shards
  std::latch both_done(2);
  for (std::size_t t = 0; t < threads.size(); ++t) {
    threads[t] = std::thread([&, &mine = pfns[t]] {
      both_running.arrive_and_wait();
      for (int i = 0; i < 16; ++i) mine.push_back(iova.alloc(1, kLimit).value());
      both_done.arrive_and_wait();
    });
  }
  for (std::thread& thread : threads) thread.join();
  // No two threads' ranges share a block, so they never share a page-table cache line.
  for (const std::uint64_t a : pfns[0]) {
    for (const std::uint64_t b : pfns[1])
      EXPECT_NE(a / IovaAllocator::kRefillPages, b / IovaAllocator::kRefillPages);
  }
  iova.validate();
}

TEST(IovaAllocator, SpaceTooSmallForABlockIsStillServedRangeByRange) {
  IovaAllocator iova(cached_config());
  constexpr std::uint64_t kSmallLimit = 40;  // pfns 1 to 39: no aligned block of 64
  for (std::uint64_t pfn = kSmallLimit - 1; pfn >= 1; --pfn)
    EXPECT_EQ(iova.alloc(1, kSmallLimit).value(), pfn);
  EXPECT_EQ(iova.alloc(1, kSmallLimit).error().code, Errc::NoIovaSpace);
  iova.validate();
}

TEST(IovaAllocator, FreedRangeIsServedAgainFromTheThreadCache) {
  IovaAllocator iova(cached_config());
  const std::uint64_t pfn = iova.alloc(2, kLimit).value();
  ASSERT_TRUE(iova.free(pfn, 2));
  EXPECT_EQ(iova.find(pfn)->kind, IovaRangeKind::Cached);
  EXPECT_EQ(iova.alloc(2, kLimit).value(), pfn);
  const IovaStats s = iova.stats();
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_EQ(s.cache_frees, 1u);
  EXPECT_EQ(s.tree_allocs,
            IovaAllocator::kRefillPages / 2);  // the miss took a block of 2-page ranges
  EXPECT_EQ(s.tree_frees, 0u);
  iova.validate();
}

TEST(IovaAllocator, CachedRangesHonourTheLimit) {
  IovaAllocator iova(cached_config());
  ASSERT_EQ(iova.alloc(1, kLimit).value(), 0xfffu);
  ASSERT_TRUE(iova.free(0xfff, 1));
  const std::uint64_t low = iova.alloc(1, 0x800).value();
  EXPECT_LT(low, 0x800u);
  EXPECT_EQ(iova.stats().cache_hits, 0u);
  // Both misses took a block: all but the range handed out now are cached.
  EXPECT_EQ(iova.stats().cached_ranges, 2 * IovaAllocator::kRefillPages - 1);
  iova.validate();
}

TEST(IovaAllocator, RangesLargerThan32PagesOrUnalignedBypassTheCaches) {
  IovaAllocator iova(cached_config());
  const std::uint64_t big = iova.alloc(33, kLimit).value();
  const std::uint64_t odd = iova.alloc(3, kLimit, /*size_aligned=*/false).value();
  ASSERT_TRUE(iova.free(big, 33));
  ASSERT_TRUE(iova.free(odd, 3));
  const IovaStats s = iova.stats();
  EXPECT_EQ(s.cache_hits + s.cache_misses, 0u);
  EXPECT_EQ(s.cached_ranges, 0u);
  EXPECT_EQ(s.tree_frees, 2u);
  EXPECT_EQ(s.tree_ranges, 0u);
}

TEST(IovaAllocator, FullMagazinesSpillIntoTheDepotAndComeBack) {
  IovaAllocator iova(cached_config());
  std::vector<std::uint64_t> pfns;
  for (int i = 0; i < 300; ++i) pfns.push_back(iova.alloc(1, kLimit).value());
  iova.flush_caches();  // the rest of the last refill block
  for (const std::uint64_t pfn : pfns) ASSERT_TRUE(iova.free(pfn, 1));
  // 127 in `loaded`, 127 in `prev`, then the full loaded magazine goes to the depot.
  IovaStats s = iova.stats();
  EXPECT_EQ(s.depot_pushes, 1u);
  EXPECT_EQ(s.depot_magazines, 1u);
  EXPECT_EQ(s.cached_ranges, 300u);
  iova.validate();
  const std::uint64_t hits_before = s.cache_hits;
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(iova.alloc(1, kLimit));
  s = iova.stats();
  EXPECT_EQ(s.cache_hits - hits_before, 300u);
  EXPECT_EQ(s.depot_pops, 1u);
  EXPECT_EQ(s.cached_ranges, 0u);
  iova.validate();
}

// 635 order-0 frees on one shard: 254 fill `loaded` and `prev`, then every 127 push one magazine.
void free_635_pages(IovaAllocator& iova) {
  std::vector<std::uint64_t> pfns;
  for (int i = 0; i < 635; ++i) pfns.push_back(iova.alloc(1, kLimit).value());
  iova.flush_caches();  // the rest of the last refill block
  for (const std::uint64_t pfn : pfns) ASSERT_TRUE(iova.free(pfn, 1));
}

TEST(IovaAllocator, DepotIsTrimmedOneMagazineATickDownToTheShardCount) {
  IovaAllocator iova(cached_config());
  free_635_pages(iova);
  ASSERT_EQ(iova.stats().depot_magazines, 3u);
  EXPECT_EQ(iova.trim_depot(), 1u);
  EXPECT_EQ(iova.trim_depot(), 1u);
  EXPECT_EQ(iova.trim_depot(), 0u);  // one magazine for one shard stays
  const IovaStats s = iova.stats();
  EXPECT_EQ(s.depot_magazines, 1u);
  EXPECT_EQ(s.depot_trims, 2u);
  EXPECT_EQ(s.tree_ranges, 635u - 2 * IovaAllocator::kMagazineSize);
  iova.validate();
}

TEST(IovaAllocator, DepotTrimsItselfOnAPushOnceTheIntervalHasPassed) {
  IovaAllocatorConfig config = cached_config();
  config.depot_trim_interval = milliseconds(0);
  IovaAllocator iova(config);
  free_635_pages(iova);
  const IovaStats s = iova.stats();
  EXPECT_EQ(s.depot_pushes, 3u);
  EXPECT_EQ(s.depot_trims, 2u);
  EXPECT_EQ(s.depot_magazines, 1u);
  iova.validate();
}

TEST(IovaAllocator, TreeWithoutRoomIsRefilledFromTheCachesAndSearchedAgain) {
  IovaAllocator iova(cached_config());
  std::vector<std::uint64_t> pfns;
  for (int i = 0; i < 8; ++i) pfns.push_back(iova.alloc(1, 9).value());  // pfns 1 to 8
  for (const std::uint64_t pfn : pfns) ASSERT_TRUE(iova.free(pfn, 1));
  ASSERT_EQ(iova.stats().tree_ranges, 8u);  // all held by the cache
  EXPECT_EQ(iova.alloc(2, 9).value(), 6u);
  IovaStats s = iova.stats();
  EXPECT_EQ(s.flushes, 1u);
  EXPECT_EQ(s.cached_ranges, 0u);
  EXPECT_EQ(s.tree_ranges, 1u);
  // 8 pages aligned to 8 cannot start at or above pfn 1 and end by pfn 9, even after a flush.
  EXPECT_EQ(iova.alloc(8, 9).error().code, Errc::NoIovaSpace);
  iova.validate();
}

TEST(IovaAllocator, WithoutCachesEveryAllocationSearchesTheTree) {
  IovaAllocator iova(plain_config());
  const std::uint64_t pfn = iova.alloc(2, kLimit).value();
  ASSERT_TRUE(iova.free(pfn, 2));
  EXPECT_EQ(iova.alloc(2, kLimit).value(), pfn);
  const IovaStats s = iova.stats();
  EXPECT_EQ(s.cache_hits + s.cache_misses + s.cache_frees, 0u);
  EXPECT_EQ(s.tree_allocs, 2u);
  EXPECT_EQ(s.tree_frees, 1u);
  EXPECT_FALSE(iova.has_caches());
  EXPECT_EQ(iova.trim_depot(), 0u);
}

TEST(IovaAllocator, ConvertsBetweenPfnsAddressesAndMasks) {
  IovaAllocator iova(plain_config());
  EXPECT_EQ(iova.iova_of(5), IovaAddr(0x5000));
  EXPECT_EQ(iova.pfn_of(IovaAddr(0x5fff)), 5u);
  EXPECT_EQ(iova.limit_pfn_for_mask(dma_bit_mask(32)), 0x100000u);
  EXPECT_EQ(iova.dma32_pfn(), 0x100000u);
  EXPECT_EQ(iova.limit_pfn_for_mask(dma_bit_mask(64)), std::uint64_t{1} << 52);
}

TEST(IovaAllocator, RefusesSettingsThatCannotWork) {
  auto field_of = [](IovaAllocatorConfig config) {
    try {
      IovaAllocator iova(config);
    } catch (const ConfigError& e) {
      return e.field();
    }
    return std::string();
  };
  IovaAllocatorConfig config;
  config.granule = 3000;
  EXPECT_EQ(field_of(config), "iova.granule");
  config = {};
  config.granule = 256;
  EXPECT_EQ(field_of(config), "iova.granule");
  config = {};
  config.start_pfn = 0;
  EXPECT_EQ(field_of(config), "iova.start_pfn");
  config = {};
  config.iova_bits = 12;  // not even one 4 KiB page
  EXPECT_EQ(field_of(config), "iova.iova_bits");
  config.iova_bits = 65;
  EXPECT_EQ(field_of(config), "iova.iova_bits");
  config = {};
  config.cache_shards = 5000;
  EXPECT_EQ(field_of(config), "iova.cache_shards");
  EXPECT_EQ(field_of({}), "");
}

}  // namespace
}  // namespace dmakit::iommu
