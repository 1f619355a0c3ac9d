// SPDX-License-Identifier: Apache-2.0
// A timeline of a scenario run in Chrome's trace-event JSON (sim layer), which the Perfetto UI and
// chrome://tracing open: one process per strategy, a driver track and a device track per device,
// on the modeled clock (never host time).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace dmakit::sim {

/// One span of modeled time on a track.
struct TraceSpan {
  unsigned strategy = 0;  ///< index in the run's strategies
  unsigned track = 0;     ///< 2 * device index (driver) or 2 * device index + 1 (device)
  std::string name;       ///< "rx 32 packets"
  std::uint64_t start_ns = 0;
  std::uint64_t duration_ns = 0;
  std::uint64_t cpu_cycles = 0;
  std::uint64_t device_cycles = 0;
  std::uint64_t errors = 0;
};

/// Names of the processes and tracks.
struct TraceLayout {
  std::vector<std::string> strategies;
  std::vector<std::string> devices;
};

/// Writes `spans` as a trace-event JSON document ({"traceEvents": [...]}, times in microseconds).
void write_trace(std::ostream& out, const TraceLayout& layout, const std::vector<TraceSpan>& spans);

}  // namespace dmakit::sim
