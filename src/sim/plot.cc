// SPDX-License-Identifier: Apache-2.0
// Charts of a scenario run (sim layer). The figures go into whitespace-separated data files, a
// block per device (gnuplot's `index`), and the script refers to them by name, so that a user can
// edit the script and redraw without running the scenario again. Strings that come from the
// scenario (its name, device names) are quoted for gnuplot here and nowhere else.
#include "dmakit/sim/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>

namespace dmakit::sim {
namespace {

// One stacked chart: its files, a cause per column, and how to read a device's figure by cause.
struct StackedChart {
  const char* stem;    ///< "cpu_cycles_per_io": the .dat and the chart's name
  const char* what;    ///< "CPU cycles per I/O"
  const char* causes;  ///< "iova page_table ...": the columns after the strategy
  std::function<std::vector<std::uint64_t>(const DeviceResult&)> by_cause;
};

const StackedChart kStackedCharts[] = {
    {"cpu_cycles_per_io", "CPU cycles per I/O",
     "iova page_table invalidation flush traps bounce copy",
     [](const DeviceResult& d) {
       const CpuCycles& c = d.cpu;
       return std::vector<std::uint64_t>{c.iova,  c.page_table, c.invalidation, c.flush,
                                         c.traps, c.bounce,     c.copy};
     }},
    {"device_cycles_per_io", "device cycles per I/O", "transfer iotlb walks",
     [](const DeviceResult& d) {
       return std::vector<std::uint64_t>{d.dev.transfer, d.dev.iotlb, d.dev.walks};
     }},
};

// Colours for the causes, in column order (Tableau 10: distinguishable, also in grey print).
constexpr const char* kColours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

// A string in a gnuplot script: single quotes, where only a doubled quote is special.
std::string script_string(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    out += c;
    if (c == '\'') out += '\'';
  }
  out += '\'';
  return out;
}

// A label in a data file: double quotes, which gnuplot cannot escape, so a quote becomes '.
std::string data_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? '\'' : (c == '\n' || c == '\r' ? ' ' : c);
  out += '"';
  return out;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::size_t device_count(const RunResult& run) {
  return run.strategies.empty() ? 0 : run.strategies.front().devices.size();
}

std::string terminal(PlotFormat format, std::size_t bars) {
  const std::size_t width = std::clamp<std::size_t>(360 + 48 * bars, 800, 2400);
  if (format == PlotFormat::Png)
    return fmt::format(
        "set terminal pngcairo size {},540 noenhanced font 'sans,10' "
        "background rgb 'white'\n",
        width);
  return fmt::format(
      "set terminal svg size {},540 dynamic noenhanced font 'sans,11' "
      "background rgb 'white'\n",
      width);
}

// The data file and the script's part for one stacked chart.
void add_stacked(const RunResult& run, const StackedChart& chart, PlotFormat format,
                 std::string& script, Plot& plot) {
  const std::vector<std::string> causes = words(chart.causes);
  std::string data = fmt::format(
      "# {} by cause: a block per device (gnuplot's index N), a row per strategy.\n"
      "# strategy {}\n",
      chart.what, chart.causes);
  double highest = 0;
  for (std::size_t d = 0; d < device_count(run); ++d) {
    const DeviceResult& first = run.strategies.front().devices[d];
    data += fmt::format("{}# device {}: {} ({})\n", d ? "\n\n" : "", d, first.device, first.model);
    for (const StrategyResult& s : run.strategies) {
      const DeviceResult& r = s.devices[d];
      const std::string label = r.unavailable.empty()
                                    ? std::string(dma::strategy_name(s.strategy))
                                    : fmt::format("{} n/a", dma::strategy_name(s.strategy));
      data += data_string(label);
      double total = 0;
      for (const std::uint64_t cycles : chart.by_cause(r)) {
        const double per_io = r.ios ? double(cycles) / double(r.ios) : 0.0;
        data += fmt::format(" {:.2f}", per_io);
        total += per_io;
      }
      data += '\n';
      highest = std::max(highest, total);
    }
  }
  const std::string file = fmt::format("{}.dat", chart.stem);
  const std::string output = fmt::format("{}.{}", chart.stem, plot_extension(format));
  script += fmt::format(
      "\n# {} by cause, a stacked bar per strategy, grouped by device.\n"
      "{}set output {}\nset title {}\nset ylabel {}\nset yrange [0:{}]\n"
      "set style histogram rowstacked title font ',12' offset 0,-1\n"
      "set key invert  # the causes in the order they stack, bottom up\nplot \\\n",
      chart.what, terminal(format, device_count(run) * (run.strategies.size() + 1)),
      script_string(output),
      script_string(fmt::format("{}: {} by cause (cost model {}, {} MHz)", run.scenario, chart.what,
                                run.cost.name, run.cost.cpu_mhz)),
      script_string(chart.what), highest > 0 ? "*" : "1");
  for (std::size_t d = 0; d < device_count(run); ++d) {
    script += fmt::format("  newhistogram {} lt 1, \\\n",
                          script_string(run.strategies.front().devices[d].device));
    for (std::size_t c = 0; c < causes.size(); ++c) {
      const bool last = d + 1 == device_count(run) && c + 1 == causes.size();
      script += fmt::format("    {} index {} using {}{} {}{}\n", script_string(file), d, c + 2,
                            c == 0 ? ":xtic(1)" : "",
                            d == 0 ? fmt::format("title {}", script_string(causes[c])) : "notitle",
                            last ? "" : ", \\");
    }
  }
  plot.files.push_back({file, std::move(data)});
  plot.charts.push_back(output);
}

// The IOTLB hit rate of each device under each strategy that translated through an IOTLB; false
// when none did (gnuplot refuses a chart without a point).
bool add_hit_rate(const RunResult& run, PlotFormat format, std::string& script, Plot& plot) {
  std::vector<std::size_t> columns;  // strategies with at least one translation
  for (std::size_t s = 0; s < run.strategies.size(); ++s)
    for (const DeviceResult& r : run.strategies[s].devices)
      if (r.events.iotlb_hits + r.events.iotlb_misses > 0) {
        columns.push_back(s);
        break;
      }
  if (columns.empty()) return false;
  std::string data =
      "# IOTLB hits in % of translations: a row per device, a column per strategy that translated;"
      "\n# - where the device made no translation under it.\n\"device\"";
  for (const std::size_t s : columns)
    data += fmt::format(" {}", data_string(dma::strategy_name(run.strategies[s].strategy)));
  data += '\n';
  for (std::size_t d = 0; d < device_count(run); ++d) {
    data += data_string(run.strategies.front().devices[d].device);
    for (const std::size_t s : columns) {
      const DeviceResult& r = run.strategies[s].devices[d];
      const bool translated = r.events.iotlb_hits + r.events.iotlb_misses > 0;
      data += translated ? fmt::format(" {:.2f}", 100.0 * r.iotlb_hit_rate()) : " -";
    }
    data += '\n';
  }
  const std::string file = "iotlb_hit_rate.dat";
  const std::string output = fmt::format("iotlb_hit_rate.{}", plot_extension(format));
  script += fmt::format(
      "\n# IOTLB hit rate, a bar per strategy that translated, grouped by device.\n"
      "{}set output {}\nset title {}\nset ylabel '% of translations'\nset yrange [0:100]\n"
      "set style histogram clustered gap 1\nset key noinvert\n"
      "set xtics norotate center\nset bmargin\n"
      "plot for [c=2:{}] {} using c:xtic(1) title columnheader(c)\n",
      terminal(format, device_count(run) * (columns.size() + 1)), script_string(output),
      script_string(fmt::format("{}: IOTLB hit rate", run.scenario)), columns.size() + 1,
      script_string(file));
  plot.files.push_back({file, std::move(data)});
  plot.charts.push_back(output);
  return true;
}

}  // namespace

