// SPDX-License-Identifier: Apache-2.0
// IovaAllocator: I/O virtual address ranges of one IOMMU domain (iommu layer; seed 000's
// device-side address space), after Linux's iova.c: a top-down ordered tree with per-thread range
// caches in front (reference sections 6.1 and 6.2).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"
#include "dmakit/core/stats.h"
#include "dmakit/core/thread_shards.h"

namespace dmakit::iommu {

/// How an IovaAllocator is set up. Checked by the constructor.
struct IovaAllocatorConfig {
  /// Bytes per pfn: the IOMMU's smallest page size, a power of two from 512 B to 1 GiB.
  std::uint64_t granule = kPageSize;
  /// The lowest pfn ever handed out, at least 1 so that IOVA 0 never names a mapping.
  std::uint64_t start_pfn = 1;
  /// The aperture: nothing at or above 2^iova_bits is handed out, whatever the limit asked for (the
  /// reach of the domain's page table; 48 bits for PageTableFormat's default). Up to 64.
  unsigned iova_bits = 48;
  /// Per-thread range caches in front of the tree (Linux's rcache); false gives a plain tree.
  bool caches = true;
  /// Cache shards, each with its own lock, as Linux has one cache per CPU; a thread uses the shard
  /// of its thread slot. 0 picks the host's hardware threads. At most 1024.
  unsigned cache_shards = 0;
  /// A depot holding more full magazines than there are shards gives one back to the tree at most
  /// this often (Linux: every 100 ms while the depot holds more magazines than there are CPUs).
  std::chrono::milliseconds depot_trim_interval{100};
};

/// What a range of the tree is.
enum class IovaRangeKind : std::uint8_t {
  Allocated,  ///< handed out by alloc() and not yet freed
  Cached,     ///< freed, but held by a range cache for the next allocation of its size
  Reserved,   ///< taken by reserve(): never handed out
};

/// A range of pfns [pfn, end_pfn).
struct IovaRange {
  std::uint64_t pfn = 0;
  std::uint64_t end_pfn = 0;
  IovaRangeKind kind = IovaRangeKind::Allocated;

