// SPDX-License-Identifier: Apache-2.0
// Linux's dma_map_benchmark over a simulated platform (see map_benchmark.h).
//
// How the kernel measures, and what is kept: its driver starts the threads, releases them
// together, sleeps for the given seconds and stops them. Each thread owns a buffer of `granule`
// pages and loops: write the buffer (unless the device only writes it: a dirty cache is what a
// real TO_DEVICE or BIDIRECTIONAL mapping has to deal with), time dma_map_single, spend the
// transfer time in a busy wait (ndelay), time dma_unmap_single. The average and the population
// standard deviation are over all loops of all threads. Here the clock is the host's steady clock,
// and the samples are accumulated in nanoseconds with Welford's update (merged across threads),
// where the kernel sums whole 100 ns units and their squares in shared atomics.
//
// What dmakit adds: the platform mode (where the buffers lie and what the device is behind), and
// two baselines run right after the measurement with the same threads, buffers, transfer time and
// timed loop: the direct path of a 64-bit device with no IOMMU, and a memcpy of the granule. Both
// include the clock's own cost as the measured calls do, so the ratios compare like with like.
#include "dma/map_benchmark.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <latch>
#include <thread>
#include <vector>

#include "dmakit/core/config_error.h"
#include "dmakit/dma/coherent.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/platform.h"
#include "dmakit/dma/strategy.h"
#include "dmakit/iommu/iommu.h"

namespace dmakit::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::array<std::string_view, 6> kModes = {"direct",       "bounce",     "force-bounce",
                                                    "iommu-strict", "iommu-lazy", "passthrough"};

/// What the CPU writes into a buffer before each map, so the map meets dirty cache lines.
constexpr int kStain = 0xa5;

// Welford's running mean and variance, merged across threads by Chan et al.'s rule (no sum of
// squares that could overflow or cancel over a long run), and a histogram for the percentiles:
// exact below 64 ns, then 32 buckets per power of two (within 1/32 of the value), so a sample
// costs one increment.
class LatencySamples {
 public:
  LatencySamples() : buckets_(kBuckets) {}

  void add(std::uint64_t ns) {
    ++count_;
    const auto x = static_cast<double>(ns);
    const double delta = x - mean_;
    mean_ += delta / static_cast<double>(count_);
    m2_ += delta * (x - mean_);
    ++buckets_[bucket_of(ns)];
  }
  void merge(const LatencySamples& other) {
    if (other.count_ == 0) return;
    const auto n = static_cast<double>(count_);
    const auto m = static_cast<double>(other.count_);
    const double delta = other.mean_ - mean_;
    mean_ += delta * m / (n + m);
    m2_ += other.m2_ + delta * delta * n * m / (n + m);
    count_ += other.count_;
    for (std::size_t b = 0; b < kBuckets; ++b) buckets_[b] += other.buckets_[b];
  }
  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] Latency latency() const {
    if (count_ == 0) return {};
    return {mean_, std::sqrt(m2_ / static_cast<double>(count_)), percentile(0.5), percentile(0.99)};
  }

 private:
  static constexpr unsigned kExact = 64;  // 2^kExactBits
  static constexpr unsigned kExactBits = 6;
  static constexpr unsigned kSubBits = 5;   // 32 buckets per power of two
  static constexpr unsigned kTopBits = 42;  // samples of 2^42 ns (73 min) and more share one
  static constexpr std::size_t kBuckets = kExact + (kTopBits - kExactBits) * (1u << kSubBits);

  static std::size_t bucket_of(std::uint64_t ns) {
    if (ns < kExact) return ns;
    const unsigned top = std::min<unsigned>(std::bit_width(ns) - 1, kTopBits - 1);
    const std::uint64_t sub =
        (std::min(ns, (std::uint64_t{2} << top) - 1) >> (top - kSubBits)) & ((1u << kSubBits) - 1);
    return kExact + (top - kExactBits) * (1u << kSubBits) + sub;
  }
  // The middle of a bucket's range.
  static double value_of(std::size_t bucket) {
    if (bucket < kExact) return static_cast<double>(bucket);
    const std::size_t top = kExactBits + (bucket - kExact) / (1u << kSubBits);
    const std::size_t sub = (bucket - kExact) % (1u << kSubBits);
    const double width = std::ldexp(1.0, static_cast<int>(top - kSubBits));
    return static_cast<double>((1u << kSubBits) + sub) * width + width / 2;
  }
  [[nodiscard]] double percentile(double q) const {
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      seen += buckets_[b];
      if (seen >= std::max<std::uint64_t>(rank, 1)) return value_of(b);
    }
    return value_of(kBuckets - 1);
  }

  std::uint64_t count_ = 0;
  double mean_ = 0;
  double m2_ = 0;
  std::vector<std::uint64_t> buckets_;
};

