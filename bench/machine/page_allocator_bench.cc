// SPDX-License-Identifier: Apache-2.0
// Page allocator alloc+free pairs against malloc/free of the same sizes, one and two threads.
//
// Each thread keeps a ring of kLive outstanding blocks and, per iteration, frees the oldest and
// allocates a new one: blocks live a while, as I/O buffers do, instead of the same block bouncing
// in and out of a cache. The baseline does exactly the same with malloc/free.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <memory>

#include "bench_suite.h"
#include "dmakit/machine/machine.h"

namespace dmakit::bench {
namespace {

constexpr std::size_t kLive = 64;

std::unique_ptr<machine::Machine>& bench_machine_slot() {
  static std::unique_ptr<machine::Machine> machine;
  return machine;
}

machine::Machine& bench_machine() { return *bench_machine_slot(); }

void BM_PageAllocator_AllocFree(benchmark::State& state) {
  const auto order = static_cast<unsigned>(state.range(0));
  machine::PageAllocator& pages = bench_machine().page_allocator();
  std::array<machine::Page*, kLive> ring{};
  std::size_t next = 0;
  for (auto _ : state) {
    machine::Page*& slot = ring[next++ % kLive];
    if (slot != nullptr && !pages.free_pages(slot, order)) state.SkipWithError("free failed");
    Result<machine::Page*> page = pages.alloc_pages(machine::kGfpKernel, order);
    if (!page) state.SkipWithError("allocation failed");
    slot = page.value_or(nullptr);
    benchmark::DoNotOptimize(slot);
  }
  for (machine::Page* page : ring) {
    if (page != nullptr) (void)pages.free_pages(page, order);
  }
}

void BM_Malloc_AllocFree(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  std::array<void*, kLive> ring{};
  std::size_t next = 0;
  for (auto _ : state) {
    void*& slot = ring[next++ % kLive];
    std::free(slot);
    slot = std::malloc(bytes);
    benchmark::DoNotOptimize(slot);
  }
  for (void* p : ring) std::free(p);
}

}  // namespace

std::vector<Comparison> register_buddy_benchmarks(const BenchOptions& options) {
  std::vector<Comparison> comparisons;
  // Built before any timed thread starts.
  bench_machine_slot() = std::make_unique<machine::Machine>(options.machine);
  for (const int threads : {1, options.threads}) {
    for (const unsigned order : {0u, 3u}) {
      const auto bytes = static_cast<std::int64_t>(kPageSize << order);
      benchmark::RegisterBenchmark("BM_PageAllocator_AllocFree", BM_PageAllocator_AllocFree)
          ->ArgName("order")
          ->Arg(order)
          ->Threads(threads)
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_Malloc_AllocFree", BM_Malloc_AllocFree)
          ->ArgName("bytes")
          ->Arg(bytes)
          ->Threads(threads)
          ->UseRealTime();
      comparisons.push_back(
          {fmt::format("BM_PageAllocator_AllocFree/order:{}/real_time/threads:{}", order, threads),
           fmt::format("BM_Malloc_AllocFree/bytes:{}/real_time/threads:{}", bytes, threads)});
    }
  }
  return comparisons;
}

}  // namespace dmakit::bench
