// SPDX-License-Identifier: Apache-2.0
// BuddyAllocator: the binary buddy free lists of one zone (machine layer), orders 0 to kMaxOrder.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

#include "dmakit/core/addr.h"
#include "dmakit/machine/page.h"

namespace dmakit::machine {

/// Calls `visit(pfn, order)` for each block of the decomposition of [start, end) into the largest
/// naturally aligned blocks of at most 2^kMaxOrder pages, in ascending order. The decomposition is
/// unique, which is what lets an exact-size allocation be freed piece by piece as it was split.
template <class Visit>
void for_each_aligned_block(Pfn start, Pfn end, Visit&& visit) {
  while (start < end) {
    unsigned order =
        start == 0 ? kMaxOrder : std::min<unsigned>(kMaxOrder, std::countr_zero(start));
    while (start + (Pfn{1} << order) > end) --order;
    visit(start, order);
    start += Pfn{1} << order;
  }
}

/// Free lists of naturally aligned blocks of 2^order pages over the frames [start_pfn, end_pfn) of
/// one zone, linked through the Page array. Freeing a block merges it with its buddy (the block at
/// pfn ^ 2^order) while the buddy is free, of the same order and inside the zone.
///
/// Not thread-safe: the owning Zone holds the lock. The Page array must outlive the allocator.
class BuddyAllocator {
 public:
  /// Starts with no free memory; the zone adds its RAM with add_free_range().
  BuddyAllocator(Page* mem_map, Pfn start_pfn, Pfn end_pfn);

  BuddyAllocator(const BuddyAllocator&) = delete;
  BuddyAllocator& operator=(const BuddyAllocator&) = delete;

  /// Hands [start, end), which must lie inside the zone and hold RAM only, to the free lists as the
  /// largest aligned blocks it decomposes into.
  void add_free_range(Pfn start, Pfn end);

  /// Takes a block of 2^order pages, splitting a larger one if needed (the lower half is kept, the
  /// upper halves go back on the lists). Returns the head page marked Page::kHead, or nullptr when
  /// no block of that order or larger is free.
  [[nodiscard]] Page* alloc(unsigned order);

  /// Returns a block. Precondition (checked): `page` heads an allocated block of exactly `order`.
  void free(Page* page, unsigned order);

  [[nodiscard]] std::uint64_t free_pages() const { return free_pages_; }
  [[nodiscard]] std::uint64_t free_blocks(unsigned order) const { return free_count_[order]; }

  /// Checks every invariant: each listed block is aligned, inside the zone, flagged kBuddy with its
  /// order, not mergeable with a free buddy, and the counters match the lists. Aborts on violation.
  void validate() const;

 private:
  [[nodiscard]] Pfn pfn_of(const Page* page) const { return static_cast<Pfn>(page - mem_map_); }
  [[nodiscard]] bool in_zone(Pfn pfn, unsigned order) const {
    return pfn >= start_pfn_ && pfn + (Pfn{1} << order) <= end_pfn_;
  }
  void push(Pfn pfn, unsigned order);
  void unlink(Pfn pfn, unsigned order);
  void free_block(Pfn pfn, unsigned order);

  Page* mem_map_;
  Pfn start_pfn_;
  Pfn end_pfn_;
  std::array<std::uint32_t, kMaxOrder + 1>
      free_head_;  ///< first free block per order, or kNoPfnLink
  std::array<std::uint64_t, kMaxOrder + 1> free_count_{};
  std::uint64_t free_pages_ = 0;  ///< invariant: sum over orders of free_count_[o] << o
};

}  // namespace dmakit::machine
