// SPDX-License-Identifier: Apache-2.0
// The `engines:` section of a configuration file (engine layer), each key documented in
// configs/engines.yaml, and the engines it describes built on a platform.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dmakit/dma/platform.h"
#include "dmakit/engine/dma_engine.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace dmakit::engine {

/// The `engines:` list of a YAML document (empty when there is none). Throws ConfigError naming
/// the key ("engines[0].channels") on anything unknown or malformed.
std::vector<EngineConfig> parse_engine_configs(const std::string& yaml_text);
std::vector<EngineConfig> load_engine_configs(const std::string& path);

/// Reads what an `engines:` entry holds besides its name and device (channels, capabilities,
/// max_transfer, threshold, queue_limit, wait, spin) from the mapping `node` into `config`, and
/// checks it as check_engine_config() does: for a section that describes an engine in its own way
/// (a device's `model:`). `other_keys` are the keys of `node` the caller reads. Throws ConfigError
/// naming the key under `field` ("devices[3].model.channels").
void parse_engine_settings(const YAML::Node& node, const std::string& field,
                           std::initializer_list<std::string_view> other_keys,
                           EngineConfig& config);

/// The engines of `configs`, each on the platform device it names. Throws ConfigError
/// ("engines[1].device") for a device the platform lacks or one named by two engines.
std::vector<std::unique_ptr<DmaEngine>> create_engines(dma::Platform& platform,
                                                       const std::vector<EngineConfig>& configs);

}  // namespace dmakit::engine
