// SPDX-License-Identifier: Apache-2.0
// Google Benchmark entry point with every dmakit suite registered; `dmakit bench NAME` runs one
// suite and prints its ratios.
#include <benchmark/benchmark.h>

#include "bench_suite.h"

int main(int argc, char** argv) {
  for (const dmakit::bench::Suite& suite : dmakit::bench::suites())
    (void)suite.register_benchmarks({dmakit::machine::MachineConfig{}, suite.default_mode});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
