// SPDX-License-Identifier: Apache-2.0
// DmaDebugConfig: how the misuse checker runs on a machine, from a configuration file's
// `dma_debug:` section (debug layer), each key documented in configs/dma-debug.yaml.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dmakit::debug {

/// What the checker does with each report beyond counting it and keeping it for queries.
enum class ReportAction : std::uint8_t {
  Count,  ///< nothing: quiet, for tests that query reports
  Log,    ///< print the first `loud_per_class` of each class to stderr in full
  Abort,  ///< print the report and abort the process (seastar's abort-on-internal-error switch)
};

struct DmaDebugConfig {
  bool enabled = false;  ///< whether a configured machine gets a checker (dma_debug=off is default)
  ReportAction action = ReportAction::Log;
  /// Reports of one class printed in full before the rest are only counted (Linux's num_errors).
  std::uint32_t loud_per_class = 1;
  /// Only these devices' misuse is reported (Linux's driver_filter); empty: every device.
  std::vector<std::string> devices;
  /// Frames kept of each map call's stack (0: none; at most CallStack::kMaxFrames).
  int stack_depth = 8;
  /// Whether a streaming mapping must be given to mapping_error() before it is used, as Linux
  /// wants of drivers (C++ callers that test the Result may turn it off).
  bool check_mapping_error = true;
  /// Reports kept for reports(); later ones are still counted.
  std::size_t keep_reports = 1024;
};

/// The `dma_debug:` section of a YAML document: enabled unless it says `enabled: false`; a default
/// (disabled) config when there is no such section.
/// Throws ConfigError naming the key ("dma_debug.action") on anything unknown or malformed.
[[nodiscard]] DmaDebugConfig parse_dma_debug_config(const std::string& yaml_text);
[[nodiscard]] DmaDebugConfig load_dma_debug_config(const std::string& path);

}  // namespace dmakit::debug