  [[nodiscard]] std::uint64_t pages() const { return end_pfn - pfn; }
};

/// A snapshot of an IovaAllocator's counters. Event counts may miss events that race with the
/// snapshot; the "now" figures are exact when no other thread is allocating or freeing.
struct IovaStats {
  std::uint64_t allocations = 0;      ///< alloc() calls that succeeded
  std::uint64_t frees = 0;            ///< free() calls that succeeded
  std::uint64_t failures = 0;         ///< alloc() calls refused with NoIovaSpace
  std::uint64_t live_ranges = 0;      ///< handed out now: allocations - frees
  std::uint64_t cache_hits = 0;       ///< allocations served by a magazine
  std::uint64_t cache_misses = 0;     ///< cacheable allocations that went to the tree
  std::uint64_t cache_frees = 0;      ///< frees kept by a magazine instead of the tree
  std::uint64_t tree_allocs = 0;      ///< ranges a tree search inserted
  std::uint64_t tree_frees = 0;       ///< ranges removed from the tree (frees, flushes, trims)
  std::uint64_t fast_fails = 0;       ///< searches under 4 GiB skipped: known not to fit
  std::uint64_t depot_pushes = 0;     ///< full magazines moved from a thread's cache to a depot
  std::uint64_t depot_pops = 0;       ///< full magazines taken back from a depot
  std::uint64_t depot_trims = 0;      ///< depot magazines emptied into the tree by trimming
  std::uint64_t flushes = 0;          ///< times every cache and depot was emptied into the tree
  std::uint64_t tree_ranges = 0;      ///< ranges in the tree now: allocated, cached and reserved
  std::uint64_t cached_ranges = 0;    ///< ranges held by magazines now, depots included
  std::uint64_t depot_magazines = 0;  ///< full magazines in the depots now
};

/// Allocates ranges of I/O virtual page frames ("pfns", in units of the granule) for one IOMMU
/// domain, as Linux's iova.c does.
///
/// The tree holds every range in use, keyed by first pfn, and is searched top-down from the
/// caller's limit, so devices with narrow masks find the low addresses left. Sizes up to 32 pages
/// are rounded up to a power of two, and size-aligned requests start on a multiple of the next
/// power of two at or above their size (scatter/gather merging relies on it). In front of the tree
/// sit range caches for sizes of 1 to 32 pages: per-thread pairs of magazines of 127 pfns per
/// size, and a depot of full magazines per size shared by all threads (Bonwick's magazines, as
/// Linux's rcache). A freed range of a cached size stays in the tree while a magazine holds it;
/// when a search finds no room, every cache and depot is emptied into the tree and the search is
/// tried once more. Unlike iova.c, a cache miss takes a whole aligned block of 64 pages from the
/// tree in ranges of its size, hands out the top one and keeps the rest in the thread's magazines:
/// each thread then works in blocks of its own, so two threads never write the same cache line of
/// the page table or of the allocator's own state for neighbouring ranges.
///
/// Thread-safe: the tree has one lock, each cache shard and depot its own; a thread that allocates
/// and frees ranges of cached sizes usually takes only its shard's lock. A byte per pfn, set and
/// cleared atomically, records which of those ranges are handed out, so that free() refuses bad
/// frees without a lock shared by all threads (its memory, 4 KiB per 4096 pfns used and 32 KiB
/// directories above, is kept until the allocator goes).
class IovaAllocator {
 public:
  static constexpr unsigned kCacheOrders = 6;  ///< cached sizes: 1, 2, 4, 8, 16 and 32 pages
  static constexpr std::uint64_t kMaxCachedPages = std::uint64_t{1} << (kCacheOrders - 1);
  static constexpr unsigned kMagazineSize = 127;  ///< pfns per magazine (1 KiB with its count)
  /// Pages a cache miss takes from the tree at once: 64 pfns fill a cache line of the live map and
  /// eight of a leaf page table.
  static constexpr std::uint64_t kRefillPages = 64;

  /// Throws ConfigError (fields iova.granule, iova.start_pfn, iova.iova_bits, iova.cache_shards)
  /// for a setting that cannot work.
  explicit IovaAllocator(const IovaAllocatorConfig& config = {});
  ~IovaAllocator();

  IovaAllocator(const IovaAllocator&) = delete;
  IovaAllocator& operator=(const IovaAllocator&) = delete;

  /// A range of `pages` pfns lying in [start_pfn, limit_pfn); returns its first pfn. The tree is
  /// searched top-down, first below the range it last inserted on the same side of 4 GiB (iova.c's
  /// cached node), then in the space above that range, so a free range is always found if there
  /// is one, though not always the highest. Size-aligned requests (the default, Linux's
  /// alloc_iova_fast) of up to 32 pages are rounded up to a power of two and served from the
  /// calling thread's cache when it holds a range of that size below the limit; others, and misses,
  /// search the tree. When the tree has no room, the caches are emptied into it and the search is
  /// tried once more. \param pages         at least 1 \param limit_pfn     exclusive: the range
  /// ends at or below it (limit_pfn_for_mask(mask) for a
  ///                      device's DMA mask); lowered to end_pfn() when above it
  /// \param size_aligned  start on a multiple of the next power of two >= `pages`; false asks for
  ///                      exactly `pages` pfns anywhere and bypasses the caches
  /// Errors: InvalidArgument for 0 pages; NoIovaSpace when no such range is free.
  [[nodiscard]] Result<std::uint64_t> alloc(std::uint64_t pages, std::uint64_t limit_pfn,
                                            bool size_aligned = true);

