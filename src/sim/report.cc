// SPDX-License-Identifier: Apache-2.0
// Reports of a scenario run (sim layer). The JSON is the one source of every figure: the CSV is
// its device entries flattened, so the two never disagree.
#include "dmakit/sim/report.h"

#include <fmt/format.h>

#include <algorithm>

#include "dmakit/version.h"

namespace dmakit::sim {
namespace {

double per(std::uint64_t cycles, std::uint64_t ios) {
  return ios ? double(cycles) / double(ios) : 0.0;
}

nlohmann::json device_json(const DeviceResult& d) {
  nlohmann::json j = {{"device", d.device}, {"model", d.model}};
  if (!d.unavailable.empty()) j["unavailable"] = d.unavailable;
  const CpuCycles& c = d.cpu;
  const DeviceCycles& v = d.dev;
  const EventCounts& e = d.events;
  j["ios"] = d.ios;
  j["bytes"] = d.bytes;
  j["errors"] = d.errors;
  if (d.errors != 0) j["first_error"] = d.first_error;
  j["cpu_cycles"] = {
      {"iova", c.iova},   {"page_table", c.page_table}, {"invalidation", c.invalidation},
      {"flush", c.flush}, {"traps", c.traps},           {"bounce", c.bounce},
      {"copy", c.copy},   {"total", c.total()}};
  j["device_cycles"] = {
      {"transfer", v.transfer}, {"iotlb", v.iotlb}, {"walks", v.walks}, {"total", v.total()}};
  j["per_io"] = {{"cpu_cycles", d.cpu_per_io()}, {"device_cycles", d.dev_per_io()}};
  j["cpu_cycles_per_kib"] = d.cpu_per_kib();
  j["events"] = {{"iova_allocations", e.iova_allocations},
                 {"iova_cache_hits", e.iova_cache_hits},
                 {"pte_writes", e.pte_writes},
                 {"invalidations", e.invalidations},
                 {"flushes", e.flushes},
                 {"traps", e.traps},
                 {"iotlb_hits", e.iotlb_hits},
                 {"iotlb_misses", e.iotlb_misses},
                 {"walk_levels", e.walk_levels},
                 {"mappings_bounced", e.mappings_bounced},
                 {"bytes_bounced", e.bytes_bounced},
                 {"faults", e.faults},
                 {"unmaps_deferred", e.unmaps_deferred},
                 {"unmaps_flushed", e.unmaps_flushed},
                 {"exposure_ns", e.exposure_ns}};
  j["iotlb_hit_rate"] = d.iotlb_hit_rate();
  j["protection_window_ns"] = d.protection_window_ns();
  return j;
}

nlohmann::json cost_json(const CostModel& m) {
  nlohmann::json j = {{"name", m.name}};
  for (const auto& [name, member] : iommu::kIommuCostKeys) j[std::string(name)] = m.iommu.*member;
  for (const auto& [name, member] : kCostModelKeys) j[std::string(name)] = m.*member;
  return j;
}

std::string kib(std::uint64_t bytes) {
  return bytes == 0 ? "0" : fmt::format("{:.0f}", double(bytes) / 1024.0);
}

}  // namespace

nlohmann::json to_json(const RunResult& run) {
  nlohmann::json strategies = nlohmann::json::array();
  nlohmann::json host = nlohmann::json::array();
  for (const StrategyResult& s : run.strategies) {
    nlohmann::json devices = nlohmann::json::array();
    for (const DeviceResult& d : s.devices) devices.push_back(device_json(d));
    const PoolStats& p = s.pools;
    strategies.push_back({{"strategy", dma::strategy_name(s.strategy)},
                          {"modeled_ns", s.modeled_ns},
                          {"pools",
                           {{"swiotlb_slots", p.swiotlb_slots},
                            {"swiotlb_hiwater", p.swiotlb_hiwater},
                            {"swiotlb_failures", p.swiotlb_failures},
                            {"iova_live", p.iova_live},
                            {"io_page_tables", p.io_page_tables}}},
                          {"warnings", s.warnings},
                          {"warnings_total", s.warnings_total},
                          {"devices", std::move(devices)}});
    host.push_back(
        {{"strategy", dma::strategy_name(s.strategy)}, {"host_seconds", s.host_seconds}});
  }
  return {{"schema", kRunSchema},
          {"dmakit_version", DMAKIT_VERSION_STRING},
          {"scenario", run.scenario},
          {"seed", run.seed},
          {"cost_model", cost_json(run.cost)},
          {"strategies", std::move(strategies)},
          {"simulator",
           {{"host_seconds", run.host_seconds},
            {"ios", run.simulated_ios},
            {"ios_per_host_second", run.ios_per_host_second()},
            {"strategies", std::move(host)}}}};
}

std::string format_csv(const RunResult& run) {
  std::string out;
  std::vector<std::string> columns;
  for (const StrategyResult& s : run.strategies) {
    for (const DeviceResult& d : s.devices) {
      nlohmann::json row = device_json(d);
      row["strategy"] = dma::strategy_name(s.strategy);
      row["unavailable"] = d.unavailable;
      row["first_error"] = d.first_error;
      const nlohmann::json flat = row.flatten();
      if (columns.empty()) {
        columns = {"/strategy", "/device", "/model", "/unavailable", "/first_error"};
        for (const auto& [key, value] : flat.items())
          if (std::ranges::find(columns, key) == columns.end()) columns.push_back(key);
        for (std::size_t i = 0; i < columns.size(); ++i)
          out += fmt::format("{}{}", i ? "," : "", columns[i].substr(1));
        out += '\n';
      }
      for (std::size_t i = 0; i < columns.size(); ++i) {
        const nlohmann::json& v = flat.at(columns[i]);
        std::string cell = v.is_string() ? v.get<std::string>() : v.dump();
        if (cell.find_first_of(",\"\n") != std::string::npos) {
          std::string quoted = "\"";
          for (const char ch : cell) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
          cell = quoted + "\"";
        }
        out += fmt::format("{}{}", i ? "," : "", cell);
      }
      out += '\n';
    }
  }
  return out;
}

std::string format_table(const RunResult& run) {
  std::string out =
      fmt::format("scenario {}: seed {}, cost model {} ({} MHz); modeled cycles per I/O by cause\n",
                  run.scenario, run.seed, run.cost.name, run.cost.cpu_mhz);
  if (run.strategies.empty()) return out;
  for (std::size_t d = 0; d < run.strategies.front().devices.size(); ++d) {
    const DeviceResult& first = run.strategies.front().devices[d];
    out += fmt::format("\n{}: {}\n", first.device, first.model);
    out += fmt::format(
        "  {:<13} {:>7} {:>5} {:>8} {:>7} | {:>6} {:>6} {:>7} {:>6} {:>6} {:>7} {:>6} | {:>7} "
        "{:>6} {:>6} {:>9} {:>9}\n",
        "strategy", "I/Os", "errs", "CPU/IO", "CPU/KiB", "iova", "ptes", "inval", "flush", "traps",
        "bounce", "copy", "dev/IO", "walks", "IOTLB%", "bouncedKiB", "window_us");
    for (const StrategyResult& s : run.strategies) {
      const DeviceResult& r = s.devices[d];
      if (!r.unavailable.empty()) {
        out += fmt::format("  {:<13} unavailable: {}\n", dma::strategy_name(s.strategy),
                           r.unavailable);
        continue;
      }
      const CpuCycles& c = r.cpu;
      out += fmt::format(
          "  {:<13} {:>7} {:>5} {:>8.0f} {:>7.0f} | {:>6.0f} {:>6.0f} {:>7.0f} {:>6.0f} {:>6.0f} "
          "{:>7.0f} {:>6.0f} | {:>7.0f} {:>6.0f} {:>6.1f} {:>9} {:>9.1f}\n",
          dma::strategy_name(s.strategy), r.ios, r.errors, r.cpu_per_io(), r.cpu_per_kib(),
          per(c.iova, r.ios), per(c.page_table, r.ios), per(c.invalidation, r.ios),
          per(c.flush, r.ios), per(c.traps, r.ios), per(c.bounce, r.ios), per(c.copy, r.ios),
          r.dev_per_io(), per(r.dev.walks, r.ios), 100.0 * r.iotlb_hit_rate(),
          kib(r.events.bytes_bounced), r.protection_window_ns() / 1000.0);
    }
    for (const StrategyResult& s : run.strategies)
      if (const DeviceResult& r = s.devices[d]; r.errors != 0)
        out += fmt::format("  {} under {}: {} failed I/Os; the first: {}\n", r.device,
                           dma::strategy_name(s.strategy), r.errors, r.first_error);
  }
  for (const StrategyResult& s : run.strategies)
    if (s.warnings_total != 0)
      out += fmt::format("\nplatform warnings under {} ({} in all), the first: {}\n",
                         dma::strategy_name(s.strategy), s.warnings_total, s.warnings.front());
  out += "\npools at the end of each run\n";
  out += fmt::format("  {:<13} {:>13} {:>15} {:>16} {:>10} {:>15}\n", "strategy", "swiotlb slots",
                     "swiotlb hiwater", "swiotlb failures", "IOVA live", "I/O page tables");
  for (const StrategyResult& s : run.strategies) {
    const PoolStats& p = s.pools;
    out += fmt::format("  {:<13} {:>13} {:>15} {:>16} {:>10} {:>15}\n",
                       dma::strategy_name(s.strategy), p.swiotlb_slots, p.swiotlb_hiwater,
                       p.swiotlb_failures, p.iova_live, p.io_page_tables);
  }
  out += fmt::format(
      "\nsimulator (host time, not modeled): {} I/Os in {:.2f} s, {:.0f} I/Os per host second\n",
      run.simulated_ios, run.host_seconds, run.ios_per_host_second());
  return out;
}

}  // namespace dmakit::sim
