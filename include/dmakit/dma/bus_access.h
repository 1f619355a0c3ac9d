// SPDX-License-Identifier: Apache-2.0
// A device's own memory accesses (dma layer): what a bus master does with the bus addresses its
// driver gave it. Device models and tests read and write through here, never through the CPU's
// pointers, so every access meets the checks hardware would: the address lines the device drives,
// the IOMMU's translation and permissions or the bus offset, and memory that is really there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

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

/// What a device access does to the memory it reaches.
enum class Access : std::uint8_t { Read, Write };

/// A run of RAM a device access reaches, as the CPU's pointer to it.
struct AccessSpan {
  std::byte* mem;
  std::uint64_t size;
};

/// Translates the whole of bus range [dma, dma + size) for one access of the device, with exactly
/// the checks and errors of device_read/device_write, and appends the RAM it reaches to `out` in
/// address order, physically adjacent pieces merged. For engines that move bytes between two bus
/// ranges: translating both first and copying between the spans moves each byte once, and a
/// refused access is known before anything is touched. On error `out` keeps what it held before.
/// The spans are valid for as long as the translation is (until the driver unmaps the range).
/// Thread-safe as device_read is.
[[nodiscard]] Status translate_for_access(const Device& dev, DmaAddr dma, std::uint64_t size,
                                          Access access, std::vector<AccessSpan>& out);

}  // namespace dmakit::dma
