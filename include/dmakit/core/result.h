// SPDX-License-Identifier: Apache-2.0
// Result<T>: a value or an Error (core layer). See error.h for when to use it.
#pragma once

#include <fmt/format.h>

#include <expected>
#include <utility>

#include "dmakit/core/error.h"

namespace dmakit {

template <class T>
using Result = std::expected<T, Error>;

/// The result of an operation that produces no value.
using Status = Result<void>;

/// Builds the failure side of a Result: `return fail(Errc::NoMemory, "zone {} empty", name);`.
/// Formatting happens here, so only failure paths pay for it.
template <class... Args>
[[nodiscard]] std::unexpected<Error> fail(Errc code, fmt::format_string<Args...> format,
                                          Args&&... args) {
  return std::unexpected<Error>(Error{code, fmt::format(format, std::forward<Args>(args)...)});
}

}  // namespace dmakit
