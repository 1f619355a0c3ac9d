// SPDX-License-Identifier: Apache-2.0
// What a command reads: configuration files, through one reader with one size limit, and the
// scenario a command works on, a file or the built-in default with `--set` overrides applied
// (`dmakit run` and `dmakit sweep`).
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <string>
#include <vector>

namespace dmakit::cli {

/// The most bytes dmakit reads from one configuration file: 4 MiB, hundreds of times the largest
/// shipped configuration (configs/devices.yaml, 7 KiB). A larger input is refused after reading at
/// most one byte past this, so a file that never ends (/dev/zero, a pipe) cannot hang a command or
/// fill the host's memory.
inline constexpr std::size_t kMaxConfigBytes = std::size_t{4} << 20;

/// The text of the configuration file `path` (a scenario, `--config`): every command reads its
/// files here. Throws ConfigError naming the path when it cannot be read or holds more than
/// kMaxConfigBytes.
[[nodiscard]] std::string read_config_file(const std::string& path);

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
