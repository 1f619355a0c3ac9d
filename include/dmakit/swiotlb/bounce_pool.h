// SPDX-License-Identifier: Apache-2.0
// BouncePool: one contiguous range of bounce slots (swiotlb layer; seed 001's "searching until it
// finds memory which fits"), with Linux's slot bookkeeping: 2 KiB slots in 128-slot segments, free
// runs counted per slot, independently locked areas with a next-fit cursor each.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"

namespace dmakit::swiotlb {

inline constexpr unsigned kSlotShift = 11;
inline constexpr std::uint64_t kSlotSize = std::uint64_t{1} << kSlotShift;  ///< IO_TLB_SIZE
inline constexpr unsigned kSegmentSlots = 128;                              ///< IO_TLB_SEGSIZE
/// The longest run a mapping may take: 256 KiB (swiotlb_max_mapping_size()).
inline constexpr std::uint64_t kMaxRunBytes = kSegmentSlots * kSlotSize;

/// What a device asks of a bounce run. Bus addresses are physical addresses plus `bus_offset`.
struct BounceRequest {
  std::int64_t bus_offset = 0;
  /// The highest bus address the run may touch (the device's mask cut by its bus limit).
  std::uint64_t bus_limit = ~std::uint64_t{0};
  /// Address bits the bounce address keeps from the original (dma_get_min_align_mask()).
  std::uint64_t min_align_mask = 0;
  /// Bits the first slot's address must have clear, the size rounded to match (callers that need
  /// granule-aligned runs); 0 for streaming maps, which get page alignment for a page or more.
  std::uint64_t alloc_align_mask = 0;
  /// A run never crosses a multiple of this mask + 1 in bus space (dma_get_seg_boundary()).
  std::uint64_t segment_boundary_mask = ~std::uint64_t{0};
};

/// A live bounce mapping, as far as the part asked about goes.
struct BounceMapping {
  PhysAddr bounce;              ///< the bounce address asked about
  PhysAddr orig;                ///< the original address it stands for
  std::uint64_t remaining = 0;  ///< bytes of the mapping from `bounce` to its end
  bool start = false;           ///< `bounce` is the address the mapping was handed out at
};

/// A run reserved for a mapping.
struct BounceRun {
  PhysAddr bounce;          ///< where the mapping starts
  std::uint32_t slots = 0;  ///< slots taken, alignment padding included
};

/// The slots of one physical range. A transient pool is constructed inactive and serves only
/// between activate() and retire(). Thread-safe: an area's lock guards its slots' free-run counts
/// and its cursor; a mapping's own slots are read without a lock by whoever holds the mapping.
class BouncePool {
 public:
  /// A pool of `bytes` (a multiple of 256 KiB) split into `areas` areas (a power of two, at least
  /// one, at most one per segment). Active at once when `range` is given.
  BouncePool(std::uint64_t bytes, unsigned areas);
  BouncePool(PhysRange range, unsigned areas);

  BouncePool(const BouncePool&) = delete;
  BouncePool& operator=(const BouncePool&) = delete;

  /// Reserves a run for the `size` bytes at `orig` and returns it, or an error:
  /// InvalidArgument (size 0, or more than max_mapping_size()), NoBounceSlot (no free run fits the
  /// request in any area). `start_area` spreads threads over the areas.
  [[nodiscard]] Result<BounceRun> reserve(PhysAddr orig, std::uint64_t size,
                                          const BounceRequest& request, unsigned start_area);
  /// Frees the mapping handed out at `bounce` for `size` bytes. InvalidArgument, with nothing
  /// freed, when `bounce` is not such an address or `size` is not the mapping's.
  [[nodiscard]] Status release(PhysAddr bounce, std::uint64_t size);
  /// The live mapping that `bounce` falls in, or NoBounceSlot.
  [[nodiscard]] Result<BounceMapping> find(PhysAddr bounce) const;

