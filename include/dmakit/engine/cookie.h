// SPDX-License-Identifier: Apache-2.0
// Cookies: the numbers a channel gives the descriptors submitted to it, in submission order
// (engine layer; Linux's dma_cookie_t, seed 002). Positive, increasing, wrapping back to 1; a
// channel's last completed and last assigned cookies say whether any cookie has completed.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace dmakit::engine {

/// A descriptor's place in its channel's submission order; never 0 or negative once assigned.
using Cookie = std::int32_t;

inline constexpr Cookie kMinCookie = 1;

/// The cookie after `c`: c + 1, or 1 after the largest (dma_cookie_assign).
constexpr Cookie next_cookie(Cookie c) {
  return c >= std::numeric_limits<Cookie>::max() || c < kMinCookie ? kMinCookie : c + 1;
}

/// What a channel can say about one cookie.
enum class DmaStatus : std::uint8_t {
  Complete,    ///< its callback has run (whatever the outcome: the completion record says)
  InProgress,  ///< submitted and not yet completed
};

constexpr std::string_view dma_status_name(DmaStatus s) {
  return s == DmaStatus::Complete ? "complete" : "in-progress";
}

/// Whether `cookie` has completed on a channel whose last completed cookie is `last_complete` and
/// last assigned `last_used`: Linux's dma_async_is_complete, which stays right across the wrap
/// (cookies in (last_complete, last_used], circularly, are the ones still in flight).
constexpr DmaStatus cookie_status(Cookie cookie, Cookie last_complete, Cookie last_used) {
  if (last_complete <= last_used) {
    if (cookie <= last_complete || cookie > last_used) return DmaStatus::Complete;
  } else if (cookie <= last_complete && cookie > last_used) {
    return DmaStatus::Complete;
  }
  return DmaStatus::InProgress;
}

}  // namespace dmakit::engine
