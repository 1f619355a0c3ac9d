// SPDX-License-Identifier: Apache-2.0
// The DMA API over an IOMMU domain (dma layer), after Linux's dma-iommu (reference sections 6.3
// and 6.5).
#include "dmakit/dma/iommu_ops.h"

#include <vector>

#include "dmakit/core/request_size.h"
#include "dmakit/dma/device.h"
#include "dmakit/iommu/iommu.h"

namespace dmakit::dma {
namespace {

iommu::Perm perm_for(Direction dir) {
  return (device_reads(dir) ? iommu::Perm::Read : iommu::Perm::None) |
         (device_writes(dir) ? iommu::Perm::Write : iommu::Perm::None);
}

Status check_args(const Device& dev, std::uint64_t size, Direction dir) {
  if (dev.domain() == nullptr)
    return fail(Errc::InvalidArgument, "{}: IOMMU ops without a domain", dev.name());
  if (size == 0 || !is_valid_mapping_direction(dir))
    return fail(Errc::InvalidArgument, "{}: mapping of {} bytes, direction {}", dev.name(), size,
                static_cast<unsigned>(dir));
  // Sizes are rounded up to granules below: refused before they could wrap.
  if (Status ok = check_request_bytes("size", size); !ok)
    return fail(Errc::InvalidArgument, "{}: {}", dev.name(), ok.error().message);
  return {};
}

// Whether [addr, addr + size) lies in one live DMA mapping of the device's domain.
Status check_mapped(const Device& dev, DmaAddr addr, std::uint64_t size, Direction dir) {
  if (Status ok = check_args(dev, size, dir); !ok) return ok;
  const iommu::Domain& d = *dev.domain();
  if (!d.translate(IovaAddr(addr.value())) || !d.translate(IovaAddr(addr.value() + size - 1)))
    return fail(Errc::InvalidArgument, "{}: IOVA [{:#x}, +{:#x}) is not mapped", dev.name(),
                addr.value(), size);
  return {};
}

// Maps one granule-aligned physical range in an IOVA range of its own.
Result<IovaAddr> map_contiguous(iommu::Domain& d, PhysAddr phys, std::uint64_t len,
                                iommu::Perm perm, std::uint64_t limit) {
  const iommu::PhysChunk chunk{phys, len};
  const std::uint64_t at = 0;
  return d.map_dma({&chunk, 1}, {&at, 1}, len, perm, limit);
}

}  // namespace

IommuOps& IommuOps::instance() {
  // Never destroyed: devices with static lifetime (test fixtures, a program's globals) may unmap
  // through it while statics are being destroyed.
  static IommuOps* const ops = new IommuOps;
  return *ops;
}

Result<DmaAddr> IommuOps::map_page(Device& dev, machine::Page* page, std::uint64_t offset,
                                   std::uint64_t size, Direction dir) {
  if (Status ok = check_args(dev, size, dir); !ok) return std::unexpected(ok.error());
  if (page == nullptr || !dev.memory().owns(page) ||
      !dev.memory().is_ram(dev.memory().page_to_phys(page) + offset, size))
    return fail(Errc::BadAddress, "{}: mapping outside RAM", dev.name());
  iommu::Domain& d = *dev.domain();
  const std::uint64_t g = d.granule();
  const std::uint64_t phys = dev.memory().page_to_phys(page).value() + offset;
  const std::uint64_t in_granule = phys & (g - 1);
  const std::uint64_t len = align_up(in_granule + size, g);
  const iommu::PhysChunk chunk{PhysAddr(phys - in_granule), len};
  const std::uint64_t at = 0;
  const Result<IovaAddr> iova =
      d.map_dma({&chunk, 1}, {&at, 1}, len, perm_for(dir), dev.streaming_limit());
  if (!iova) return std::unexpected(iova.error());
  return DmaAddr(iova->value() + in_granule);
}

Status IommuOps::unmap_page(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir) {
  if (Status ok = check_args(dev, size, dir); !ok) return ok;
  iommu::Domain& d = *dev.domain();
  const std::uint64_t g = d.granule();
  const std::uint64_t in_granule = addr.value() & (g - 1);
  return d.unmap_dma(IovaAddr(addr.value() - in_granule), align_up(in_granule + size, g));
}

Result<std::size_t> IommuOps::map_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  if (Status ok = check_args(dev, 1, dir); !ok) return std::unexpected(ok.error());
  iommu::Domain& d = *dev.domain();
  const std::uint64_t g = d.granule();
  const std::uint64_t boundary = dev.segment_boundary_mask();
  std::vector<iommu::PhysChunk> chunks;
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint64_t> iova_lens;    // each entry's share of the range, padding included
  std::vector<std::uint64_t> in_granules;  // each entry's offset in its first granule
  std::uint64_t iova_len = 0;
  for (const ScatterEntry& e : sg) {
    if (e.page == nullptr || !dev.memory().owns(e.page) || e.length == 0 ||
        !dev.memory().is_ram(dev.memory().page_to_phys(e.page) + e.offset, e.length))
      return fail(Errc::BadAddress, "{}: scatterlist entry outside RAM", dev.name());
    const std::uint64_t phys = dev.memory().page_to_phys(e.page).value() + e.offset;
    const std::uint64_t in_granule = phys & (g - 1);
    const std::uint64_t len = align_up(in_granule + e.length, g);
    // The single allocation is aligned to its power-of-two size, so when the list is longer than
    // the boundary the range starts on one, and padding by running length keeps segments from
    // crossing the next. Padding is left unmapped.
    const std::uint64_t pad = (boundary - iova_len + 1) & boundary;
    if (pad != 0 && pad < len - 1 && !iova_lens.empty()) {
      iova_lens.back() += pad;
      iova_len += pad;
    }
    chunks.push_back({PhysAddr(phys - in_granule), len});
    in_granules.push_back(in_granule);
    offsets.push_back(iova_len);
    iova_lens.push_back(len);
    iova_len += len;
  }
  const Result<IovaAddr> base =
      d.map_dma(chunks, offsets, iova_len, perm_for(dir), dev.streaming_limit());
  if (!base) return std::unexpected(base.error());

