// SPDX-License-Identifier: Apache-2.0
// The subcommands of the dmakit program; each adds itself to the CLI11 application.
#pragma once

#include <CLI/CLI.hpp>

namespace dmakit::cli {

/// `dmakit layout [--config FILE] [--json]`: the machine's memory map, nodes, zones and free pages.
void add_layout_command(CLI::App& app);

/// `dmakit bench NAME [--json] [--min-time S] [--repetitions N]`: a named side-by-side comparison;
/// `dmakit bench map -t N -s S -n NODE -b BITS -d DIR -g PAGES -x NS [--mode M]`: Linux's
/// dma_map_benchmark on the simulated platform.
void add_bench_command(CLI::App& app);

/// `dmakit run [SCENARIO] [--json|--csv] [--trace FILE] [--set KEY=VALUE]`: the scenario runner.
void add_run_command(CLI::App& app);

}  // namespace dmakit::cli
