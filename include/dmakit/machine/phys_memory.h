// SPDX-License-Identifier: Apache-2.0
// PhysMemory: the bytes and page frames of a machine's simulated RAM (machine layer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"
#include "dmakit/machine/page.h"

namespace dmakit::machine {

/// Simulated physical memory: real host bytes for every RAM range, inaccessible host pages for
/// every hole, and a Page per frame. The CPU's view of physical address P is host address base() +
/// P (the direct map), so translation is an add; holes and the space past RAM are mapped with no
/// access, so a stray access through a bad pointer faults instead of corrupting anything.
///
/// Backing is sparse: a 64 GiB machine costs the host only the pages that are touched
/// (host_memory.h). Thread-safe: the mapping never changes after construction. Owned by the
/// Machine.
class PhysMemory {
 public:
  /// Maps `ram` (ascending, page aligned). Throws ConfigError (field "machine.ram") when the host
  /// cannot reserve or map the space.
  explicit PhysMemory(std::vector<PhysRange> ram);
  ~PhysMemory();

  PhysMemory(const PhysMemory&) = delete;
  PhysMemory& operator=(const PhysMemory&) = delete;

  [[nodiscard]] std::span<const PhysRange> ram() const { return ram_; }
  /// One past the highest RAM address; frames below it have Page metadata.
  [[nodiscard]] PhysAddr end() const { return end_; }
  [[nodiscard]] Pfn end_pfn() const { return phys_to_pfn(end_); }

  /// True when every byte of [addr, addr + size) is RAM (size 0 counts as 1 byte). Inline: it is on
  /// every mapping's path. Machines have a handful of RAM ranges, so a scan beats a search.
  [[nodiscard]] bool is_ram(PhysAddr addr, std::uint64_t size = 1) const {
    const std::uint64_t last = addr.value() + (size == 0 ? 0 : size - 1);
    if (last < addr.value()) return false;  // wrapped past 2^64
    for (const PhysRange& r : ram_) {
      if (addr < r.end) return addr >= r.start && last < r.end.value();
    }
    return false;
  }

  /// The CPU's pointer to [addr, addr + size). BadAddress when any byte lies in a hole or past RAM.
  [[nodiscard]] Result<std::byte*> phys_to_virt(PhysAddr addr, std::uint64_t size = 1) const;

  /// The physical address of a direct-map pointer. BadAddress for any other pointer (vmalloc-area
  /// addresses included: their pages are not contiguous; use VmallocArea::vmalloc_to_page).
  [[nodiscard]] Result<PhysAddr> virt_to_phys(const void* ptr) const;

  /// Unchecked direct-map pointer of a frame known to be RAM (page allocator internals, device
  /// models).
  [[nodiscard]] std::byte* direct_map(PhysAddr addr) const { return base_ + addr.value(); }
  [[nodiscard]] bool in_direct_map(const void* ptr) const {
    const auto* p = static_cast<const std::byte*>(ptr);
    return p >= base_ && p < base_ + end_.value();
  }

  [[nodiscard]] Page* pfn_to_page(Pfn pfn) const { return mem_map_ + pfn; }
  [[nodiscard]] Pfn page_to_pfn(const Page* page) const {
    return static_cast<Pfn>(page - mem_map_);
  }
  [[nodiscard]] PhysAddr page_to_phys(const Page* page) const {
    return pfn_to_phys(page_to_pfn(page));
  }
  [[nodiscard]] std::byte* page_address(const Page* page) const {
    return direct_map(page_to_phys(page));
  }
  /// True when `page` points at a Page of this machine's mem_map.
  [[nodiscard]] bool owns(const Page* page) const {
    return page >= mem_map_ && page < mem_map_ + end_pfn();
  }
  [[nodiscard]] Page* mem_map() const { return mem_map_; }

  /// The backing file, for mapping RAM pages a second time (the vmalloc area).
  [[nodiscard]] int backing_fd() const { return fd_; }

 private:
  std::vector<PhysRange> ram_;
  PhysAddr end_;
  int fd_ = -1;
  std::byte* base_ = nullptr;  ///< reservation of end_ bytes: RAM mapped, holes inaccessible
  Page* mem_map_ = nullptr;    ///< lazily committed Page array of end_pfn() entries
};

}  // namespace dmakit::machine
