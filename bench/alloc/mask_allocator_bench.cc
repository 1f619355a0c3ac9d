// SPDX-License-Identifier: Apache-2.0
// The mask allocator against a power-of-two buddy allocator over a pool of the same size (the
// design seed 003 argues against), and the two pool searches against each other on tight-mask
// failures.
//
// Timing: a 64 MiB pool in force mode (every request goes to the pool) is filled with blocks of 1
// to 16 pages until it refuses, then random blocks are freed until 0%, 50% or 90% of its pages are
// in use, so the free space is scattered as in a pool that has run for a while. Each iteration then
// frees the oldest of a ring of 64 blocks and allocates a new one of 1 to 16 pages under a mask
// drawn from 24, 25 and 26 bits (a quarter, half and all of the pool). The buddy baseline does the
// same over a BuddyAllocator of 64 MiB behind one lock (the mask pool has one), rounding each
// request up to a power of two of pages; it cannot honour masks. Both count the bytes allocated
// beyond what was asked per allocation, and failed allocations.
//
// Tight-mask failures: a 1 GiB pool kept near 90% full by blocks of 1 to 16 pages under random
// masks of 24 to 32 bits; counts how many 24-bit requests fail under next-fit and under top-down
// search.
#include <benchmark/benchmark.h>

#include <array>
#include <bit>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "bench_suite.h"
#include "dmakit/alloc/mask_allocator.h"
#include "dmakit/machine/buddy_allocator.h"

