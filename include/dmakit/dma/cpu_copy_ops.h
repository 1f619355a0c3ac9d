// SPDX-License-Identifier: Apache-2.0
// CpuCopyOps: DMA ops for a device whose "DMA address" is the CPU's virtual address, because the
// CPU copies its data (dma layer; seed 004's ipath and USB discussion of per-device ops).
#pragma once

#include "dmakit/dma/dma_ops.h"
#include "dmakit/dma/reverse_map.h"

namespace dmakit::dma {

/// Mapping hands out the CPU pointer itself as the bus address, so any memory is "reachable" and no
/// bounce is ever needed; the driver's copy engine (the CPU) reads and writes through
/// dma_to_virt(). Live mappings are kept in a DmaReverseMap, so dma_to_virt() answers only for what
/// is mapped and an unmap of anything else is refused. Thread-safe; one instance can serve many
/// devices.
class CpuCopyOps final : public DmaOps {
 public:
  [[nodiscard]] Result<DmaAddr> map_page(Device& dev, machine::Page* page, std::uint64_t offset,
                                         std::uint64_t size, Direction dir) override;
  [[nodiscard]] Status unmap_page(Device& dev, DmaAddr addr, std::uint64_t size,
                                  Direction dir) override;
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
  [[nodiscard]] Result<std::byte*> alloc(Device& dev, std::uint64_t size, DmaAddr* handle,
                                         machine::Gfp gfp) override;
  [[nodiscard]] Status free(Device& dev, std::uint64_t size, void* cpu, DmaAddr handle) override;
  [[nodiscard]] bool dma_supported(const Device& dev, std::uint64_t mask) const override;
  [[nodiscard]] std::byte* dma_to_virt(const Device& dev, DmaAddr addr) const override;

  [[nodiscard]] const DmaReverseMap& live() const { return live_; }

 private:
  [[nodiscard]] Status check_live(const Device& dev, DmaAddr addr, std::uint64_t size) const;
  DmaReverseMap live_;
};

}  // namespace dmakit::dma
