// SPDX-License-Identifier: Apache-2.0
// The bound on sizes and offsets that callers pass (core layer), and the checked rounding every
// allocator and mapping path uses on them. A size near 2^64 rounded up to a page wraps to a small
// number, and an allocator that trusts it hands out memory the caller does not own; refusing such
// sizes once, where they enter, keeps every later `address + size` and rounding exact.
#pragma once

#include <cstdint>
#include <string_view>

#include "dmakit/core/result.h"

namespace dmakit {

/// The most bytes one request may name, as a size or as an offset into a buffer: 2^48 (256 TiB).
/// That is more than any machine dmakit models holds (MachineConfig::kMaxRam is 4 TiB), and far
/// enough below 2^64 that an address of such a machine plus an accepted offset plus an accepted
/// size, rounded up to any power-of-two alignment, cannot wrap.
inline constexpr std::uint64_t kMaxRequestBytes = std::uint64_t{1} << 48;

/// InvalidArgument naming `what` and its value when `value` is above kMaxRequestBytes.
[[nodiscard]] inline Status check_request_bytes(std::string_view what, std::uint64_t value) {
  if (value <= kMaxRequestBytes) [[likely]]
    return {};
  return fail(Errc::InvalidArgument, "{} {:#x} is above the {:#x}-byte limit of one request", what,
              value, kMaxRequestBytes);
}

/// `size` rounded up to a multiple of `alignment` (a power of two of at most 2^63): the size a
/// caller asked for, checked first as check_request_bytes(what, size) does, so the rounding cannot
/// wrap.
[[nodiscard]] inline Result<std::uint64_t> round_up_request(std::string_view what,
                                                            std::uint64_t size,
                                                            std::uint64_t alignment) {
  if (Status ok = check_request_bytes(what, size); !ok) [[unlikely]]
    return std::unexpected(ok.error());
  return (size + alignment - 1) & ~(alignment - 1);
}

}  // namespace dmakit
