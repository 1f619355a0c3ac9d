// SPDX-License-Identifier: Apache-2.0
// A device's own memory accesses (dma layer): what a bus master does with the bus addresses its
// driver gave it. Device models and tests read and write through here, never through the CPU's
// pointers, so every access meets the checks hardware would: the address lines the device drives,
// the IOMMU's translation and permissions or the bus offset, and memory that is really there.
#pragma once

#include <cstddef>
#include <span>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"

namespace dmakit::dma {

class Device;

/// Reads `out.size()` bytes at bus address `dma` as the device would. Fault, touching nothing,
/// when the range lies beyond what the device can drive (its mask and bus limit), when the IOMMU
/// the device sits behind refuses a page of it (recorded in its fault log), or when it lands
/// outside RAM; InvalidArgument for an empty range. The device's observer sees the access first.
[[nodiscard]] Status device_read(const Device& dev, DmaAddr dma, std::span<std::byte> out);
/// Writes `data` at bus address `dma` as the device would, with the same checks.
[[nodiscard]] Status device_write(const Device& dev, DmaAddr dma, std::span<const std::byte> data);

}  // namespace dmakit::dma
