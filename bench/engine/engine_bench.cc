// SPDX-License-Identifier: Apache-2.0
// What offloading a copy costs and gives (seed 002): copy_async of 4 KiB to 4 MiB through an engine
// with one channel and with two, each keeping four copies in flight, against memcpy of the same
// buffers in the same run (throughput); and the submit-to-callback time of 64-byte copies,
// offloaded against done inline, with the median and 99th percentile of each kept as counters.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>

#include "bench_suite.h"
#include "dmakit/core/config_error.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/platform.h"
#include "dmakit/engine/async_tx.h"

namespace dmakit::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kMaxBytes = 4 * kMiB;
constexpr std::size_t kInFlight = 16;  // copies each engine run keeps going, one buffer pair each

engine::EngineConfig engine_config(unsigned channels, std::optional<std::uint64_t> threshold,
                                   engine::WaitMode wait = engine::WaitMode::Poll) {
  engine::EngineConfig config;
  config.channels = channels;
  config.inline_threshold = threshold;
  config.channel.wait = wait;
  return config;
}

struct EngineBench {
  machine::Machine machine;
  dma::Platform platform{machine};
  dma::Device dev{platform, "copy0"};
  std::array<machine::Page*, 2 * kInFlight> pages{};
  std::array<std::byte*, kInFlight> src{};
  std::array<std::byte*, kInFlight> dst{};

  explicit EngineBench(const machine::MachineConfig& config) : machine(config) {
    (void)dev.set_dma_mask(dma_bit_mask(64));
    for (std::size_t i = 0; i < pages.size(); ++i) {
      Result<machine::Page*> p =
          machine.page_allocator().alloc_pages_exact(machine::kGfpKernel, kMaxBytes);
      if (!p) throw ConfigError("machine.ram", "the engine suite needs 128 MiB of free memory");
      pages[i] = *p;
      std::byte* cpu = machine.page_address(*p);
      std::memset(cpu, static_cast<int>(i), kMaxBytes);
      (i < kInFlight ? src[i] : dst[i - kInFlight]) = cpu;
    }
  }
  ~EngineBench() {
    for (machine::Page* p : pages) (void)machine.page_allocator().free_pages_exact(p, kMaxBytes);
  }
};

std::unique_ptr<EngineBench>& bench_state() {
  static std::unique_ptr<EngineBench> state;
  return state;
}

void BM_Memcpy(benchmark::State& state) {
  EngineBench& b = *bench_state();
  const auto size = static_cast<std::size_t>(state.range(0));
  std::size_t i = 0;
  for (auto _ : state) {
    std::memcpy(b.dst[i % kInFlight], b.src[i % kInFlight], size);
    ++i;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(size));
}

