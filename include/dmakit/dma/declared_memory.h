// SPDX-License-Identifier: Apache-2.0
// Device-declared coherent memory (dma layer; seed 001's dma_declare_coherent_memory(), with the
// flags as Linux defined them at the time).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "dmakit/alloc/block_bitmap.h"
#include "dmakit/core/name_table.h"
#include "dmakit/core/result.h"
#include "dmakit/machine/device_memory.h"

namespace dmakit::iommu {
class Domain;
}

namespace dmakit::dma {

class Device;

/// The flags of seed 001, with Linux's values. One of kMemoryMap and kMemoryIo is required.
enum DeclareFlags : unsigned {
  kMemoryMap = 0x01,               ///< the CPU gets plain pointers into the region
  kMemoryIo = 0x02,                ///< the CPU reaches it only through I/O accessors
  kMemoryIncludesChildren = 0x04,  ///< child devices allocate from it too
  kMemoryExclusive = 0x08,         ///< coherent memory only from here; fail when full
};

/// The flags by their configuration names, in bit order.
inline constexpr NameTable<DeclareFlags, 4> kDeclareFlagNames = {{
    {kMemoryMap, "map"},
    {kMemoryIo, "io"},
    {kMemoryIncludesChildren, "includes-children"},
    {kMemoryExclusive, "exclusive"},
}};

/// `flags` by name: "map,exclusive".
[[nodiscard]] std::string declare_flags_text(unsigned flags);

/// A region of memory on a device that its coherent allocations come from. `bus_addr` is where the
/// machine's bus (and the CPU) sees it; `device_addr` where the device itself addresses it, which
/// is what allocations hand out as their handle. Allocation is page-granular: power-of-two blocks
/// of pages, naturally aligned, first fit (as Linux's bitmap_find_free_region). Thread-safe.
class DeclaredMemory {
 public:
  DeclaredMemory(machine::DeviceMemoryRegion region, DmaAddr device_addr, unsigned flags);

  [[nodiscard]] unsigned flags() const { return flags_; }
  [[nodiscard]] const machine::DeviceMemoryRegion& region() const { return region_; }
  [[nodiscard]] DmaAddr device_addr() const { return device_addr_; }
  [[nodiscard]] std::uint64_t size() const { return region_.range.size(); }
  /// Whether [dma, dma + size) meets the window the device addresses the region by.
  [[nodiscard]] bool meets_window(DmaAddr dma, std::uint64_t size) const {
    return dma.value() < device_addr_.value() + this->size() &&
           device_addr_.value() < dma.value() + size;
  }
  /// The region's bytes behind [dma, dma + size), wholly inside the window; null otherwise.
  [[nodiscard]] std::byte* local_bytes(DmaAddr dma, std::uint64_t size) const;

  /// `size` bytes, zeroed; *handle gets the device's address. NoMemory when no block is free.
  [[nodiscard]] Result<std::byte*> alloc(std::uint64_t size, DmaAddr* handle);
  /// True when `cpu` points into this region (what free_coherent asks before freeing here).
  [[nodiscard]] bool contains(const void* cpu) const;
  /// Frees a block from alloc() with its size. InvalidArgument, with nothing freed, otherwise.
  [[nodiscard]] Status free(std::uint64_t size, void* cpu, DmaAddr handle);
  /// Reserves [device_addr, device_addr + size) so alloc() never hands it out, and returns its CPU
  /// address. InvalidArgument outside the region, Busy when part of it is already in use.
  [[nodiscard]] Result<std::byte*> mark_occupied(DmaAddr device_addr, std::uint64_t size);
  [[nodiscard]] std::uint64_t pages_in_use() const;
  /// Pages held by alloc() blocks, not counting mark_occupied() reservations.
  [[nodiscard]] std::uint64_t pages_allocated() const;

 private:
  [[nodiscard]] std::byte* cpu_base() const;

  machine::DeviceMemoryRegion region_;
  DmaAddr device_addr_;
  unsigned flags_;
  mutable std::mutex lock_;
  alloc::BlockBitmap blocks_;   ///< guarded by lock_
  std::uint64_t occupied_ = 0;  ///< guarded by lock_: pages mark_occupied() reserved, for good
};

/// Declares `size` bytes of device memory at machine physical address `bus_addr`, addressed by the
/// device at `device_addr`; the region gets real bytes. The device reaches the region at
/// `device_addr` without the bus (dma/bus_access.h), so no streaming mapping of the device may be
/// placed in that window: the direct path bounces or refuses a buffer whose bus address falls
/// there, and a DMA domain the device is in has the window reserved for good (as Linux reserves an
/// IOMMU's reserved regions). Errors: InvalidArgument (size 0 or not page aligned, a window that
/// wraps, neither or both of kMemoryMap/kMemoryIo), Busy (the device already has a region, or its
/// domain has IOVAs live in the window), BadAddress (the range overlaps RAM or another device's
/// memory).
[[nodiscard]] Status declare_coherent_memory(Device& dev, PhysAddr bus_addr, DmaAddr device_addr,
                                             std::uint64_t size, unsigned flags);
/// Gives the region back to the machine. Busy, with nothing released, while allocations from it
/// live; reservations from mark_declared_memory_occupied() go with the region, as in Linux.
[[nodiscard]] Status release_declared_memory(Device& dev);
/// See DeclaredMemory::mark_occupied. InvalidArgument when the device has no region.
[[nodiscard]] Result<std::byte*> mark_declared_memory_occupied(Device& dev, DmaAddr device_addr,
                                                               std::uint64_t size);
/// Reserves a declared window [device_addr, device_addr + size) in `domain` when it is a DMA
/// domain; nothing for no domain or another kind. Busy when IOVAs are live there.
[[nodiscard]] Status reserve_window(iommu::Domain* domain, DmaAddr device_addr, std::uint64_t size);
/// The region a device's coherent allocations use: its own, or the nearest ancestor's declared with
/// kMemoryIncludesChildren; null for none.
[[nodiscard]] DeclaredMemory* declared_memory_for(const Device& dev);

}  // namespace dmakit::dma
