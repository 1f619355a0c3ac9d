// SPDX-License-Identifier: Apache-2.0
// The direct path's bounce half (dma layer; seed 001): what dma-direct does through swiotlb when a
// device cannot reach a buffer, in bus addresses. Out of line: only devices that may bounce, or
// have bounced, come here.
#pragma once

#include <cstdint>
#include <optional>

#include "dmakit/core/addr.h"
#include "dmakit/core/direction.h"
#include "dmakit/core/result.h"

namespace dmakit::dma {
class Device;
}  // namespace dmakit::dma

namespace dmakit::dma::detail {

/// Bounces [phys, phys + size) of RAM through the platform's bounce pool, for a device that cannot
/// reach it or is forced to. Errors as the bounce pool's: NoBounceSlot when full, InvalidArgument
/// above its largest mapping.
[[nodiscard, gnu::noinline]] Result<DmaAddr> bounce_map_phys(const Device& dev, PhysAddr phys,
                                                             std::uint64_t size, Direction dir);
/// The original buffer behind a bounce address of the device, or nullopt when `dma` is none.
[[nodiscard]] std::optional<PhysAddr> bounced_original(const Device& dev, DmaAddr dma);
/// Whether `dma` lies in the device's bounce pool.
[[nodiscard]] bool is_bounce_address(const Device& dev, DmaAddr dma);
/// Unmap and sync for a device that has bounced: through the pool for a bounce address, the
/// direct path's checks for any other. `skip_copy` drops the copy back (undoing a failed map).
[[nodiscard, gnu::noinline]] Status bounce_unmap(const Device& dev, DmaAddr dma, std::uint64_t size,
                                                 Direction dir, bool skip_copy = false);
[[nodiscard, gnu::noinline]] Status bounce_sync(const Device& dev, DmaAddr dma, std::uint64_t size,
                                                Direction dir, bool for_device);

}  // namespace dmakit::dma::detail