struct ThreadTally {
  LatencySamples first;
  LatencySamples second;
  std::string error;
};

std::uint64_t elapsed_ns(Clock::time_point from, Clock::time_point to) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

// The kernel's ndelay(): a busy wait, so the thread keeps its CPU as it would while a device moves
// the data.
void spin_for(std::chrono::nanoseconds wait) {
  if (wait.count() == 0) return;
  const Clock::time_point until = Clock::now() + wait;
  while (Clock::now() < until) {
  }
}

// One thread's loop until `stop`: `prepare` and `between` untimed, `first` and `second` timed each
// on its own. A call that returns false has put its error in the tally; the loop is not counted
// and every thread stops.
template <class Prepare, class First, class Between, class Second>
void time_pairs(std::atomic<bool>& stop, ThreadTally& tally, Prepare prepare, First first,
                Between between, Second second) {
  while (!stop.load(std::memory_order_relaxed)) {
    prepare();
    const Clock::time_point t0 = Clock::now();
    const bool first_ok = first();
    const Clock::time_point t1 = Clock::now();
    if (first_ok) between();
    const Clock::time_point t2 = Clock::now();
    const bool second_ok = first_ok && second();
    const Clock::time_point t3 = Clock::now();
    if (!second_ok) {
      stop.store(true, std::memory_order_relaxed);
      return;
    }
    tally.first.add(elapsed_ns(t0, t1));
    tally.second.add(elapsed_ns(t2, t3));
  }
}

// Runs `body(thread, stop, tally)` on `threads` threads released together (on `node`, when one is
// given), stops them after `duration` or at the first failure, and merges their tallies.
template <class Body>
TimedPairs run_phase(int threads, int node, Clock::duration duration, std::string& error,
                     Body body) {
  std::vector<ThreadTally> tallies(static_cast<std::size_t>(threads));
  std::atomic<bool> stop{false};
  std::latch start(threads + 1);
  std::vector<std::thread> workers;
  workers.reserve(tallies.size());
  try {
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        if (node >= 0) machine::set_thread_node(static_cast<unsigned>(node));
        start.arrive_and_wait();
        body(t, stop, tallies[static_cast<std::size_t>(t)]);
      });
  } catch (const std::system_error& e) {
    stop.store(true);
    start.count_down(threads - static_cast<int>(workers.size()) + 1);
    for (std::thread& w : workers) w.join();
    throw ConfigError("-t/--map-threads", fmt::format("could not start thread {} of {}: {}",
                                                      workers.size(), threads, e.what()));
  }
  start.arrive_and_wait();
  const Clock::time_point begin = Clock::now();
  const Clock::time_point end = begin + duration;
  // Short sleeps, so that a failed thread ends the phase at once.
  for (Clock::time_point now = begin; now < end && !stop.load(); now = Clock::now())
    std::this_thread::sleep_for(
        std::min<Clock::duration>(end - now, std::chrono::milliseconds(10)));
  stop.store(true);
  for (std::thread& w : workers) w.join();

  TimedPairs pairs;
  pairs.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  LatencySamples first;
  LatencySamples second;
  for (const ThreadTally& tally : tallies) {
    first.merge(tally.first);
    second.merge(tally.second);
    if (error.empty()) error = tally.error;
  }
  pairs.loops = first.count();
  pairs.first = first.latency();
  pairs.second = second.latency();
  return pairs;
}

