// SPDX-License-Identifier: Apache-2.0
// IommuOps: the DMA API over an IOMMU domain (dma layer; seeds 000 and 002, Linux's dma-iommu):
// IOVAs allocated below the device's mask, pages mapped with the rights the direction implies, a
// whole scatter/gather list in one contiguous IOVA range.
#pragma once

#include "dmakit/dma/dma_ops.h"

namespace dmakit::dma {

/// Stateless: it works on the domain the device is attached to (Device::attach). Mappings are
/// granule-aligned in IOVA space with the buffer's offset in the granule kept, so a device sees
/// the same low address bits as the CPU. TO_DEVICE maps read-only, FROM_DEVICE write-only: a device
/// that writes what it may only read faults. Memory is coherent: syncs check and move nothing.
/// Thread-safe.
class IommuOps final : public DmaOps {
 public:
  static IommuOps& instance();

  [[nodiscard]] Result<DmaAddr> map_page(Device& dev, machine::Page* page, std::uint64_t offset,
                                         std::uint64_t size, Direction dir) override;
  [[nodiscard]] Status unmap_page(Device& dev, DmaAddr addr, std::uint64_t size,
                                  Direction dir) override;
  /// Linux's iommu_dma_map_sg(): one IOVA range for the list, entries padded so that a segment
  /// never crosses the device's boundary mask, and an entry merged into the segment before when
  /// it starts on a granule boundary where that one ended on one, within max segment size.
  [[nodiscard]] Result<std::size_t> map_sg(Device& dev, std::span<ScatterEntry> sg,
                                           Direction dir) override;
  [[nodiscard]] Status unmap_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) override;
  [[nodiscard]] Status sync_single_for_cpu(Device& dev, DmaAddr addr, std::uint64_t size,
                                           Direction dir) override;
  [[nodiscard]] Status sync_single_for_device(Device& dev, DmaAddr addr, std::uint64_t size,
                                              Direction dir) override;
  [[nodiscard]] Status sync_sg_for_cpu(Device& dev, std::span<ScatterEntry> sg,
                                       Direction dir) override;
  [[nodiscard]] Status sync_sg_for_device(Device& dev, std::span<ScatterEntry> sg,
                                          Direction dir) override;
  /// Zeroed pages from anywhere in RAM (the IOMMU makes them reachable), mapped read-write below
  /// the coherent mask.
  [[nodiscard]] Result<std::byte*> alloc(Device& dev, std::uint64_t size, DmaAddr* handle,
                                         machine::Gfp gfp) override;
  [[nodiscard]] Status free(Device& dev, std::uint64_t size, void* cpu, DmaAddr handle) override;
  /// Any mask under which the domain has IOVA space.
  [[nodiscard]] bool dma_supported(const Device& dev, std::uint64_t mask) const override;
  [[nodiscard]] std::byte* dma_to_virt(const Device& dev, DmaAddr addr) const override;
};

}  // namespace dmakit::dma
