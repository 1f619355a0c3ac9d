// SPDX-License-Identifier: Apache-2.0
// CRC-32 for frames and blocks (devices layer).
#include "dmakit/devices/checksum.h"

#include <array>
#include <cstring>

namespace dmakit::devices {
namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kTable = make_table();

}  // namespace

std::uint32_t crc32(std::span<const std::byte> data) {
  std::uint32_t c = 0xffffffffu;
  for (const std::byte b : data)
    c = kTable[(c ^ std::to_integer<std::uint32_t>(b)) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::vector<std::byte> seal_frame(std::span<const std::byte> payload) {
  std::vector<std::byte> frame(payload.begin(), payload.end());
  const std::uint32_t fcs = crc32(payload);
  frame.resize(payload.size() + kFcsBytes);
  std::memcpy(frame.data() + payload.size(), &fcs, kFcsBytes);
  return frame;
}

bool frame_intact(std::span<const std::byte> frame) {
  if (frame.size() < kFcsBytes) return false;
  const std::span<const std::byte> payload = frame.first(frame.size() - kFcsBytes);
  std::uint32_t fcs = 0;
  std::memcpy(&fcs, frame.data() + payload.size(), kFcsBytes);
  return fcs == crc32(payload);
}

}  // namespace dmakit::devices
