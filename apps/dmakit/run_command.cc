// SPDX-License-Identifier: Apache-2.0
// `dmakit run [SCENARIO]`: the main job. Runs a scenario under each strategy and prints the
// comparison (docs/scenarios.md explains how to read it).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "dmakit/core/config_error.h"
#include "dmakit/sim/plot.h"
#include "dmakit/sim/report.h"
#include "dmakit/sim/runner.h"
#include "dmakit/sim/scenario.h"
#include "gnuplot.h"
#include "scenario_input.h"

namespace dmakit::cli {
namespace {

struct Options {
  std::string scenario;  ///< empty: the built-in default
  std::vector<std::string> sets;
  bool json = false;
  bool csv = false;
  std::string trace;
  unsigned threads = 2;
  std::string plot;  ///< folder for the charts; empty: none
  std::string plot_format = "svg";
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

void run(const Options& o) {
  const ScenarioText text = scenario_text(o.scenario, o.sets);
  const sim::Scenario scenario = sim::parse_scenario(text.yaml, text.source);
  // The trace file is opened before the run, so that a path it cannot write costs no run.
  std::ofstream trace;
  if (!o.trace.empty()) {
    trace.open(o.trace);
    if (!trace)
      throw ConfigError("--trace", fmt::format("cannot open '{}' for writing: {}", o.trace,
                                               std::strerror(errno)));
  }
  std::vector<sim::TraceSpan> spans;
  ProgressBar bar;
  sim::RunOptions options;
  options.threads = o.threads;
  options.trace = o.trace.empty() ? nullptr : &spans;
  options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
  const sim::RunResult result = sim::run_scenario(scenario, options);
  if (o.json)
    fmt::print("{}\n", sim::to_json(result).dump(2));
  else if (o.csv)
    fmt::print("{}", sim::format_csv(result));
  else
    fmt::print("{}", sim::format_table(result));
  if (!o.trace.empty()) {
    std::fflush(stdout);  // the report is out whatever becomes of the trace
    sim::write_trace(trace, sim::trace_layout(scenario), spans);
    trace.close();
    if (!trace) throw OutputError(fmt::format("--trace '{}': the trace was not written", o.trace));
  }
  if (!o.plot.empty()) {
    std::fflush(stdout);  // the report comes first, whatever becomes of the charts
    const sim::Plot plot = sim::make_plot(
        result, o.plot_format == "png" ? sim::PlotFormat::Png : sim::PlotFormat::Svg);
    draw_plot(plot, o.plot);
    fmt::print(stderr, "dmakit: charts in {}: {} (redraw: gnuplot {} in that folder)\n", o.plot,
               fmt::join(plot.charts, ", "), sim::kPlotScript);
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "run a scenario under each DMA strategy and compare what each costs (default: the "
      "built-in scenario, configs/scenarios/default.yaml)");
  add_scenario_options(*cmd, options->scenario, options->sets);
  auto* json = cmd->add_flag("--json", options->json,
                             "print every figure as JSON (schema dmakit.run/1, docs/scenarios.md)");
  cmd->add_flag("--csv", options->csv, "print a CSV row per strategy and device")->excludes(json);
  cmd->add_option("--trace", options->trace,
                  "write a Chrome trace-event timeline (opens in ui.perfetto.dev) to FILE")
      ->type_name("FILE");
  cmd->add_option("--threads", options->threads,
                  "strategies run at once (the results do not depend on it)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--plot", options->plot,
                  "also draw charts with gnuplot into folder DIR: cost per I/O by cause per "
                  "strategy, IOTLB hit rate (data and plots.gp kept there to redraw)")
      ->type_name("DIR");
  cmd->add_option("--plot-format", options->plot_format, "svg (default) or png")
      ->check(CLI::IsMember({"svg", "png"}));
  cmd->callback([options] { run(*options); });
}

}  // namespace dmakit::cli
