// SPDX-License-Identifier: Apache-2.0
// CRC-32 for frames and blocks (devices layer).
#include "dmakit/devices/checksum.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace dmakit::devices {

// zlib's crc32 is this CRC (reflected 0xEDB88320, inverted in and out) and several times faster
// than a table walk a byte at a time; the scenario runner checksums every byte it moves.
std::uint32_t crc32(std::span<const std::byte> data) {
  uLong c = ::crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(data.data());
  for (std::size_t left = data.size(); left > 0;) {
    const uInt n = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    c = ::crc32(c, p, n);
    p += n;
    left -= n;
  }
  return static_cast<std::uint32_t>(c);
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
