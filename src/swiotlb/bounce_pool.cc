// SPDX-License-Identifier: Apache-2.0
// Bounce slot bookkeeping (swiotlb layer), after Linux's kernel/dma/swiotlb.c (reference section
// 1.4): every slot knows how many free slots follow it up to the end of its 128-slot segment, so a
// search tests a candidate in O(1), and runs coalesce on free within a segment, never across one.
#include "dmakit/swiotlb/bounce_pool.h"

#include <algorithm>
#include <bit>

#include "dmakit/core/assert.h"

namespace dmakit::swiotlb {
namespace {

std::size_t segment_start(std::size_t slot) { return slot - slot % kSegmentSlots; }

std::uint64_t align_up(std::uint64_t value, std::uint64_t mask) { return (value + mask) & ~mask; }

unsigned area_count_for(std::size_t slots, unsigned wanted) {
  const auto segments = static_cast<unsigned>(slots / kSegmentSlots);
  const unsigned pow2 = std::bit_ceil(std::max(wanted, 1u));
  return std::min(pow2, std::bit_floor(std::max(segments, 1u)));
}

}  // namespace

BouncePool::BouncePool(std::uint64_t bytes, unsigned areas) : bytes_(bytes) {
  DMAKIT_CHECK(bytes != 0 && bytes % kMaxRunBytes == 0,
               "a bounce pool of {} bytes is not a whole number of 256 KiB segments", bytes);
  slots_.resize(bytes >> kSlotShift);
  const unsigned n = area_count_for(slots_.size(), areas);
  area_storage_ = std::make_unique<Area[]>(n);
  areas_ = {area_storage_.get(), n};
  const std::size_t segments = slots_.size() / kSegmentSlots;
  for (unsigned k = 0; k < n; ++k) {
    areas_[k].first = k * segments / n * kSegmentSlots;
    areas_[k].end = (k + 1) * segments / n * kSegmentSlots;
  }
  reset_slots();
}

BouncePool::BouncePool(PhysRange range, unsigned areas) : BouncePool(range.size(), areas) {
  DMAKIT_CHECK(activate(range), "a new pool is inactive");
}

void BouncePool::reset_slots() {
  for (std::size_t i = 0; i < slots_.size(); ++i)
    slots_[i] = Slot{.free_run = static_cast<std::uint16_t>(kSegmentSlots - i % kSegmentSlots)};
  for (Area& a : areas_) {
    a.cursor = a.first;
    a.used.store(0, std::memory_order_relaxed);
  }
}

PhysRange BouncePool::range() const {
  if (!active()) return {};
  const PhysAddr start(start_.load(std::memory_order_relaxed));
  return {start, start + bytes_};
}

bool BouncePool::activate(PhysRange range) {
  DMAKIT_CHECK(range.size() == bytes_, "pool of {} bytes given a range of {}", bytes_,
               range.size());
  std::vector<std::unique_lock<std::mutex>> guards;
  for (Area& a : areas_) guards.emplace_back(a.lock);
  if (active_.load(std::memory_order_relaxed)) return false;
  start_.store(range.start.value(), std::memory_order_relaxed);
  reset_slots();
  active_.store(true, std::memory_order_release);
  return true;
}

PhysRange BouncePool::retire_if_empty() {
  std::vector<std::unique_lock<std::mutex>> guards;
  for (Area& a : areas_) guards.emplace_back(a.lock);
  if (!active_.load(std::memory_order_relaxed) ||
      std::any_of(areas_.begin(), areas_.end(),
                  [](const Area& a) { return a.used.load(std::memory_order_relaxed) != 0; }))
    return {};
  const PhysAddr start(start_.load(std::memory_order_relaxed));
  active_.store(false, std::memory_order_release);
  return {start, start + bytes_};
}

std::uint64_t BouncePool::max_mapping_size(std::uint64_t min_align_mask) {
  // Linux reserves room for the whole mask rounded to a slot, although only its bits below a slot
  // become an offset; the figure drivers see stays the kernel's.
  return kMaxRunBytes - (min_align_mask == 0 ? 0 : align_up(min_align_mask, kSlotSize - 1));
}

bool BouncePool::reachable_under(std::int64_t bus_offset, std::uint64_t bus_limit) const {
  const std::uint64_t start = start_.load(std::memory_order_relaxed);
  if (!active()) return false;
  // The lowest pool address the bus can carry: above the offset's wrap when it is negative.
  std::uint64_t lowest = start;
  if (bus_offset < 0) lowest = std::max(start, static_cast<std::uint64_t>(-bus_offset));
  if (lowest >= start + bytes_) return false;
  return lowest + static_cast<std::uint64_t>(bus_offset) + kSlotSize - 1 <= bus_limit;
}

BouncePool::Area& BouncePool::area_of(std::size_t slot) {
  for (Area& a : areas_) {
    if (slot < a.end) return a;
  }
  DMAKIT_CHECK(false, "slot {} beyond the pool's {}", slot, slots_.size());
  return areas_.back();
}

std::size_t BouncePool::find_run_locked(const Area& area, PhysAddr orig, std::size_t nslots,
                                        std::uint64_t run_bytes,
                                        const BounceRequest& request) const {
  constexpr std::size_t kNone = ~std::size_t{0};
  // Linux's alignment rules: streaming maps of a page or more stay page aligned unless the device
  // names its own alignment; the bits a run's start covers need no matching against the original.
  std::uint64_t align = request.alloc_align_mask;
  std::uint64_t keep = request.min_align_mask;
  if (align == 0 && keep == 0 && run_bytes >= kPageSize) align = kPageSize - 1;
  align |= kSlotSize - 1;
  keep &= ~align;
  const std::size_t stride = (std::max(align, keep) >> kSlotShift) + 1;

  const std::size_t n = area.end - area.first;
  if (nslots > n - area.used.load(std::memory_order_relaxed)) return kNone;
  const auto offset = static_cast<std::uint64_t>(request.bus_offset);
  const std::uint64_t boundary = request.segment_boundary_mask;
  std::size_t i = area.cursor;
  const auto advance = [&](std::size_t step, std::size_t& scanned) {
    scanned += step;
    i += step;
    if (i >= area.end) i = area.first;
  };
  for (std::size_t scanned = 0; scanned < n;) {
    const std::uint64_t phys = slot_phys(i);
    if (request.bus_offset < 0 && phys < 0 - offset) {
      advance(1, scanned);  // below the bus's view of memory
      continue;
    }
    const std::uint64_t bus = phys + offset;
    if ((bus & align) != 0 || (bus & keep) != (orig.value() & keep)) {
      advance(1, scanned);
      continue;
    }
    if (bus + run_bytes - 1 > request.bus_limit || bus + run_bytes - 1 < bus) {
      // Every later slot of the area lies higher still: go on from the area's start.
      scanned += area.end - i;
      i = area.first;
      continue;
    }
    const bool crosses = (bus & ~boundary) != ((bus + run_bytes - 1) & ~boundary);
    if (!crosses && slots_[i].free_run >= nslots) return i;
    advance(stride, scanned);
  }
  return kNone;
}

void BouncePool::take_run_locked(Area& area, std::size_t index, std::size_t nslots) {
  for (std::size_t i = index; i < index + nslots; ++i) slots_[i].free_run = 0;
  // The free slots just before the run now end where it begins.
  std::uint16_t count = 0;
  for (std::size_t j = index; j > segment_start(index) && slots_[j - 1].free_run != 0; --j)
    slots_[j - 1].free_run = ++count;
  area.cursor = index + nslots < area.end ? index + nslots : area.first;
  const std::size_t used = area.used.load(std::memory_order_relaxed) + nslots;
  area.used.store(used, std::memory_order_relaxed);
  if (used > area.peak) {
    area.peak = used;
    std::uint64_t total = 0;
    for (const Area& a : areas_) total += a.used.load(std::memory_order_relaxed);
    std::uint64_t high = hiwater_.load(std::memory_order_relaxed);
    while (total > high &&
           !hiwater_.compare_exchange_weak(high, total, std::memory_order_relaxed)) {
    }
  }
}

void BouncePool::free_run_locked(Area& area, std::size_t index, std::size_t nslots) {
  const std::size_t after = index + nslots;
  std::uint16_t count =
      after < segment_start(index) + kSegmentSlots ? slots_[after].free_run : std::uint16_t{0};
  for (std::size_t i = after; i-- > index;) slots_[i] = Slot{.free_run = ++count};
  for (std::size_t j = index; j > segment_start(index) && slots_[j - 1].free_run != 0; --j)
    slots_[j - 1].free_run = ++count;
  area.used.store(area.used.load(std::memory_order_relaxed) - nslots, std::memory_order_relaxed);
  // The run handed out last came back first (a map/unmap pair): start the next search there, so a
  // stack-like pattern reuses cache-warm slots instead of walking the whole pool through the cache.
  // Linux's cursor only moves forward; the free-run counts are the same either way.
  const std::size_t next = after < area.end ? after : area.first;
  if (area.cursor == next) area.cursor = index;
}

Result<BounceRun> BouncePool::reserve(PhysAddr orig, std::uint64_t size,
                                      const BounceRequest& request, unsigned start_area) {
  if (size == 0) return fail(Errc::InvalidArgument, "bounce mapping of 0 bytes");
  // The bounce address keeps the original's min_align bits: those below a slot as an offset into
  // the first slot, whole slots of it as padding slots before the mapping.
  const std::uint64_t offset =
      orig.value() & request.min_align_mask & (request.alloc_align_mask | (kSlotSize - 1));
  const std::uint64_t run_bytes = align_up(size + offset, request.alloc_align_mask);
  const std::size_t nslots = (run_bytes + kSlotSize - 1) >> kSlotShift;
  if (nslots > kSegmentSlots)
    return fail(Errc::InvalidArgument,
                "bounce mapping of {} bytes (with its alignment, {} slots) exceeds the {}-slot "
                "maximum",
                size, nslots, kSegmentSlots);
  const std::size_t pad = offset >> kSlotShift;
  const std::uint64_t in_slot = offset & (kSlotSize - 1);
  for (std::size_t k = 0; k < areas_.size(); ++k) {
    Area& area = areas_[(start_area + k) % areas_.size()];
    const std::scoped_lock guard(area.lock);
    if (!active_.load(std::memory_order_relaxed)) break;
    const std::size_t index = find_run_locked(area, orig, nslots, run_bytes, request);
    if (index == ~std::size_t{0}) continue;
    take_run_locked(area, index, nslots);
    const std::size_t head = index + pad;
    Slot& first = slots_[head];
    first.start_offset = static_cast<std::uint16_t>(in_slot);
    first.pad_slots = static_cast<std::uint8_t>(pad);
    first.run_slots = static_cast<std::uint8_t>(nslots);
    const std::uint64_t mapped = in_slot + size;  // from the first slot's start
    for (std::size_t i = head; i < index + nslots && (i - head) * kSlotSize < mapped; ++i) {
      const std::uint64_t into = (i - head) * kSlotSize;
      slots_[i].orig = orig.value() - in_slot + into;
      slots_[i].remaining = static_cast<std::uint32_t>(mapped - into);
    }
    return BounceRun{PhysAddr(slot_phys(head) + in_slot), static_cast<std::uint32_t>(nslots)};
  }
  return fail(Errc::NoBounceSlot, "no free run of {} slots fits", nslots);
}

Status BouncePool::release(PhysAddr bounce, std::uint64_t size) {
  if (!contains(bounce))
    return fail(Errc::InvalidArgument, "{:#x} is not in the bounce pool", bounce.value());
  const std::size_t slot = (bounce.value() - start_.load(std::memory_order_relaxed)) >> kSlotShift;
  Area& area = area_of(slot);
  const std::scoped_lock guard(area.lock);
  const Slot& s = slots_[slot];
  if (s.start_offset == Slot::kNotStart || slot_phys(slot) + s.start_offset != bounce.value())
    return fail(Errc::InvalidArgument, "{:#x} is not the start of a bounce mapping",
                bounce.value());
  const std::uint64_t mapped = s.remaining - s.start_offset;
  if (size != mapped)
    return fail(Errc::InvalidArgument, "bounce mapping at {:#x} is {} bytes, not {}",
                bounce.value(), mapped, size);
  free_run_locked(area, slot - s.pad_slots, s.run_slots);
  return {};
}

Result<BounceMapping> BouncePool::find(PhysAddr bounce) const {
  if (!contains(bounce))
    return fail(Errc::NoBounceSlot, "{:#x} is not in the bounce pool", bounce.value());
  const std::size_t slot = (bounce.value() - start_.load(std::memory_order_relaxed)) >> kSlotShift;
  const Slot& s = slots_[slot];
  const std::uint64_t into = bounce.value() - slot_phys(slot);
  const bool is_start = s.start_offset != Slot::kNotStart;
  if (s.orig == Slot::kNoOrig || (is_start && into < s.start_offset) || into >= s.remaining)
    return fail(Errc::NoBounceSlot, "{:#x} is in no live bounce mapping", bounce.value());
  return BounceMapping{bounce, PhysAddr(s.orig + into), s.remaining - into,
                       is_start && into == s.start_offset};
}

std::uint64_t BouncePool::used_slots() const {
  std::uint64_t used = 0;
  for (const Area& a : areas_) used += a.used.load(std::memory_order_relaxed);
  return used;
}

void BouncePool::validate() const {
  for (Area& a : areas_) {
    const std::scoped_lock guard(a.lock);
    std::size_t used = 0;
    for (std::size_t i = a.first; i < a.end; ++i) {
      const std::size_t seg_end = segment_start(i) + kSegmentSlots;
      const std::uint16_t expect =
          slots_[i].free_run == 0
              ? 0
              : static_cast<std::uint16_t>(i + 1 < seg_end && slots_[i + 1].free_run != 0
                                               ? slots_[i + 1].free_run + 1
                                               : 1);
      DMAKIT_CHECK(slots_[i].free_run == expect, "slot {}: free run {}, expected {}", i,
                   slots_[i].free_run, expect);
      if (slots_[i].free_run == 0) ++used;
    }
    DMAKIT_CHECK(used == a.used.load(std::memory_order_relaxed),
                 "area [{}, {}): {} slots in use, counted {}", a.first, a.end, used,
                 a.used.load(std::memory_order_relaxed));
  }
}

}  // namespace dmakit::swiotlb
