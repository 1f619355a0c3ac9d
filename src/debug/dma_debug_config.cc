// SPDX-License-Identifier: Apache-2.0
// The `dma_debug:` section of a configuration file (debug layer).
#include "dmakit/debug/dma_debug_config.h"

#include <fmt/format.h>

#include "dmakit/core/config_error.h"
#include "dmakit/debug/call_stack.h"
#include "dmakit/machine/config_yaml.h"

namespace dmakit::debug {
namespace {

ReportAction action_of(const YAML::Node& node, const std::string& field) {
  const std::string name = node.as<std::string>();
  if (name == "count") return ReportAction::Count;
  if (name == "log") return ReportAction::Log;
  if (name == "abort") return ReportAction::Abort;
  throw ConfigError(field, fmt::format("'{}' is not count, log or abort", name));
}

void apply(const YAML::Node& d, DmaDebugConfig& c) {
  using machine::yaml::unsigned_of;
  machine::yaml::reject_unknown_keys(d, "dma_debug",
                                     {"enabled", "action", "loud_per_class", "devices",
                                      "stack_depth", "check_mapping_error", "keep_reports"});
  c.enabled = true;  // a dma_debug: section turns the checker on unless it says otherwise
  if (d["enabled"]) c.enabled = machine::yaml::bool_of(d["enabled"], "dma_debug.enabled");
  if (d["action"]) c.action = action_of(d["action"], "dma_debug.action");
  if (d["loud_per_class"])
    c.loud_per_class = unsigned_of(d["loud_per_class"], "dma_debug.loud_per_class");
  if (const YAML::Node devices = d["devices"]) {
    if (!devices.IsSequence())
      throw ConfigError("dma_debug.devices", "expected a list of device names");
    for (const auto& name : devices) c.devices.push_back(name.as<std::string>());
  }
  if (d["stack_depth"]) {
    const unsigned depth = unsigned_of(d["stack_depth"], "dma_debug.stack_depth");
    if (depth > CallStack::kMaxFrames)
      throw ConfigError("dma_debug.stack_depth",
                        fmt::format("{} frames: at most {}", depth, CallStack::kMaxFrames));
    c.stack_depth = static_cast<int>(depth);
  }
  if (d["check_mapping_error"])
    c.check_mapping_error =
        machine::yaml::bool_of(d["check_mapping_error"], "dma_debug.check_mapping_error");
  // Linux's dma-debug keeps at most its preallocated 65536 entries; reports are held in memory.
  if (d["keep_reports"])
    c.keep_reports = machine::yaml::count_in(d["keep_reports"], "dma_debug.keep_reports", 0, 65536,
                                             "Linux's PREALLOC_DMA_DEBUG_ENTRIES");
}

}  // namespace

DmaDebugConfig parse_dma_debug_config(const std::string& yaml_text) {
  const YAML::Node root = machine::yaml::load(yaml_text);
  DmaDebugConfig config;
  if (!root.IsMap() || !root["dma_debug"]) return config;
  try {
    apply(root["dma_debug"], config);
  } catch (const YAML::Exception& e) {
    throw ConfigError("dma_debug", fmt::format("malformed value: {}", e.what()));
  }
  return config;
}

DmaDebugConfig load_dma_debug_config(const std::string& path) {
  return parse_dma_debug_config(machine::yaml::read_file(path));
}

}  // namespace dmakit::debug
