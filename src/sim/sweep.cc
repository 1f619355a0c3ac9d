// SPDX-License-Identifier: Apache-2.0
// Sweeps (sim layer): the parameter grid and the combined report. The table reads the points'
// dmakit.run documents (report.cc's to_json), since that is what each point's process hands back.
#include "dmakit/sim/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "dmakit/core/config_error.h"
#include "dmakit/version.h"

namespace dmakit::sim {
namespace {

// Splits `values` at the commas outside brackets, braces and quotes.
std::vector<std::string> split_values(std::string_view values) {
  std::vector<std::string> out(1);
  int depth = 0;
  char quote = 0;
  for (const char c : values) {
    if (quote != 0) {
      quote = c == quote ? 0 : quote;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  return out;
}

std::string unavailable_or_empty(const nlohmann::json& device) {
  return device.contains("unavailable") ? device["unavailable"].get<std::string>() : "";
}

}  // namespace

SweepParam parse_sweep_param(std::string_view spec) {
  const std::string field = fmt::format("--param {}", spec);
  const std::size_t eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw ConfigError(field, "expected KEY=V1,V2,... (KEY as --set takes it)");
  SweepParam param{std::string(spec.substr(0, eq)), split_values(spec.substr(eq + 1))};
  if (std::ranges::any_of(param.values, [](const std::string& v) { return v.empty(); }))
    throw ConfigError(field, "a value is empty");
  return param;
}

std::vector<SweepPoint> sweep_points(const std::vector<SweepParam>& params) {
  std::set<std::string> keys;
  for (const SweepParam& p : params)
    if (!keys.insert(p.key).second) throw ConfigError("--param " + p.key, "the key is given twice");
  std::vector<SweepPoint> points(1);
  for (const SweepParam& p : params) {
    std::vector<SweepPoint> grown;
    for (const SweepPoint& point : points)
      for (const std::string& value : p.values) {
        grown.push_back(point);
        grown.back().emplace_back(p.key, value);
      }
    points = std::move(grown);
  }
  return params.empty() ? std::vector<SweepPoint>{} : points;
}

nlohmann::json sweep_json(const std::string& scenario, const std::vector<SweepParam>& params,
                          const std::vector<SweepPoint>& points, std::vector<nlohmann::json> runs) {
  nlohmann::json parameters = nlohmann::json::array();
  for (const SweepParam& p : params) parameters.push_back({{"key", p.key}, {"values", p.values}});
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < points.size(); ++i) {
    nlohmann::json values = nlohmann::json::object();
    for (const auto& [key, value] : points[i]) values[key] = value;
    list.push_back({{"params", std::move(values)}, {"run", std::move(runs.at(i))}});
  }
  return {{"schema", kSweepSchema},
          {"dmakit_version", DMAKIT_VERSION_STRING},
          {"scenario", scenario},
          {"parameters", std::move(parameters)},
          {"points", std::move(list)}};
}

std::string format_sweep_table(const nlohmann::json& sweep) {
  // The parameters' columns, each as wide as its key or its widest value.
  std::vector<std::pair<std::string, std::size_t>> columns;
  for (const nlohmann::json& p : sweep["parameters"]) {
    std::size_t width = p["key"].get<std::string>().size();
    for (const nlohmann::json& v : p["values"])
      width = std::max(width, v.get<std::string>().size());
    columns.emplace_back(p["key"], width);
  }
  std::size_t device_width = 6;
  for (const nlohmann::json& point : sweep["points"])
    for (const nlohmann::json& s : point["run"]["strategies"])
      for (const nlohmann::json& d : s["devices"])
        device_width = std::max(device_width, d["device"].get<std::string>().size());

  std::string out = fmt::format(
      "sweep of {}: {} points; modeled cycles per I/O (the table of one point: dmakit run --set)\n",
      sweep["scenario"].get<std::string>(), sweep["points"].size());
  std::string header;
  for (const auto& [key, width] : columns) header += fmt::format("{:<{}}  ", key, width);
  out += fmt::format("{}{:<13} {:<{}} {:>9} {:>9} {:>7} {:>11} {:>6}\n", header, "strategy",
                     "device", device_width, "CPU/IO", "dev/IO", "IOTLB%", "bouncedKiB", "errs");
  for (const nlohmann::json& point : sweep["points"]) {
    std::string values;
    for (const auto& [key, width] : columns)
      values += fmt::format("{:<{}}  ", point["params"][key].get<std::string>(), width);
    for (const nlohmann::json& s : point["run"]["strategies"]) {
      for (const nlohmann::json& d : s["devices"]) {
        const std::string strategy = s["strategy"];
        const std::string device = d["device"];
        if (const std::string why = unavailable_or_empty(d); !why.empty()) {
          out += fmt::format("{}{:<13} {:<{}} unavailable: {}\n", values, strategy, device,
                             device_width, why);
          continue;
        }
        out += fmt::format(
            "{}{:<13} {:<{}} {:>9.0f} {:>9.0f} {:>7.1f} {:>11.0f} {:>6}\n", values, strategy,
            device, device_width, d["per_io"]["cpu_cycles"].get<double>(),
            d["per_io"]["device_cycles"].get<double>(), 100.0 * d["iotlb_hit_rate"].get<double>(),
            d["events"]["bytes_bounced"].get<double>() / 1024.0, d["errors"].get<std::uint64_t>());
      }
    }
  }
  return out;
}

}  // namespace dmakit::sim
