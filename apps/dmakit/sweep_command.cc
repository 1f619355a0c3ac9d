// SPDX-License-Identifier: Apache-2.0
// `dmakit sweep [SCENARIO] --param KEY=V1,V2,...`: the same scenario at each point of a grid of
// parameter values. Each point runs as `dmakit run --json` in a process of its own (the points
// share nothing, and a process per point uses every core without the runner knowing), at most
// --jobs at once; the sweep prints one table or one JSON document when all are done, or nothing
// but the first failure's message.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "commands.h"
#include "dmakit/sim/scenario.h"
#include "dmakit/sim/sweep.h"
#include "scenario_input.h"

namespace dmakit::cli {
namespace {

struct Options {
  std::string scenario;  ///< empty: the built-in default
  std::vector<std::string> params;
  std::vector<std::string> sets;
  bool json = false;
  unsigned jobs = 0;  ///< 0: one per hardware thread
};

std::string describe(const sim::SweepPoint& point) {
  std::string out;
  for (const auto& [key, value] : point)
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", key, value);
  return out;
}

void sweep(const Options& o) {
  std::vector<sim::SweepParam> params;
  for (const std::string& spec : o.params) params.push_back(sim::parse_sweep_param(spec));
  const std::vector<sim::SweepPoint> points = sim::sweep_points(params);

  // Every point's scenario is read here first: a bad value fails the sweep at once, naming its
  // key and line, before any process starts.
  std::vector<std::vector<std::string>> point_sets;
  std::string source;
  for (const sim::SweepPoint& point : points) {
    std::vector<std::string> sets = o.sets;
    for (const auto& [key, value] : point) sets.push_back(key + "=" + value);
    const ScenarioText text = scenario_text(o.scenario, sets);
    (void)sim::parse_scenario(text.yaml, text.source);
    source = text.source;
    point_sets.push_back(std::move(sets));
  }

  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const unsigned jobs = o.jobs != 0 ? o.jobs : hardware;
  // Cores left over when there are fewer points than jobs go to each run's strategy threads.
  const unsigned threads =
      std::clamp<unsigned>(hardware / unsigned(std::min<std::size_t>(jobs, points.size())), 1, 64);
  std::vector<Command> commands;
  for (const std::vector<std::string>& sets : point_sets) {
    Command c{{"/proc/self/exe", "run", "--json", "--threads", std::to_string(threads)}, ""};
    if (!o.scenario.empty()) c.argv.push_back(o.scenario);
    for (const std::string& set : sets) {
      c.argv.push_back("--set");
      c.argv.push_back(set);
    }
    commands.push_back(std::move(c));
  }
  const std::vector<CommandResult> results = run_commands(commands, jobs, /*stop_on_failure=*/true);

  std::vector<nlohmann::json> runs;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const CommandResult& r = results[i];
    if (r.exit_code != 0 && !r.stopped && r.exit_code != -1) {
      std::string message = r.err;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      throw CommandError(fmt::format("sweep point {} failed (exit status {}): {}",
                                     describe(points[i]), r.exit_code, message));
    }
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    try {
      runs.push_back(nlohmann::json::parse(results[i].out));
    } catch (const nlohmann::json::exception& e) {
      throw CommandError(
          fmt::format("sweep point {} printed no run report: {}", describe(points[i]), e.what()));
    }
  }
  const nlohmann::json document = sim::sweep_json(source, params, points, std::move(runs));
  if (o.json)
    fmt::print("{}\n", document.dump(2));
  else
    fmt::print("{}", sim::format_sweep_table(document));
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "run a scenario at each combination of parameter values, a process per point, and report "
      "them together (default scenario: the built-in one)");
  add_scenario_options(*cmd, options->scenario, options->sets);
  cmd->add_option("--param", options->params,
                  "a scenario key and its values, e.g. --param cost_model.invalidation=1000,3000 "
                  "(keys as --set takes them; repeat for the cross product)")
      ->type_name("KEY=VALUES")
      ->required();
  cmd->add_flag("--json", options->json,
                "print one JSON document (schema dmakit.sweep/1) holding each point's run");
  cmd->add_option("--jobs", options->jobs, "points run at once (default: hardware threads)")
      ->check(CLI::Range(1, 256));
  cmd->callback([options] { sweep(*options); });
}

}  // namespace dmakit::cli
