// SPDX-License-Identifier: Apache-2.0
// What bouncing costs (seed 001): map+unmap pairs of a 32-bit device's buffers at 40 GiB, which
// every time take a run of slots, copy, and give the slots back, against the bare copies the same
// bytes need. TO_DEVICE copies once (in at map); FROM_DEVICE copies in at map (so a device that
// writes part of the buffer cannot leak stale slot bytes, as Linux does since 2022) and out at
// unmap, so its baseline is two memcpys. Throughput ratios: at or near 1 means the slot
// bookkeeping is lost in the copy.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>

#include "bench_suite.h"
#include "dmakit/core/config_error.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/platform.h"

namespace dmakit::bench {
namespace {

constexpr std::uint64_t kMaxBytes = 256 * kKiB;

struct BounceBench {
  machine::Machine machine;
  dma::Platform platform{machine};
  dma::Device dev{platform, "dev32"};
  std::byte* buffer;  // at 40 GiB: beyond the device's 32 bits, so every map bounces
  std::byte* copy;    // a low buffer for the memcpy baseline

  explicit BounceBench(const machine::MachineConfig& config) : machine(config) {
    buffer = machine.memory().direct_map(PhysAddr(machine.layout().ram_end.value() - kMaxBytes));
    copy = machine.memory().direct_map(
        PhysAddr(machine.layout().ram.front().end.value() - 2 * kMaxBytes));
    std::memset(buffer, 0x5a, kMaxBytes);
    std::memset(copy, 0, kMaxBytes);
  }
};

std::unique_ptr<BounceBench>& bench_state() {
  static std::unique_ptr<BounceBench> state;
  return state;
}

void bounce_pairs(benchmark::State& state, Direction dir) {
  BounceBench& b = *bench_state();
  const auto size = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    const Result<DmaAddr> dma = dma::map_single(b.dev, b.buffer, size, dir);
    if (!dma || !dma::unmap_single(b.dev, *dma, size, dir)) state.SkipWithError("bounce failed");
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

void BM_Bounce_ToDevice(benchmark::State& state) { bounce_pairs(state, Direction::ToDevice); }
void BM_Bounce_FromDevice(benchmark::State& state) { bounce_pairs(state, Direction::FromDevice); }

void memcpy_times(benchmark::State& state, int copies) {
  BounceBench& b = *bench_state();
  const auto size = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < copies; ++i) std::memcpy(b.copy + (i % 2) * kMaxBytes, b.buffer, size);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(size));
}

void BM_Memcpy(benchmark::State& state) { memcpy_times(state, 1); }
void BM_Memcpy2x(benchmark::State& state) { memcpy_times(state, 2); }

}  // namespace

std::vector<Comparison> register_bounce_benchmarks(const BenchOptions& options) {
  machine::MachineConfig config = options.machine;
  config.ram_size = std::max<std::uint64_t>(config.ram_size, 64 * kGiB);
  bench_state() = std::make_unique<BounceBench>(config);
  if (bench_state()->platform.swiotlb() == nullptr)
    throw ConfigError("machine.swiotlb.size", "the bounce suite needs a bounce pool");
  std::vector<Comparison> comparisons;
  for (const std::int64_t size : {64, 256, 1024, 4096, 16384, 65536, 262144}) {
    using Fn = void (*)(benchmark::State&);
    for (const auto& [name, fn] : {std::pair<const char*, Fn>{"BM_Memcpy", BM_Memcpy},
                                   {"BM_Memcpy2x", BM_Memcpy2x},
                                   {"BM_Bounce_ToDevice", BM_Bounce_ToDevice},
                                   {"BM_Bounce_FromDevice", BM_Bounce_FromDevice}})
      benchmark::RegisterBenchmark(name, fn)->Arg(size);
  }
  // The headline, printed last: TO_DEVICE bounce throughput against memcpy at 64 KiB.
  for (const std::int64_t size : {64, 256, 1024, 4096, 16384, 262144, 65536}) {
    const std::string arg = fmt::format("/{}", size);
    comparisons.push_back({"BM_Bounce_FromDevice" + arg, "BM_Memcpy2x" + arg, false, true});
    comparisons.push_back({"BM_Bounce_ToDevice" + arg, "BM_Memcpy" + arg, size == 65536, true});
  }
  return comparisons;
}

}  // namespace dmakit::bench