void check_range(const char* flag, std::int64_t value, std::int64_t low, std::int64_t high) {
  if (value < low || value > high)
    throw ConfigError(flag, fmt::format("must be {} to {}, not {}", low, high, value));
}

// The kernel tool's own checks, before anything is built.
void check_params(const MapBenchmarkParams& p) {
  check_range("-t/--map-threads", p.threads, 1, kMapBenchmarkMaxThreads);
  check_range("-s/--seconds", p.seconds, 1, kMapBenchmarkMaxSeconds);
  check_range("-x/--transfer-ns", p.transfer_ns, 0, kMapBenchmarkMaxTransferNs);
  check_range("-b/--dma-bits", p.dma_bits, kMapBenchmarkMinDmaBits, 64);
  if (p.dir < 0 || p.dir > 2)
    throw ConfigError("-d/--dir", fmt::format("must be 0 (BIDIRECTIONAL), 1 (TO_DEVICE) or 2 "
                                              "(FROM_DEVICE), not {}",
                                              p.dir));
  check_range("-g/--granule", p.granule, 1, kMapBenchmarkMaxGranule);
  if (p.node < -1)
    throw ConfigError(
        "-n/--node", fmt::format("must be -1 (any node) or a node of the machine, not {}", p.node));
  if (std::find(kModes.begin(), kModes.end(), p.mode) == kModes.end())
    throw ConfigError("--mode", fmt::format("'{}': must be one of {}", p.mode,
                                            fmt::join(kModes.begin(), kModes.end(), ", ")));
}

// One thread's buffer in the simulated machine, and a host buffer of the same size for the memcpy
// baseline.
struct ThreadBuffer {
  std::byte* cpu = nullptr;
  machine::Page* page = nullptr;  ///< from the page allocator; null for alloc_coherent's memory
  DmaAddr handle;                 ///< alloc_coherent's bus address
  std::vector<std::byte> copy;
};

// The platform of one run: the measured device set up for the mode, the baseline device, and the
// threads' buffers, placed as the mode needs them.
class MapBenchmarkRig {
 public:
  MapBenchmarkRig(const machine::MachineConfig& config, const MapBenchmarkParams& params)
      : params_(params),
        bytes_(static_cast<std::uint64_t>(params.granule) * kPageSize),
        dir_(static_cast<Direction>(params.dir)),
        machine_(config) {
    if (const std::size_t nodes = machine_.nodes().size(); params.node >= static_cast<int>(nodes))
      throw ConfigError("-n/--node",
                        fmt::format("must be -1 (any node) or a node of the machine (0 to {}), "
                                    "not {}",
                                    nodes - 1, params.node));
    set_up_measured();
    // The baseline reaches every buffer and never bounces, whatever the machine's swiotlb says.
    direct_.set_force_bounce(false);
    if (!direct_.set_dma_mask(dma_bit_mask(64)))
      throw ConfigError("machine", "a 64-bit device cannot map on this machine");
    buffers_.resize(static_cast<std::size_t>(params.threads));
    try {
      for (std::size_t t = 0; t < buffers_.size(); ++t) place(t, buffers_[t]);
    } catch (const ConfigError&) {
      release();
      throw;
    }
  }

  ~MapBenchmarkRig() { release(); }

  MapBenchmarkRig(const MapBenchmarkRig&) = delete;
  MapBenchmarkRig& operator=(const MapBenchmarkRig&) = delete;

  dma::Device& measured() { return measured_; }
  dma::Device& direct() { return direct_; }

  [[nodiscard]] std::uint64_t bounced_maps() const {
    return platform_.swiotlb() != nullptr ? platform_.swiotlb()->stats().mappings_bounced : 0;
  }

