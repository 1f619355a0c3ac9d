// SPDX-License-Identifier: Apache-2.0
// Names of error codes and assertion failure reporting (core layer).
#include "dmakit/core/error.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "dmakit/core/assert.h"

namespace dmakit {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::NoMemory:
      return "no-memory";
    case Errc::AboveMask:
      return "above-mask";
    case Errc::NoIovaSpace:
      return "no-iova-space";
    case Errc::NoBounceSlot:
      return "no-bounce-slot";
    case Errc::InvalidArgument:
      return "invalid-argument";
    case Errc::BadAddress:
      return "bad-address";
    case Errc::Fault:
      return "fault";
    case Errc::Busy:
      return "busy";
    case Errc::NoDevice:
      return "no-device";
    case Errc::Aborted:
      return "aborted";
    case Errc::Timeout:
      return "timeout";
  }
  return "unknown";
}

std::string Error::to_string() const { return fmt::format("{}: {}", errc_name(code), message); }

namespace detail {

void check_failed(const char* file, int line, const char* condition, const std::string& message) {
  std::fputs(fmt::format("dmakit: internal check failed at {}:{}: {}: {}\n", file, line, condition,
                         message)
                 .c_str(),
             stderr);
  std::abort();
}

}  // namespace detail
}  // namespace dmakit
