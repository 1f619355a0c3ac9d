// SPDX-License-Identifier: Apache-2.0
// The direct path's bounce half (dma layer): Linux's dma_direct_map_phys() falling back on
// swiotlb_map() (reference section 2.2), and its unmap and sync counterparts.
#include "dmakit/dma/bounce.h"

#include "dmakit/dma/direct.h"
#include "dmakit/swiotlb/swiotlb.h"

namespace dmakit::dma::detail {
namespace {

swiotlb::BounceRequest request_for(const Device& dev) {
  return {.bus_offset = dev.bus_offset(),
          .bus_limit = dev.streaming_limit(),
          .min_align_mask = dev.min_align_mask(),
          .alloc_align_mask = 0,
          .segment_boundary_mask = dev.segment_boundary_mask()};
}

}  // namespace

Result<DmaAddr> bounce_map_phys(const Device& dev, PhysAddr phys, std::uint64_t size,
                                Direction dir) {
  swiotlb::Swiotlb& tlb = *dev.swiotlb();
  const Result<PhysAddr> bounce = tlb.map(phys, size, dir, request_for(dev),
                                          phys_mask_under(dev, dev.streaming_limit()), dev.name());
  if (!bounce) return std::unexpected(bounce.error());
  dev.note_bounced();
  const DmaAddr dma = dev.phys_to_dma(*bounce);
  // The pool was searched for slots under the device's limit, but not around its declared window;
  // check the slot as Linux's swiotlb_map() does.
  if (!dma_capable(dev, dma, size)) [[unlikely]] {
    (void)tlb.unmap(*bounce, size, dir, /*skip_copy=*/true);
    return out_of_reach(dev, dma, size);
  }
  return dma;
}

bool is_bounce_address(const Device& dev, DmaAddr dma) {
  return dev.swiotlb() != nullptr && dev.swiotlb()->owns(dev.dma_to_phys(dma));
}

std::optional<PhysAddr> bounced_original(const Device& dev, DmaAddr dma) {
  if (dev.swiotlb() == nullptr) return std::nullopt;
  const Result<PhysAddr> orig = dev.swiotlb()->original(dev.dma_to_phys(dma));
  return orig ? std::optional(*orig) : std::nullopt;
}

Status bounce_unmap(const Device& dev, DmaAddr dma, std::uint64_t size, Direction dir,
                    bool skip_copy) {
  if (!is_bounce_address(dev, dma)) return direct_check_unmap(dev, dma, size, dir);
  Status ok = dev.swiotlb()->unmap(dev.dma_to_phys(dma), size, dir, skip_copy);
  if (!ok) return fail(Errc::InvalidArgument, "{}: {}", dev.name(), ok.error().message);
  return {};
}

Status bounce_sync(const Device& dev, DmaAddr dma, std::uint64_t size, Direction dir,
                   bool for_device) {
  if (!is_bounce_address(dev, dma)) return direct_check_unmap(dev, dma, size, dir);
  swiotlb::Swiotlb& tlb = *dev.swiotlb();
  const PhysAddr bounce = dev.dma_to_phys(dma);
  Status ok =
      for_device ? tlb.sync_for_device(bounce, size, dir) : tlb.sync_for_cpu(bounce, size, dir);
  if (!ok) return fail(Errc::InvalidArgument, "{}: {}", dev.name(), ok.error().message);
  return {};
}

bool direct_dma_supported(const Device& dev, std::uint64_t mask) {
  const std::uint64_t limit = std::min(mask, dev.bus_dma_limit());
  const PhysRange lowest = dev.memory().ram().front();
  if (fits_under_mask(dev.phys_to_dma(lowest.start).value(), kPageSize, limit)) return true;
  return dev.swiotlb() != nullptr && dev.swiotlb()->reachable_under(dev.bus_offset(), limit);
}

std::uint64_t direct_max_mapping_size(const Device& dev) {
  return dev.may_bounce() ? dev.swiotlb()->max_mapping_size(dev.min_align_mask())
                          : ~std::uint64_t{0};
}

}  // namespace dmakit::dma::detail
