// SPDX-License-Identifier: Apache-2.0
// DMA ops for a device that copies with the CPU (dma layer; seed 004).
#include "dmakit/dma/cpu_copy_ops.h"

#include <cstring>

#include "dmakit/dma/device.h"

namespace dmakit::dma {
namespace {

DmaAddr cpu_as_dma(const std::byte* cpu) { return DmaAddr(reinterpret_cast<std::uintptr_t>(cpu)); }

}  // namespace

Result<DmaAddr> CpuCopyOps::map_page(Device& dev, machine::Page* page, std::uint64_t offset,
                                     std::uint64_t size, Direction dir) {
  if (size == 0 || !is_valid_mapping_direction(dir))
    return fail(Errc::InvalidArgument, "{}: mapping of {} bytes, direction {}", dev.name(), size,
                static_cast<unsigned>(dir));
  if (page == nullptr || !dev.memory().owns(page) ||
      !dev.memory().is_ram(dev.memory().page_to_phys(page) + offset, size))
    return fail(Errc::BadAddress, "{}: mapping outside RAM", dev.name());
  std::byte* cpu = dev.memory().page_address(page) + offset;
  live_.insert(cpu_as_dma(cpu), cpu, size);
  return cpu_as_dma(cpu);
}

Status CpuCopyOps::check_live(const Device& dev, DmaAddr addr, std::uint64_t size) const {
  if (size == 0 || live_.lookup(addr) == nullptr || live_.lookup(addr + (size - 1)) == nullptr)
    return fail(Errc::InvalidArgument, "{}: [{:#x}, +{:#x}) is not a live mapping", dev.name(),
                addr.value(), size);
  return {};
}

Status CpuCopyOps::unmap_page(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir) {
  if (!is_valid_mapping_direction(dir))
    return fail(Errc::InvalidArgument, "{}: bad direction", dev.name());
  if (Status ok = check_live(dev, addr, size); !ok) return ok;
  return live_.erase(addr, size);
}

Result<std::size_t> CpuCopyOps::map_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  std::size_t mapped = 0;
  for (ScatterEntry& e : sg) {
    Result<DmaAddr> dma = map_page(dev, e.page, e.offset, e.length, dir);
    if (!dma) {
      // All or nothing: undo what this call mapped.
      for (std::size_t i = 0; i < mapped; ++i) (void)live_.erase(sg[i].dma_address, sg[i].length);
      return std::unexpected(dma.error());
    }
    e.dma_address = *dma;
    e.dma_length = e.length;
    ++mapped;
  }
  return sg.size();
}

Status CpuCopyOps::unmap_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  for (const ScatterEntry& e : sg) {
    if (Status ok = check_live(dev, e.dma_address, e.length); !ok) return ok;
  }
  for (const ScatterEntry& e : sg) {
    if (Status ok = unmap_page(dev, e.dma_address, e.length, dir); !ok) return ok;
  }
  return {};
}

Status CpuCopyOps::sync_single_for_cpu(Device& dev, DmaAddr addr, std::uint64_t size, Direction) {
  return check_live(dev, addr, size);  // the CPU is the device: nothing to move
}

Status CpuCopyOps::sync_single_for_device(Device& dev, DmaAddr addr, std::uint64_t size,
                                          Direction) {
  return check_live(dev, addr, size);
}

Status CpuCopyOps::sync_sg_for_cpu(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  for (const ScatterEntry& e : sg) {
    if (Status ok = sync_single_for_cpu(dev, e.dma_address, e.dma_length, dir); !ok) return ok;
  }
  return {};
}

Status CpuCopyOps::sync_sg_for_device(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  for (const ScatterEntry& e : sg) {
    if (Status ok = sync_single_for_device(dev, e.dma_address, e.dma_length, dir); !ok) return ok;
  }
  return {};
}

Result<std::byte*> CpuCopyOps::alloc(Device& dev, std::uint64_t size, DmaAddr* handle,
                                     machine::Gfp gfp) {
  Result<machine::Page*> page = dev.machine().page_allocator().alloc_pages_exact(
      gfp | machine::kGfpZero, size, dev.numa_node());
  if (!page) return std::unexpected(page.error());
  std::byte* cpu = dev.memory().page_address(*page);
  *handle = cpu_as_dma(cpu);
  return cpu;
}

Status CpuCopyOps::free(Device& dev, std::uint64_t size, void* cpu, DmaAddr handle) {
  if (handle != cpu_as_dma(static_cast<const std::byte*>(cpu)))
    return fail(Errc::InvalidArgument, "{}: handle {:#x} does not match {}", dev.name(),
                handle.value(), cpu);
  const Result<PhysAddr> phys = dev.machine().virt_to_phys(cpu);
  if (!phys) return std::unexpected(phys.error());
  return dev.machine().page_allocator().free_pages_exact(
      dev.memory().pfn_to_page(phys_to_pfn(*phys)), size);
}

bool CpuCopyOps::dma_supported(const Device&, std::uint64_t) const { return true; }

std::byte* CpuCopyOps::dma_to_virt(const Device&, DmaAddr addr) const { return live_.lookup(addr); }

}  // namespace dmakit::dma
