// SPDX-License-Identifier: Apache-2.0
// The `engines:` section of a configuration file (engine layer).
#include "dmakit/engine/engine_config.h"

#include <fmt/format.h>

#include <set>

#include "dmakit/core/config_error.h"
#include "dmakit/dma/device.h"
#include "dmakit/machine/config_yaml.h"

namespace dmakit::engine {
namespace {

using machine::yaml::reject_unknown_keys;
using machine::yaml::size_of;
using machine::yaml::unsigned_of;

Capabilities capabilities_of(const YAML::Node& node, const std::string& field) {
  if (!node.IsSequence()) throw ConfigError(field, "expected a list such as [memcpy, memset, sg]");
  Capabilities caps;
  for (const auto& c : node) {
    const std::string name = c.as<std::string>();
    if (name == "memcpy")
      caps.set(Capability::Memcpy);
    else if (name == "memset")
      caps.set(Capability::Memset);
    else if (name == "sg")
      caps.set(Capability::Sg);
    else
      throw ConfigError(field, fmt::format("'{}' is not memcpy, memset or sg", name));
  }
  return caps;
}

constexpr std::string_view kSettingKeys[] = {
    "channels", "capabilities", "max_transfer", "threshold", "queue_limit", "wait", "spin"};

EngineConfig engine_of(const YAML::Node& e, const std::string& field) {
  EngineConfig c;
  parse_engine_settings(e, field, {"name", "device"}, c);
  if (!e["name"]) throw ConfigError(field + ".name", "every engine needs a name");
  c.name = e["name"].as<std::string>();
  if (!e["device"]) throw ConfigError(field + ".device", "names the device the engine is");
  c.device = e["device"].as<std::string>();
  return c;
}

}  // namespace

void parse_engine_settings(const YAML::Node& e, const std::string& field,
                           std::initializer_list<std::string_view> other_keys, EngineConfig& c) {
  std::vector<std::string_view> known(other_keys);
  known.insert(known.end(), std::begin(kSettingKeys), std::end(kSettingKeys));
  reject_unknown_keys(e, field, known);
  if (e["channels"]) c.channels = unsigned_of(e["channels"], field + ".channels");
  if (e["capabilities"])
    c.channel.capabilities = capabilities_of(e["capabilities"], field + ".capabilities");
  if (e["max_transfer"])
    c.channel.max_transfer = size_of(e["max_transfer"], field + ".max_transfer");
  if (const YAML::Node t = e["threshold"]; t && !(t.IsScalar() && t.Scalar() == "auto"))
    c.inline_threshold = size_of(t, field + ".threshold");
  if (e["queue_limit"]) c.queue_limit = unsigned_of(e["queue_limit"], field + ".queue_limit");
  if (const YAML::Node w = e["wait"]) {
    const std::string mode = w.IsScalar() ? w.Scalar() : "";
    if (mode == "block")
      c.channel.wait = WaitMode::Block;
    else if (mode == "poll")
      c.channel.wait = WaitMode::Poll;
    else
      throw ConfigError(field + ".wait", fmt::format("'{}' is not block or poll", mode));
  }
  if (e["spin"])
    c.channel.spin = std::chrono::microseconds(unsigned_of(e["spin"], field + ".spin"));
  try {
    check_engine_config(c);
  } catch (const ConfigError& error) {
    throw error.under(field);
  }
}

std::vector<EngineConfig> parse_engine_configs(const std::string& yaml_text) {
  std::vector<EngineConfig> engines;
  machine::yaml::for_each_listed(yaml_text, "engines", "engines",
                                 [&](const YAML::Node& n, const std::string& field) {
                                   engines.push_back(engine_of(n, field));
                                 });
  return engines;
}

std::vector<EngineConfig> load_engine_configs(const std::string& path) {
  return parse_engine_configs(machine::yaml::read_file(path));
}

std::vector<std::unique_ptr<DmaEngine>> create_engines(dma::Platform& platform,
                                                       const std::vector<EngineConfig>& configs) {
  std::vector<std::unique_ptr<DmaEngine>> engines;
  std::set<std::string> names;
  std::set<const dma::Device*> devices;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    const EngineConfig& c = configs[i];
    const std::string field = fmt::format("engines[{}]", i);
    if (!names.insert(c.name).second)
      throw ConfigError(field + ".name", fmt::format("'{}' is already an engine", c.name));
    dma::Device* dev = platform.find_device(c.device);
    if (dev == nullptr)
      throw ConfigError(field + ".device", fmt::format("'{}' is not a device", c.device));
    if (!devices.insert(dev).second)
      throw ConfigError(field + ".device",
                        fmt::format("'{}' is already the device of another engine", c.device));
    engines.push_back(std::make_unique<DmaEngine>(*dev, c));
  }
  return engines;
}

}  // namespace dmakit::engine
