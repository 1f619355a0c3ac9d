// SPDX-License-Identifier: Apache-2.0
// The IOVA allocator (iommu layer), re-implementing the design of Linux's iova.c (reference
// sections 6.1 and 6.2).
//
// The tree. Nodes are half-open ranges [pfn, end_pfn) keyed by first pfn, plus an anchor at the top
// pfn. A search walks down from a start node: with `high` the lowest first pfn seen so far (capped
// by the limit), the candidate is (high - pages) rounded down to the alignment; it fits when the
// node below ends at or before it, otherwise the walk steps to that node. Searches start at a
// cached node, not at the limit: the node last inserted (one for the space under 4 GiB, one above),
// moved up to the successor of any range freed at or above it. Space above the cached node is then
// not searched, so a failed search is tried once more over [cached end, limit) before giving up.
// A size-aligned failure that covered the whole 32-bit space records its size, and later
// size-aligned requests under 4 GiB at least that large fail without a walk until something below
// 4 GiB is freed (max32_alloc_size). Unlike iova.c, a failure under a limit below 4 GiB records
// nothing (the space between that limit and 4 GiB was not searched), and only size-aligned
// requests fail fast (an unaligned request may fit where an aligned one of its size did not).
//
// The caches. Ranges of 1 to 32 pages that are size aligned go, when freed, into a magazine of the
// calling thread's shard for their order and stay in the tree; allocations of that order take them
// back from there. Each shard has a `loaded` and a `prev` magazine per order; when both are full a
// free pushes the loaded one onto the order's depot and starts an empty one, and when both are
// empty an allocation takes a full one from the depot; when the depot has none either, the
// allocation takes an aligned block of kRefillPages from the tree at once, in ranges of its order,
// and keeps all but the top one in the thread's magazines. Lock order: shard lock, then depot lock;
// the tree lock is never taken while holding either (magazines are detached first).
//
// Checked frees. The tree cannot tell a handed-out range from a cached one, and a free that goes to
// a cache must not take the tree lock, so with the caches on a byte per pfn (the live map) holds
// the pages asked for at the first pfn of each handed-out range of a cached size, 0 elsewhere.
// free() clears it with a compare-exchange: a wrong size or a double free fails it, two racing
// frees cannot both win, and no lock is shared between threads. The map is a radix tree of 4 KiB
// leaves (4096 pfns) under directories of 4096 pointers, allocated on first use and never freed
// before the allocator. A thread touches only the lines of the pfns it uses, mostly its own, where
// a table shared by all threads would move its lines and locks between CPUs on every call. Ranges
// of other sizes bypass the caches, so their free takes the tree lock anyway and checks the tree
// node, which records the pages asked for.
#include "dmakit/iommu/iova_allocator.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <span>
#include <thread>
#include <vector>

#include "dmakit/core/assert.h"
#include "dmakit/core/config_error.h"
#include "dmakit/core/units.h"

namespace dmakit::iommu {
namespace {

constexpr std::uint64_t kAnchorPfn = ~std::uint64_t{0};

std::uint64_t checked_granule(std::uint64_t granule) {
  if (!std::has_single_bit(granule) || granule < 512 || granule > kGiB)
    throw ConfigError("iova.granule",
                      fmt::format("{} is not a power of two from 512 B to 1 GiB", granule));
  return granule;
}

std::uint64_t checked_start(std::uint64_t start_pfn) {
  if (start_pfn == 0 || start_pfn >= kAnchorPfn)
    throw ConfigError(
        "iova.start_pfn",
        fmt::format("{} is outside [1, 2^64 - 1): IOVA 0 is never handed out", start_pfn));
  return start_pfn;
}

std::uint64_t end_pfn_for(const IovaAllocatorConfig& config, unsigned shift) {
  if (config.iova_bits <= shift || config.iova_bits > 64)
    throw ConfigError("iova.iova_bits", fmt::format("{} bits hold no {}-byte page, or exceed 64",
                                                    config.iova_bits, config.granule));
  const unsigned bits = config.iova_bits - shift;
  return bits == 64 ? kAnchorPfn : std::min(kAnchorPfn, std::uint64_t{1} << bits);
}

unsigned shard_count_for(const IovaAllocatorConfig& config) {
  if (!config.caches) return 0;
  if (config.cache_shards > 1024)
    throw ConfigError("iova.cache_shards",
                      fmt::format("{} is more than 1024", config.cache_shards));
  if (config.cache_shards != 0) return config.cache_shards;
  return std::max(1u, std::thread::hardware_concurrency());
}

// The pages an allocation takes: cached sizes are powers of two, so that one magazine per order
// serves every request of that order (alloc_iova_fast's roundup_pow_of_two).
std::uint64_t taken_pages(std::uint64_t pages, bool size_aligned) {
  return size_aligned && pages <= IovaAllocator::kMaxCachedPages ? std::bit_ceil(pages) : pages;
}

unsigned order_of(std::uint64_t pages) { return static_cast<unsigned>(std::bit_width(pages - 1)); }

}  // namespace

struct IovaAllocator::Magazine {
  std::uint32_t size = 0;
  std::uint32_t shard = 0;  ///< the shard that pushed it onto a depot
  std::array<std::uint64_t, kMagazineSize> pfns;

