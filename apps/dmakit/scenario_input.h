// SPDX-License-Identifier: Apache-2.0
// What a command reads: the scenario it works on, a file or the built-in default with `--set`
// overrides applied
// (`dmakit run` and `dmakit sweep`).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace dmakit::cli {

struct ScenarioText {
  std::string source;  ///< names it in errors: the path, or "<default scenario>"
  std::string yaml;
};

/// Adds what names the scenario to `cmd`: the optional SCENARIO file argument into `path` and the
/// repeatable `--set KEY=VALUE` into `sets`.
void add_scenario_options(CLI::App& cmd, std::string& path, std::vector<std::string>& sets);

/// The text of the scenario file `path` (empty: the built-in default) with each of `sets`
/// ("KEY=VALUE", as `--set` takes them) applied in order with sim::override_key. Throws
/// sim::ScenarioError when the file cannot be read or a set is malformed.
[[nodiscard]] ScenarioText scenario_text(const std::string& path,
                                         const std::vector<std::string>& sets);

}  // namespace dmakit::cli
