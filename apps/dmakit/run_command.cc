// SPDX-License-Identifier: Apache-2.0
// `dmakit run [SCENARIO]`: the main job. Runs a scenario under each strategy and prints the
// comparison (docs/scenarios.md explains how to read it).
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "dmakit/core/config_error.h"
#include "dmakit/machine/config_yaml.h"
#include "dmakit/sim/report.h"
#include "dmakit/sim/runner.h"
#include "dmakit/sim/scenario.h"

namespace dmakit::cli {
namespace {

struct Options {
  std::string scenario;  ///< empty: the built-in default
  std::vector<std::string> sets;
  bool json = false;
  bool csv = false;
  std::string trace;
  unsigned threads = 2;
};

// A bar on stderr, drawn only when stderr is a terminal and the run has lasted a second.
class ProgressBar {
 public:
  ProgressBar() : enabled_(isatty(STDERR_FILENO) == 1), started_(Clock::now()) {}
  ~ProgressBar() {
    if (drawn_) std::fputs("\r\033[K", stderr);
  }
  void update(std::uint64_t done, std::uint64_t total) {
    if (!enabled_ || total == 0 || Clock::now() - started_ < std::chrono::seconds(1)) return;
    const unsigned percent =
        static_cast<unsigned>(std::min<std::uint64_t>(100, done * 100 / total));
    if (percent == last_.exchange(percent)) return;
    constexpr unsigned kWidth = 40;
    const std::string bar(percent * kWidth / 100, '#');
    std::fprintf(stderr, "\r[%-40s] %3u%%", bar.c_str(), percent);
    drawn_ = true;
  }

 private:
  using Clock = std::chrono::steady_clock;
  const bool enabled_;
  const Clock::time_point started_;
  std::atomic<unsigned> last_{101};
  std::atomic<bool> drawn_{false};
};

std::string scenario_text(const Options& o, std::string& source) {
  std::string text;
  if (o.scenario.empty()) {
    source = "<default scenario>";
    text = std::string(sim::default_scenario_yaml());
  } else {
    source = o.scenario;
    try {
      text = machine::yaml::read_file(o.scenario);
    } catch (const ConfigError& e) {
      throw sim::ScenarioError(source, 0, e);
    }
  }
  for (const std::string& set : o.sets) {
    const std::size_t eq = set.find('=');
    if (eq == std::string::npos || eq == 0)
      throw sim::ScenarioError(source, 0, ConfigError("--set " + set, "expected KEY=VALUE"));
    text = sim::override_key(text, source, set.substr(0, eq), set.substr(eq + 1));
  }
  return text;
}

void run(const Options& o) {
  std::string source;
  const std::string text = scenario_text(o, source);
  const sim::Scenario scenario = sim::parse_scenario(text, source);
  std::vector<sim::TraceSpan> spans;
  ProgressBar bar;
  sim::RunOptions options;
  options.threads = o.threads;
  options.trace = o.trace.empty() ? nullptr : &spans;
  options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
  const sim::RunResult result = sim::run_scenario(scenario, options);
  if (!o.trace.empty()) {
    std::ofstream out(o.trace);
    sim::write_trace(out, sim::trace_layout(scenario), spans);
    if (!out) throw ConfigError("--trace", fmt::format("cannot write '{}'", o.trace));
  }
  if (o.json)
    fmt::print("{}\n", sim::to_json(result).dump(2));
  else if (o.csv)
    fmt::print("{}", sim::format_csv(result));
  else
    fmt::print("{}", sim::format_table(result));
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "run a scenario under each DMA strategy and compare what each costs (default: the "
      "built-in scenario, configs/scenarios/default.yaml)");
  cmd->add_option("scenario", options->scenario, "scenario YAML file (configs/scenario.yaml)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", options->sets,
                  "override a key of the scenario, e.g. --set scenario.seed=7 (repeatable)");
  auto* json = cmd->add_flag("--json", options->json,
                             "print every figure as JSON (schema dmakit.run/1, docs/scenarios.md)");
  cmd->add_flag("--csv", options->csv, "print a CSV row per strategy and device")->excludes(json);
  cmd->add_option("--trace", options->trace,
                  "write a Chrome trace-event timeline (opens in ui.perfetto.dev) to FILE");
  cmd->add_option("--threads", options->threads,
                  "strategies run at once (the results do not depend on it)")
      ->check(CLI::Range(1, 64));
  cmd->callback([options] { run(*options); });
}

}  // namespace dmakit::cli
