// SPDX-License-Identifier: Apache-2.0
// Coherent allocations on the direct path (dma layer; seed 001, reference section 2.4).
//
// The coherent limit is turned into a physical mask (the bus offset moves where the device sees
// memory) and handed to the mask allocator, which tries the page allocator first and its pool after
// (seed 003). Without a pool, the page allocator is asked for the zone that matches the limit
// (Linux's dma_direct_alloc zone choice) and the result verified.
#include "dmakit/dma/coherent.h"

#include "dmakit/core/request_size.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/dma/direct.h"
#include "dmakit/dma/dma_ops.h"
#include "dmakit/dma/mapping_observer.h"

namespace dmakit::dma {
namespace detail {

Result<std::byte*> direct_alloc_coherent(Device& dev, std::uint64_t size, DmaAddr* handle,
                                         machine::Gfp gfp) {
  if (size == 0)
    return fail(Errc::InvalidArgument, "{}: coherent allocation of 0 bytes", dev.name());
  const std::uint64_t mask = phys_mask_under(dev, dev.coherent_limit());
  machine::Machine& m = dev.machine();
  std::byte* cpu = nullptr;
  if (alloc::MaskAllocator* mask_alloc = dev.platform().mask_allocator()) {
    Result<std::byte*> got = mask_alloc->get_pages_mask(
        gfp | machine::kGfpZero, std::max<std::uint64_t>(size, 16), mask, dev.numa_node());
    if (!got) return got;
    cpu = *got;
  } else {
    const machine::Gfp zone = machine::zone_flags_for_mask(m.config(), mask);
    Result<machine::Page*> page =
        m.page_allocator().alloc_pages_exact(gfp | zone | machine::kGfpZero, size, dev.numa_node());
    if (!page) return std::unexpected(page.error());
    if (!fits_under_mask(m.page_to_phys(*page).value(), size, mask)) {
      (void)m.page_allocator().free_pages_exact(*page, size);
      return fail(Errc::AboveMask, "{}: no memory under coherent mask {:#x}", dev.name(),
                  dev.coherent_dma_mask());
    }
    cpu = m.page_address(*page);
  }
  *handle = dev.phys_to_dma(*m.virt_to_phys(cpu));
  if (dev.in_local_window(*handle, size)) [[unlikely]] {
    (void)direct_free_coherent(dev, size, cpu, *handle);
    return fail(Errc::AboveMask,
                "{}: coherent memory at bus {:#x} lies in the window of its declared memory",
                dev.name(), handle->value());
  }
  return cpu;
}

Status direct_free_coherent(Device& dev, std::uint64_t size, void* cpu, DmaAddr handle) {
  machine::Machine& m = dev.machine();
  const Result<PhysAddr> phys = m.virt_to_phys(cpu);
  if (!phys) return std::unexpected(phys.error());
  if (dev.phys_to_dma(*phys) != handle)
    return fail(Errc::InvalidArgument, "{}: handle {:#x} is not the bus address of {}", dev.name(),
                handle.value(), cpu);
  if (alloc::MaskAllocator* mask_alloc = dev.platform().mask_allocator())
    return mask_alloc->free_pages_mask(cpu, std::max<std::uint64_t>(size, 16));
  return m.page_allocator().free_pages_exact(m.memory().pfn_to_page(phys_to_pfn(*phys)), size);
}

}  // namespace detail

namespace {

Result<std::byte*> allocate(Device& dev, std::uint64_t size, DmaAddr* handle, machine::Gfp gfp) {
  if (size == 0)
    return fail(Errc::InvalidArgument, "{}: coherent allocation of 0 bytes", dev.name());
  // Every path below rounds the size up (to pages, granules, pool blocks).
  if (Status ok = check_request_bytes("size", size); !ok)
    return fail(Errc::InvalidArgument, "{}: coherent allocation: {}", dev.name(),
                ok.error().message);
  // The device's own memory first (seed 001); an exclusive region never falls back.
  if (DeclaredMemory* mem = declared_memory_for(dev)) {
    Result<std::byte*> cpu = mem->alloc(size, handle);
    if (cpu || (mem->flags() & kMemoryExclusive) != 0) return cpu;
  }
  if (DmaOps* ops = dev.ops()) return ops->alloc(dev, size, handle, gfp);
  return detail::direct_alloc_coherent(dev, size, handle, gfp);
}

// Observers see coherent memory as a bidirectional mapping of kind Coherent; device memory outside
// RAM has physical address 0 here.
MappingEvent coherent_event(const Device& dev, std::uint64_t size, const void* cpu, DmaAddr dma) {
  return {&dev,
          MappingKind::Coherent,
          dev.machine().virt_to_phys(cpu).value_or(PhysAddr{}),
          dma,
          size,
          Direction::Bidirectional,
          0,
          0,
          0,
          cpu};
}

}  // namespace

Result<std::byte*> alloc_coherent(Device& dev, std::uint64_t size, DmaAddr* handle,
                                  machine::Gfp gfp) {
  Result<std::byte*> cpu = allocate(dev, size, handle, gfp);
  if (MappingObserver* o = dev.observer(); o != nullptr && cpu)
    o->on_map(coherent_event(dev, size, *cpu, *handle));
  return cpu;
}

Status free_coherent(Device& dev, std::uint64_t size, void* cpu, DmaAddr handle) {
  if (MappingObserver* o = dev.observer()) o->on_unmap(coherent_event(dev, size, cpu, handle));
  if (DeclaredMemory* mem = declared_memory_for(dev); mem != nullptr && mem->contains(cpu))
    return mem->free(size, cpu, handle);
  if (DmaOps* ops = dev.ops()) return ops->free(dev, size, cpu, handle);
  return detail::direct_free_coherent(dev, size, cpu, handle);
}

}  // namespace dmakit::dma
