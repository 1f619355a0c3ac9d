// SPDX-License-Identifier: Apache-2.0
// Checksums that packets and blocks carry end to end (devices layer), so that corruption anywhere
// on the path (a bounce copy, a stale IOTLB entry, a model bug) is caught by the driver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace dmakit::devices {

/// The CRC-32 of Ethernet's frame check sequence (reflected polynomial 0xEDB88320).
[[nodiscard]] std::uint32_t crc32(std::span<const std::byte> data);

/// Bytes a sealed frame adds to its payload.
inline constexpr std::size_t kFcsBytes = 4;

/// `payload` followed by its CRC-32, little-endian, as a NIC frame carries its FCS.
[[nodiscard]] std::vector<std::byte> seal_frame(std::span<const std::byte> payload);
/// True when `frame` ends with the CRC-32 of what precedes it.
[[nodiscard]] bool frame_intact(std::span<const std::byte> frame);

}  // namespace dmakit::devices
