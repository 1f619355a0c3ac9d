// SPDX-License-Identifier: Apache-2.0
// The dmakit command.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "dmakit/core/config_error.h"

int main(int argc, char** argv) {
  CLI::App app{"dmakit: DMA memory management and mapping over a simulated machine"};
  app.require_subcommand(1);
  dmakit::cli::add_run_command(app);
  dmakit::cli::add_sweep_command(app);
  dmakit::cli::add_layout_command(app);
  dmakit::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const dmakit::ConfigError& e) {
    fmt::print(stderr, "dmakit: configuration error: {}\n", e.what());
    return 2;
  } catch (const dmakit::cli::CommandError& e) {
    fmt::print(stderr, "dmakit: {}\n", e.what());
    return 2;
  }
  return 0;
}