// Keeps kInFlight copies going: each iteration waits for the oldest and starts the next one in its
// buffers, so the time per iteration is the engine's throughput, not its latency.
// Threshold 0: every copy goes to a channel, whatever its size.
void copy_async_pipeline(benchmark::State& state, unsigned channels) {
  EngineBench& b = *bench_state();
  engine::DmaEngine engine(b.dev, engine_config(channels, 0));
  engine::AsyncTx tx(engine);
  const auto size = static_cast<std::uint64_t>(state.range(0));
  std::array<engine::TxHandle, kInFlight> in_flight;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t slot = i++ % kInFlight;
    if (!in_flight[slot].wait()) state.SkipWithError("copy failed");
    in_flight[slot] = tx.copy_async(b.dst[slot], b.src[slot], size, nullptr, nullptr);
  }
  for (const engine::TxHandle& h : in_flight) {
    if (!h.wait()) state.SkipWithError("copy failed");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

void BM_CopyAsync_OneChannel(benchmark::State& state) { copy_async_pipeline(state, 1); }
void BM_CopyAsync_TwoChannels(benchmark::State& state) { copy_async_pipeline(state, 2); }

// One 64-byte copy at a time: the time from the call to the start of its callback, polled without
// sleeping. The median and 99th percentile go to counters.
void submit_to_callback(benchmark::State& state, const engine::EngineConfig& config) {
  EngineBench& b = *bench_state();
  engine::DmaEngine engine(b.dev, config);
  engine::AsyncTx tx(engine);
  struct Stamp {
    std::atomic<bool> done{false};
    Clock::time_point at;
  } stamp;
  std::vector<double> samples;
  samples.reserve(1 << 20);
  for (auto _ : state) {
    stamp.done.store(false, std::memory_order_relaxed);
    const Clock::time_point start = Clock::now();
    (void)tx.copy_async(
        b.dst[0], b.src[0], 64,
        [](void* context, const engine::Completion&) {
          auto* s = static_cast<Stamp*>(context);
          s->at = Clock::now();
          s->done.store(true, std::memory_order_release);
        },
        &stamp);
    while (!stamp.done.load(std::memory_order_acquire)) {
    }
    if (samples.size() < samples.capacity())
      samples.push_back(std::chrono::duration<double, std::nano>(stamp.at - start).count());
  }
  if (samples.empty()) return;
  std::ranges::sort(samples);
  state.counters["p50_ns"] = samples[samples.size() / 2];
  state.counters["p99_ns"] = samples[samples.size() * 99 / 100];
}

void BM_SubmitToCallback_Offloaded(benchmark::State& state) {
  submit_to_callback(state, engine_config(1, 0));
}
void BM_SubmitToCallback_OffloadedBlocking(benchmark::State& state) {
  submit_to_callback(state, engine_config(1, 0, engine::WaitMode::Block));
}
void BM_SubmitToCallback_Inline(benchmark::State& state) {
  submit_to_callback(state, engine_config(1, ~std::uint64_t{0}));
  // What the start-up calibration picks on this host (measured once per process).
  engine::DmaEngine measured(bench_state()->dev, engine_config(1, std::nullopt));
  state.counters["measured_threshold_bytes"] =
      static_cast<double>(engine::AsyncTx(measured).inline_threshold());
}

}  // namespace

std::vector<Comparison> register_engine_benchmarks(const BenchOptions& options) {
  bench_state() = std::make_unique<EngineBench>(options.machine);
  const std::vector<std::int64_t> sizes = {4096, 16384, 65536, 262144, 1048576, 4194304};
  for (const std::int64_t size : sizes) {
    using Fn = void (*)(benchmark::State&);
    for (const auto& [name, fn] : {std::pair<const char*, Fn>{"BM_Memcpy", BM_Memcpy},
                                   {"BM_CopyAsync_OneChannel", BM_CopyAsync_OneChannel},
                                   {"BM_CopyAsync_TwoChannels", BM_CopyAsync_TwoChannels}})
      benchmark::RegisterBenchmark(name, fn)->Arg(size)->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_SubmitToCallback_Offloaded", BM_SubmitToCallback_Offloaded)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_SubmitToCallback_OffloadedBlocking",
                               BM_SubmitToCallback_OffloadedBlocking)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_SubmitToCallback_Inline", BM_SubmitToCallback_Inline)
      ->UseRealTime();
  std::vector<Comparison> comparisons = {
      {"BM_SubmitToCallback_Offloaded/real_time", "BM_SubmitToCallback_Inline/real_time"},
      {"BM_SubmitToCallback_OffloadedBlocking/real_time", "BM_SubmitToCallback_Inline/real_time"}};
  for (const std::int64_t size : sizes) {
    const std::string arg = fmt::format("/{}/real_time", size);
    comparisons.push_back({"BM_CopyAsync_TwoChannels" + arg, "BM_Memcpy" + arg, false, true});
    comparisons.push_back(
        {"BM_CopyAsync_OneChannel" + arg, "BM_Memcpy" + arg, size == 1048576, true});
  }
  return comparisons;
}

}  // namespace dmakit::bench
