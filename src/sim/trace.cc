// SPDX-License-Identifier: Apache-2.0
// Chrome trace-event output (sim layer): "X" complete events for spans, "M" metadata events that
// name processes and threads (the format's documented subset that Perfetto imports). A strategy is
// a process, numbered from 1: Perfetto treats pid 0 as the kernel's swapper.
#include "dmakit/sim/trace.h"

#include <nlohmann/json.hpp>

namespace dmakit::sim {
namespace {

nlohmann::json name_event(const char* what, unsigned pid, unsigned tid, const std::string& name) {
  return {{"ph", "M"}, {"name", what}, {"pid", pid}, {"tid", tid}, {"args", {{"name", name}}}};
}

}  // namespace

void write_trace(std::ostream& out, const TraceLayout& layout,
                 const std::vector<TraceSpan>& spans) {
  nlohmann::json events = nlohmann::json::array();
  for (unsigned s = 0; s < layout.strategies.size(); ++s) {
    events.push_back(name_event("process_name", s + 1, 0, layout.strategies[s]));
    for (unsigned d = 0; d < layout.devices.size(); ++d) {
      events.push_back(
          name_event("thread_name", s + 1, 2 * d, layout.devices[d] + " driver (CPU)"));
      events.push_back(name_event("thread_name", s + 1, 2 * d + 1, layout.devices[d] + " device"));
    }
  }
  for (const TraceSpan& span : spans) {
    nlohmann::json args = {{"cpu_cycles", span.cpu_cycles}, {"device_cycles", span.device_cycles}};
    if (span.errors > 0) args["errors"] = span.errors;
    events.push_back({{"ph", "X"},
                      {"name", span.name},
                      {"cat", span.track % 2 == 0 ? "driver" : "device"},
                      {"pid", span.strategy + 1},
                      {"tid", span.track},
                      {"ts", double(span.start_ns) / 1000.0},
                      {"dur", double(span.duration_ns) / 1000.0},
                      {"args", std::move(args)}});
  }
  out << nlohmann::json{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ns"}}.dump()
      << '\n';
}

}  // namespace dmakit::sim
