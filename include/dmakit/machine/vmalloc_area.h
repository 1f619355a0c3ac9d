// SPDX-License-Identifier: Apache-2.0
// VmallocArea: virtually contiguous, physically scattered allocations (machine layer), as the
// kernel's vmalloc(). Seed 004: "vmalloc memory should not be used for DMA": its pages are
// contiguous only in the CPU's view, so no single bus address can describe such a buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "dmakit/core/result.h"
#include "dmakit/machine/gfp.h"
#include "dmakit/machine/page_allocator.h"
#include "dmakit/machine/phys_memory.h"

namespace dmakit::machine {

/// A window of host address space where each allocation is a run of order-0 RAM pages, taken one by
/// one from the page allocator and mapped side by side: writes through a vmalloc pointer land in
/// the same simulated RAM bytes the direct map shows. Each allocation is followed by an unmapped
/// guard page, so running off its end faults.
///
/// Thread-safe. Owned by the Machine; PhysMemory and the PageAllocator must outlive it. Allocations
/// still live when it is destroyed are unmapped, their pages given back.
class VmallocArea {
 public:
  /// Reserves `window_bytes` of host address space. Throws ConfigError (field "machine.vmalloc") if
  /// the host refuses.
  VmallocArea(const PhysMemory& memory, PageAllocator& pages, std::uint64_t window_bytes);
  ~VmallocArea();

  VmallocArea(const VmallocArea&) = delete;
  VmallocArea& operator=(const VmallocArea&) = delete;

  /// ceil(bytes / 4 KiB) pages, virtually contiguous. Errors: InvalidArgument for 0 bytes, NoMemory
  /// when the window or the zones allowed by `gfp` run out (nothing is kept on failure).
  [[nodiscard]] Result<std::byte*> vmalloc(std::uint64_t bytes, Gfp gfp = kGfpKernel);

  /// Frees an allocation. InvalidArgument, with nothing freed, unless `addr` is exactly what
  /// vmalloc() returned and not yet freed.
  [[nodiscard]] Status vfree(const void* addr);

  /// True when `ptr` lies inside the window (allocated or not).
  [[nodiscard]] bool contains(const void* ptr) const {
    const auto* p = static_cast<const std::byte*>(ptr);
    return p >= base_ && p < base_ + size_;
  }

  /// The page behind a byte of a live allocation. BadAddress for any other pointer.
  [[nodiscard]] Result<Page*> vmalloc_to_page(const void* ptr) const;
  /// The physical address behind a byte of a live allocation. BadAddress for any other pointer.
  [[nodiscard]] Result<PhysAddr> vmalloc_to_phys(const void* ptr) const;

  [[nodiscard]] std::uint64_t window_bytes() const { return size_; }
  /// Bytes of RAM held by live allocations.
  [[nodiscard]] std::uint64_t allocated_bytes() const;

 private:
  struct Allocation {
    std::uint64_t bytes;       ///< mapped bytes, a page multiple (the guard page follows)
    std::vector<Page*> pages;  ///< page i backs [i * 4 KiB, (i + 1) * 4 KiB)
  };

  [[nodiscard]] Result<std::uint64_t> take_window(std::uint64_t bytes);
  void give_window(std::uint64_t offset, std::uint64_t bytes);
  [[nodiscard]] Status map_pages(std::uint64_t offset, const std::vector<Page*>& pages);
  void release_pages(const std::vector<Page*>& pages);
  [[nodiscard]] const Allocation* find(const void* ptr, std::uint64_t* offset_in) const;

  const PhysMemory& memory_;
  PageAllocator& pages_;
  std::byte* base_;
  std::uint64_t size_;

  mutable std::mutex lock_;
  std::map<std::uint64_t, std::uint64_t> free_;      ///< window offset -> bytes; guarded by lock_
  std::map<std::uint64_t, Allocation> allocations_;  ///< by window offset; guarded by lock_
};

}  // namespace dmakit::machine
