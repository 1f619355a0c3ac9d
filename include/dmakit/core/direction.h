// SPDX-License-Identifier: Apache-2.0
// Direction of a DMA transfer (core layer), with Linux's enum dma_data_direction values.
#pragma once

#include <cstdint>
#include <string_view>

namespace dmakit {

enum class Direction : std::uint8_t {
  Bidirectional = 0,  ///< the device may read and write the buffer
  ToDevice = 1,       ///< the device reads the buffer (a transmit)
  FromDevice = 2,     ///< the device writes the buffer (a receive)
  None = 3,           ///< debugging only; never valid for a mapping
};

/// True for the three directions a mapping may have.
constexpr bool is_valid_mapping_direction(Direction dir) {
  return static_cast<std::uint8_t>(dir) <= static_cast<std::uint8_t>(Direction::FromDevice);
}

/// Whether a mapping of this direction lets the device read the buffer (TO_DEVICE, BIDIRECTIONAL):
/// what an IOMMU grants read rights for and a bounce buffer copies in on sync_for_device.
constexpr bool device_reads(Direction dir) {
  return dir == Direction::ToDevice || dir == Direction::Bidirectional;
}
/// Whether the device may write it (FROM_DEVICE, BIDIRECTIONAL): what an IOMMU grants write rights
/// for and a bounce buffer copies back on unmap and sync_for_cpu.
constexpr bool device_writes(Direction dir) {
  return dir == Direction::FromDevice || dir == Direction::Bidirectional;
}

constexpr std::string_view direction_name(Direction dir) {
  switch (dir) {
    case Direction::Bidirectional:
      return "bidirectional";
    case Direction::ToDevice:
      return "to-device";
    case Direction::FromDevice:
      return "from-device";
    case Direction::None:
      return "none";
  }
  return "invalid";
}

}  // namespace dmakit
