// SPDX-License-Identifier: Apache-2.0
// Linux's dma_map_benchmark over a simulated platform (bench layer): the parameters of the kernel's
// selftest tool (tools/testing/selftests/dma/dma_map_benchmark.c) with its defaults and limits, and
// the measurement its driver makes (kernel/dma/map_benchmark.c): threads that map a granule of
// pages, spend a modeled transfer time, unmap, and time each map and each unmap, for so many
// seconds. dmakit adds the platform mode and two baselines measured the same way in the same run.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "dmakit/machine/machine_config.h"

namespace dmakit::bench {

/// The kernel tool's limits (its DMA_MAP_MAX_* and the checks of its main()).
inline constexpr int kMapBenchmarkMaxThreads = 1024;
inline constexpr int kMapBenchmarkMaxSeconds = 300;
inline constexpr int kMapBenchmarkMaxTransferNs = 10'000'000;  ///< 10 ms
inline constexpr int kMapBenchmarkMinDmaBits = 20;             ///< "the minimum DMA zone is 1 MiB"
inline constexpr int kMapBenchmarkMaxGranule = 1024;

/// The platform modes the benchmark maps through.
/// - direct: no IOMMU; each buffer lies under the device's mask, so dma-direct maps it in place.
/// - bounce: no IOMMU; each buffer lies above the mask, so every map bounces (swiotlb).
/// - force-bounce: as direct, with the device forced to bounce (swiotlb=force for one device).
/// - iommu-strict, iommu-lazy: the device in a DMA domain of an IOMMU, invalidating at every unmap
///   or deferred; buffers are the node's GFP_KERNEL pages, as the kernel driver takes them.
/// - passthrough: the device in an identity domain (the direct path), buffers as for direct.
/// Buffers under the mask come from the direct path's coherent allocator (the page allocator when
/// its pages land under the mask, else the mask pool). The mode, not the machine's swiotlb.force,
/// decides whether the device is forced to bounce.
std::span<const std::string_view> map_benchmark_modes();

/// What one run does: the kernel tool's inputs (struct map_benchmark's) and dmakit's mode. The
/// defaults are the tool's.
struct MapBenchmarkParams {
  int threads = 1;      ///< -t: threads mapping at once, 1 to 1024
  int seconds = 20;     ///< -s: how long they map, 1 to 300
  int node = -1;        ///< -n: the NUMA node buffers come from and threads run on; -1 for any
  int dma_bits = 32;    ///< -b: the device's DMA mask, 20 to 64 bits
  int dir = 0;          ///< -d: 0 BIDIRECTIONAL, 1 TO_DEVICE, 2 FROM_DEVICE
  int transfer_ns = 0;  ///< -x: busy-wait between map and unmap, 0 to 10 ms
  int granule = 1;      ///< -g: pages per mapping, 1 to 1024
  std::string mode = "direct";
};

/// The kernel tool's name of a direction number ("BIDIRECTIONAL", "TO_DEVICE", "FROM_DEVICE").
[[nodiscard]] std::string_view map_benchmark_direction_name(int dir);

/// A set of latencies. The mean and population standard deviation are the kernel's figures (over
/// every loop of every thread), but from nanoseconds: the kernel truncates each sample to whole 100
/// ns first, which would print most of dmakit's paths as 0. The median and 99th percentile come
/// from a histogram, within 1/32 of the value: on a shared host a few preempted calls move the
/// mean, not the median.
struct Latency {
  double mean_ns = 0;
  double stddev_ns = 0;
  double median_ns = 0;
  double p99_ns = 0;
};

/// One phase of the run: how many loops all threads completed, and the latency of the first and
/// the second timed call of a loop.
struct TimedPairs {
  std::uint64_t loops = 0;
  Latency first;
  Latency second;
  double seconds = 0;  ///< wall time from the threads' start to the last one's end
};

struct MapBenchmarkResult {
  TimedPairs mapping;  ///< map_single, unmap_single: the kernel's figures
  /// Baseline: the same loop (buffers, transfer time) for a device with no IOMMU and a 64-bit mask:
  /// the direct path, which never bounces.
  TimedPairs direct;
  /// Baseline: the same loop with a memcpy of the granule to a buffer of its own in place of the
  /// map, and an empty pair of clock reads in place of the unmap, so `second` is what timing a call
  /// costs by itself.
  TimedPairs copy;
  std::uint64_t bounced_maps = 0;  ///< maps of the measured device that bounced
  std::string error;               ///< a map or unmap that failed, which stopped its thread

  /// Median map + median unmap against the direct path's, the ratio a shared host blurs least.
  [[nodiscard]] double ratio_to_direct() const;
  /// Median map + median unmap against the median memcpy of the granule.
  [[nodiscard]] double ratio_to_memcpy() const;
};

/// Runs the benchmark on a machine built from `config`: the kernel's loop for `params.seconds`,
/// then each baseline for a tenth of that (0.1 s to 1 s), all with `params.threads` threads. Throws
/// ConfigError, before anything runs, for a parameter outside the kernel tool's limits or one the
/// platform cannot honour; the field is the `dmakit bench map` flag ("-g/--granule"). A map or
/// unmap that fails during the run stops the measurement and is returned in `error`.
[[nodiscard]] MapBenchmarkResult run_map_benchmark(const machine::MachineConfig& config,
                                                   const MapBenchmarkParams& params);

}  // namespace dmakit::bench
