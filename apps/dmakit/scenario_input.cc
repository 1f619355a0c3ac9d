// SPDX-License-Identifier: Apache-2.0
// What a command reads (see scenario_input.h).
#include "scenario_input.h"

#include <fmt/format.h>

#include "dmakit/core/config_error.h"
#include "dmakit/machine/config_yaml.h"
#include "dmakit/sim/scenario.h"

namespace dmakit::cli {

void add_scenario_options(CLI::App& cmd, std::string& path, std::vector<std::string>& sets) {
  cmd.add_option("scenario", path,
                 fmt::format("scenario YAML file, at most {} MiB (configs/scenario.yaml; "
                             "default: the built-in scenario, configs/scenarios/default.yaml)",
                             machine::yaml::kMaxConfigBytes >> 20))
      ->check(CLI::ExistingFile.description(""))
      ->type_name("FILE");
  cmd.add_option("--set", sets,
                 "override a key of the scenario, e.g. --set scenario.seed=7 (repeatable)")
      ->type_name("KEY=VALUE");
}

ScenarioText scenario_text(const std::string& path, const std::vector<std::string>& sets) {
  ScenarioText text;
  if (path.empty()) {
    text.source = "<default scenario>";
    text.yaml = std::string(sim::default_scenario_yaml());
  } else {
    text.source = path;
    try {
      text.yaml = machine::yaml::read_file(path);
    } catch (const ConfigError& e) {
      throw sim::ScenarioError(text.source, 0, e);
    }
  }
  for (const std::string& set : sets) {
    const std::size_t eq = set.find('=');
    if (eq == std::string::npos || eq == 0)
      throw sim::ScenarioError(text.source, 0, ConfigError("--set " + set, "expected KEY=VALUE"));
    text.yaml = sim::override_key(text.yaml, text.source, set.substr(0, eq), set.substr(eq + 1));
  }
  return text;
}

}  // namespace dmakit::cli
