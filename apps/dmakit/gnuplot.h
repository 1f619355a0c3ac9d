// SPDX-License-Identifier: Apache-2.0
// Drawing a run's charts with gnuplot (`dmakit run --plot DIR`).
#pragma once

#include <string>

#include "dmakit/sim/plot.h"

namespace dmakit::cli {

/// Writes `plot`'s data files and script into `dir` (created when missing), then runs
/// `gnuplot plots.gp` there, which draws the charts. Throws CommandError when a file cannot be
/// written, when gnuplot is not installed (the files are written all the same, to draw later) or
/// when it fails (its messages quoted).
void draw_plot(const sim::Plot& plot, const std::string& dir);

}  // namespace dmakit::cli
