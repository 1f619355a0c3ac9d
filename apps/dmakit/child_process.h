// SPDX-License-Identifier: Apache-2.0
// Running other programs from the dmakit command: gnuplot for `run --plot`, and dmakit itself for
// each point of `sweep`. Their output is captured, never shown as it comes.
#pragma once

#include <string>
#include <vector>

namespace dmakit::cli {

/// A program to run: its name (searched on PATH unless it holds a '/') and arguments, and the
/// folder to run it in (empty: this process's own). Its standard input is /dev/null.
struct Command {
  std::vector<std::string> argv;
  std::string dir;
};

/// How a command ended, with what it wrote.
struct CommandResult {
  int exit_code = -1;    ///< its exit status; 128 + N when signal N ended it; -1: never started
  bool stopped = false;  ///< ended by run_commands because another command failed
  std::string out;       ///< its standard output
  std::string err;       ///< its standard error
};

/// Runs `commands`, at most `jobs` at a time, and returns their results in the same order. With
/// `stop_on_failure`, the first command to exit non-zero stops the rest: those running are sent
/// SIGTERM and marked `stopped`, those not started keep exit_code -1. Throws std::system_error
/// naming the program when one cannot be started (ENOENT: no such program), after ending the
/// others.
[[nodiscard]] std::vector<CommandResult> run_commands(const std::vector<Command>& commands,
                                                      unsigned jobs, bool stop_on_failure);

}  // namespace dmakit::cli