namespace dmakit::bench {
namespace {

using machine::Page;

constexpr std::uint64_t kPoolBytes = 64 * kMiB;
constexpr std::uint64_t kPoolPages = kPoolBytes / kPageSize;
constexpr std::size_t kRing = 64;
constexpr std::size_t kDraws = 4096;  // pre-drawn sizes and masks, cycled

struct Draw {
  std::uint64_t pages;  // 1 to 16
  std::uint64_t mask;
};

std::vector<Draw> draws(unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<Draw> d(kDraws);
  for (Draw& x : d) x = {1 + rng() % 16, dma_bit_mask(24 + static_cast<unsigned>(rng() % 3))};
  return d;
}

machine::MachineConfig pool_machine(std::uint64_t pool, machine::MaskPoolSearch search) {
  machine::MachineConfig config;
  config.ram_size = 2 * kGiB;
  config.holes.clear();
  config.mask_pool_size = pool;
  config.mask_pool_force = true;
  config.mask_pool_search = search;
  config.vmalloc_size = 16 * kMiB;
  return config;
}

// Allocates until `alloc` refuses, then frees random blocks until at most `percent` of the pool's
// pages are in use. `alloc(draw)` returns a handle or nullopt, `free(handle)` the pages it held.
template <class Handle, class Alloc, class Free>
void occupy(int percent, Alloc&& alloc, Free&& free) {
  std::mt19937_64 rng(3);
  const std::vector<Draw> d = draws(1);
  std::vector<std::pair<Handle, std::uint64_t>> held;  // handle, pages it holds
  std::uint64_t used = 0;
  for (std::size_t i = 0;; ++i) {
    const Draw& x = d[i % kDraws];
    const std::optional<std::pair<Handle, std::uint64_t>> got = alloc(x);
    if (!got) break;
    held.push_back(*got);
    used += got->second;
  }
  const std::uint64_t target = kPoolPages * static_cast<std::uint64_t>(percent) / 100;
  while (used > target && !held.empty()) {
    const std::size_t victim = rng() % held.size();
    free(held[victim].first);
    used -= held[victim].second;
    held[victim] = held.back();
    held.pop_back();
  }
}

void BM_MaskAllocator_AllocFree(benchmark::State& state) {
  machine::Machine m(
      pool_machine(kPoolBytes, static_cast<machine::MaskPoolSearch>(state.range(1))));
  alloc::MaskAllocator mask(m);
  mask.set_warning_sink([](const std::string&) {});
  occupy<std::pair<Page*, std::uint64_t>>(
      static_cast<int>(state.range(0)),
      [&](const Draw& x)
          -> std::optional<std::pair<std::pair<Page*, std::uint64_t>, std::uint64_t>> {
        Result<Page*> p =
            mask.alloc_pages_mask(machine::kGfpNoWarn, x.pages * kPageSize, dma_bit_mask(26));
        if (!p) return std::nullopt;
        return std::pair{std::pair{*p, x.pages}, x.pages};
      },
      [&](std::pair<Page*, std::uint64_t> h) {
        (void)mask.free_pages_mask(h.first, h.second * kPageSize);
      });
  const std::vector<Draw> d = draws(2);
  std::array<std::pair<Page*, std::uint64_t>, kRing> ring{};
  std::size_t next = 0;
  std::uint64_t failures = 0;
  for (auto _ : state) {
    auto& [page, pages] = ring[next % kRing];
    if (page != nullptr) (void)mask.free_pages_mask(page, pages * kPageSize);
    const Draw& x = d[next++ % kDraws];
    page =
        mask.alloc_pages_mask(machine::kGfpNoWarn, x.pages * kPageSize, x.mask).value_or(nullptr);
    pages = x.pages;
    if (page == nullptr) ++failures;
  }
  // Sizes are whole pages, so anything beyond them is rounding; the mask allocator does none.
  state.counters["waste_bytes_per_alloc"] = 0;
  state.counters["failed_allocs"] = static_cast<double>(failures);
}

void BM_Pow2Buddy_AllocFree(benchmark::State& state) {
  std::vector<Page> mem_map(kPoolPages);
  machine::BuddyAllocator buddy(mem_map.data(), 0, kPoolPages);
  buddy.add_free_range(0, kPoolPages);
  std::mutex lock;
  auto order_of = [](std::uint64_t pages) {
    return static_cast<unsigned>(std::bit_width(pages - 1));
  };
  occupy<std::pair<Page*, unsigned>>(
      static_cast<int>(state.range(0)),
      [&](const Draw& x) -> std::optional<std::pair<std::pair<Page*, unsigned>, std::uint64_t>> {
        const unsigned order = order_of(x.pages);
        Page* p = buddy.alloc(order);
        if (p == nullptr) return std::nullopt;
        return std::pair{std::pair{p, order}, std::uint64_t{1} << order};
      },
      [&](std::pair<Page*, unsigned> h) { buddy.free(h.first, h.second); });
  const std::vector<Draw> d = draws(2);
  std::array<std::pair<Page*, unsigned>, kRing> ring{};
  std::size_t next = 0;
  std::uint64_t allocs = 0, failures = 0, waste = 0;
  for (auto _ : state) {
    auto& [page, order] = ring[next % kRing];
    if (page != nullptr) {
      const std::scoped_lock guard(lock);
      buddy.free(page, order);
    }
    const Draw& x = d[next++ % kDraws];
    order = order_of(x.pages);
    {
      const std::scoped_lock guard(lock);
      page = buddy.alloc(order);
    }
    ++allocs;
    if (page == nullptr)
      ++failures;
    else
      waste += ((std::uint64_t{1} << order) - x.pages) * kPageSize;
  }
  state.counters["waste_bytes_per_alloc"] =
      static_cast<double>(waste) / static_cast<double>(allocs - failures);
  state.counters["failed_allocs"] = static_cast<double>(failures);
}

void BM_MaskAllocator_TightMaskFailures(benchmark::State& state) {
  const auto search = static_cast<machine::MaskPoolSearch>(state.range(0));
  std::uint64_t tight = 0, tight_failed = 0;
  for (auto _ : state) {
    machine::Machine m(pool_machine(kGiB, search));
    alloc::MaskAllocator mask(m);
    mask.set_warning_sink([](const std::string&) {});
    std::mt19937_64 rng(7);
    std::vector<std::pair<Page*, std::uint64_t>> live;
    const std::uint64_t target = kGiB / kPageSize * 9 / 10;
    std::uint64_t used = 0;
    for (int step = 0; step < 100000; ++step) {
      if (used >= target || (!live.empty() && rng() % 4 == 0)) {
        const std::size_t victim = rng() % live.size();
        (void)mask.free_pages_mask(live[victim].first, live[victim].second * kPageSize);
        used -= live[victim].second;
        live[victim] = live.back();
        live.pop_back();
        continue;
      }
      const unsigned bits = 24 + static_cast<unsigned>(rng() % 9);
      const std::uint64_t pages = 1 + rng() % 16;
      Result<Page*> got =
          mask.alloc_pages_mask(machine::kGfpNoWarn, pages * kPageSize, dma_bit_mask(bits));
      if (bits == 24) {
        ++tight;
        if (!got) ++tight_failed;
      }
      if (got) {
        live.emplace_back(*got, pages);
        used += pages;
      }
    }
  }
  state.counters["tight_requests"] = static_cast<double>(tight);
  state.counters["tight_failures"] = static_cast<double>(tight_failed);
  state.counters["tight_failure_rate"] =
      tight == 0 ? 0.0 : static_cast<double>(tight_failed) / static_cast<double>(tight);
}

}  // namespace

std::vector<Comparison> register_mask_benchmarks(const BenchOptions&) {
  std::vector<Comparison> comparisons;
  const auto next_fit = static_cast<int>(machine::MaskPoolSearch::NextFit);
  const auto top_down = static_cast<int>(machine::MaskPoolSearch::TopDown);
  for (const int percent : {0, 50, 90}) {
    benchmark::RegisterBenchmark("BM_MaskAllocator_AllocFree", BM_MaskAllocator_AllocFree)
        ->ArgNames({"occupancy", "search"})
        ->Args({percent, next_fit})
        ->Args({percent, top_down});
    benchmark::RegisterBenchmark("BM_Pow2Buddy_AllocFree", BM_Pow2Buddy_AllocFree)
        ->ArgName("occupancy")
        ->Arg(percent);
    comparisons.push_back(
        {fmt::format("BM_MaskAllocator_AllocFree/occupancy:{}/search:{}", percent, next_fit),
         fmt::format("BM_Pow2Buddy_AllocFree/occupancy:{}", percent),
         /*headline=*/percent == 50});
  }
  // A simulation, not a timing: one run is the figure.
  benchmark::RegisterBenchmark("BM_MaskAllocator_TightMaskFailures",
                               BM_MaskAllocator_TightMaskFailures)
      ->ArgName("search")
      ->Arg(next_fit)
      ->Arg(top_down)
      ->Iterations(1)
      ->Repetitions(1);
  return comparisons;
}

}  // namespace dmakit::bench
