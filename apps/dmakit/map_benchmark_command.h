// SPDX-License-Identifier: Apache-2.0
// The kernel-shaped run of `dmakit bench map`: the parameters of Linux's dma_map_benchmark tool on
// the bench subcommand, and the run that prints its figures in the tool's shape.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "dma/map_benchmark.h"

namespace dmakit::cli {

/// The kernel tool's flags (-t -s -n -b -d -g -x, each with a long name) and --kernel-format, as
/// given on the command line.
struct KernelMapOptions {
  bench::MapBenchmarkParams params;
  bool kernel_format = false;
  std::vector<CLI::Option*> options;  ///< every flag above, to tell whether one was given

  /// The first of the flags that was given, or null: any of them asks for the kernel-shaped run.
  [[nodiscard]] const CLI::Option* first_given() const;
};

/// Adds the kernel tool's flags to `bench`.
std::shared_ptr<KernelMapOptions> add_kernel_map_options(CLI::App& bench);

/// Runs the kernel-shaped benchmark on the machine of `config` (the default machine when empty) in
/// `mode` (direct when empty) and prints the tool's three lines and dmakit's ratio line, or one
/// JSON object. Returns the exit status: 2 for a parameter the tool or the platform refuses, 1 when
/// a map or unmap failed during the run.
int run_kernel_map_benchmark(const KernelMapOptions& options, const std::string& config,
                             const std::string& mode, bool json);

}  // namespace dmakit::cli
