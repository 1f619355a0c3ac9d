// SPDX-License-Identifier: Apache-2.0
// A zone: buddy lists behind a lock, order-0 page caches in front (machine layer).
//
// Page caches follow Linux's per-CPU page lists: a thread takes a cache by a fixed slot number, frees
// order-0 pages into it and allocates from it, and only touches the zone lock to move a batch between
// the cache and the buddy lists. Lock order: cache lock, then zone lock. Cached pages are flagged
// Page::kCached and, as in Linux, are not counted as free on the zone: a fallback request that is
// checked against the lowmem reserve sees only the buddy lists' free pages.
#include "dmakit/machine/zone.h"

#include <algorithm>
#include <thread>

#include "dmakit/core/assert.h"

namespace dmakit::machine {
namespace {

std::atomic<unsigned> next_cache_slot{0};

unsigned this_thread_slot() {
  thread_local const unsigned slot = next_cache_slot.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

unsigned cache_count_for(const MachineConfig& config) {
  if (config.page_cache_high == 0) return 0;
  if (config.page_cache_shards != 0) return config.page_cache_shards;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

Zone::Zone(unsigned id, const ZoneSpan& span, Page* mem_map, const MachineConfig& config)
    : id_(id),
      span_(span),
      mem_map_(mem_map),
      cache_batch_(config.page_cache_batch),
      cache_high_(config.page_cache_high),
      buddy_(mem_map, phys_to_pfn(span.span.start), phys_to_pfn(span.span.end)),
      cache_count_(cache_count_for(config)) {
  caches_ = std::make_unique<PageCache[]>(cache_count_);
  for (unsigned i = 0; i < cache_count_; ++i) caches_[i].pfns.reserve(cache_high_ + cache_batch_);
}

void Zone::add_free_range(Pfn start, Pfn end) {
  const std::scoped_lock guard(lock_);
  buddy_.add_free_range(start, end);
  free_pages_.store(buddy_.free_pages(), std::memory_order_relaxed);
}

bool Zone::may_take(std::uint64_t pages, ZoneKind highest) const {
  const std::uint64_t reserve = lowmem_reserve(highest);
  return reserve == 0 || free_pages() >= reserve + pages;
}

Page* Zone::alloc_locked(unsigned order) {
  Page* page = buddy_.alloc(order);
  free_pages_.store(buddy_.free_pages(), std::memory_order_relaxed);
  return page;
}

void Zone::free_locked(Page* page, unsigned order) {
  buddy_.free(page, order);
  free_pages_.store(buddy_.free_pages(), std::memory_order_relaxed);
}

Zone::PageCache& Zone::this_thread_cache() { return caches_[this_thread_slot() % cache_count_]; }

Page* Zone::alloc(unsigned order, ZoneKind highest) {
  Page* page = nullptr;
  if (order == 0 && cache_count_ != 0) {
    page = alloc_cached(highest);
  } else if (may_take(std::uint64_t{1} << order, highest)) {
    const std::scoped_lock guard(lock_);
    if (may_take(std::uint64_t{1} << order, highest)) page = alloc_locked(order);
  }
  if (page == nullptr) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  page->zone_id = static_cast<std::uint8_t>(id_);
  allocations_.fetch_add(1, std::memory_order_relaxed);
  return page;
}

Page* Zone::alloc_cached(ZoneKind highest) {
  // A request falling back into this zone must find the reserve intact on the buddy lists before it
  // may use the cache, as Linux checks the watermark before its per-CPU lists.
  if (!may_take(1, highest)) return nullptr;
  PageCache& cache = this_thread_cache();
  const std::scoped_lock cache_guard(cache.lock);
  if (cache.pfns.empty()) {
    const std::scoped_lock guard(lock_);
    // A falling-back refill stops at the reserve rather than taking a whole batch through it.
    for (unsigned i = 0; i < cache_batch_ && may_take(1, highest); ++i) {
      Page* page = alloc_locked(0);
      if (page == nullptr) break;
      page->set_flags(Page::kCached);
      cache.pfns.push_back(static_cast<std::uint32_t>(page - mem_map_));
    }
    if (cache.pfns.empty()) return nullptr;
  }
  Page* page = &mem_map_[cache.pfns.back()];
  cache.pfns.pop_back();
  page->set(Page::kHead, 0);
  return page;
}

void Zone::free(Page* page, unsigned order) {
  frees_.fetch_add(1, std::memory_order_relaxed);
  if (order == 0 && cache_count_ != 0) {
    free_cached(page);
    return;
  }
  const std::scoped_lock guard(lock_);
  free_locked(page, order);
}

void Zone::free_cached(Page* page) {
  PageCache& cache = this_thread_cache();
  const std::scoped_lock cache_guard(cache.lock);
  page->set_flags(Page::kCached);
  cache.pfns.push_back(static_cast<std::uint32_t>(page - mem_map_));
  if (cache.pfns.size() <= cache_high_) return;
  // Over the high mark: the oldest (coldest) batch goes back to the buddy lists.
  const std::scoped_lock guard(lock_);
  const auto batch_end = cache.pfns.begin() + cache_batch_;
  for (auto it = cache.pfns.begin(); it != batch_end; ++it) {
    Page& cached = mem_map_[*it];
    cached.set(Page::kHead, 0);
    free_locked(&cached, 0);
  }
  cache.pfns.erase(cache.pfns.begin(), batch_end);
}

void Zone::drain_caches() {
  for (unsigned i = 0; i < cache_count_; ++i) {
    PageCache& cache = caches_[i];
    const std::scoped_lock guard(cache.lock, lock_);
    for (const std::uint32_t pfn : cache.pfns) {
      Page& page = mem_map_[pfn];
      page.set(Page::kHead, 0);
      free_locked(&page, 0);
    }
    cache.pfns.clear();
  }
}

std::uint64_t Zone::cached_pages() const {
  std::uint64_t total = 0;
  for (unsigned i = 0; i < cache_count_; ++i) {
    const std::scoped_lock guard(caches_[i].lock);
    total += caches_[i].pfns.size();
  }
  return total;
}

std::array<std::uint64_t, kMaxOrder + 1> Zone::free_blocks() const {
  std::array<std::uint64_t, kMaxOrder + 1> blocks{};
  const std::scoped_lock guard(lock_);
  for (unsigned order = 0; order <= kMaxOrder; ++order) blocks[order] = buddy_.free_blocks(order);
  return blocks;
}

ZoneStats Zone::stats() const {
  return {allocations_.load(std::memory_order_relaxed), frees_.load(std::memory_order_relaxed),
          refused_.load(std::memory_order_relaxed)};
}

void Zone::validate() const {
  for (unsigned i = 0; i < cache_count_; ++i) {
    const std::scoped_lock guard(caches_[i].lock);
    for (const std::uint32_t pfn : caches_[i].pfns) {
      DMAKIT_CHECK(contains(pfn) && mem_map_[pfn].is_cached(),
                   "zone {} cache {} holds frame {:#x} with flags {:#x}", id_, i, pfn,
                   mem_map_[pfn].flags());
    }
  }
  const std::scoped_lock guard(lock_);
  buddy_.validate();
  DMAKIT_CHECK(free_pages_.load() == buddy_.free_pages(), "zone {} free counter out of sync", id_);
}

}  // namespace dmakit::machine
