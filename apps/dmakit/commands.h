// SPDX-License-Identifier: Apache-2.0
// The subcommands of the dmakit program; each adds itself to the CLI11 application.
#pragma once

#include <CLI/CLI.hpp>
#include <stdexcept>

namespace dmakit::cli {

/// A command that cannot finish for a reason other than its configuration (a program it needs is
/// missing, a child process failed). main prints the message and exits with status 2.
class CommandError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A file the command writes besides its report (a trace) could not be written. main prints the
/// message and exits with status 3, as for lost standard output; the report is printed first.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// `dmakit layout [--config FILE] [--json]`: the machine's memory map, nodes, zones and free pages.
void add_layout_command(CLI::App& app);

/// `dmakit bench NAME [--json] [--min-time S] [--repetitions N]`: a named side-by-side comparison;
/// `dmakit bench map -t N -s S -n NODE -b BITS -d DIR -g PAGES -x NS [--mode M]`: Linux's
/// dma_map_benchmark on the simulated platform.
void add_bench_command(CLI::App& app);

/// `dmakit run [SCENARIO] [--json|--csv] [--trace FILE] [--set KEY=VALUE] [--plot DIR]`: the
/// scenario runner.
void add_run_command(CLI::App& app);

/// `dmakit sweep [SCENARIO] --param KEY=V1,V2,... [--json] [--jobs N]`: a scenario run at each
/// point of a parameter grid, each in a process of its own, reported together.
void add_sweep_command(CLI::App& app);

}  // namespace dmakit::cli
