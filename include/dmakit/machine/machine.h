// SPDX-License-Identifier: Apache-2.0
// Machine: a simulated computer's memory (machine layer): RAM with real bytes, holes, NUMA nodes,
// zones with buddy allocators (seed 001), and a vmalloc area. Umbrella header of the machine layer.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "dmakit/core/core.h"
#include "dmakit/machine/device_memory.h"
#include "dmakit/machine/gfp.h"
#include "dmakit/machine/host_memory.h"
#include "dmakit/machine/machine_config.h"
#include "dmakit/machine/memory_layout.h"
#include "dmakit/machine/page.h"
#include "dmakit/machine/page_allocator.h"
#include "dmakit/machine/phys_memory.h"
#include "dmakit/machine/vmalloc_area.h"
#include "dmakit/machine/zone.h"

namespace dmakit::machine {

/// The simulated machine's memory side. Built once from a MachineConfig; the layout never changes
/// afterwards. Everything it hands out (Page*, direct-map pointers, zones) lives as long as it
/// does. Thread-safe for allocation and translation.
///
/// Construction throws ConfigError naming the field and value of any setting that cannot work;
/// after that nothing throws.
class Machine {
 public:
  explicit Machine(const MachineConfig& config = {});
  ~Machine();

  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  [[nodiscard]] const MachineConfig& config() const { return config_; }
  [[nodiscard]] const MemoryLayout& layout() const { return layout_; }
  [[nodiscard]] std::uint64_t ram_size() const { return config_.ram_size; }

  [[nodiscard]] PhysMemory& memory() { return *memory_; }
  [[nodiscard]] const PhysMemory& memory() const { return *memory_; }
  [[nodiscard]] PageAllocator& page_allocator() { return *page_allocator_; }
  [[nodiscard]] const PageAllocator& page_allocator() const { return *page_allocator_; }
  [[nodiscard]] VmallocArea& vmalloc_area() { return *vmalloc_; }
  /// Memory on devices, outside RAM (seed 001).
  [[nodiscard]] DeviceMemoryMap& device_memory() { return *device_memory_; }
  [[nodiscard]] const DeviceMemoryMap& device_memory() const { return *device_memory_; }

  [[nodiscard]] std::span<const NumaNode> nodes() const { return nodes_; }
  [[nodiscard]] std::span<Zone* const> zones() const { return zone_ptrs_; }

  /// The CPU's pointer to physical [addr, addr + size); BadAddress in holes or past RAM.
  [[nodiscard]] Result<std::byte*> phys_to_virt(PhysAddr addr, std::uint64_t size = 1) const {
    return memory_->phys_to_virt(addr, size);
  }
  /// The physical address of a direct-map pointer; BadAddress otherwise, with a pointer into the
  /// vmalloc area named as such.
  [[nodiscard]] Result<PhysAddr> virt_to_phys(const void* ptr) const;

  [[nodiscard]] PhysAddr page_to_phys(const Page* page) const {
    return memory_->page_to_phys(page);
  }
  /// The node whose span holds `addr` (node 0 for an address outside every node).
  [[nodiscard]] unsigned node_of(PhysAddr addr) const;
  [[nodiscard]] std::byte* page_address(const Page* page) const {
    return memory_->page_address(page);
  }

  /// Validates every allocator structure. Aborts on violation.
  void validate() const;

 private:
  MachineConfig config_;
  MemoryLayout layout_;
  std::unique_ptr<PhysMemory> memory_;
  std::vector<std::unique_ptr<Zone>> zones_;
  std::vector<Zone*> zone_ptrs_;
  std::vector<NumaNode> nodes_;
  std::unique_ptr<PageAllocator> page_allocator_;
  std::unique_ptr<VmallocArea> vmalloc_;
  std::unique_ptr<DeviceMemoryMap> device_memory_;
};

}  // namespace dmakit::machine