  /// Returns a range from alloc(); `pages` must be the count passed to alloc(). A range of a cached
  /// size (size aligned, up to 32 pages) goes to the calling thread's cache, others back to the
  /// tree. InvalidArgument, with
  /// nothing changed, when `pfn` starts no allocated range (a double free, a reserved or unknown
  /// range) or `pages` differs from the allocation's.
  [[nodiscard]] Status free(std::uint64_t pfn, std::uint64_t pages);

  /// Takes [pfn, end_pfn) out of use for good (an MSI window, a host bridge aperture). Reservations
  /// that overlap merge. Ranges held by the caches are flushed out of the way first. Errors:
  /// InvalidArgument for an empty range or one reaching the top pfn; Busy, with nothing changed,
  /// when part of it is allocated.
  [[nodiscard]] Status reserve(std::uint64_t pfn, std::uint64_t end_pfn);

  /// The range of the tree that holds `pfn`, if any.
  [[nodiscard]] std::optional<IovaRange> find(std::uint64_t pfn) const;
  /// The pages alloc() was asked for when it handed out the range that starts at `pfn`, or nullopt
  /// when no handed-out range starts there. Takes no shared lock for ranges of cached sizes, so an
  /// unmap can validate its arguments before it changes anything.
  [[nodiscard]] std::optional<std::uint64_t> allocated_pages(std::uint64_t pfn) const;

  /// Empties every cache and depot into the tree (as Linux's free_cpu_cached_iovas and
  /// free_global_cached_iovas for all CPUs).
  void flush_caches();

  /// One tick of Linux's depot trimming: each depot holding more full magazines than there are
  /// shards gives one back to the tree. Returns the magazines given back. The same happens on its
  /// own when a magazine is pushed onto a depot once depot_trim_interval has passed since that
  /// depot's last trim; an allocator that stops freeing keeps its depots until this is called.
  unsigned trim_depot();

  [[nodiscard]] IovaStats stats() const;

  /// Checks the tree (order, no overlap, alignment, start pfn, cached nodes) and, with caches on,
  /// that every range is exactly one of handed out, held by one magazine, or reserved. Aborts on
  /// violation. Call it while no other thread allocates or frees.
  void validate() const;

  [[nodiscard]] std::uint64_t granule() const { return granule_; }
  [[nodiscard]] std::uint64_t start_pfn() const { return start_pfn_; }
  /// One past the highest pfn handed out: 2^iova_bits / granule.
  [[nodiscard]] std::uint64_t end_pfn() const { return end_pfn_; }
  /// The first pfn at or above 4 GiB: where the 32-bit space ends.
  [[nodiscard]] std::uint64_t dma32_pfn() const { return dma32_pfn_; }
  [[nodiscard]] bool has_caches() const { return caching_; }
  [[nodiscard]] unsigned cache_shards() const { return shard_count_; }

  [[nodiscard]] IovaAddr iova_of(std::uint64_t pfn) const { return IovaAddr(pfn << shift_); }
  [[nodiscard]] std::uint64_t pfn_of(IovaAddr iova) const { return iova.value() >> shift_; }
  /// The limit_pfn that keeps ranges at or below `mask` (2^n - 1).
  [[nodiscard]] std::uint64_t limit_pfn_for_mask(std::uint64_t mask) const {
    return (mask >> shift_) + 1;
  }

 private:
  struct Node {
    std::uint64_t end_pfn;
    std::uint64_t requested;  ///< pages the caller asked for; 0 for a reservation
    bool size_aligned;
    bool reserved;
  };
  using Tree = std::map<std::uint64_t, Node>;  ///< first pfn -> range
  struct Fit {
    Tree::iterator above;  ///< the node just above the gap: the insertion hint
    std::uint64_t pfn;
  };
  struct Magazine;
  struct CacheShard;
  struct Depot;
  class LiveMap;

