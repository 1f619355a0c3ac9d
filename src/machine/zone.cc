// SPDX-License-Identifier: Apache-2.0
// A zone: buddy lists behind a lock, order-0 page caches in front (machine layer).
//
// Page caches follow Linux's per-CPU page lists: a thread takes a cache by a fixed slot number,
// frees blocks of order 0 to kCachedMaxOrder into it and allocates from it, and only touches the
// zone lock to move a batch between the cache and the buddy lists. Lock order: cache lock, then
// zone lock. Cached pages are flagged Page::kCached and, as in Linux, are not counted as free on
// the zone: a fallback request that is checked against the lowmem reserve sees only the buddy
// lists' free pages.
#include "dmakit/machine/zone.h"

#include <algorithm>
#include <thread>

#include "dmakit/core/assert.h"

namespace dmakit::machine {
namespace {

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
      caches_(std::make_unique<PageCache[]>(cache_count_for(config))),
      cache_count_(cache_count_for(config)) {}

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
  if (order <= kCachedMaxOrder && cache_count_ != 0) {
    page = alloc_cached(order, highest);
  } else if (may_take(std::uint64_t{1} << order, highest)) {
    const std::scoped_lock guard(lock_);
    if (may_take(std::uint64_t{1} << order, highest)) page = alloc_locked(order);
  }
  if (page == nullptr) {
    refused_.add();
    return nullptr;
  }
  page->zone_id = static_cast<std::uint8_t>(id_);
  page->private_data = 0;  // the new owner starts clean, as Linux's prep_new_page does
  allocations_.add();
  return page;
}

Page* Zone::alloc_cached(unsigned order, ZoneKind highest) {
  const std::uint64_t size = std::uint64_t{1} << order;
  // A request falling back into this zone must find the reserve intact on the buddy lists before it
  // may use the cache, as Linux checks the watermark before its per-CPU lists.
  if (!may_take(size, highest)) return nullptr;
  PageCache& cache = this_thread_cache();
  const std::scoped_lock cache_guard(cache.lock);
  std::vector<std::uint32_t>& blocks = cache.blocks[order];
  if (blocks.empty()) {
    const std::scoped_lock guard(lock_);
    // Linux scales the refill batch down by the order; a falling-back refill stops at the reserve.
    const unsigned refill = std::max(1u, cache_batch_ >> order);
    for (unsigned i = 0; i < refill && may_take(size, highest); ++i) {
      Page* page = alloc_locked(order);
      if (page == nullptr) break;
      page->set_flags(Page::kCached);
      blocks.push_back(static_cast<std::uint32_t>(page - mem_map_));
      cache.pages += size;
    }
    if (blocks.empty()) return nullptr;
  }
  Page* page = &mem_map_[blocks.back()];
  blocks.pop_back();
  cache.pages -= size;
  page->set(Page::kHead, order);
  return page;
}

void Zone::free(Page* page, unsigned order) {
  frees_.add();
  if (order <= kCachedMaxOrder && cache_count_ != 0) {
    free_cached(page, order);
    return;
  }
  const std::scoped_lock guard(lock_);
  free_locked(page, order);
}

void Zone::free_cached(Page* page, unsigned order) {
  PageCache& cache = this_thread_cache();
  const std::scoped_lock cache_guard(cache.lock);
  page->set_flags(Page::kCached);
  cache.blocks[order].push_back(static_cast<std::uint32_t>(page - mem_map_));
  cache.pages += std::uint64_t{1} << order;
  if (cache.pages <= cache_high_) return;
  const std::scoped_lock guard(lock_);
  trim_locked(cache, order, cache_batch_);
}

// Gives back at least `pages` pages (or everything), oldest (coldest) blocks first, starting with
// the order just freed. Caller holds the cache lock and the zone lock.
void Zone::trim_locked(PageCache& cache, unsigned first_order, std::uint64_t pages) {
  for (unsigned n = 0; n <= kCachedMaxOrder && pages != 0; ++n) {
    const unsigned order = (first_order + n) % (kCachedMaxOrder + 1);
    std::vector<std::uint32_t>& blocks = cache.blocks[order];
    std::size_t taken = 0;
    for (; taken < blocks.size() && pages != 0; ++taken) {
      Page& block = mem_map_[blocks[taken]];
      block.set(Page::kHead, order);
      free_locked(&block, order);
      pages -= std::min(pages, std::uint64_t{1} << order);
      cache.pages -= std::uint64_t{1} << order;
    }
    blocks.erase(blocks.begin(), blocks.begin() + static_cast<std::ptrdiff_t>(taken));
  }
}

void Zone::drain_caches() {
  for (unsigned i = 0; i < cache_count_; ++i) {
    PageCache& cache = caches_[i];
    const std::scoped_lock guard(cache.lock, lock_);
    trim_locked(cache, 0, cache.pages);
  }
}

std::uint64_t Zone::cached_pages() const {
  std::uint64_t total = 0;
  for (unsigned i = 0; i < cache_count_; ++i) {
    const std::scoped_lock guard(caches_[i].lock);
    total += caches_[i].pages;
  }
  return total;
}

std::array<std::uint64_t, kMaxOrder + 1> Zone::free_blocks() const {
  std::array<std::uint64_t, kMaxOrder + 1> blocks{};
  const std::scoped_lock guard(lock_);
  for (unsigned order = 0; order <= kMaxOrder; ++order) blocks[order] = buddy_.free_blocks(order);
  return blocks;
}

ZoneStats Zone::stats() const { return {allocations_.value(), frees_.value(), refused_.value()}; }

void Zone::validate() const {
  for (unsigned i = 0; i < cache_count_; ++i) {
    const std::scoped_lock guard(caches_[i].lock);
    std::uint64_t pages = 0;
    for (unsigned order = 0; order <= kCachedMaxOrder; ++order) {
      for (const std::uint32_t pfn : caches_[i].blocks[order]) {
        const Page& page = mem_map_[pfn];
        DMAKIT_CHECK(contains(pfn) && page.is_cached() && page.order() == order,
                     "zone {} cache {} holds frame {:#x} as order {} with flags {:#x} order {}",
                     id_, i, pfn, order, page.flags(), page.order());
        pages += std::uint64_t{1} << order;
      }
    }
    DMAKIT_CHECK(pages == caches_[i].pages, "zone {} cache {} counts {} pages, holds {}", id_, i,
                 caches_[i].pages, pages);
  }
  const std::scoped_lock guard(lock_);
  buddy_.validate();
  DMAKIT_CHECK(free_pages_.load() == buddy_.free_pages(), "zone {} free counter out of sync", id_);
}

}  // namespace dmakit::machine
