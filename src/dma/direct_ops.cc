// SPDX-License-Identifier: Apache-2.0
// The direct mapping behind the ops interface (dma layer).
#include "dmakit/dma/direct_ops.h"

#include "dmakit/dma/coherent.h"
#include "dmakit/dma/direct.h"

namespace dmakit::dma {

Result<DmaAddr> DirectOps::map_page(Device& dev, machine::Page* page, std::uint64_t offset,
                                    std::uint64_t size, Direction dir) {
  return detail::direct_map_phys(dev, dev.memory().page_to_phys(page) + offset, size, dir);
}

Status DirectOps::unmap_page(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir) {
  return detail::direct_unmap(dev, addr, size, dir);
}

Result<std::size_t> DirectOps::map_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  return detail::direct_map_sg(dev, sg, dir);
}

Status DirectOps::unmap_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  return detail::direct_unmap_sg(dev, sg, dir);
}

Status DirectOps::sync_single_for_cpu(Device& dev, DmaAddr addr, std::uint64_t size,
                                      Direction dir) {
  return detail::direct_sync(dev, addr, size, dir, /*for_device=*/false);
}

Status DirectOps::sync_single_for_device(Device& dev, DmaAddr addr, std::uint64_t size,
                                         Direction dir) {
  return detail::direct_sync(dev, addr, size, dir, /*for_device=*/true);
}

Status DirectOps::sync_sg_for_cpu(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  return detail::direct_sync_sg(dev, sg, dir, /*for_device=*/false);
}

Status DirectOps::sync_sg_for_device(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  return detail::direct_sync_sg(dev, sg, dir, /*for_device=*/true);
}

Result<std::byte*> DirectOps::alloc(Device& dev, std::uint64_t size, DmaAddr* handle,
                                    machine::Gfp gfp) {
  return detail::direct_alloc_coherent(dev, size, handle, gfp);
}

Status DirectOps::free(Device& dev, std::uint64_t size, void* cpu, DmaAddr handle) {
  return detail::direct_free_coherent(dev, size, cpu, handle);
}

std::uint64_t DirectOps::max_mapping_size(const Device& dev) const {
  return detail::direct_max_mapping_size(dev);
}

bool DirectOps::dma_supported(const Device& dev, std::uint64_t mask) const {
  return detail::direct_dma_supported(dev, mask);
}

std::byte* DirectOps::dma_to_virt(const Device& dev, DmaAddr addr) const {
  return detail::direct_to_virt(dev, addr);
}

}  // namespace dmakit::dma
