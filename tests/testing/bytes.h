// SPDX-License-Identifier: Apache-2.0
// Byte checks for data-integrity tests.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace dmakit::testing {

/// True when every byte of [p, p + size) is `value`.
inline bool all_bytes(const std::byte* p, std::uint64_t size, std::byte value) {
  return std::all_of(p, p + size, [value](std::byte b) { return b == value; });
}

}  // namespace dmakit::testing
