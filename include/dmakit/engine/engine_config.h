// SPDX-License-Identifier: Apache-2.0
// The `engines:` section of a configuration file (engine layer), each key documented in
// configs/engines.yaml, and the engines it describes built on a platform.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dmakit/dma/platform.h"
#include "dmakit/engine/dma_engine.h"

namespace dmakit::engine {

/// The `engines:` list of a YAML document (empty when there is none). Throws ConfigError naming
/// the key ("engines[0].channels") on anything unknown or malformed.
std::vector<EngineConfig> parse_engine_configs(const std::string& yaml_text);
std::vector<EngineConfig> load_engine_configs(const std::string& path);

/// The engines of `configs`, each on the platform device it names. Throws ConfigError
/// ("engines[1].device") for a device the platform lacks or one named by two engines.
std::vector<std::unique_ptr<DmaEngine>> create_engines(dma::Platform& platform,
                                                       const std::vector<EngineConfig>& configs);

}  // namespace dmakit::engine