  // The kernel's loop on `dev`: map, the transfer time, unmap.
  TimedPairs map_unmap(dma::Device& dev, Clock::duration duration, std::string& error) {
    return run_phase(params_.threads, params_.node, duration, error,
                     [&](int t, std::atomic<bool>& stop, ThreadTally& tally) {
                       std::byte* const cpu = buffers_[static_cast<std::size_t>(t)].cpu;
                       DmaAddr dma;
                       time_pairs(
                           stop, tally, [&] { stain(cpu); },
                           [&] {
                             const Result<DmaAddr> mapped = dma::map_single(dev, cpu, bytes_, dir_);
                             if (!mapped) [[unlikely]] {
                               tally.error = fmt::format("map_single on {} failed in thread {}: {}",
                                                         dev.name(), t, mapped.error().to_string());
                               return false;
                             }
                             dma = *mapped;
                             return true;
                           },
                           [&] { spin_for(transfer()); },
                           [&] {
                             const Status unmapped = dma::unmap_single(dev, dma, bytes_, dir_);
                             if (!unmapped) [[unlikely]] {
                               tally.error =
                                   fmt::format("unmap_single on {} failed in thread {}: {}",
                                               dev.name(), t, unmapped.error().to_string());
                               return false;
                             }
                             return true;
                           });
                     });
  }

  // The same loop with a memcpy of each thread's buffer for the map and an empty timed call (the
  // clock's own cost) for the unmap.
  TimedPairs copy(Clock::duration duration, std::string& error) {
    return run_phase(params_.threads, params_.node, duration, error,
                     [&](int t, std::atomic<bool>& stop, ThreadTally& tally) {
                       ThreadBuffer& b = buffers_[static_cast<std::size_t>(t)];
                       time_pairs(
                           stop, tally, [&] { stain(b.cpu); },
                           [&] {
                             std::memcpy(b.copy.data(), b.cpu, bytes_);
                             benchmark::ClobberMemory();
                             return true;
                           },
                           [&] { spin_for(transfer()); }, [] { return true; });
                     });
  }

 private:
  [[nodiscard]] bool bounces() const {
    return params_.mode == "bounce" || params_.mode == "force-bounce";
  }
  // The buffer lies under the mask: the modes that must not bounce, and force-bounce, which
  // bounces a buffer it could have reached.
  [[nodiscard]] bool reachable_buffers() const {
    return params_.mode == "direct" || params_.mode == "force-bounce" ||
           params_.mode == "passthrough";
  }

  void release() {
    for (ThreadBuffer& b : buffers_) {
      if (b.page != nullptr)
        (void)machine_.page_allocator().free_pages_exact(b.page, bytes_);
      else if (b.cpu != nullptr)
        (void)dma::free_coherent(measured_, bytes_, b.cpu, b.handle);
      b = ThreadBuffer{};
    }
  }

  [[nodiscard]] std::chrono::nanoseconds transfer() const {
    return std::chrono::nanoseconds(params_.transfer_ns);
  }

  void stain(std::byte* cpu) const {
    if (dir_ != Direction::FromDevice) std::memset(cpu, kStain, bytes_);
  }

  void set_up_measured() {
    const std::string& mode = params_.mode;
    // "direct" and "bounce" place the device as the bounce strategy does; they differ in where
    // the buffer lies (bounces()).
    const std::optional<dma::Strategy> strategy = value_of(dma::kStrategyNames, mode);
    const dma::Strategy s = strategy.value_or(dma::Strategy::Bounce);
    dma::place(measured_, s, dma::uses_iommu(s) ? &platform_.add_iommu({}) : nullptr);
    if (bounces() && platform_.swiotlb() == nullptr)
      throw ConfigError("--mode", fmt::format("'{}' needs a bounce pool, and the machine has none "
                                              "(machine.swiotlb.size is 0)",
                                              mode));
    if (const Status set = measured_.set_dma_mask_and_coherent(
            dma_bit_mask(static_cast<unsigned>(params_.dma_bits)));
        !set)
      throw ConfigError("-b/--dma-bits",
                        fmt::format("{}: {}", params_.dma_bits, set.error().to_string()));
    if (bounces() && bytes_ > dma::max_mapping_size(measured_))
      throw ConfigError("-g/--granule",
                        fmt::format("{} pages: a bounced mapping holds at most {} pages",
                                    params_.granule, dma::max_mapping_size(measured_) / kPageSize));
  }

