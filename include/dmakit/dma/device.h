// SPDX-License-Identifier: Apache-2.0
// Device: a bus master on the simulated machine, as the DMA API sees it (dma layer; seeds 000, 001,
// 004): its masks, what the bus above it can reach and where the bus sees memory, its
// scatter/gather limits, its NUMA node, and its DMA operations.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "dmakit/core/mask.h"
#include "dmakit/core/result.h"
#include "dmakit/dma/platform.h"
#include "dmakit/machine/machine.h"

namespace dmakit::swiotlb {
class Swiotlb;
}  // namespace dmakit::swiotlb

namespace dmakit::iommu {
class Domain;
}  // namespace dmakit::iommu

namespace dmakit::dma {

class DeclaredMemory;
class DmaOps;
class MappingFanOut;
class MappingObserver;
class MappingTracker;

/// A device that masters DMA. It belongs to one Platform, which must outlive it and lists it while
/// it lives. Configure it (masks, ops, observer) before mapping from several threads; mapping
/// itself only reads it.
///
/// Bus addresses: the device sees physical address P at P + bus_offset(), and can generate
/// addresses up to min(dma_mask(), bus_dma_limit()). A device with no DmaOps maps directly and
/// inline, paying nothing for the ops machinery (seed 004); ops, when set, decide everything.
class Device {
 public:
  /// A device with Linux's defaults: 32-bit streaming and coherent masks, no bus limit, no bus
  /// offset, 64 KiB segments on a 4 GiB boundary, no particular node, direct mapping with the
  /// platform's bounce pool behind it (forced when the pool is configured so).
  Device(Platform& platform, std::string name, Device* parent = nullptr,
         int node = machine::kLocalNode);
  ~Device();

  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  [[nodiscard]] Platform& platform() const { return platform_; }
  [[nodiscard]] machine::Machine& machine() const { return platform_.machine(); }
  [[nodiscard]] const machine::PhysMemory& memory() const { return memory_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] Device* parent() const { return parent_; }
  [[nodiscard]] int numa_node() const { return node_; }

  [[nodiscard]] std::uint64_t dma_mask() const { return dma_mask_; }
  [[nodiscard]] std::uint64_t coherent_dma_mask() const { return coherent_dma_mask_; }
  /// The highest bus address the buses above the device can carry (~0 for no limit).
  [[nodiscard]] std::uint64_t bus_dma_limit() const { return bus_dma_limit_; }
  /// The highest bus address a streaming mapping may touch: the mask, cut by the bus limit.
  [[nodiscard]] std::uint64_t streaming_limit() const {
    return std::min(dma_mask_, bus_dma_limit_);
  }
  [[nodiscard]] std::uint64_t coherent_limit() const {
    return std::min(coherent_dma_mask_, bus_dma_limit_);
  }
  [[nodiscard]] std::int64_t bus_offset() const { return bus_offset_; }
  [[nodiscard]] std::uint64_t max_segment_size() const { return max_segment_size_; }
  [[nodiscard]] std::uint64_t segment_boundary_mask() const { return segment_boundary_mask_; }

  /// Sets the streaming mask. InvalidArgument for a mask not of the form 2^n - 1; BadAddress when
  /// the platform cannot honour it (dma_supported(): no memory reachable under it and no ops that
  /// could bounce or remap). The old mask stays on failure.
  [[nodiscard]] Status set_dma_mask(std::uint64_t mask);
  [[nodiscard]] Status set_coherent_dma_mask(std::uint64_t mask);
  /// Both, or neither.
  [[nodiscard]] Status set_dma_mask_and_coherent(std::uint64_t mask);
  /// True when mappings under `mask` can work on this platform for this device.
  [[nodiscard]] bool dma_supported(std::uint64_t mask) const;

  void set_bus_dma_limit(std::uint64_t limit);
  void set_bus_offset(std::int64_t offset);
  /// InvalidArgument for 0, or a boundary mask not of the form 2^n - 1.
  [[nodiscard]] Status set_max_segment_size(std::uint64_t size);
  [[nodiscard]] Status set_segment_boundary_mask(std::uint64_t mask);

  /// The bounce pool the direct path falls back on (the platform's), or null.
  [[nodiscard]] swiotlb::Swiotlb* swiotlb() const { return swiotlb_; }
  /// Bounce every streaming mapping (swiotlb=force for one device: for testing a driver, or as
  /// shadow buffers the device never sees past). No effect without a bounce pool.
  void set_force_bounce(bool force);
  [[nodiscard]] bool force_bounce() const { return force_bounce_; }
  /// Address bits a bounce buffer keeps from the original (dma_set_min_align_mask(), NVMe's
  /// 0xfff). InvalidArgument for a mask not of the form 2^n - 1.
  [[nodiscard]] Status set_min_align_mask(std::uint64_t mask);
  [[nodiscard]] std::uint64_t min_align_mask() const { return min_align_mask_; }
  /// Whether a streaming map may bounce: there is a pool, and the device is forced or cannot reach
  /// all RAM (Linux: is_swiotlb_force_bounce() || dma_addressing_limited()). The direct path
  /// takes its out-of-line branch only then.
  [[nodiscard]] bool may_bounce() const { return may_bounce_; }
  /// Whether any mapping of the device has bounced (Linux's dma_uses_io_tlb): from then on its
  /// unmaps and syncs look for bounce addresses.
  [[nodiscard]] bool has_bounced() const { return bounced_.load(std::memory_order_relaxed); }
  void note_bounced() const {
    if (!has_bounced()) bounced_.store(true, std::memory_order_relaxed);
  }

