// SPDX-License-Identifier: Apache-2.0
// What per-device DMA ops cost (seed 004): single-page map+unmap pairs for a device with no ops
// (the inline direct path), the same through a trivial ops table (DirectOps: one indirect call),
// and through the full dispatch (map_single's CPU-pointer translation, the ops, and an attached
// no-op observer, the least a checker or tracer adds), one and two threads.
#include <benchmark/benchmark.h>

#include <memory>

#include "bench_suite.h"
#include "dmakit/core/config_error.h"
#include "dmakit/dma/direct_ops.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/platform.h"

namespace dmakit::bench {
namespace {

struct MapBench {
  machine::Machine machine;
  dma::Platform platform{machine};
  dma::DirectOps ops;
  dma::MappingObserver quiet;
  dma::Device plain{platform, "plain"};
  dma::Device with_ops{platform, "with-ops"};
  dma::Device observed{platform, "observed"};
  machine::Page* page;

  explicit MapBench(const machine::MachineConfig& config) : machine(config) {
    with_ops.set_ops(&ops);
    observed.set_ops(&ops);
    observed.set_observer(&quiet);
    page = machine.page_allocator().alloc_pages(machine::kGfpDma32, 0).value();
  }
};

std::unique_ptr<MapBench>& bench_state() {
  static std::unique_ptr<MapBench> state;
  return state;
}

// map_page + unmap_page pairs on `dev` (no ops, or the trivial ops table).
void map_page_pairs(benchmark::State& state, dma::Device& dev, machine::Page* page) {
  for (auto _ : state) {
    const Result<DmaAddr> dma = dma::map_page(dev, page, 64, 1024, Direction::ToDevice);
    benchmark::DoNotOptimize(dma);
    if (!dma || !dma::unmap_page(dev, *dma, 1024, Direction::ToDevice))
      state.SkipWithError("mapping failed");
  }
}

void BM_Map_NoOps(benchmark::State& state) {
  map_page_pairs(state, bench_state()->plain, bench_state()->page);
}

void BM_Map_TrivialOps(benchmark::State& state) {
  map_page_pairs(state, bench_state()->with_ops, bench_state()->page);
}

void BM_Map_FullDispatch(benchmark::State& state) {
  MapBench& b = *bench_state();
  const std::byte* cpu = b.machine.page_address(b.page) + 64;
  for (auto _ : state) {
    const Result<DmaAddr> dma = dma::map_single(b.observed, cpu, 1024, Direction::ToDevice);
    benchmark::DoNotOptimize(dma);
    if (!dma || !dma::unmap_single(b.observed, *dma, 1024, Direction::ToDevice))
      state.SkipWithError("mapping failed");
  }
}

}  // namespace

std::vector<Comparison> register_map_benchmarks(const BenchOptions& options) {
  if (options.mode != "direct")
    throw ConfigError("bench.mode",
                      fmt::format("'{}': the map suite has mode direct", options.mode));
  bench_state() = std::make_unique<MapBench>(options.machine);
  std::vector<Comparison> comparisons;
  for (const int threads : {1, 2}) {
    benchmark::RegisterBenchmark("BM_Map_NoOps", BM_Map_NoOps)->Threads(threads)->UseRealTime();
    benchmark::RegisterBenchmark("BM_Map_TrivialOps", BM_Map_TrivialOps)
        ->Threads(threads)
        ->UseRealTime();
    benchmark::RegisterBenchmark("BM_Map_FullDispatch", BM_Map_FullDispatch)
        ->Threads(threads)
        ->UseRealTime();
    const std::string suffix = fmt::format("/real_time/threads:{}", threads);
    comparisons.push_back(
        {"BM_Map_TrivialOps" + suffix, "BM_Map_NoOps" + suffix, /*headline=*/threads == 1});
    comparisons.push_back({"BM_Map_FullDispatch" + suffix, "BM_Map_NoOps" + suffix});
  }
  return comparisons;
}

}  // namespace dmakit::bench
