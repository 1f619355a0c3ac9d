// SPDX-License-Identifier: Apache-2.0
#include "dmakit/sim/plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

namespace dmakit::sim {
namespace {

// Two strategies and two devices: "nic 'a'" translated under iommu-strict, "old" refused there.
RunResult small_run() {
  RunResult run;
  run.scenario = "small";
  run.seed = 3;
  for (const dma::Strategy strategy : {dma::Strategy::Bounce, dma::Strategy::IommuStrict}) {
    StrategyResult s;
    s.strategy = strategy;
    DeviceResult nic;
    nic.device = "nic 'a'";
    nic.model = "nic";
    nic.ios = 10;
    DeviceResult old;
    old.device = "old";
    old.model = "legacy";
    old.ios = 4;
    if (strategy == dma::Strategy::Bounce) {
      nic.cpu.bounce = 1000;
      old.cpu.bounce = 40;
    } else {
      nic.cpu.iova = 100;
      nic.cpu.invalidation = 2000;
      nic.dev.walks = 500;
      nic.events.iotlb_hits = 3;
      nic.events.iotlb_misses = 1;
      old.unavailable = "refused";
      old.ios = 0;
    }
    s.devices = {nic, old};
    run.strategies.push_back(s);
  }
  return run;
}

const PlotFile& file(const Plot& plot, const std::string& name) {
  const auto it = std::ranges::find(plot.files, name, &PlotFile::name);
  if (it == plot.files.end()) throw std::runtime_error("no file " + name);
  return *it;
}

// The data lines of a .dat file: neither comments nor blank.
std::vector<std::string> rows(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

TEST(MakePlot, WritesADataFileAndAChartPerFigureAndTheScriptLast) {
  const Plot plot = make_plot(small_run());
  std::vector<std::string> names;
  for (const PlotFile& f : plot.files) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cpu_cycles_per_io.dat", "device_cycles_per_io.dat",
                                             "iotlb_hit_rate.dat", "plots.gp"}));
  EXPECT_EQ(plot.charts,
            (std::vector<std::string>{"cpu_cycles_per_io.svg", "device_cycles_per_io.svg",
                                      "iotlb_hit_rate.svg"}));
  const std::string& script = plot.files.back().text;
  for (const std::string& chart : plot.charts)
    EXPECT_NE(script.find("set output '" + chart + "'"), std::string::npos) << chart;
  EXPECT_NE(script.find("set terminal svg"), std::string::npos);
}

TEST(MakePlot, CyclesPerIoByCauseARowPerStrategyInABlockPerDevice) {
  const Plot plot = make_plot(small_run());
  const std::vector<std::string> cpu = rows(file(plot, "cpu_cycles_per_io.dat").text);
  ASSERT_EQ(cpu.size(), 4u);
  // Causes: iova page_table invalidation flush traps bounce copy.
  EXPECT_EQ(cpu[0], "\"bounce\" 0.00 0.00 0.00 0.00 0.00 100.00 0.00");
  EXPECT_EQ(cpu[1], "\"iommu-strict\" 10.00 0.00 200.00 0.00 0.00 0.00 0.00");
  EXPECT_EQ(cpu[2], "\"bounce\" 0.00 0.00 0.00 0.00 0.00 10.00 0.00");
  EXPECT_EQ(cpu[3], "\"iommu-strict n/a\" 0.00 0.00 0.00 0.00 0.00 0.00 0.00");
  const std::string& text = file(plot, "cpu_cycles_per_io.dat").text;
  EXPECT_NE(text.find("\n\n\n# device 1: old (legacy)"), std::string::npos) << text;
  const std::vector<std::string> dev = rows(file(plot, "device_cycles_per_io.dat").text);
  EXPECT_EQ(dev[1], "\"iommu-strict\" 0.00 0.00 50.00");
}

TEST(MakePlot, HitRateOnlyForStrategiesThatTranslated) {
  const Plot plot = make_plot(small_run());
  const std::vector<std::string> hit = rows(file(plot, "iotlb_hit_rate.dat").text);
  ASSERT_EQ(hit.size(), 3u);
  EXPECT_EQ(hit[0], "\"device\" \"iommu-strict\"");
  EXPECT_EQ(hit[1], "\"nic 'a'\" 75.00");
  EXPECT_EQ(hit[2], "\"old\" -");

  RunResult no_iommu = small_run();
  no_iommu.strategies.pop_back();
  const Plot plain = make_plot(no_iommu);
  EXPECT_EQ(plain.charts.size(), 2u);
  EXPECT_EQ(plain.files.size(), 3u);
}

TEST(MakePlot, QuotesNamesFromTheScenarioForGnuplot) {
  RunResult run = small_run();
  run.scenario = "it's \"here\"";
  const Plot plot = make_plot(run);
  const std::string& script = plot.files.back().text;
  EXPECT_NE(script.find("set title 'it''s \"here\": CPU cycles"), std::string::npos) << script;
  EXPECT_NE(script.find("newhistogram 'nic ''a''' lt 1"), std::string::npos) << script;
  RunResult quoted = small_run();
  quoted.strategies[0].devices[0].device = "say \"hi\"";
  EXPECT_EQ(rows(file(make_plot(quoted), "iotlb_hit_rate.dat").text)[1], "\"say 'hi'\" 75.00");
}

TEST(MakePlot, PngChartsComeFromPngCairo) {
  const Plot plot = make_plot(small_run(), PlotFormat::Png);
  EXPECT_EQ(plot.charts.front(), "cpu_cycles_per_io.png");
  EXPECT_NE(plot.files.back().text.find("set terminal pngcairo"), std::string::npos);
}

}  // namespace
}  // namespace dmakit::sim
