// SPDX-License-Identifier: Apache-2.0
// Device-side memory accesses (dma layer): a device behind an IOMMU has every page of an access
// translated (and permission-checked) by it; any other device drives bus addresses that the bus
// offset turns into physical ones. The whole access is translated before a byte moves, so a
// refused access touches no memory.
#include "dmakit/dma/bus_access.h"

#include <cstring>

#include "dmakit/core/mask.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/mapping_observer.h"
#include "dmakit/iommu/iommu.h"

namespace dmakit::dma {
namespace {

void append(std::vector<AccessSpan>& out, std::byte* mem, std::uint64_t size) {
  if (out.size() > 0 && out.back().mem + out.back().size == mem)
    out.back().size += size;
  else
    out.push_back({mem, size});
}

Status translate_into(const Device& dev, DmaAddr dma, std::uint64_t size, Access access,
                      std::vector<AccessSpan>& out) {
  if (size == 0) return fail(Errc::InvalidArgument, "{}: device access of 0 bytes", dev.name());
  const bool write = access == Access::Write;
  const char* what = write ? "write" : "read";
  if (!fits_under_mask(dma.value(), size, dev.streaming_limit()))
    return fail(Errc::Fault,
                "{}: {} of bus [{:#x}, +{:#x}) beyond the address lines it drives ({:#x})",
                dev.name(), what, dma.value(), size, dev.streaming_limit());
  if (dev.in_local_window(dma, size)) [[unlikely]] {
    // The device's own memory (seed 001's device_addr): reached on the device, never over the bus
    // or through the IOMMU.
    std::byte* local = declared_memory_for(dev)->local_bytes(dma, size);
    if (local == nullptr)
      return fail(Errc::Fault, "{}: {} of bus [{:#x}, +{:#x}) straddles its declared memory's edge",
                  dev.name(), what, dma.value(), size);
    append(out, local, size);
    return {};
  }
  if (iommu::Domain* domain = dev.domain()) {
    const iommu::Perm needed = write ? iommu::Perm::Write : iommu::Perm::Read;
    for (std::uint64_t done = 0; done < size;) {
      const IovaAddr iova(dma.value() + done);
      const Result<iommu::Translation> t =
          domain->iommu().translate(*domain, iova, needed, dev.name());
      if (!t) return std::unexpected(t.error());
      const std::uint64_t in_page = iova.value() & (t->page_size - 1);
      const std::uint64_t n = std::min(size - done, t->page_size - in_page);
      if (!dev.memory().is_ram(t->phys, n))
        return fail(Errc::Fault, "{}: IOVA {:#x} translates to {:#x}, which is not RAM", dev.name(),
                    iova.value(), t->phys.value());
      append(out, dev.memory().direct_map(t->phys), n);
      done += n;
    }
    return {};
  }
  const PhysAddr phys = dev.dma_to_phys(dma);
  if (!dev.memory().is_ram(phys, size))
    return fail(Errc::Fault, "{}: {} of bus [{:#x}, +{:#x}) reaches no RAM (physical {:#x})",
                dev.name(), what, dma.value(), size, phys.value());
  append(out, dev.memory().direct_map(phys), size);
  return {};
}

}  // namespace

Status translate_for_access(const Device& dev, DmaAddr dma, std::uint64_t size, Access access,
                            std::vector<AccessSpan>& out) {
  // Every device access, the engine's included, is seen by the misuse checker.
  if (MappingObserver* o = dev.observer())
    o->on_device_access(dev, dma, size, access == Access::Write);
  const std::size_t kept = out.size();
  const std::uint64_t kept_size = kept == 0 ? 0 : out.back().size;
  Status status = translate_into(dev, dma, size, access, out);
  if (!status) {
    out.resize(kept);
    if (kept != 0) out.back().size = kept_size;  // undo a merge into the last span kept
  }
  return status;
}

namespace {

// Device models access memory a burst at a time; one span list per thread, reused, keeps those
// bursts off the heap.
std::vector<AccessSpan>& scratch_spans() {
  thread_local std::vector<AccessSpan> spans;
  spans.clear();
  return spans;
}

}  // namespace

Status device_read(const Device& dev, DmaAddr dma, std::span<std::byte> out) {
  std::vector<AccessSpan>& spans = scratch_spans();
  if (Status s = translate_for_access(dev, dma, out.size(), Access::Read, spans); !s) return s;
  std::byte* to = out.data();
  for (const AccessSpan& p : spans) {
    std::memcpy(to, p.mem, p.size);
    to += p.size;
  }
  return {};
}

Status device_write(const Device& dev, DmaAddr dma, std::span<const std::byte> data) {
  std::vector<AccessSpan>& spans = scratch_spans();
  if (Status s = translate_for_access(dev, dma, data.size(), Access::Write, spans); !s) return s;
  const std::byte* from = data.data();
  for (const AccessSpan& p : spans) {
    std::memcpy(p.mem, from, p.size);
    from += p.size;
  }
  return {};
}

}  // namespace dmakit::dma
