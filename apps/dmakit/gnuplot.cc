// SPDX-License-Identifier: Apache-2.0
// Drawing a run's charts with gnuplot (see gnuplot.h). The files are written before gnuplot runs
// so that a missing or failing gnuplot still leaves the figures and the script behind.
#include "gnuplot.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "child_process.h"
#include "commands.h"

namespace dmakit::cli {

void draw_plot(const sim::Plot& plot, const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    throw CommandError(fmt::format("--plot: cannot create folder '{}': {}", dir, error.message()));
  for (const sim::PlotFile& file : plot.files) {
    const std::filesystem::path path = std::filesystem::path(dir) / file.name;
    std::ofstream out(path);
    out << file.text;
    if (!out.flush()) throw CommandError(fmt::format("--plot: cannot write '{}'", path.string()));
  }
  std::vector<CommandResult> results;
  try {
    results = run_commands({{{"gnuplot", sim::kPlotScript}, dir}}, 1, /*stop_on_failure=*/true);
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::no_such_file_or_directory) throw;
    throw CommandError(fmt::format(
        "--plot: gnuplot is not installed (the Debian package gnuplot-nox; scripts/bootstrap.sh "
        "installs it). The report was printed and the data and script written to '{}': run "
        "`gnuplot {}` there to draw the charts",
        dir, sim::kPlotScript));
  }
  const CommandResult& gnuplot = results.front();
  if (gnuplot.exit_code != 0)
    throw CommandError(fmt::format("--plot: gnuplot failed on '{}/{}' (exit status {}):\n{}", dir,
                                   sim::kPlotScript, gnuplot.exit_code, gnuplot.err));
  // gnuplot's warnings (a chart it drew in part) are worth seeing even when it succeeds.
  if (!gnuplot.err.empty()) fmt::print(stderr, "{}", gnuplot.err);
}

}  // namespace dmakit::cli
