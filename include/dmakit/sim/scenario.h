// SPDX-License-Identifier: Apache-2.0
// Scenario: a machine, its devices with their models, the workloads put on them, the strategies to
// compare and the cost model to price them with (sim layer; seed 000). Read from YAML, every key
// documented in configs/scenario.yaml; the built-in default is configs/scenarios/default.yaml.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dmakit/core/config_error.h"
#include "dmakit/devices/model_config.h"
#include "dmakit/dma/device_config.h"
#include "dmakit/dma/strategy.h"
#include "dmakit/iommu/iommu.h"
#include "dmakit/machine/machine_config.h"
#include "dmakit/sim/cost_model.h"
#include "dmakit/sim/workload.h"

namespace dmakit::sim {

struct Scenario {
  std::string name = "scenario";
  std::uint64_t seed = 1;
  /// I/Os per workload, unless the workload sets its own.
  std::uint64_t operations = 1000;
  /// Modeled nanoseconds after which every workload stops, whatever its operations; 0: none.
  std::uint64_t duration_ns = 0;
  std::vector<dma::Strategy> strategies;  ///< compared side by side, in this order
  CostModel cost;
  machine::MachineConfig machine;
  iommu::IommuConfig iommu;  ///< the IOMMU type the IOMMU strategies put the devices behind
  std::vector<dma::DeviceConfig> devices;
  std::map<std::string, devices::ModelConfig> models;  ///< by device name
  std::vector<WorkloadConfig> workloads;
};

/// A scenario that cannot be used: ConfigError's field and reason, plus where they were read.
class ScenarioError : public ConfigError {
 public:
  ScenarioError(std::string source, int line, const ConfigError& error);
  [[nodiscard]] const std::string& source() const { return source_; }
  /// 1-based; 0 when the error has no single place (a missing section).
  [[nodiscard]] int line() const { return line_; }

 private:
  std::string source_;
  int line_;
};

/// Parses a scenario; `source` names it in errors ("configs/x.yaml", "<default>"). Throws
/// ScenarioError naming the line and key ("devices[1].model.descriptors") on anything unknown,
/// malformed or inconsistent.
[[nodiscard]] Scenario parse_scenario(const std::string& yaml_text, const std::string& source);
/// Reads and parses a scenario file; ScenarioError when it cannot be read.
[[nodiscard]] Scenario load_scenario(const std::string& path);

/// The built-in default scenario's text (`dmakit run` with no argument).
[[nodiscard]] std::string_view default_scenario_yaml();

/// Sets `key` (a dotted path: "scenario.seed", "devices[1].dma_mask") to `value` in the YAML
/// text, creating mappings on the way; the value is parsed as YAML. ScenarioError for a path
/// that runs through a scalar or past the end of a list. `dmakit run --set` and `dmakit sweep`.
[[nodiscard]] std::string override_key(const std::string& yaml_text, const std::string& source,
                                       const std::string& key, const std::string& value);

}  // namespace dmakit::sim
