// SPDX-License-Identifier: Apache-2.0
// DirectOps: the direct mapping, bounce buffering included, as a DmaOps table (dma layer). A device
// with no ops gets the same behaviour inline; this table is for code that wants the direct path
// behind the ops interface (and is what `dmakit bench map` measures as the cost of the indirect
// call, seed 004).
#pragma once

#include "dmakit/dma/dma_ops.h"

namespace dmakit::dma {

class DirectOps : public DmaOps {
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
  [[nodiscard]] std::uint64_t max_mapping_size(const Device& dev) const override;
  [[nodiscard]] bool dma_supported(const Device& dev, std::uint64_t mask) const override;
  [[nodiscard]] std::byte* dma_to_virt(const Device& dev, DmaAddr addr) const override;
};

}  // namespace dmakit::dma
