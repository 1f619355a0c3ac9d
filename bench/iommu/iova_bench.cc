// SPDX-License-Identifier: Apache-2.0
// IOVA alloc+free pairs with the per-thread range caches against the plain ordered tree they sit
// in front of (reference section 6.2), one and two threads.
//
// Both allocators get the same background first: 4096 ranges of 1 to 32 pages below 4 GiB, every
// other one freed again (and, with caches, flushed into the tree), so that searches walk past live
// ranges and holes as in a domain that has been in use for a while. Each thread then keeps a ring
// of 64 outstanding ranges and per iteration frees the oldest and allocates a new one of 1 to 32
// pages under a 32-bit limit, as dma-iommu does for a PCI device (the SAC attempt). The baseline
// runs the same requests with the caches off: every call takes the tree lock and searches.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <random>
#include <vector>

#include "bench_suite.h"
#include "dmakit/core/mask.h"
#include "dmakit/iommu/iova_allocator.h"

namespace dmakit::bench {
namespace {

constexpr std::size_t kRing = 64;
constexpr std::size_t kDraws = 4096;  // pre-drawn sizes, cycled
constexpr int kBackground = 4096;

std::unique_ptr<iommu::IovaAllocator>& allocator_slot(bool caches) {
  static std::array<std::unique_ptr<iommu::IovaAllocator>, 2> allocators;
  return allocators[caches ? 1 : 0];
}

std::vector<std::uint64_t> draws(unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> d(kDraws);
  for (std::uint64_t& pages : d) pages = 1 + rng() % 32;
  return d;
}

std::unique_ptr<iommu::IovaAllocator> make_allocator(bool caches) {
  iommu::IovaAllocatorConfig config;
  config.caches = caches;
  auto iova = std::make_unique<iommu::IovaAllocator>(config);
  const std::uint64_t limit = iova->limit_pfn_for_mask(dma_bit_mask(32));
  const std::vector<std::uint64_t> d = draws(1);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> held;
  for (int i = 0; i < kBackground; ++i) {
    const std::uint64_t pages = d[static_cast<std::size_t>(i) % kDraws];
    held.emplace_back(iova->alloc(pages, limit).value(), pages);
  }
  for (std::size_t i = 0; i < held.size(); i += 2) (void)iova->free(held[i].first, held[i].second);
  iova->flush_caches();
  return iova;
}

void alloc_free_pairs(benchmark::State& state, iommu::IovaAllocator& iova) {
  const std::uint64_t limit = iova.limit_pfn_for_mask(dma_bit_mask(32));
  const std::vector<std::uint64_t> d = draws(2 + static_cast<unsigned>(state.thread_index()));
  std::array<std::pair<std::uint64_t, std::uint64_t>, kRing> ring{};  // pfn, pages; 0 = empty
  const iommu::IovaStats before = iova.stats();
  std::size_t next = 0;
  for (auto _ : state) {
    auto& [pfn, pages] = ring[next % kRing];
    if (pfn != 0 && !iova.free(pfn, pages)) state.SkipWithError("free failed");
    pages = d[next++ % kDraws];
    const Result<std::uint64_t> got = iova.alloc(pages, limit);
    if (!got) state.SkipWithError("allocation failed");
    pfn = got.value_or(0);
    benchmark::DoNotOptimize(pfn);
  }
  for (const auto& [pfn, pages] : ring) {
    if (pfn != 0) (void)iova.free(pfn, pages);
  }
  if (state.thread_index() == 0 && iova.has_caches()) {
    // Both threads' calls, give or take the edges of the run.
    const iommu::IovaStats after = iova.stats();
    const double hits = static_cast<double>(after.cache_hits - before.cache_hits);
    const double misses = static_cast<double>(after.cache_misses - before.cache_misses);
    state.counters["cache_hit_rate"] = hits + misses == 0 ? 0.0 : hits / (hits + misses);
  }
}

void BM_IovaAllocator_AllocFree(benchmark::State& state) {
  alloc_free_pairs(state, *allocator_slot(/*caches=*/true));
}

void BM_IovaTree_AllocFree(benchmark::State& state) {
  alloc_free_pairs(state, *allocator_slot(/*caches=*/false));
}

}  // namespace

std::vector<Comparison> register_iova_benchmarks(const BenchOptions& options) {
  // Built before any timed thread starts.
  allocator_slot(true) = make_allocator(true);
  allocator_slot(false) = make_allocator(false);
  std::vector<Comparison> comparisons;
  for (const int threads : {1, options.threads}) {
    benchmark::RegisterBenchmark("BM_IovaAllocator_AllocFree", BM_IovaAllocator_AllocFree)
        ->Threads(threads)
        ->UseRealTime();
    benchmark::RegisterBenchmark("BM_IovaTree_AllocFree", BM_IovaTree_AllocFree)
        ->Threads(threads)
        ->UseRealTime();
    const std::string suffix = fmt::format("/real_time/threads:{}", threads);
    comparisons.push_back({"BM_IovaAllocator_AllocFree" + suffix, "BM_IovaTree_AllocFree" + suffix,
                           /*headline=*/threads != 1, /*throughput=*/true});
  }
  return comparisons;
}

}  // namespace dmakit::bench
