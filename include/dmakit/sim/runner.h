// SPDX-License-Identifier: Apache-2.0
// The scenario runner (sim layer; seed 000's measurement): for each strategy, a fresh machine and
// platform, the scenario's devices with their models and drivers, and the workloads run to their
// end; what the platform counted during each step is priced with the cost model and attributed to
// the device that caused it.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dmakit/sim/results.h"
#include "dmakit/sim/scenario.h"
#include "dmakit/sim/trace.h"

namespace dmakit::sim {

struct RunOptions {
  /// Strategies run at once, each on a thread of its own; the modeled results do not depend on it.
  unsigned threads = 1;
  /// Collects the spans of a timeline (write_trace) when set.
  std::vector<TraceSpan>* trace = nullptr;
  /// Called now and then, from any runner thread, with I/Os attempted and the run's total.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

/// Runs `scenario` under each of its strategies. Throws ConfigError when a strategy's platform
/// cannot be built from the scenario (a device configuration that cannot work); a driver that
/// refuses to start on a strategy is reported in its DeviceResult, not thrown.
[[nodiscard]] RunResult run_scenario(const Scenario& scenario, const RunOptions& options = {});

/// The track names of `scenario`'s timeline.
[[nodiscard]] TraceLayout trace_layout(const Scenario& scenario);

}  // namespace dmakit::sim