  [[nodiscard]] bool empty() const { return size == 0; }
  [[nodiscard]] bool full() const { return size == kMagazineSize; }
  void push(std::uint64_t pfn) { pfns[size++] = pfn; }
  // The last pfn at or below `max_pfn`, swapped out with the top entry; iova_magazine_pop's scan.
  std::optional<std::uint64_t> pop(std::uint64_t max_pfn) {
    for (std::uint64_t i = size; i-- > 0;) {
      if (pfns[i] > max_pfn) continue;
      const std::uint64_t pfn = pfns[i];
      pfns[i] = pfns[--size];
      return pfn;
    }
    return std::nullopt;
  }
};

struct alignas(64) IovaAllocator::CacheShard {
  std::mutex lock;
  std::array<std::unique_ptr<Magazine>, kCacheOrders> loaded;  ///< guarded by lock
  std::array<std::unique_ptr<Magazine>, kCacheOrders> prev;    ///< guarded by lock
};

struct IovaAllocator::Depot {
  std::mutex lock;
  std::vector<std::unique_ptr<Magazine>> full;      ///< guarded by lock: last pushed at the back
  std::chrono::steady_clock::time_point last_trim;  ///< guarded by lock
};

class IovaAllocator::LiveMap {
 public:
  using Entry = std::atomic<std::uint8_t>;

  explicit LiveMap(std::uint64_t end_pfn)
      : dir_levels_(
            (std::max<unsigned>(static_cast<unsigned>(std::bit_width(end_pfn - 1)), kBits) - 1) /
            kBits) {}
  ~LiveMap() { release(root_.load(std::memory_order_relaxed), dir_levels_); }

  LiveMap(const LiveMap&) = delete;
  LiveMap& operator=(const LiveMap&) = delete;

