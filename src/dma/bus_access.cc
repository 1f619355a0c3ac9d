// SPDX-License-Identifier: Apache-2.0
// Device-side memory accesses (dma layer): a device behind an IOMMU has every page of an access
// translated (and permission-checked) by it; any other device drives bus addresses that the bus
// offset turns into physical ones. The whole access is translated before a byte moves, so a
// refused access touches no memory.
#include "dmakit/dma/bus_access.h"

#include <cstring>
#include <vector>

#include "dmakit/core/mask.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/mapping_observer.h"
#include "dmakit/iommu/iommu.h"

namespace dmakit::dma {
namespace {

struct Piece {
  std::byte* mem;
  std::uint64_t size;
};

Result<std::vector<Piece>> translate(const Device& dev, DmaAddr dma, std::uint64_t size,
                                     bool write) {
  if (size == 0) return fail(Errc::InvalidArgument, "{}: device access of 0 bytes", dev.name());
  const char* what = write ? "write" : "read";
  if (!fits_under_mask(dma.value(), size, dev.streaming_limit()))
    return fail(Errc::Fault,
                "{}: {} of bus [{:#x}, +{:#x}) beyond the address lines it drives ({:#x})",
                dev.name(), what, dma.value(), size, dev.streaming_limit());
  std::vector<Piece> pieces;
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
      pieces.push_back({dev.memory().direct_map(t->phys), n});
      done += n;
    }
    return pieces;
  }
  const PhysAddr phys = dev.dma_to_phys(dma);
  if (!dev.memory().is_ram(phys, size))
    return fail(Errc::Fault, "{}: {} of bus [{:#x}, +{:#x}) reaches no RAM (physical {:#x})",
                dev.name(), what, dma.value(), size, phys.value());
  pieces.push_back({dev.memory().direct_map(phys), size});
  return pieces;
}

}  // namespace

Status device_read(const Device& dev, DmaAddr dma, std::span<std::byte> out) {
  if (MappingObserver* o = dev.observer()) o->on_device_access(dev, dma, out.size(), false);
  const Result<std::vector<Piece>> pieces = translate(dev, dma, out.size(), /*write=*/false);
  if (!pieces) return std::unexpected(pieces.error());
  std::byte* to = out.data();
  for (const Piece& p : *pieces) {
    std::memcpy(to, p.mem, p.size);
    to += p.size;
  }
  return {};
}

Status device_write(const Device& dev, DmaAddr dma, std::span<const std::byte> data) {
  if (MappingObserver* o = dev.observer()) o->on_device_access(dev, dma, data.size(), true);
  const Result<std::vector<Piece>> pieces = translate(dev, dma, data.size(), /*write=*/true);
  if (!pieces) return std::unexpected(pieces.error());
  const std::byte* from = data.data();
  for (const Piece& p : *pieces) {
    std::memcpy(p.mem, from, p.size);
    from += p.size;
  }
  return {};
}

}  // namespace dmakit::dma
