// SPDX-License-Identifier: Apache-2.0
// Random alloc/free sequences against a model of the live ranges, with the caches on and off.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <chrono>
#include <map>

#include "dmakit/core/units.h"
#include "dmakit/iommu/iova_allocator.h"

namespace dmakit::iommu {
namespace {

struct Live {
  std::uint64_t pages;  // asked for
  std::uint64_t taken;  // in the tree
};

// Whether some range of `taken` pages starting on a multiple of `align` fits in [start, limit)
// between the live ranges: what a search must find when it is complete.
bool model_fits(const std::map<std::uint64_t, Live>& live, std::uint64_t start, std::uint64_t limit,
                std::uint64_t taken, std::uint64_t align) {
  auto fits_in = [&](std::uint64_t lo, std::uint64_t hi) {
    const std::uint64_t pfn = align_up(lo, align);
    return lo < hi && pfn < hi && taken <= hi - pfn;
  };
  std::uint64_t cursor = start;
  for (const auto& [pfn, range] : live) {
    if (pfn >= limit) break;
    if (fits_in(cursor, pfn)) return true;
    cursor = std::max(cursor, pfn + range.taken);
  }
  return fits_in(cursor, limit);
}

RC_GTEST_PROP(IovaAllocatorProperty, RangesFitNeverOverlapAreFoundWhenFreeAndAllComeBack, ()) {
  IovaAllocatorConfig config;
  config.caches = *rc::gen::arbitrary<bool>();
  config.cache_shards = 2;
  config.start_pfn = *rc::gen::inRange<std::uint64_t>(1, 64);
  // With 1 MiB granules 4 GiB is pfn 4096, so the limits below straddle the 32-bit space.
  config.granule = *rc::gen::element(std::uint64_t{kPageSize}, std::uint64_t{kMiB});
  config.depot_trim_interval =
      std::chrono::milliseconds(*rc::gen::element<std::int64_t>(0, 3'600'000));
  IovaAllocator iova(config);

  std::map<std::uint64_t, Live> live;
  const int steps = *rc::gen::inRange(1, 300);
  for (int step = 0; step < steps; ++step) {
    const int action = *rc::gen::inRange(0, 20);
    if (action == 0) {
      (void)iova.trim_depot();
      continue;
    }
    if (action == 1) {
      iova.flush_caches();
      continue;
    }
    if (!live.empty() && action < 9) {
      auto it = live.begin();
      std::advance(it, *rc::gen::inRange<long>(0, static_cast<long>(live.size())));
      const auto [pfn, range] = *it;
      if (action == 2)  // a wrong size changes nothing
        RC_ASSERT(iova.free(pfn, range.pages + 1).error().code == Errc::InvalidArgument);
      RC_ASSERT(iova.free(pfn, range.pages).has_value());
      live.erase(it);
      RC_ASSERT(iova.free(pfn, range.pages).error().code == Errc::InvalidArgument);
      continue;
    }
    const std::uint64_t pages = *rc::gen::weightedElement<std::uint64_t>(
        {{6, 1}, {4, 2}, {3, 3}, {3, 4}, {2, 7}, {2, 8}, {2, 16}, {1, 32}, {1, 33}, {1, 40}});
    const std::uint64_t limit = *rc::gen::element<std::uint64_t>(256, 1024, 4096, 8192);
    const bool size_aligned = *rc::gen::weightedElement<bool>({{4, true}, {1, false}});
    const std::uint64_t taken =
        size_aligned && pages <= IovaAllocator::kMaxCachedPages ? std::bit_ceil(pages) : pages;
    const std::uint64_t align = size_aligned ? std::bit_ceil(taken) : 1;
    const Result<std::uint64_t> got = iova.alloc(pages, limit, size_aligned);
    if (!got) {
      RC_ASSERT(got.error().code == Errc::NoIovaSpace);
      // Neither the cached nodes nor the 32-bit fast fail may hide free space.
      RC_ASSERT(!model_fits(live, config.start_pfn, limit, taken, align));
      continue;
    }
    const std::uint64_t pfn = *got;
    RC_ASSERT(pfn >= config.start_pfn);
    RC_ASSERT(pfn + taken <= limit);
    RC_ASSERT(pfn % align == 0);
    const auto next = live.lower_bound(pfn);
    if (next != live.end()) RC_ASSERT(pfn + taken <= next->first);
    if (next != live.begin()) {
      const auto prev = std::prev(next);
      RC_ASSERT(prev->first + prev->second.taken <= pfn);
    }
    const std::optional<IovaRange> range = iova.find(pfn + taken - 1);
    RC_ASSERT(range.has_value());
    RC_ASSERT(range->pfn == pfn);
    RC_ASSERT(range->pages() == taken);
    RC_ASSERT(range->kind == IovaRangeKind::Allocated);
    live.emplace(pfn, Live{pages, taken});
  }
  iova.validate();
  RC_ASSERT(iova.stats().live_ranges == live.size());

  for (const auto& [pfn, range] : live) RC_ASSERT(iova.free(pfn, range.pages).has_value());
  iova.flush_caches();
  iova.validate();
  const IovaStats s = iova.stats();
  RC_ASSERT(s.live_ranges == 0u);
  RC_ASSERT(s.cached_ranges == 0u);
  RC_ASSERT(s.tree_ranges == 0u);
  RC_ASSERT(s.tree_allocs == s.tree_frees);
}

}  // namespace
}  // namespace dmakit::iommu
