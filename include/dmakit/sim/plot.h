// SPDX-License-Identifier: Apache-2.0
// Charts of a scenario run (sim layer): the data files and the gnuplot script that draws them as
// SVG, for people who would rather look than read. Text only: `dmakit run --plot DIR` writes the
// files into DIR and runs gnuplot there; docs/scenarios.md shows the charts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dmakit/sim/results.h"

namespace dmakit::sim {

/// One file of a plot folder: its name in the folder and its text.
struct PlotFile {
  std::string name;
  std::string text;
};

/// What `gnuplot plots.gp`, run in the folder holding `files`, needs and draws.
struct Plot {
  std::vector<PlotFile> files;      ///< the data files (*.dat) and the script, last
  std::vector<std::string> charts;  ///< the SVG files the script writes, in order
};

/// The script's name in the plot folder.
inline constexpr const char* kPlotScript = "plots.gp";

/// What the charts are drawn as: SVG (gnuplot's svg terminal) or PNG (pngcairo).
enum class PlotFormat : std::uint8_t { Svg, Png };
/// "svg" or "png".
[[nodiscard]] const char* plot_extension(PlotFormat format);

/// The charts of `run`: CPU and device cycles per I/O, stacked by cause, a bar per strategy
/// grouped by device (cpu_cycles_per_io.svg, device_cycles_per_io.svg); and, when a device
/// translated through an IOTLB under some strategy, the hit rate of each device under each such
/// strategy (iotlb_hit_rate.svg). A device a strategy could not run shows as an empty bar whose
/// label ends in "n/a".
[[nodiscard]] Plot make_plot(const RunResult& run, PlotFormat format = PlotFormat::Svg);

}  // namespace dmakit::sim