  // Build the output segments in place (Linux's __finalise_sg): segment k goes into entry k, which
  // no later step reads the DMA fields of.
  const std::uint64_t max_len = dev.max_segment_size();
  std::uint64_t dma = base->value();
  std::uint64_t cur_len = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < sg.size(); ++i) {
    const std::uint64_t in_granule = in_granules[i];
    const std::uint64_t length = sg[i].length;
    if (cur_len != 0 && in_granule == 0 && (dma & boundary) != 0 && max_len - cur_len >= length) {
      cur_len += length;
    } else {
      cur_len = length;
      sg[count++].dma_address = DmaAddr(dma + in_granule);
    }
    sg[count - 1].dma_length = static_cast<std::uint32_t>(cur_len);
    dma += iova_lens[i];
    if (length + in_granule < iova_lens[i]) cur_len = 0;  // ends inside its granule: no merging on
  }
  for (std::size_t i = count; i < sg.size(); ++i) {
    sg[i].dma_address = DmaAddr{};
    sg[i].dma_length = 0;
  }
  return count;
}

Status IommuOps::unmap_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  if (Status ok = check_args(dev, 1, dir); !ok) return ok;
  if (sg.empty() || sg[0].dma_length == 0)
    return fail(Errc::InvalidArgument, "{}: scatterlist is not mapped", dev.name());
  // The list's segments lie in one IOVA range: from the first to the end of the last.
  const std::uint64_t g = dev.domain()->granule();
  const std::uint64_t start = sg[0].dma_address.value() & ~(g - 1);
  std::uint64_t end = start;
  for (const ScatterEntry& e : sg) {
    if (e.dma_length != 0) end = e.dma_address.value() + e.dma_length;
  }
  return dev.domain()->unmap_dma(IovaAddr(start), align_up(end, g) - start);
}

Status IommuOps::sync_single_for_cpu(Device& dev, DmaAddr addr, std::uint64_t size, Direction dir) {
  return check_mapped(dev, addr, size, dir);
}

Status IommuOps::sync_single_for_device(Device& dev, DmaAddr addr, std::uint64_t size,
                                        Direction dir) {
  return check_mapped(dev, addr, size, dir);
}

Status IommuOps::sync_sg_for_cpu(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  for (const ScatterEntry& e : sg) {
    if (e.dma_length == 0) continue;
    if (Status ok = check_mapped(dev, e.dma_address, e.dma_length, dir); !ok) return ok;
  }
  return {};
}

Status IommuOps::sync_sg_for_device(Device& dev, std::span<ScatterEntry> sg, Direction dir) {
  return sync_sg_for_cpu(dev, sg, dir);
}

Result<std::byte*> IommuOps::alloc(Device& dev, std::uint64_t size, DmaAddr* handle,
                                   machine::Gfp gfp) {
  if (Status ok = check_args(dev, size, Direction::Bidirectional); !ok)
    return std::unexpected(ok.error());
  iommu::Domain& d = *dev.domain();
  const std::uint64_t len = align_up(size, d.granule());
  Result<machine::Page*> page = dev.machine().page_allocator().alloc_pages_exact(
      gfp | machine::kGfpZero, len, dev.numa_node());
  if (!page) return std::unexpected(page.error());
  const Result<IovaAddr> iova = map_contiguous(d, dev.memory().page_to_phys(*page), len,
                                               iommu::Perm::ReadWrite, dev.coherent_limit());
  if (!iova) {
    (void)dev.machine().page_allocator().free_pages_exact(*page, len);
    return std::unexpected(iova.error());
  }
  *handle = DmaAddr(iova->value());
  return dev.memory().page_address(*page);
}

Status IommuOps::free(Device& dev, std::uint64_t size, void* cpu, DmaAddr handle) {
  if (Status ok = check_args(dev, size, Direction::Bidirectional); !ok) return ok;
  iommu::Domain& d = *dev.domain();
  const std::optional<iommu::Translation> t = d.translate(IovaAddr(handle.value()));
  const Result<PhysAddr> phys = dev.machine().virt_to_phys(cpu);
  if (!t || !phys || t->phys != *phys)
    return fail(Errc::InvalidArgument, "{}: handle {:#x} does not map {}", dev.name(),
                handle.value(), cpu);
  const std::uint64_t len = align_up(size, d.granule());
  if (Status ok = d.unmap_dma(IovaAddr(handle.value()), len); !ok) return ok;
  return dev.machine().page_allocator().free_pages_exact(
      dev.memory().pfn_to_page(phys_to_pfn(*phys)), len);
}

bool IommuOps::dma_supported(const Device& dev, std::uint64_t mask) const {
  return dev.domain() != nullptr &&
         dev.domain()->supports_mask(std::min(mask, dev.bus_dma_limit()));
}

std::byte* IommuOps::dma_to_virt(const Device& dev, DmaAddr addr) const {
  if (dev.domain() == nullptr) return nullptr;
  const std::optional<iommu::Translation> t = dev.domain()->translate(IovaAddr(addr.value()));
  return t && dev.memory().is_ram(t->phys) ? dev.memory().direct_map(t->phys) : nullptr;
}

}  // namespace dmakit::dma
