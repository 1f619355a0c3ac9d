// SPDX-License-Identifier: Apache-2.0
// Sweeps (sim layer): one scenario run at each point of a grid of parameter values, the runs'
// reports put together. `dmakit sweep` runs the points; this header holds the grid and the
// combined report, which are text and JSON only. docs/scenarios.md shows both.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmakit::sim {

/// The JSON schema's name and version; "run" members hold dmakit.run documents (report.h).
inline constexpr const char* kSweepSchema = "dmakit.sweep/1";

/// A scenario key (a dotted path, as override_key takes it) and the values it takes in turn.
struct SweepParam {
  std::string key;
  std::vector<std::string> values;
};

/// Reads "KEY=V1,V2,...". A comma inside brackets, braces or quotes belongs to its value, so
/// that YAML flow values pass whole ("workloads[0].packets.sizes=[64,1500],imix"). Throws
/// ConfigError("--param SPEC") when the key or a value is empty.
[[nodiscard]] SweepParam parse_sweep_param(std::string_view spec);

/// A value for each parameter, in the parameters' order: (key, value).
using SweepPoint = std::vector<std::pair<std::string, std::string>>;

/// Every combination of the parameters' values, the first parameter varying slowest. Throws
/// ConfigError when a key is given twice.
[[nodiscard]] std::vector<SweepPoint> sweep_points(const std::vector<SweepParam>& params);

/// The sweep document: {"schema", "scenario", "parameters": [{"key", "values"}], "points":
/// [{"params": {key: value}, "run": <dmakit.run document>}]}, points in sweep_points' order.
/// `runs` holds each point's to_json document, in the same order.
[[nodiscard]] nlohmann::json sweep_json(const std::string& scenario,
                                        const std::vector<SweepParam>& params,
                                        const std::vector<SweepPoint>& points,
                                        std::vector<nlohmann::json> runs);

/// A row per point, strategy and device with the headline figures: CPU and device cycles per
/// I/O, IOTLB hit rate, bytes bounced and errors.
[[nodiscard]] std::string format_sweep_table(const nlohmann::json& sweep);

}  // namespace dmakit::sim
