// SPDX-License-Identifier: Apache-2.0
// The direct mapping (dma layer): bus address = physical address + the device's bus offset, valid
// when the whole buffer lies under the device's mask and bus limit (Linux's dma-direct and
// dma_capable()); otherwise, or always when forced, through the bounce pool (seed 001). Inline, so
// a device without ops that reaches all memory maps in a few instructions (seed 004).
#pragma once

#include <algorithm>
#include <cstdint>

#include "dmakit/core/mask.h"
#include "dmakit/dma/bounce.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/scatterlist.h"
#include "dmakit/swiotlb/swiotlb.h"

namespace dmakit::dma::detail {

// Failure paths, out of line so the inline fast path stays small.
[[nodiscard, gnu::noinline, gnu::cold]] std::unexpected<Error> bad_mapping(const Device& dev,
                                                                           PhysAddr phys,
                                                                           std::uint64_t size,
                                                                           Direction dir);
[[nodiscard, gnu::noinline, gnu::cold]] std::unexpected<Error> out_of_reach(const Device& dev,
                                                                            DmaAddr dma,
                                                                            std::uint64_t size);

/// Whether the device can reach [dma, dma + size) of RAM without help (dma_capable()): under its
/// mask and bus limit, and outside the window where it sees its own declared memory.
[[nodiscard]] inline bool dma_capable(const Device& dev, DmaAddr dma, std::uint64_t size) {
  return fits_under_mask(dma.value(), size, dev.streaming_limit()) &&
         !dev.in_local_window(dma, size);
}

[[nodiscard]] inline Result<DmaAddr> direct_map_phys(const Device& dev, PhysAddr phys,
                                                     std::uint64_t size, Direction dir) {
  if (size == 0 || !is_valid_mapping_direction(dir) || !dev.memory().is_ram(phys, size))
      [[unlikely]]
    return bad_mapping(dev, phys, size, dir);
  const DmaAddr dma = dev.phys_to_dma(phys);
  if (dev.may_bounce()) [[unlikely]] {
    // A negative bus offset can wrap a low buffer out of the bus's view: that bounces too.
    const bool wrapped = dev.bus_offset() < 0 && dma.value() > phys.value();
    if (dev.force_bounce() || wrapped || !dma_capable(dev, dma, size))
      return bounce_map_phys(dev, phys, size, dir);
    dev.swiotlb()->count_direct();
    return dma;
  }
  if (!dma_capable(dev, dma, size)) [[unlikely]]
    return out_of_reach(dev, dma, size);
  return dma;
}

/// Whether direct mapping can work under `mask`: some RAM, the lowest page in bus terms, lies under
/// the mask and the bus limit, or the bounce pool does. Linux asks for the whole lowest zone
/// instead because a zone cannot serve a narrower mask; the mask allocator's pool can (seed 003).
[[nodiscard]] bool direct_dma_supported(const Device& dev, std::uint64_t mask);

/// The largest physical mask 2^n - 1 whose whole memory the device reaches in bus terms under
/// `limit` (its streaming or coherent limit), given its bus offset; what the allocators are asked
/// for.
[[nodiscard]] std::uint64_t phys_mask_under(const Device& dev, std::uint64_t limit);

/// The physical address a bus address of the direct path stands for: the bounced buffer for a
/// bounce address of a live mapping, else the bus offset arithmetic.
[[nodiscard]] inline PhysAddr direct_mapped_phys(const Device& dev, DmaAddr dma) {
  if (dev.has_bounced()) [[unlikely]]
    return bounced_original(dev, dma).value_or(dev.dma_to_phys(dma));
  return dev.dma_to_phys(dma);
}

/// The direct path's reverse lookup: the original buffer of a bounce mapping, else bus offset
/// arithmetic; null outside RAM.
[[nodiscard]] inline std::byte* direct_to_virt(const Device& dev, DmaAddr dma) {
  const PhysAddr phys = direct_mapped_phys(dev, dma);
  return dev.memory().is_ram(phys) ? dev.memory().direct_map(phys) : nullptr;
}

[[nodiscard, gnu::noinline, gnu::cold]] std::unexpected<Error> bad_unmap(const Device& dev,
                                                                         DmaAddr dma,
                                                                         std::uint64_t size,
                                                                         Direction dir);

/// Checks that an unmap or sync names memory the direct path could have mapped. Without a mapping
/// table that is all a stateless path can know.
[[nodiscard]] inline Status direct_check_unmap(const Device& dev, DmaAddr dma, std::uint64_t size,
                                               Direction dir) {
  if (size == 0 || !is_valid_mapping_direction(dir) || !dma_capable(dev, dma, size) ||
      !dev.memory().is_ram(dev.dma_to_phys(dma), size)) [[unlikely]]
    return bad_unmap(dev, dma, size, dir);
  return {};
}

/// Ends a direct mapping: a bounced one copies back by direction and frees its slots.
[[nodiscard]] inline Status direct_unmap(const Device& dev, DmaAddr dma, std::uint64_t size,
                                         Direction dir) {
  if (dev.has_bounced()) [[unlikely]]
    return bounce_unmap(dev, dma, size, dir);
  return direct_check_unmap(dev, dma, size, dir);
}

/// A direct sync: copies for a bounced mapping, only checks otherwise (memory is coherent).
[[nodiscard]] inline Status direct_sync(const Device& dev, DmaAddr dma, std::uint64_t size,
                                        Direction dir, bool for_device) {
  if (dev.has_bounced()) [[unlikely]]
    return bounce_sync(dev, dma, size, dir, for_device);
  return direct_check_unmap(dev, dma, size, dir);
}

/// Direct scatter/gather (all or nothing). Entries that meet in bus space merge into one segment
/// within the device's max segment size and boundary mask; a list with a bounced entry keeps one
/// segment per entry. Segment k is written into entry k, the rest get length 0.
[[nodiscard]] Result<std::size_t> direct_map_sg(Device& dev, std::span<ScatterEntry> sg,
                                                Direction dir);
/// Unmaps every segment of a list from direct_map_sg (the first error is returned).
[[nodiscard]] Status direct_unmap_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir);
[[nodiscard]] Status direct_sync_sg(Device& dev, std::span<ScatterEntry> sg, Direction dir,
                                    bool for_device);

/// The largest direct mapping: the bounce pool's limit for a device that may bounce.
[[nodiscard]] std::uint64_t direct_max_mapping_size(const Device& dev);

}  // namespace dmakit::dma::detail
