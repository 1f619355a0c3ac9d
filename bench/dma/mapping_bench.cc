// SPDX-License-Identifier: Apache-2.0
// What per-device DMA ops cost (seed 004): single-page map+unmap pairs for a device with no ops
// (the inline direct path), the same through a trivial ops table (DirectOps: one indirect call),
// and through the full dispatch (map_single's CPU-pointer translation, the ops, and an attached
// no-op observer, the least a checker or tracer adds), one and two threads. The iommu-strict,
// iommu-lazy and passthrough modes measure the same pairs for a device in an IOMMU domain of that
// kind against the inline direct path. With --debug, the pairs for a device on a second machine
// whose platform has the misuse checker attached (each map recorded with its stack, each unmap
// matched and checked) against the inline direct path.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>

#include "bench_suite.h"
#include "dmakit/core/config_error.h"
#include "dmakit/debug/dma_debug.h"
#include "dmakit/dma/direct_ops.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/platform.h"
#include "dmakit/dma/strategy.h"
#include "dmakit/iommu/iommu.h"

namespace dmakit::bench {
namespace {

struct MapBench {
  machine::Machine machine;
  dma::Platform platform{machine};
  iommu::Iommu iommu{machine, {}};
  dma::DirectOps ops;
  dma::MappingObserver quiet;
  dma::Device plain{platform, "plain"};
  dma::Device with_ops{platform, "with-ops"};
  dma::Device observed{platform, "observed"};
  dma::Device behind_iommu{platform, "behind-iommu"};
  machine::Page* page;

  MapBench(const machine::MachineConfig& config, const std::string& mode) : machine(config) {
    with_ops.set_ops(&ops);
    observed.set_ops(&ops);
    observed.set_observer(&quiet);
    page = machine.page_allocator().alloc_pages(machine::kGfpDma32, 0).value();
    // Every mode but direct (checked by register_map_benchmarks) names a strategy with an IOMMU.
    if (mode != "direct") dma::place(behind_iommu, *value_of(dma::kStrategyNames, mode), &iommu);
  }
};

// A machine of its own for the checked device: the checker watches a whole platform.
struct CheckedBench {
  machine::Machine machine;
  dma::Platform platform{machine};
  dma::Device dev{platform, "checked"};
  machine::Page* page;

  CheckedBench(const machine::MachineConfig& config, int stack_depth) : machine(config) {
    debug::DmaDebugConfig quiet;
    quiet.action = debug::ReportAction::Count;
    quiet.stack_depth = stack_depth;
    debug::DmaDebug::attach(platform, quiet);
    page = machine.page_allocator().alloc_pages(machine::kGfpDma32, 0).value();
  }
};

// [0]: the default configuration, each map's stack kept; [1]: no stacks.
std::array<std::unique_ptr<CheckedBench>, 2>& checked_state() {
  static std::array<std::unique_ptr<CheckedBench>, 2> state;
  return state;
}

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

void BM_Map_Iommu(benchmark::State& state) {
  map_page_pairs(state, bench_state()->behind_iommu, bench_state()->page);
}

// A driver's pair on the checked device: map, mapping_error() (which the checker wants), unmap.
void checked_pairs(benchmark::State& state, CheckedBench& b) {
  for (auto _ : state) {
    const Result<DmaAddr> dma = dma::map_page(b.dev, b.page, 64, 1024, Direction::ToDevice);
    benchmark::DoNotOptimize(dma);
    if (!dma || dma::mapping_error(b.dev, *dma) ||
        !dma::unmap_page(b.dev, *dma, 1024, Direction::ToDevice))
      state.SkipWithError("mapping failed");
  }
  if (state.thread_index() == 0 && debug::DmaDebug::of(b.platform)->total_reports() != 0)
    state.SkipWithError("the checker reported a correct driver");
}

void BM_Map_Checked(benchmark::State& state) { checked_pairs(state, *checked_state()[0]); }

void BM_Map_CheckedNoStacks(benchmark::State& state) { checked_pairs(state, *checked_state()[1]); }

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
  const std::string& mode = options.mode;
  if (mode != "direct" && mode != "iommu-strict" && mode != "iommu-lazy" && mode != "passthrough")
    throw ConfigError("bench.mode",
                      fmt::format("'{}': the map suite has modes direct, iommu-strict, iommu-lazy "
                                  "and passthrough",
                                  mode));
  bench_state() = std::make_unique<MapBench>(options.machine, mode);
  if (options.debug) {
    checked_state()[0] =
        std::make_unique<CheckedBench>(options.machine, debug::DmaDebugConfig{}.stack_depth);
    checked_state()[1] = std::make_unique<CheckedBench>(options.machine, 0);
  }
  std::vector<Comparison> comparisons;
  for (const int threads : {1, options.threads}) {
    const std::string suffix = fmt::format("/real_time/threads:{}", threads);
    benchmark::RegisterBenchmark("BM_Map_NoOps", BM_Map_NoOps)->Threads(threads)->UseRealTime();
    if (options.debug) {
      benchmark::RegisterBenchmark("BM_Map_Checked", BM_Map_Checked)
          ->Threads(threads)
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_Map_CheckedNoStacks", BM_Map_CheckedNoStacks)
          ->Threads(threads)
          ->UseRealTime();
      comparisons.push_back(
          {"BM_Map_Checked" + suffix, "BM_Map_NoOps" + suffix, /*headline=*/threads == 1});
      comparisons.push_back({"BM_Map_CheckedNoStacks" + suffix, "BM_Map_NoOps" + suffix});
    }
    if (mode != "direct") {
      // The device behind the IOMMU against the inline direct path of the same run.
      benchmark::RegisterBenchmark("BM_Map_Iommu", BM_Map_Iommu)->Threads(threads)->UseRealTime();
      comparisons.push_back({"BM_Map_Iommu" + suffix, "BM_Map_NoOps" + suffix,
                             /*headline=*/threads == 1 && !options.debug});
      continue;
    }
    benchmark::RegisterBenchmark("BM_Map_TrivialOps", BM_Map_TrivialOps)
        ->Threads(threads)
        ->UseRealTime();
    benchmark::RegisterBenchmark("BM_Map_FullDispatch", BM_Map_FullDispatch)
        ->Threads(threads)
        ->UseRealTime();
    comparisons.push_back({"BM_Map_TrivialOps" + suffix, "BM_Map_NoOps" + suffix,
                           /*headline=*/threads == 1 && !options.debug});
    comparisons.push_back({"BM_Map_FullDispatch" + suffix, "BM_Map_NoOps" + suffix});
  }
  return comparisons;
}

}  // namespace dmakit::bench