  [[nodiscard]] bool contains(PhysAddr addr) const {
    return active_.load(std::memory_order_acquire) &&
           addr.value() - start_.load(std::memory_order_relaxed) < bytes_;
  }
  [[nodiscard]] bool active() const { return active_.load(std::memory_order_acquire); }
  /// The pool's range; empty while inactive.
  [[nodiscard]] PhysRange range() const;
  [[nodiscard]] std::uint64_t total_slots() const { return slots_.size(); }
  [[nodiscard]] std::uint64_t used_slots() const;
  /// The most slots in use at once: exact within an area; across areas the sum is taken whenever
  /// one area reaches a new peak of its own, which keeps the count off the mapping path's shared
  /// cache lines and may miss a peak made of several areas' non-record highs.
  [[nodiscard]] std::uint64_t used_hiwater() const {
    return hiwater_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] unsigned area_count() const { return static_cast<unsigned>(areas_.size()); }
  /// Whether some bus address of the pool, with `bus_offset`, lies at or below `bus_limit`.
  [[nodiscard]] bool reachable_under(std::int64_t bus_offset, std::uint64_t bus_limit) const;

  /// Makes an inactive pool serve `range` (its size). Returns false when the pool is not inactive.
  bool activate(PhysRange range);
  /// Stops an active pool that holds no mapping; returns its range, or an empty one (it is busy).
  PhysRange retire_if_empty();

  /// The largest mapping under a device's min_align_mask: 256 KiB less the slots its offset may
  /// take (swiotlb_max_mapping_size()).
  [[nodiscard]] static std::uint64_t max_mapping_size(std::uint64_t min_align_mask);

  /// Checks every area's free-run counts and used count against the slots. Aborts on violation.
  void validate() const;

 private:
  struct Slot {
    static constexpr std::uint64_t kNoOrig = ~std::uint64_t{0};
    static constexpr std::uint16_t kNotStart = 0xffff;
    std::uint64_t orig = kNoOrig;  ///< the original address this slot's first byte stands for
    std::uint32_t remaining = 0;   ///< mapping bytes from this slot's first byte to its end
    std::uint16_t free_run = 0;    ///< free slots from here to the segment's end; 0: in use
    std::uint16_t start_offset = kNotStart;  ///< on a mapping's first slot: its byte offset there
    std::uint8_t pad_slots = 0;  ///< on a mapping's first slot: alignment slots reserved before it
    std::uint8_t run_slots = 0;  ///< on a mapping's first slot: slots reserved, padding included
  };
  struct alignas(64) Area {
    std::mutex lock;
    std::size_t first = 0;  ///< slot range [first, end)
    std::size_t end = 0;
    std::size_t cursor = 0;            ///< guarded by lock: where the next search starts
    std::atomic<std::size_t> used{0};  ///< written under lock; read by stats without it
    std::size_t peak = 0;              ///< guarded by lock: most slots in use at once here
  };

  void reset_slots();
  [[nodiscard]] std::size_t find_run_locked(const Area& area, PhysAddr orig, std::size_t nslots,
                                            std::uint64_t run_bytes,
                                            const BounceRequest& request) const;
  void take_run_locked(Area& area, std::size_t index, std::size_t nslots);
  void free_run_locked(Area& area, std::size_t index, std::size_t nslots);
  [[nodiscard]] Area& area_of(std::size_t slot);
  [[nodiscard]] std::uint64_t slot_phys(std::size_t slot) const {
    return start_.load(std::memory_order_relaxed) + (std::uint64_t{slot} << kSlotShift);
  }

  const std::uint64_t bytes_;
  std::atomic<std::uint64_t> start_{0};
  std::atomic<bool> active_{false};
  std::atomic<std::uint64_t> hiwater_{0};
  std::vector<Slot> slots_;
  std::unique_ptr<Area[]> area_storage_;
  std::span<Area> areas_;
};

}  // namespace dmakit::swiotlb
