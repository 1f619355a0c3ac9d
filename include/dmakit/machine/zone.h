// SPDX-License-Identifier: Apache-2.0
// Zone: one memory zone of one NUMA node (machine layer, seed 001): its buddy free lists behind a
// lock, per-thread order-0 page caches in front of them, and the lowmem reserve that protects it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dmakit/core/stats.h"
#include "dmakit/machine/buddy_allocator.h"
#include "dmakit/machine/memory_layout.h"

namespace dmakit::machine {

/// Counters of one zone; a snapshot, read without stopping allocation.
struct ZoneStats {
  std::uint64_t allocations = 0;  ///< blocks handed out from this zone
  std::uint64_t frees = 0;        ///< blocks given back to this zone
  std::uint64_t refused = 0;      ///< requests this zone turned down (empty, or its lowmem reserve)
};

/// A zone of a node. Thread-safe: the buddy lists are behind the zone lock; blocks up to
/// kCachedMaxOrder go through a small set of caches, each with its own lock, picked by the calling
/// thread (Linux's per-CPU page lists), so two threads rarely meet on the zone lock. Owned by the
/// Machine.
class Zone {
 public:
  /// Largest order held in the page caches (Linux's PAGE_ALLOC_COSTLY_ORDER).
  static constexpr unsigned kCachedMaxOrder = 3;

  Zone(unsigned id, const ZoneSpan& span, Page* mem_map, const MachineConfig& config);

  Zone(const Zone&) = delete;
  Zone& operator=(const Zone&) = delete;

  [[nodiscard]] unsigned id() const { return id_; }
  [[nodiscard]] ZoneKind kind() const { return span_.kind; }
  [[nodiscard]] unsigned node() const { return span_.node; }
  [[nodiscard]] PhysRange span() const { return span_.span; }
  [[nodiscard]] std::uint64_t present_pages() const { return span_.present_pages; }
  [[nodiscard]] bool contains(Pfn pfn) const {
    return pfn >= phys_to_pfn(span_.span.start) && pfn < phys_to_pfn(span_.span.end);
  }

  /// Setup only: hands RAM frames [start, end) of this zone to the buddy lists.
  void add_free_range(Pfn start, Pfn end);

  /// Takes a block of 2^order pages, or returns nullptr. `highest` is the highest zone the request
  /// may use: when it is above this zone, the request is falling back and must leave this zone's
  /// lowmem reserve for it untouched.
  [[nodiscard]] Page* alloc(unsigned order, ZoneKind highest);

  /// Returns a block taken from this zone. Precondition: `page` heads an allocated block of
  /// `order`.
  void free(Page* page, unsigned order);

  /// Pages this zone keeps back from requests whose highest zone is `highest` (Linux's
  /// lowmem_reserve[]); 0 for requests that name this zone or a lower one.
  [[nodiscard]] std::uint64_t lowmem_reserve(ZoneKind highest) const {
    return lowmem_reserve_[static_cast<unsigned>(highest)];
  }
  void set_lowmem_reserve(ZoneKind highest, std::uint64_t pages) {
    lowmem_reserve_[static_cast<unsigned>(highest)] = pages;
  }

  /// Free pages on the buddy lists (not counting the page caches). Lock-free; may be momentarily
  /// stale.
  [[nodiscard]] std::uint64_t free_pages() const {
    return free_pages_.load(std::memory_order_relaxed);
  }
  /// Free pages held in the page caches.
  [[nodiscard]] std::uint64_t cached_pages() const;
  /// Free blocks per order on the buddy lists, read under the zone lock.
  [[nodiscard]] std::array<std::uint64_t, kMaxOrder + 1> free_blocks() const;
  [[nodiscard]] ZoneStats stats() const;

  /// Gives every cached page back to the buddy lists, where it can merge again (drain_all_pages).
  void drain_caches();

  /// Checks the buddy lists and the caches. Aborts on violation.
  void validate() const;

 private:
  struct alignas(64) PageCache {
    mutable std::mutex lock;
    /// Free blocks per order, LIFO: the most recently freed (cache-hot) block is reused first.
    std::array<std::vector<std::uint32_t>, kCachedMaxOrder + 1> blocks;
    std::uint64_t pages = 0;  ///< pages held over all orders
  };

  Page* alloc_cached(unsigned order, ZoneKind highest);
  void free_cached(Page* page, unsigned order);
  void trim_locked(PageCache& cache, unsigned first_order, std::uint64_t pages);
  /// False when taking `pages` would cut into the reserve a request with highest zone `highest`
  /// must leave here. Emptiness is the buddy lists' business, not this check's.
  [[nodiscard]] bool may_take(std::uint64_t pages, ZoneKind highest) const;
  Page* alloc_locked(unsigned order);
  void free_locked(Page* page, unsigned order);
  [[nodiscard]] PageCache& this_thread_cache();

  unsigned id_;
  ZoneSpan span_;
  Page* mem_map_;
  unsigned cache_batch_;  ///< pages moved between a cache and the buddy lists at once
  unsigned cache_high_;   ///< most pages a cache holds before it gives a batch back

  mutable std::mutex lock_;
  BuddyAllocator buddy_;                      ///< guarded by lock_
  std::atomic<std::uint64_t> free_pages_{0};  ///< mirrors buddy_.free_pages() for lock-free reads
  std::array<std::uint64_t, kZoneKinds> lowmem_reserve_{};
  std::unique_ptr<PageCache[]> caches_;
  unsigned cache_count_;

  Counter allocations_;
  Counter frees_;
  Counter refused_;
};

}  // namespace dmakit::machine
