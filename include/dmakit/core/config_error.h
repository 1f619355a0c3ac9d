// SPDX-License-Identifier: Apache-2.0
// ConfigError: the one exception dmakit throws, for bad configuration at setup (core layer).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace dmakit {

/// Thrown by constructors and configuration parsers when a setting cannot work. `field()` is the
/// dotted path of the offending setting ("machine.nodes[1].start"); `what()` is "field: reason".
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string field, std::string reason)
      : std::runtime_error(field + ": " + reason),
        field_(std::move(field)),
        reason_(std::move(reason)) {}

  [[nodiscard]] const std::string& field() const { return field_; }
  [[nodiscard]] const std::string& reason() const { return reason_; }

 private:
  std::string field_;
  std::string reason_;
};

}  // namespace dmakit