  /// Puts the device behind an IOMMU, in `domain` (null: no IOMMU). A DMA or unmanaged domain gives
  /// it the IOMMU's DMA ops; an identity domain leaves it on the direct path (passthrough, seed
  /// 000: some devices do better on their own). Every access the device makes goes through the
  /// domain's translation from then on (dma/bus_access.h). A device with declared memory has the
  /// window reserved in a DMA domain; its IOVAs there must be free (attach before declaring).
  void attach(iommu::Domain* domain);
  [[nodiscard]] iommu::Domain* domain() const { return domain_; }

  /// Per-device DMA operations (seed 004's override); null maps directly. The ops must outlive
  /// their use by this device.
  void set_ops(DmaOps* ops) { ops_ = ops; }
  [[nodiscard]] DmaOps* ops() const { return ops_; }

  /// A watcher of this device's calls of its own (a tracer, say), besides its tracker and the
  /// platform's observer (the misuse checker); null for none.
  void set_observer(MappingObserver* observer);
  /// What the mapping path notifies: null when nothing watches (one null check), the only watcher,
  /// or a fan-out to the device's own observer, its tracker and the platform's observer, in that
  /// order.
  [[nodiscard]] MappingObserver* observer() const { return observer_; }

  /// Asks for a table of live mappings (seed 004): `tracker` watches the device and dma_to_virt()
  /// answers from it. Null removes it.
  void set_tracker(MappingTracker* tracker);
  [[nodiscard]] MappingTracker* tracker() const { return tracker_; }

  /// Coherent memory on the device itself (declare_coherent_memory), or null.
  [[nodiscard]] DeclaredMemory* declared_memory() const { return declared_.get(); }
  void set_declared_memory(std::unique_ptr<DeclaredMemory> memory);
  /// Whether [dma, dma + size) meets the window where the device addresses declared memory (its
  /// own, or an ancestor's that includes children; seed 001's device_addr). Its accesses there stay
  /// on the device, so nothing of RAM can be reached, or mapped, at those bus addresses.
  [[nodiscard]] bool in_local_window(DmaAddr dma, std::uint64_t size) const {
    if (declared_ == nullptr && parent_ == nullptr) [[likely]]
      return false;
    return meets_declared_window(dma, size);
  }

  /// Bus address of a physical address, and back (the bus offset, seed 001's bus view).
  [[nodiscard]] DmaAddr phys_to_dma(PhysAddr phys) const {
    return DmaAddr(phys.value() + static_cast<std::uint64_t>(bus_offset_));
  }
  [[nodiscard]] PhysAddr dma_to_phys(DmaAddr dma) const {
    return PhysAddr(dma.value() - static_cast<std::uint64_t>(bus_offset_));
  }

 private:
  friend class Platform;
  void update_may_bounce();
  [[nodiscard]] bool meets_declared_window(DmaAddr dma, std::uint64_t size) const;
  void update_observer();

  Platform& platform_;
  const machine::PhysMemory& memory_;
  std::string name_;
  Device* parent_;
  int node_;
  std::uint64_t dma_mask_ = dma_bit_mask(32);
  std::uint64_t coherent_dma_mask_ = dma_bit_mask(32);
  std::uint64_t bus_dma_limit_ = ~std::uint64_t{0};
  std::int64_t bus_offset_ = 0;
  std::uint64_t max_segment_size_ = 64 * 1024;
  std::uint64_t segment_boundary_mask_ = dma_bit_mask(32);
  std::uint64_t min_align_mask_ = 0;
  swiotlb::Swiotlb* swiotlb_;
  bool force_bounce_;
  bool may_bounce_ = false;
  mutable std::atomic<bool> bounced_{false};
  DmaOps* ops_ = nullptr;
  iommu::Domain* domain_ = nullptr;
  MappingObserver* own_observer_ = nullptr;
  MappingTracker* tracker_ = nullptr;
  MappingObserver* observer_ = nullptr;  ///< what the mapping path calls (see observer())
  std::unique_ptr<MappingFanOut> fan_out_;
  std::unique_ptr<DeclaredMemory> declared_;
};

}  // namespace dmakit::dma