  [[nodiscard]] std::optional<std::uint64_t> tree_alloc(std::uint64_t requested,
                                                        std::uint64_t pages,
                                                        std::uint64_t limit_pfn, bool size_aligned);
  /// A cache miss's block: hands out its top range and caches the rest; nullopt, changing nothing,
  /// when no aligned block of kRefillPages fits under the limit.
  [[nodiscard]] std::optional<std::uint64_t> refill(unsigned order, std::uint64_t limit_pfn);
  /// A search from the cached node for the limit's side of 4 GiB, then above it.
  [[nodiscard]] std::optional<Fit> fit_locked(std::uint64_t pages, std::uint64_t limit_pfn,
                                              std::uint64_t align_mask);
  /// Inserts a handed-out or cached range just below `above`, which becomes the cached node.
  Tree::iterator insert_locked(Tree::iterator above, std::uint64_t pfn, const Node& node);
  [[nodiscard]] std::optional<Fit> search_locked(Tree::iterator from, std::uint64_t pages,
                                                 std::uint64_t limit_pfn, std::uint64_t align_mask,
                                                 std::uint64_t low_pfn);
  void erase_locked(Tree::iterator it);
  void free_to_tree(std::span<const std::uint64_t> pfns);
  [[nodiscard]] bool reserve_locked(std::uint64_t pfn, std::uint64_t end_pfn);

  [[nodiscard]] std::optional<std::uint64_t> cache_get(unsigned order, std::uint64_t max_pfn);
  void cache_put(std::uint64_t pfn, unsigned order);
  /// Pushes `pfns` from the back into the calling thread's magazines; returns those left over.
  [[nodiscard]] std::span<const std::uint64_t> cache_fill(unsigned order,
                                                          std::span<const std::uint64_t> pfns);
  [[nodiscard]] CacheShard& this_thread_shard() const;
  [[nodiscard]] unsigned shard_index(const CacheShard& shard) const;
  /// Whether the range `node` starting at `pfn` was allocated through the caches' sizes.
  [[nodiscard]] static bool is_cacheable(const Node& node, std::uint64_t pfn);
  /// Whether `it`, the tree's node for `pfn`, is a handed-out range that bypasses the caches.
  [[nodiscard]] bool is_uncached_allocation(Tree::const_iterator it, std::uint64_t pfn) const;
  [[nodiscard]] bool is_live(std::uint64_t pfn) const;

  void validate_tree_locked() const;

  const std::uint64_t granule_;
  const unsigned shift_;
  const std::uint64_t start_pfn_;
  const std::uint64_t end_pfn_;
  const std::uint64_t dma32_pfn_;
  const bool caching_;
  const unsigned shard_count_;  ///< 0 without caches
  mutable ThreadShards thread_shards_;
  const std::chrono::steady_clock::duration trim_interval_;

  mutable std::mutex tree_lock_;
  /// Guarded by tree_lock_: every range in use (handed out, cached, reserved) and, last, an anchor
  /// node at the top pfn that is never removed, so the cached nodes always name a node.
  Tree tree_;
  Tree::iterator cached_;    ///< guarded by tree_lock_: where searches above 4 GiB start
  Tree::iterator cached32_;  ///< guarded by tree_lock_: where searches under 4 GiB start
  /// Guarded by tree_lock_: a size-aligned request of at least this many pages cannot fit under
  /// 4 GiB; reset by any free there (Linux's max32_alloc_size).
  std::uint64_t max32_alloc_size_;

  std::unique_ptr<CacheShard[]> shards_;  ///< shard_count_ of them
  std::unique_ptr<Depot[]> depots_;       ///< one per cached order, with caches on
  std::unique_ptr<LiveMap> live_;         ///< cached-size ranges handed out, with caches on

  Counter allocations_;
  Counter frees_;
  Counter failures_;
  Counter cache_hits_;
  Counter cache_misses_;
  Counter cache_frees_;
  Counter tree_allocs_;
  Counter tree_frees_;
  Counter fast_fails_;
  Counter depot_pushes_;
  Counter depot_pops_;
  Counter depot_trims_;
  Counter flushes_;
};

}  // namespace dmakit::iommu