  // Where a thread's buffer lies. Modes that must reach it take memory under the mask as the direct
  // path's coherent allocator finds it (the normal allocator, then the mask pool); the others take
  // the node's GFP_KERNEL pages, as the kernel's driver does, and bounce mode insists that they lie
  // above the mask.
  void place(std::size_t thread, ThreadBuffer& b) {
    // Failures are reported here, naming the parameters, rather than by the allocators' warnings.
    const machine::Gfp gfp =
        (params_.node >= 0 ? machine::kGfpThisNode : machine::kGfpKernel) | machine::kGfpNoWarn;
    const std::string where =
        fmt::format("thread {}'s {}-page buffer on {}", thread, params_.granule,
                    params_.node >= 0 ? fmt::format("node {}", params_.node) : "any node");
    if (reachable_buffers()) {
      const Result<std::byte*> cpu = dma::alloc_coherent(measured_, bytes_, &b.handle, gfp);
      if (!cpu)
        throw ConfigError("-g/--granule", fmt::format("{} under a {}-bit mask: {}", where,
                                                      params_.dma_bits, cpu.error().to_string()));
      b.cpu = *cpu;
    } else {
      const Result<machine::Page*> page =
          machine_.page_allocator().alloc_pages_exact(gfp, bytes_, params_.node);
      if (!page)
        throw ConfigError("-g/--granule", fmt::format("{}: {}", where, page.error().to_string()));
      b.page = *page;
      b.cpu = machine_.page_address(b.page);
      const std::uint64_t last = machine_.page_to_phys(b.page).value() + bytes_ - 1;
      if (params_.mode == "bounce" && last <= measured_.streaming_limit())
        throw ConfigError("-b/--dma-bits",
                          fmt::format("{}: bounce mode needs buffers above the mask, and {} lies "
                                      "under it (at {:#x})",
                                      params_.dma_bits, where, last + 1 - bytes_));
    }
    b.copy.resize(bytes_);
  }

  const MapBenchmarkParams& params_;
  const std::uint64_t bytes_;
  const Direction dir_;
  machine::Machine machine_;
  dma::Platform platform_{machine_};
  dma::Device measured_{platform_, "dma_map_benchmark", nullptr, params_.node};
  dma::Device direct_{platform_, "direct-baseline", nullptr, params_.node};
  std::vector<ThreadBuffer> buffers_;
};

double median_pair_ns(const TimedPairs& pairs) {
  return pairs.first.median_ns + pairs.second.median_ns;
}

}  // namespace

std::span<const std::string_view> map_benchmark_modes() { return kModes; }

std::string_view map_benchmark_direction_name(int dir) {
  static constexpr std::array<std::string_view, 3> kNames = {"BIDIRECTIONAL", "TO_DEVICE",
                                                             "FROM_DEVICE"};
  return dir >= 0 && dir < 3 ? kNames[static_cast<std::size_t>(dir)] : "INVALID";
}

double MapBenchmarkResult::ratio_to_direct() const {
  return direct.loops == 0 ? 0 : median_pair_ns(mapping) / median_pair_ns(direct);
}

double MapBenchmarkResult::ratio_to_memcpy() const {
  return copy.loops == 0 ? 0 : median_pair_ns(mapping) / copy.first.median_ns;
}

MapBenchmarkResult run_map_benchmark(const machine::MachineConfig& config,
                                     const MapBenchmarkParams& params) {
  check_params(params);
  MapBenchmarkRig rig(config, params);
  MapBenchmarkResult result;
  const std::uint64_t bounced_before = rig.bounced_maps();
  result.mapping =
      rig.map_unmap(rig.measured(), std::chrono::seconds(params.seconds), result.error);
  result.bounced_maps = rig.bounced_maps() - bounced_before;
  if (!result.error.empty()) return result;
  // Each baseline runs a tenth of the measurement, 0.1 s to 1 s: enough loops for a stable mean.
  const auto baseline = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::clamp(params.seconds / 10.0, 0.1, 1.0)));
  result.direct = rig.map_unmap(rig.direct(), baseline, result.error);
  if (!result.error.empty()) return result;
  result.copy = rig.copy(baseline, result.error);
  return result;
}

}  // namespace dmakit::bench
