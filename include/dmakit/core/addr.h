// SPDX-License-Identifier: Apache-2.0
// Address types of the core layer. A physical address (what the memory controller sees), a DMA
// address (what a device puts on the bus) and an I/O virtual address (what an IOMMU translates) are
// distinct types, so every place where one becomes another is an explicit conversion (seeds 000 and
// 004).
#pragma once

#include <compare>
#include <cstdint>

#include "dmakit/core/assert.h"

namespace dmakit {

/// An address in one address space. `Space` is a tag type that keeps the spaces apart at compile
/// time; arithmetic stays inside a space, and `value()` is the one visible way out.
template <class Space>
class Addr {
 public:
  constexpr Addr() = default;
  constexpr explicit Addr(std::uint64_t value) : value_(value) {}

  [[nodiscard]] constexpr std::uint64_t value() const { return value_; }

  constexpr Addr operator+(std::uint64_t offset) const { return Addr(value_ + offset); }
  constexpr Addr operator-(std::uint64_t offset) const { return Addr(value_ - offset); }
  constexpr Addr& operator+=(std::uint64_t offset) {
    value_ += offset;
    return *this;
  }
  /// Distance in bytes between two addresses of the same space.
  constexpr std::uint64_t operator-(Addr other) const { return value_ - other.value_; }
  constexpr auto operator<=>(const Addr&) const = default;

 private:
  std::uint64_t value_ = 0;
};

struct PhysSpace;
struct DmaSpace;
struct IovaSpace;

using PhysAddr = Addr<PhysSpace>;
using DmaAddr = Addr<DmaSpace>;
using IovaAddr = Addr<IovaSpace>;

/// A page frame number: a physical address divided by the page size.
using Pfn = std::uint64_t;

inline constexpr unsigned kPageShift = 12;
inline constexpr std::uint64_t kPageSize = std::uint64_t{1} << kPageShift;

constexpr Pfn phys_to_pfn(PhysAddr addr) { return addr.value() >> kPageShift; }
constexpr PhysAddr pfn_to_phys(Pfn pfn) { return PhysAddr(pfn << kPageShift); }

constexpr bool is_aligned(std::uint64_t value, std::uint64_t alignment) {
  return (value & (alignment - 1)) == 0;
}
/// `value` rounded up to a multiple of `alignment` (a power of two). The result must fit in 64
/// bits: sizes a caller passed go through round_up_request() (request_size.h) instead, which
/// refuses those whose rounding could wrap.
constexpr std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  DMAKIT_ASSERT(value <= ~std::uint64_t{0} - (alignment - 1), "align_up({:#x}, {:#x}) wraps", value,
                alignment);
  return (value + alignment - 1) & ~(alignment - 1);
}
constexpr std::uint64_t align_down(std::uint64_t value, std::uint64_t alignment) {
  return value & ~(alignment - 1);
}

/// A half-open physical range [start, end).
struct PhysRange {
  PhysAddr start;
  PhysAddr end;

  [[nodiscard]] constexpr std::uint64_t size() const { return end - start; }
  [[nodiscard]] constexpr bool empty() const { return end <= start; }
  [[nodiscard]] constexpr bool contains(PhysAddr addr) const { return addr >= start && addr < end; }
  [[nodiscard]] constexpr bool overlaps(const PhysRange& other) const {
    return start < other.end && other.start < end;
  }
  constexpr bool operator==(const PhysRange&) const = default;
};

}  // namespace dmakit
