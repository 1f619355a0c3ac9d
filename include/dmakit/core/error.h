// SPDX-License-Identifier: Apache-2.0
// Error values of the core layer.
//
// When to return an error value: whenever the failure is something a caller must expect in normal
// operation (out of memory, an address above a device's mask, no IOVA space, no bounce slot, a bad
// argument from a caller). Such failures are `Result<T>` values, never exceptions, and cost nothing
// until they happen: the context string is built only on the failure path. Configuration errors at
// setup throw `ConfigError` (config_error.h); bugs inside dmakit are assertions (assert.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dmakit {

/// Canonical error codes, sized to the domain.
enum class Errc : std::uint8_t {
  NoMemory,         ///< no free memory of the kind asked for (zone, node, pool)
  AboveMask,        ///< memory exists but not below the address mask asked for
  NoIovaSpace,      ///< the IOMMU has no I/O virtual address range left under the limit
  NoBounceSlot,     ///< the bounce pool has no free run of slots that fits
  InvalidArgument,  ///< the caller passed something the call cannot accept
  BadAddress,       ///< an address outside simulated RAM, in a hole, or of the wrong kind
  Fault,            ///< a device access was refused by translation or permission checks
  Busy,             ///< the resource is in use and the call does not wait
  NoDevice,         ///< no device or channel offers what was asked for
  Aborted,          ///< the operation was cancelled before it ran (terminate, shutdown, a failed
                    ///< dependency)
  Timeout,          ///< a bounded wait gave up before the operation completed
};

/// The stable lower-case name of a code ("no-memory"), used in reports and JSON.
std::string_view errc_name(Errc code);

/// An error: a canonical code plus a human-readable context that names what was wrong.
struct Error {
  Errc code;
  std::string message;

  /// "no-memory: order-3 allocation failed ..." as shown to users.
  [[nodiscard]] std::string to_string() const;
};

}  // namespace dmakit
