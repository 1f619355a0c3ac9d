// SPDX-License-Identifier: Apache-2.0
// The dmakit command.
//
// Exit statuses, the same for every subcommand:
//   0  done
//   1  a benchmark failed while it ran (a map or unmap failed, a result is missing)
//   2  bad configuration or command-line argument, or a command that could not run (a program it
//      needs is missing, a sweep point failed)
//   3  output could not be written (standard output or a --trace file: a full disk, a closed
//      file): that output is lost, the rest (the report) is still printed
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <system_error>

#include "commands.h"
#include "dmakit/core/config_error.h"
#include "dmakit/version.h"

namespace {

constexpr int kOutputLost = 3;

int output_lost(const std::string& reason) {
  fmt::print(stderr, "dmakit: cannot write the output: {}\n", reason);
  return kOutputLost;
}

// The first word names a subcommand; CLI11 would only say that one is required.
bool names_no_subcommand(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  std::string known;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->check_name(argv[1])) return false;
    known += fmt::format("{}{}", known.empty() ? "" : ", ", sub->get_name());
  }
  fmt::print(stderr, "dmakit: '{}' is not a command (commands: {}; see dmakit --help)\n", argv[1],
             known);
  return true;
}

int run(CLI::App& app, int argc, char** argv) {
  if (names_no_subcommand(app, argc, argv)) return 2;
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
  } catch (const dmakit::cli::OutputError& e) {
    return output_lost(e.what());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dmakit: DMA memory management and mapping over a simulated machine", "dmakit"};
  app.footer(
      "Exit status: 0 done; 1 a benchmark failed while it ran; 2 bad configuration or argument, "
      "or a command that could not run; 3 output (standard output or a file such as --trace) could "
      "not be written.");
  app.set_version_flag("--version", "dmakit " DMAKIT_VERSION_STRING);
  app.require_subcommand(1);
  dmakit::cli::add_run_command(app);
  dmakit::cli::add_sweep_command(app);
  dmakit::cli::add_layout_command(app);
  dmakit::cli::add_bench_command(app);
  int status = 0;
  try {
    status = run(app, argc, argv);
  } catch (const std::system_error& e) {
    // fmt::print throws this when a write to stdout fails part way; anything else is not ours.
    if (std::ferror(stdout) == 0) throw;
    return output_lost(e.code().message());
  }
  // Every command writes its output through stdout (std::cout shares its buffer): whatever a
  // write left in the buffer, or a failure it recorded, shows here, once for every command.
  errno = 0;
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  const int error = errno;
  if (!flushed || std::ferror(stdout) != 0 || !std::cout)
    return output_lost(error != 0 ? std::strerror(error) : "a write failed");
  return status;
}