const char* plot_extension(PlotFormat format) { return format == PlotFormat::Png ? "png" : "svg"; }

Plot make_plot(const RunResult& run, PlotFormat format) {
  Plot plot;
  std::string script = fmt::format(
      "# Charts of scenario {} (seed {}), written by `dmakit run --plot`. Redraw them with\n"
      "# `gnuplot {}` in this folder; the figures are in the .dat files beside it.\n"
      "set datafile missing '-'\nset style data histograms\n"
      "set style fill solid 0.9 border rgb '#404040'\nset boxwidth 0.8 relative\n"
      "set grid ytics\nset key outside right top\nset xtics rotate by 30 right scale 0 nomirror\n"
      "set bmargin 7\n"
      "set border 3\nset ytics nomirror\n",
      run.scenario, run.seed, kPlotScript);
  for (std::size_t i = 0; i < std::size(kColours); ++i)
    script += fmt::format("set linetype {} linecolor rgb '{}'\n", i + 1, kColours[i]);
  if (device_count(run) > 0) {
    for (const StackedChart& chart : kStackedCharts) add_stacked(run, chart, format, script, plot);
    add_hit_rate(run, format, script, plot);
  }
  plot.files.push_back({kPlotScript, std::move(script)});
  return plot;
}

}  // namespace dmakit::sim
