// SPDX-License-Identifier: Apache-2.0
#include "dmakit/sim/sweep.h"

#include <gtest/gtest.h>

#include <sstream>

#include "dmakit/core/config_error.h"
#include "dmakit/sim/report.h"

namespace dmakit::sim {
namespace {

TEST(ParseSweepParam, SplitsValuesAtCommasOutsideBracketsAndQuotes) {
  const SweepParam p = parse_sweep_param("workloads[0].packets.sizes=[64,1500],imix,{64: 1},'a,b'");
  EXPECT_EQ(p.key, "workloads[0].packets.sizes");
  EXPECT_EQ(p.values, (std::vector<std::string>{"[64,1500]", "imix", "{64: 1}", "'a,b'"}));
  EXPECT_EQ(parse_sweep_param("scenario.seed=7").values, std::vector<std::string>{"7"});
}

TEST(ParseSweepParam, RefusesAMissingKeyOrAnEmptyValue) {
  for (const char* spec : {"scenario.seed", "=1,2", "scenario.seed=", "scenario.seed=1,,2"})
    EXPECT_THROW((void)parse_sweep_param(spec), ConfigError) << spec;
}

TEST(SweepPoints, CrossProductWithTheFirstParameterVaryingSlowest) {
  const std::vector<SweepPoint> points = sweep_points({{"a", {"1", "2"}}, {"b", {"x", "y", "z"}}});
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0], (SweepPoint{{"a", "1"}, {"b", "x"}}));
  EXPECT_EQ(points[2], (SweepPoint{{"a", "1"}, {"b", "z"}}));
  EXPECT_EQ(points[3], (SweepPoint{{"a", "2"}, {"b", "x"}}));
  EXPECT_TRUE(sweep_points({}).empty());
  EXPECT_THROW((void)sweep_points({{"a", {"1"}}, {"a", {"2"}}}), ConfigError);
}

RunResult run_with(std::uint64_t invalidation_cycles) {
  RunResult run;
  run.scenario = "tiny";
  StrategyResult s;
  s.strategy = dma::Strategy::IommuStrict;
  DeviceResult d;
  d.device = "nic";
  d.ios = 2;
  d.cpu.invalidation = invalidation_cycles;
  d.events.iotlb_hits = 1;
  d.events.iotlb_misses = 1;
  d.events.bytes_bounced = 2048;
  DeviceResult refused;
  refused.device = "old";
  refused.unavailable = "no low memory";
  s.devices = {d, refused};
  run.strategies = {s};
  return run;
}

TEST(SweepJson, HoldsTheParametersAndEachPointWithItsRun) {
  const std::vector<SweepParam> params{{"cost_model.invalidation", {"1000", "3000"}}};
  const nlohmann::json j = sweep_json("<default scenario>", params, sweep_points(params),
                                      {to_json(run_with(2000)), to_json(run_with(6000))});
  EXPECT_EQ(j["schema"], "dmakit.sweep/1");
  EXPECT_EQ(j["parameters"][0]["key"], "cost_model.invalidation");
  ASSERT_EQ(j["points"].size(), 2u);
  EXPECT_EQ(j["points"][1]["params"]["cost_model.invalidation"], "3000");
  EXPECT_EQ(j["points"][1]["run"]["schema"], "dmakit.run/1");
  EXPECT_EQ(j["points"][1]["run"]["strategies"][0]["devices"][0]["cpu_cycles"]["invalidation"],
            6000);
}

TEST(FormatSweepTable, ARowPerPointStrategyAndDeviceWithTheHeadlineFigures) {
  const std::vector<SweepParam> params{{"cost_model.invalidation", {"1000", "3000"}}};
  const std::string table =
      format_sweep_table(sweep_json("tiny.yaml", params, sweep_points(params),
                                    {to_json(run_with(2000)), to_json(run_with(6000))}));
  std::vector<std::string> lines;
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 6u) << table;
  EXPECT_NE(lines[0].find("sweep of tiny.yaml: 2 points"), std::string::npos) << table;
  EXPECT_EQ(lines[1],
            "cost_model.invalidation  strategy      device    CPU/IO    dev/IO  IOTLB%  bouncedKiB "
            "  errs");
  EXPECT_EQ(lines[2],
            "1000                     iommu-strict  nic         1000         0    50.0           2 "
            "     0");
  EXPECT_EQ(lines[3], "1000                     iommu-strict  old    unavailable: no low memory");
  EXPECT_NE(lines[4].find("3000                     iommu-strict  nic         3000"),
            std::string::npos)
      << table;
}

}  // namespace
}  // namespace dmakit::sim
