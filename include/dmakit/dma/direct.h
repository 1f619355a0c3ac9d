// SPDX-License-Identifier: Apache-2.0
// The direct mapping (dma layer): bus address = physical address + the device's bus offset, valid
// when the whole buffer lies under the device's mask and bus limit (Linux's dma-direct and
// dma_capable()). Inline, so a device without ops maps in a few instructions (seed 004).
#pragma once

#include <algorithm>
#include <cstdint>

#include "dmakit/core/mask.h"
#include "dmakit/dma/device.h"

namespace dmakit::dma::detail {

// Failure paths, out of line so the inline fast path stays small.
[[nodiscard, gnu::noinline, gnu::cold]] std::unexpected<Error> bad_mapping(const Device& dev,
                                                                           PhysAddr phys,
                                                                           std::uint64_t size,
                                                                           Direction dir);
[[nodiscard, gnu::noinline, gnu::cold]] std::unexpected<Error> out_of_reach(const Device& dev,
                                                                            DmaAddr dma,
                                                                            std::uint64_t size);

/// Whether the device can reach [dma, dma + size) without help (dma_capable()).
[[nodiscard]] inline bool dma_capable(const Device& dev, DmaAddr dma, std::uint64_t size) {
  return fits_under_mask(dma.value(), size, dev.streaming_limit());
}

[[nodiscard]] inline Result<DmaAddr> direct_map_phys(const Device& dev, PhysAddr phys,
                                                     std::uint64_t size, Direction dir) {
  if (size == 0 || !is_valid_mapping_direction(dir) || !dev.memory().is_ram(phys, size))
      [[unlikely]]
    return bad_mapping(dev, phys, size, dir);
  const DmaAddr dma = dev.phys_to_dma(phys);
  if (!dma_capable(dev, dma, size)) [[unlikely]]
    return out_of_reach(dev, dma, size);
  return dma;
}

/// Whether direct mapping can work under `mask`: some RAM, the lowest page in bus terms, lies under
/// the mask and the bus limit. Linux asks for the whole lowest zone instead because a zone cannot
/// serve a narrower mask; the mask allocator's pool can (seed 003).
[[nodiscard]] inline bool direct_dma_supported(const Device& dev, std::uint64_t mask) {
  const PhysRange lowest = dev.memory().ram().front();
  return fits_under_mask(dev.phys_to_dma(lowest.start).value(), kPageSize,
                         std::min(mask, dev.bus_dma_limit()));
}

/// The largest physical mask 2^n - 1 whose whole memory the device reaches in bus terms under
/// `limit` (its streaming or coherent limit), given its bus offset; what the allocators are asked
/// for.
[[nodiscard]] std::uint64_t phys_mask_under(const Device& dev, std::uint64_t limit);

/// The direct path's reverse lookup: bus offset arithmetic, null outside RAM.
[[nodiscard]] inline std::byte* direct_to_virt(const Device& dev, DmaAddr dma) {
  const PhysAddr phys = dev.dma_to_phys(dma);
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

}  // namespace dmakit::dma::detail