  /// The entry of `pfn`; with `create` false, null where no leaf covers it yet.
  Entry* find(std::uint64_t pfn, bool create) {
    std::atomic<void*>* slot = &root_;
    for (unsigned level = dir_levels_;; --level) {
      void* node = slot->load(std::memory_order_acquire);
      if (node == nullptr) {
        if (!create) return nullptr;
        node = level == 0 ? static_cast<void*>(new Leaf()) : static_cast<void*>(new Dir());
        void* installed = nullptr;
        if (!slot->compare_exchange_strong(installed, node, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
          release(node, level);  // another thread linked one first
          node = installed;
        }
      }
      const std::size_t index = (pfn >> (kBits * level)) & (kFanout - 1);
      if (level == 0) return &static_cast<Leaf*>(node)->entries[index];
      slot = &static_cast<Dir*>(node)->children[index];
    }
  }

  /// Calls visit(pfn, pages) for every nonzero entry.
  template <class Visit>
  void for_each(Visit&& visit) const {
    walk(root_.load(std::memory_order_acquire), dir_levels_, 0, visit);
  }

 private:
  static constexpr unsigned kBits = 12;
  static constexpr std::size_t kFanout = std::size_t{1} << kBits;
  struct Leaf {
    std::array<Entry, kFanout> entries{};
  };
  struct Dir {
    std::array<std::atomic<void*>, kFanout> children{};
  };

  static void release(void* node, unsigned level) {
    if (node == nullptr) return;
    if (level == 0) {
      delete static_cast<Leaf*>(node);
      return;
    }
    auto* dir = static_cast<Dir*>(node);
    for (std::atomic<void*>& child : dir->children)
      release(child.load(std::memory_order_relaxed), level - 1);
    delete dir;
  }

  template <class Visit>
  static void walk(const void* node, unsigned level, std::uint64_t base, Visit& visit) {
    if (node == nullptr) return;
    for (std::size_t i = 0; i < kFanout; ++i) {
      const std::uint64_t pfn = base | (std::uint64_t{i} << (kBits * level));
      if (level == 0) {
        const std::uint8_t pages =
            static_cast<const Leaf*>(node)->entries[i].load(std::memory_order_acquire);
        if (pages != 0) visit(pfn, pages);
      } else {
        walk(static_cast<const Dir*>(node)->children[i].load(std::memory_order_acquire), level - 1,
             pfn, visit);
      }
    }
  }

  const unsigned dir_levels_;  ///< directories above the leaves
  std::atomic<void*> root_{nullptr};
};

IovaAllocator::IovaAllocator(const IovaAllocatorConfig& config)
    : granule_(checked_granule(config.granule)),
      shift_(static_cast<unsigned>(std::countr_zero(granule_))),
      start_pfn_(checked_start(config.start_pfn)),
      end_pfn_(end_pfn_for(config, shift_)),
      dma32_pfn_((std::uint64_t{1} << 32) >> shift_),
      caching_(config.caches),
      shard_count_(shard_count_for(config)),
      thread_shards_(std::max(1u, shard_count_)),
      trim_interval_(config.depot_trim_interval),
      max32_alloc_size_(dma32_pfn_) {
  static_assert(sizeof(Magazine) == 1024, "a magazine and its count fill 1 KiB, as in iova.c");
  tree_.emplace(kAnchorPfn, Node{kAnchorPfn, 0, false, true});
  cached_ = cached32_ = tree_.begin();
  if (!caching_) return;
  shards_ = std::make_unique<CacheShard[]>(shard_count_);
  for (unsigned s = 0; s < shard_count_; ++s) {
    for (unsigned order = 0; order < kCacheOrders; ++order) {
      shards_[s].loaded[order] = std::make_unique<Magazine>();
      shards_[s].prev[order] = std::make_unique<Magazine>();
    }
  }
  depots_ = std::make_unique<Depot[]>(kCacheOrders);
  for (unsigned order = 0; order < kCacheOrders; ++order)
    depots_[order].last_trim = std::chrono::steady_clock::now();
  live_ = std::make_unique<LiveMap>(end_pfn_);
}

IovaAllocator::~IovaAllocator() = default;

IovaAllocator::CacheShard& IovaAllocator::this_thread_shard() const {
  return shards_[thread_shards_.of_this_thread()];
}

unsigned IovaAllocator::shard_index(const CacheShard& shard) const {
  return static_cast<unsigned>(&shard - shards_.get());
}

bool IovaAllocator::is_uncached_allocation(Tree::const_iterator it, std::uint64_t pfn) const {
  // Ranges of cached sizes are checked against the live map instead: in the tree they may also be
  // ranges a magazine holds.
  return it != tree_.end() && !it->second.reserved && !(caching_ && is_cacheable(it->second, pfn));
}

bool IovaAllocator::is_cacheable(const Node& node, std::uint64_t pfn) {
  return node.size_aligned && node.end_pfn - pfn <= kMaxCachedPages;
}

bool IovaAllocator::is_live(std::uint64_t pfn) const {
  const LiveMap::Entry* entry = live_->find(pfn, /*create=*/false);
  return entry != nullptr && entry->load(std::memory_order_acquire) != 0;
}

Result<std::uint64_t> IovaAllocator::alloc(std::uint64_t pages, std::uint64_t limit_pfn,
                                           bool size_aligned) {
  if (pages == 0) return fail(Errc::InvalidArgument, "an IOVA range of 0 pages");
  const std::uint64_t taken = taken_pages(pages, size_aligned);
  limit_pfn = std::min(limit_pfn, end_pfn_);  // the aperture, as dma-iommu's force_aperture
  // Checked here so that the searches never see a size that cannot fit (nor overflow aligning it).
  if (limit_pfn <= start_pfn_ || taken > limit_pfn - start_pfn_) {
    failures_.add();
    return fail(Errc::NoIovaSpace, "{} pages cannot fit in pfns [{:#x}, {:#x})", taken, start_pfn_,
                limit_pfn);
  }

  const bool cacheable = caching_ && size_aligned && taken <= kMaxCachedPages;
  std::optional<std::uint64_t> pfn;
  if (cacheable) {
    pfn = cache_get(order_of(taken), limit_pfn - taken);
    (pfn ? cache_hits_ : cache_misses_).add();
    if (!pfn) pfn = refill(order_of(taken), limit_pfn);
  }
  if (!pfn) pfn = tree_alloc(pages, taken, limit_pfn, size_aligned);
  if (!pfn && caching_) {
    // The room may be held by the caches: give it all back and search once more (iova.c's
    // flush_rcache retry).
    flush_caches();
    pfn = tree_alloc(pages, taken, limit_pfn, size_aligned);
  }
  if (!pfn) {
    failures_.add();
    return fail(Errc::NoIovaSpace, "no free range of {} pages {}below pfn {:#x}", taken,
                size_aligned ? "(size aligned) " : "", limit_pfn);
  }
  if (cacheable) {
    const std::uint8_t before =
        live_->find(*pfn, /*create=*/true)
            ->exchange(static_cast<std::uint8_t>(pages), std::memory_order_acq_rel);
    DMAKIT_CHECK(before == 0, "pfn {:#x} handed out while already in use", *pfn);
  }
  allocations_.add();
  return *pfn;
}

std::optional<std::uint64_t> IovaAllocator::tree_alloc(std::uint64_t requested, std::uint64_t pages,
                                                       std::uint64_t limit_pfn, bool size_aligned) {
  const std::uint64_t align_mask =
      size_aligned ? ~std::uint64_t{0} << std::bit_width(pages - 1) : ~std::uint64_t{0};
  const std::scoped_lock guard(tree_lock_);
  const bool under_4g = limit_pfn <= dma32_pfn_;
  if (size_aligned && under_4g && pages >= max32_alloc_size_) {
    fast_fails_.add();
    return std::nullopt;
  }
  const std::optional<Fit> fit = fit_locked(pages, limit_pfn, align_mask);
  if (!fit) {
    if (size_aligned && limit_pfn >= dma32_pfn_)
      max32_alloc_size_ = std::min(max32_alloc_size_, pages);
    return std::nullopt;
  }
  insert_locked(fit->above, fit->pfn, Node{fit->pfn + pages, requested, size_aligned, false});
  DMAKIT_EXPENSIVE(validate_tree_locked());
  return fit->pfn;
}

std::optional<std::uint64_t> IovaAllocator::refill(unsigned order, std::uint64_t limit_pfn) {
  const std::uint64_t pages = std::uint64_t{1} << order;
  const std::uint64_t count = kRefillPages / pages;
  std::array<std::uint64_t, kRefillPages> pfns;  // highest first
  {
    const std::scoped_lock guard(tree_lock_);
    if (limit_pfn <= dma32_pfn_ && kRefillPages >= max32_alloc_size_) return std::nullopt;
    const std::optional<Fit> fit =
        fit_locked(kRefillPages, limit_pfn, ~std::uint64_t{0} << std::bit_width(kRefillPages - 1));
    if (!fit) return std::nullopt;  // leave it to the single search, which may still fit
    Tree::iterator above = fit->above;
    for (std::uint64_t i = 0; i < count; ++i) {
      pfns[i] = fit->pfn + kRefillPages - (i + 1) * pages;
      above = insert_locked(above, pfns[i], Node{pfns[i] + pages, pages, true, false});
    }
    DMAKIT_EXPENSIVE(validate_tree_locked());
  }
  // The rest go to the thread's magazines lowest first, so that pops go on downwards from the
  // range handed out now; what finds no room there goes back to the tree.
  std::span<const std::uint64_t> rest(pfns.data() + 1, count - 1);
  free_to_tree(cache_fill(order, rest));
  return pfns[0];
}

std::optional<IovaAllocator::Fit> IovaAllocator::fit_locked(std::uint64_t pages,
                                                            std::uint64_t limit_pfn,
                                                            std::uint64_t align_mask) {
  const Tree::iterator from = limit_pfn <= dma32_pfn_ ? cached32_ : cached_;
  std::optional<Fit> fit = search_locked(from, pages, limit_pfn, align_mask, start_pfn_);
  if (!fit && from->second.end_pfn < limit_pfn) {
    // The cached node skipped [its end, limit): search that part, from the limit down.
    fit = search_locked(tree_.lower_bound(limit_pfn), pages, limit_pfn, align_mask,
                        from->second.end_pfn);
  }
  return fit;
}

IovaAllocator::Tree::iterator IovaAllocator::insert_locked(Tree::iterator above, std::uint64_t pfn,
                                                           const Node& node) {
  const Tree::iterator it = tree_.emplace_hint(above, pfn, node);
  if (node.end_pfn <= dma32_pfn_)
    cached32_ = it;
  else
    cached_ = it;
  tree_allocs_.add();
  return it;
}

std::optional<IovaAllocator::Fit> IovaAllocator::search_locked(Tree::iterator from,
                                                               std::uint64_t pages,
                                                               std::uint64_t limit_pfn,
                                                               std::uint64_t align_mask,
                                                               std::uint64_t low_pfn) {
  std::uint64_t high = limit_pfn;
  for (Tree::iterator curr = from;;) {
    high = std::min(high, curr->first);
    if (high < pages) return std::nullopt;
    const std::uint64_t pfn = (high - pages) & align_mask;
    if (pfn < low_pfn) return std::nullopt;
    if (curr == tree_.begin()) return Fit{curr, pfn};
    const Tree::iterator below = std::prev(curr);
    if (below->second.end_pfn <= pfn) return Fit{curr, pfn};
    curr = below;
  }
}

void IovaAllocator::erase_locked(Tree::iterator it) {
  // The anchor is never erased, so every node has a successor.
  const Tree::iterator next = std::next(it);
  if (it == cached32_ || (it->second.end_pfn <= dma32_pfn_ && it->first >= cached32_->first))
    cached32_ = next;
  if (it->first < dma32_pfn_) max32_alloc_size_ = dma32_pfn_;
  if (it->first >= cached_->first) cached_ = next;
  tree_.erase(it);
  tree_frees_.add();
}

void IovaAllocator::free_to_tree(std::span<const std::uint64_t> pfns) {
  if (pfns.empty()) return;
  const std::scoped_lock guard(tree_lock_);
  for (const std::uint64_t pfn : pfns) {
    const Tree::iterator it = tree_.find(pfn);
    DMAKIT_CHECK(it != tree_.end() && !it->second.reserved,
                 "pfn {:#x} has no allocated range in the tree", pfn);
    erase_locked(it);
  }
  DMAKIT_EXPENSIVE(validate_tree_locked());
}

Status IovaAllocator::free(std::uint64_t pfn, std::uint64_t pages) {
  if (caching_ && pfn < end_pfn_) {
    if (LiveMap::Entry* entry = live_->find(pfn, /*create=*/false); entry != nullptr) {
      std::uint8_t held = entry->load(std::memory_order_acquire);
      if (held != 0) {
        if (held != pages)
          return fail(Errc::InvalidArgument,
                      "IOVA range at pfn {:#x}: freed as {} pages, allocated as {}", pfn, pages,
                      held);
        if (!entry->compare_exchange_strong(held, 0, std::memory_order_acq_rel))
          return fail(Errc::InvalidArgument, "IOVA range at pfn {:#x} freed twice at once", pfn);
        cache_put(pfn, order_of(std::bit_ceil(pages)));
        cache_frees_.add();
        frees_.add();
        return {};
      }
    }
  }
  // Not a handed-out range of a cached size: one that bypasses the caches, or a bad free.
  {
    const std::scoped_lock guard(tree_lock_);
    const Tree::iterator it = tree_.find(pfn);
    if (!is_uncached_allocation(it, pfn))
      return fail(Errc::InvalidArgument,
                  "pfn {:#x} starts no allocated IOVA range (double free or reserved?)", pfn);
    if (it->second.requested != pages)
      return fail(Errc::InvalidArgument,
                  "IOVA range at pfn {:#x}: freed as {} pages, allocated as {}", pfn, pages,
                  it->second.requested);
    erase_locked(it);
    DMAKIT_EXPENSIVE(validate_tree_locked());
  }
  frees_.add();
  return {};
}

std::optional<std::uint64_t> IovaAllocator::allocated_pages(std::uint64_t pfn) const {
  if (caching_ && pfn < end_pfn_) {
    if (const LiveMap::Entry* entry = live_->find(pfn, /*create=*/false); entry != nullptr) {
      if (const std::uint8_t held = entry->load(std::memory_order_acquire); held != 0) return held;
    }
  }
  const std::scoped_lock guard(tree_lock_);
  const auto it = tree_.find(pfn);
  if (!is_uncached_allocation(it, pfn)) return std::nullopt;
  return it->second.requested;
}

std::optional<std::uint64_t> IovaAllocator::cache_get(unsigned order, std::uint64_t max_pfn) {
  CacheShard& shard = this_thread_shard();
  const std::scoped_lock guard(shard.lock);
  std::unique_ptr<Magazine>& loaded = shard.loaded[order];
  if (loaded->empty()) {
    std::unique_ptr<Magazine>& prev = shard.prev[order];
    if (!prev->empty()) {
      std::swap(loaded, prev);
    } else {
      Depot& depot = depots_[order];
      const std::scoped_lock depot_guard(depot.lock);
      if (depot.full.empty()) return std::nullopt;
      // A magazine this shard pushed, if any: its ranges lie in this thread's blocks, and one
      // from another thread would have both working in the same page-table lines.
      const unsigned mine = shard_index(shard);
      auto it = std::find_if(depot.full.rbegin(), depot.full.rend(),
                             [mine](const auto& magazine) { return magazine->shard == mine; });
      if (it == depot.full.rend()) it = depot.full.rbegin();
      loaded = std::move(*it);
      depot.full.erase(std::next(it).base());
      depot_pops_.add();
    }
  }
  // Only the loaded magazine is searched: a miss here goes to the tree, as in iova.c.
  return loaded->pop(max_pfn);
}

std::span<const std::uint64_t> IovaAllocator::cache_fill(unsigned order,
                                                         std::span<const std::uint64_t> pfns) {
  CacheShard& shard = this_thread_shard();
  const std::scoped_lock guard(shard.lock);
  for (Magazine* magazine : {shard.loaded[order].get(), shard.prev[order].get()}) {
    while (!pfns.empty() && !magazine->full()) {
      magazine->push(pfns.back());
      pfns = pfns.first(pfns.size() - 1);
    }
  }
  return pfns;
}

void IovaAllocator::cache_put(std::uint64_t pfn, unsigned order) {
  std::unique_ptr<Magazine> trimmed;
  {
    CacheShard& shard = this_thread_shard();
    const std::scoped_lock guard(shard.lock);
    std::unique_ptr<Magazine>& loaded = shard.loaded[order];
    if (loaded->full()) {
      std::unique_ptr<Magazine>& prev = shard.prev[order];
      if (!prev->full()) {
        std::swap(loaded, prev);
      } else {
        auto empty = std::make_unique<Magazine>();
        Depot& depot = depots_[order];
        const std::scoped_lock depot_guard(depot.lock);
        loaded->shard = shard_index(shard);
        depot.full.push_back(std::move(loaded));
        depot_pushes_.add();
        // The delayed trim of iova.c's depot work, checked where the depot grows.
        const auto now = std::chrono::steady_clock::now();
        if (depot.full.size() > shard_count_ && now - depot.last_trim >= trim_interval_) {
          trimmed = std::move(depot.full.back());
          depot.full.pop_back();
          depot.last_trim = now;
        }
        loaded = std::move(empty);
      }
    }
    loaded->push(pfn);
  }
  if (trimmed) {
    free_to_tree({trimmed->pfns.data(), trimmed->size});
    depot_trims_.add();
  }
}

void IovaAllocator::flush_caches() {
  if (!caching_) return;
  std::vector<std::uint64_t> pfns;
  auto take = [&pfns](Magazine& magazine) {
    pfns.insert(pfns.end(), magazine.pfns.begin(), magazine.pfns.begin() + magazine.size);
    magazine.size = 0;
  };
  for (unsigned s = 0; s < shard_count_; ++s) {
    const std::scoped_lock guard(shards_[s].lock);
    for (unsigned order = 0; order < kCacheOrders; ++order) {
      take(*shards_[s].loaded[order]);
      take(*shards_[s].prev[order]);
    }
  }
  for (unsigned order = 0; order < kCacheOrders; ++order) {
    std::vector<std::unique_ptr<Magazine>> full;
    {
      const std::scoped_lock guard(depots_[order].lock);
      full.swap(depots_[order].full);
    }
    for (const std::unique_ptr<Magazine>& magazine : full) take(*magazine);
  }
  free_to_tree(pfns);
  flushes_.add();
}

unsigned IovaAllocator::trim_depot() {
  if (!caching_) return 0;
  unsigned trimmed = 0;
  for (unsigned order = 0; order < kCacheOrders; ++order) {
    std::unique_ptr<Magazine> magazine;
    {
      Depot& depot = depots_[order];
      const std::scoped_lock guard(depot.lock);
      if (depot.full.size() <= shard_count_) continue;
      magazine = std::move(depot.full.back());
      depot.full.pop_back();
      depot.last_trim = std::chrono::steady_clock::now();
    }
    free_to_tree({magazine->pfns.data(), magazine->size});
    depot_trims_.add();
    ++trimmed;
  }
  return trimmed;
}

Status IovaAllocator::reserve(std::uint64_t pfn, std::uint64_t end_pfn) {
  if (pfn >= end_pfn || end_pfn >= kAnchorPfn)
    return fail(Errc::InvalidArgument, "cannot reserve pfns [{:#x}, {:#x})", pfn, end_pfn);
  {
    const std::scoped_lock guard(tree_lock_);
    if (reserve_locked(pfn, end_pfn)) return {};
  }
  if (caching_) {
    // What overlaps may be ranges the caches hold rather than ranges handed out.
    flush_caches();
    const std::scoped_lock guard(tree_lock_);
    if (reserve_locked(pfn, end_pfn)) return {};
  }
  return fail(Errc::Busy, "pfns [{:#x}, {:#x}) overlap an allocated IOVA range", pfn, end_pfn);
}

bool IovaAllocator::reserve_locked(std::uint64_t pfn, std::uint64_t end_pfn) {
  // Nodes that overlap [pfn, end_pfn): from the one holding pfn (if any) up to the first at or
  // after end_pfn. The anchor starts at the top pfn, so it never overlaps.
  Tree::iterator first = tree_.upper_bound(pfn);
  if (first != tree_.begin() && std::prev(first)->second.end_pfn > pfn) --first;
  const Tree::iterator last = tree_.lower_bound(end_pfn);
  std::uint64_t lo = pfn;
  std::uint64_t hi = end_pfn;
  for (Tree::iterator it = first; it != last; ++it) {
    if (!it->second.reserved) return false;
    lo = std::min(lo, it->first);
    hi = std::max(hi, it->second.end_pfn);
  }
  // Only reservations are replaced; restarting searches from the anchor is always correct.
  tree_.erase(first, last);
  tree_.emplace(lo, Node{hi, 0, false, true});
  cached_ = cached32_ = std::prev(tree_.end());
  DMAKIT_EXPENSIVE(validate_tree_locked());
  return true;
}

std::optional<IovaRange> IovaAllocator::find(std::uint64_t pfn) const {
  IovaRange range;
  bool cacheable = false;
  {
    const std::scoped_lock guard(tree_lock_);
    auto it = tree_.upper_bound(pfn);
    if (it == tree_.begin()) return std::nullopt;
    --it;
    if (pfn >= it->second.end_pfn) return std::nullopt;  // in a gap, or the anchor
    range = {it->first, it->second.end_pfn,
             it->second.reserved ? IovaRangeKind::Reserved : IovaRangeKind::Allocated};
    cacheable = caching_ && !it->second.reserved && is_cacheable(it->second, it->first);
  }
  if (cacheable && !is_live(range.pfn)) range.kind = IovaRangeKind::Cached;
  return range;
}

IovaStats IovaAllocator::stats() const {
  IovaStats s;
  s.allocations = allocations_.value();
  s.frees = frees_.value();
  s.failures = failures_.value();
  s.live_ranges = s.allocations - s.frees;
  s.cache_hits = cache_hits_.value();
  s.cache_misses = cache_misses_.value();
  s.cache_frees = cache_frees_.value();
  s.tree_allocs = tree_allocs_.value();
  s.tree_frees = tree_frees_.value();
  s.fast_fails = fast_fails_.value();
  s.depot_pushes = depot_pushes_.value();
  s.depot_pops = depot_pops_.value();
  s.depot_trims = depot_trims_.value();
  s.flushes = flushes_.value();
  {
    const std::scoped_lock guard(tree_lock_);
    s.tree_ranges = tree_.size() - 1;  // not the anchor
  }
  for (unsigned i = 0; i < shard_count_; ++i) {
    const std::scoped_lock guard(shards_[i].lock);
    for (unsigned order = 0; order < kCacheOrders; ++order)
      s.cached_ranges += shards_[i].loaded[order]->size + shards_[i].prev[order]->size;
  }
  if (caching_) {
    for (unsigned order = 0; order < kCacheOrders; ++order) {
      const std::scoped_lock guard(depots_[order].lock);
      s.depot_magazines += depots_[order].full.size();
      for (const std::unique_ptr<Magazine>& magazine : depots_[order].full)
        s.cached_ranges += magazine->size;
    }
  }
  return s;
}

void IovaAllocator::validate_tree_locked() const {
  DMAKIT_CHECK(!tree_.empty() && std::prev(tree_.end())->first == kAnchorPfn,
               "the anchor is not the last node");
  std::uint64_t prev_end = 0;
  for (auto it = tree_.begin(); it->first != kAnchorPfn; ++it) {
    const auto& [pfn, node] = *it;
    DMAKIT_CHECK(pfn < node.end_pfn, "empty range at pfn {:#x}", pfn);
    DMAKIT_CHECK(pfn >= prev_end, "range at pfn {:#x} overlaps the one below, which ends at {:#x}",
                 pfn, prev_end);
    prev_end = node.end_pfn;
    if (node.reserved) continue;
    const std::uint64_t pages = node.end_pfn - pfn;
    DMAKIT_CHECK(pfn >= start_pfn_, "range at pfn {:#x} lies below the start pfn {:#x}", pfn,
                 start_pfn_);
    DMAKIT_CHECK(node.requested != 0 && node.requested <= pages,
                 "range at pfn {:#x} of {} pages was asked for as {}", pfn, pages, node.requested);
    if (node.size_aligned)
      DMAKIT_CHECK(is_aligned(pfn, std::bit_ceil(pages)),
                   "size-aligned range of {} pages at pfn {:#x} is misaligned", pages, pfn);
  }
  DMAKIT_CHECK(tree_.find(cached_->first) == cached_, "cached node is not in the tree");
  DMAKIT_CHECK(tree_.find(cached32_->first) == cached32_, "cached 32-bit node is not in the tree");
}

void IovaAllocator::validate() const {
  // Each structure is read under its own lock, one at a time: with no other thread at work the
  // snapshots agree.
  std::map<std::uint64_t, std::uint64_t> cacheable;  // first pfn -> pages, ranges of cached sizes
  {
    const std::scoped_lock guard(tree_lock_);
    validate_tree_locked();
    if (!caching_) return;
    for (auto it = tree_.begin(); it->first != kAnchorPfn; ++it) {
      if (!it->second.reserved && is_cacheable(it->second, it->first))
        cacheable.emplace(it->first, it->second.end_pfn - it->first);
    }
  }

  // Every range of a cached size is handed out (marked in the live map) or held by one magazine,
  // never both; the live map marks nothing else.
  std::vector<std::uint64_t> seen;
  live_->for_each([&](std::uint64_t pfn, std::uint64_t pages) {
    const auto it = cacheable.find(pfn);
    DMAKIT_CHECK(it != cacheable.end() && it->second == std::bit_ceil(pages),
                 "live map marks pfn {:#x} as a range of {} pages the tree does not hold", pfn,
                 pages);
    seen.push_back(pfn);
  });
  auto check_magazine = [&](const Magazine& magazine, unsigned order) {
    DMAKIT_CHECK(magazine.size <= kMagazineSize, "magazine holds {} pfns", magazine.size);
    for (std::uint64_t i = 0; i < magazine.size; ++i) {
      const std::uint64_t pfn = magazine.pfns[i];
      const auto it = cacheable.find(pfn);
      DMAKIT_CHECK(it != cacheable.end() && it->second == std::uint64_t{1} << order,
                   "cached pfn {:#x} of order {} has no range of its size in the tree", pfn, order);
      seen.push_back(pfn);
    }
  };
  for (unsigned s = 0; s < shard_count_; ++s) {
    const std::scoped_lock guard(shards_[s].lock);
    for (unsigned order = 0; order < kCacheOrders; ++order) {
      check_magazine(*shards_[s].loaded[order], order);
      check_magazine(*shards_[s].prev[order], order);
    }
  }
  for (unsigned order = 0; order < kCacheOrders; ++order) {
    const std::scoped_lock guard(depots_[order].lock);
    for (const std::unique_ptr<Magazine>& magazine : depots_[order].full) {
      DMAKIT_CHECK(magazine->full(), "depot magazine of order {} holds {} pfns", order,
                   magazine->size);
      check_magazine(*magazine, order);
    }
  }
  std::sort(seen.begin(), seen.end());
  const auto twice = std::adjacent_find(seen.begin(), seen.end());
  DMAKIT_CHECK(twice == seen.end(), "pfn {:#x} is live or cached twice", *twice);
  DMAKIT_CHECK(seen.size() == cacheable.size(),
               "{} ranges of cached sizes in the tree, {} handed out or cached", cacheable.size(),
               seen.size());
}

}  // namespace dmakit::iommu
