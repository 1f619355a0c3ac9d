// SPDX-License-Identifier: Apache-2.0
// Named benchmark suites shared by the Google Benchmark binary and `dmakit bench NAME`. A suite
// registers its benchmarks with Google Benchmark and says which one is compared with which baseline
// measured in the same run.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dmakit/machine/machine_config.h"

namespace dmakit::bench {

/// A subject and the baseline it is measured against, by Google Benchmark name. The suite's ratio
/// is its headline comparison's, or the geometric mean of all when none is the headline.
struct Comparison {
  std::string subject;
  std::string baseline;
  bool headline = false;
  /// Compare throughput (same work, so baseline time / subject time: above 1 is faster) rather
  /// than time per operation (subject / baseline: above 1 is slower).
  bool throughput = false;
};

/// What `dmakit bench` passes to a suite: the machine to run on (for suites that use one), a mode
/// (for suites that have several; empty otherwise) and the thread count of multi-threaded runs.
struct BenchOptions {
  machine::MachineConfig machine;
  std::string mode;
  int threads = 2;     ///< the thread count of multi-threaded runs, besides one thread
  bool debug = false;  ///< also measure with the misuse checker attached (map suite)
};

struct Suite {
  std::string name;         ///< what `dmakit bench NAME` takes
  std::string description;  ///< one line for `dmakit bench --help`
  /// Registers the suite's benchmarks, to run on a machine built from the configuration, and
  /// returns its comparisons.
  std::function<std::vector<Comparison>(const BenchOptions&)> register_benchmarks;
  std::string default_mode;  ///< used when no --mode is given; empty: the suite has no modes
  // What of BenchOptions the suite honours; `dmakit bench` refuses the option of anything else.
  bool uses_machine = false;  ///< BenchOptions::machine (--config)
  bool uses_threads = false;  ///< BenchOptions::threads (--threads)
  bool uses_debug = false;    ///< BenchOptions::debug (--debug)
};

/// Every suite, in the order `dmakit bench` lists them.
std::span<const Suite> suites();

/// The page allocator suite: order-0 and order-3 alloc+free pairs, one and two threads, against
/// malloc/free of the same sizes.
std::vector<Comparison> register_buddy_benchmarks(const BenchOptions& options);

/// The mask allocator suite: alloc+free pairs of 1 to 16 pages with mixed masks at 0%, 50% and 90%
/// occupancy against a power-of-two buddy over a pool of the same size, with rounding waste; and
/// tight-mask failures under next-fit and top-down search. Uses its own machines.
std::vector<Comparison> register_mask_benchmarks(const BenchOptions& options);

/// The mapping suite. Mode "direct": map+unmap pairs with no ops, through a trivial ops table and
/// through the full dispatch, one and two threads. Modes "iommu-strict", "iommu-lazy" and
/// "passthrough": the same pairs for a device in an IOMMU domain of that kind against no ops.
/// With `debug`, also the pairs (with their mapping_error() check) for a device whose platform has
/// the misuse checker, against no ops: the checker's cost, which is then the headline. Throws
/// ConfigError for another mode.
std::vector<Comparison> register_map_benchmarks(const BenchOptions& options);

/// The bounce suite: map+unmap pairs of 64 B to 256 KiB through bounce buffers, TO_DEVICE (one
/// copy) against a memcpy of the same bytes and FROM_DEVICE (copy in at map, out at unmap) against
/// two memcpys, compared as throughput.
std::vector<Comparison> register_bounce_benchmarks(const BenchOptions& options);

/// The IOVA suite: alloc+free pairs of 1 to 32 pages below 4 GiB with the per-thread range caches
/// against the plain ordered tree, one and two threads, over a background of live ranges. The
/// headline is the two-thread ratio.
std::vector<Comparison> register_iova_benchmarks(const BenchOptions& options);

/// The engine suite: copy_async of 4 KiB to 4 MiB with one and two polling channels (sixteen
/// copies in flight) against memcpy of the same buffers, as throughput, and the submit-to-callback
/// time of 64-byte copies offloaded (polling and blocking channels) against inline. The headline is
/// one channel against memcpy at 1 MiB.
std::vector<Comparison> register_engine_benchmarks(const BenchOptions& options);

}  // namespace dmakit::bench
