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
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a command's own status, its message printed
  } catch (const CLI::ParseError& e) {
    // A bad argument exits with 2, as a bad configuration does (and getopt tools do); --help is 0.
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const dmakit::ConfigError& e) {
    fmt::print(stderr, "dmakit: configuration error: {}\n", e.what());
    return 2;
  } catch (const dmakit::cli::CommandError& e) {
    fmt::print(stderr, "dmakit: {}\n", e.what());
    return 2;
  }
  return 0;
}
