// SPDX-License-Identifier: Apache-2.0
// The scenario runner: real data moved without error under every strategy, the same figures for
// the same seed whatever the threads, and the ordering the physics implies.
#include "dmakit/sim/runner.h"

#include <gtest/gtest.h>

#include <sstream>

#include "dmakit/sim/report.h"
#include "sim/small_scenario.h"

namespace dmakit::sim {
namespace {

const RunResult& small_run() {
  static const RunResult run = run_scenario(parse_scenario(kSmallScenario, "small"), {});
  return run;
}

const DeviceResult& result(const RunResult& run, dma::Strategy s, const std::string& device) {
  for (const StrategyResult& r : run.strategies)
    if (r.strategy == s)
      for (const DeviceResult& d : r.devices)
        if (d.device == device) return d;
  throw std::runtime_error("no such result");
}

nlohmann::json modeled(const RunResult& run) {
  nlohmann::json j = to_json(run);
  j.erase("simulator");  // host time: the one part that may differ
  return j;
}

TEST(Runner, EveryDeviceMovesCheckedDataUnderEveryStrategy) {
  const RunResult& run = small_run();
  ASSERT_EQ(run.strategies.size(), dma::all_strategies().size());
  for (const StrategyResult& s : run.strategies) {
    for (const DeviceResult& d : s.devices) {
      SCOPED_TRACE(std::string(dma::strategy_name(s.strategy)) + " " + d.device);
      EXPECT_TRUE(d.unavailable.empty()) << d.unavailable;
      EXPECT_GE(d.ios, 96u);
      EXPECT_EQ(d.errors, 0u);
      EXPECT_GT(d.bytes, 0u);
      EXPECT_GT(d.dev.transfer, 0u);
      EXPECT_EQ(d.events.faults, 0u);
    }
    EXPECT_GT(s.modeled_ns, 0u);
  }
}

TEST(Runner, SameSeedGivesSameFiguresOnRepeatAndOnTwoThreads) {
  const Scenario s = parse_scenario(kSmallScenario, "small");
  const nlohmann::json one = modeled(small_run());
  EXPECT_EQ(modeled(run_scenario(s, {})), one);
  RunOptions two;
  two.threads = 2;
  EXPECT_EQ(modeled(run_scenario(s, two)), one);
}

TEST(Runner, AnotherSeedGivesOtherPackets) {
  const Scenario s = parse_scenario(override_key(kSmallScenario, "t", "scenario.seed", "8"), "t");
  const RunResult other = run_scenario(s, {});
  EXPECT_NE(result(other, dma::Strategy::Bounce, "nic64").bytes,
            result(small_run(), dma::Strategy::Bounce, "nic64").bytes);
}

TEST(Runner, StrictInvalidationCostsMoreThanDeferred) {
  for (const char* device : {"nic64", "nic32", "odd31", "disk", "dma0"}) {
    SCOPED_TRACE(device);
    const DeviceResult& strict = result(small_run(), dma::Strategy::IommuStrict, device);
    const DeviceResult& lazy = result(small_run(), dma::Strategy::IommuLazy, device);
    EXPECT_GT(strict.cpu_per_io(), lazy.cpu_per_io());
    EXPECT_GT(strict.events.invalidations, 0u);
    EXPECT_EQ(lazy.events.invalidations, 0u);
    EXPECT_GT(lazy.events.unmaps_deferred, 0u);
    EXPECT_EQ(strict.protection_window_ns(), 0.0);
  }
}

TEST(Runner, DeferredInvalidationLeavesAProtectionWindow) {
  // Enough unmaps to fill a flush queue (256), so that flushes happen and close windows.
  Scenario s = parse_scenario(kSmallScenario, "s");
  s.operations = 600;
  s.strategies = {dma::Strategy::IommuLazy};
  const RunResult run = run_scenario(s, {});
  const DeviceResult& nic = result(run, dma::Strategy::IommuLazy, "nic64");
  EXPECT_GT(nic.events.flushes, 0u);
  EXPECT_GT(nic.protection_window_ns(), 0.0);   // what deferral buys its speed with
  EXPECT_LT(nic.protection_window_ns(), 10e6);  // the flush timeout bounds it
}

TEST(Runner, PassthroughHasNoIotlbMissesAndNoIommuCpuCost) {
  // The run is kept in a variable: a range-for over a temporary's member would outlive it.
  const RunResult run = run_scenario(parse_scenario(kSmallScenario, "s"), {});
  for (const DeviceResult& d :
       run.strategies[static_cast<int>(dma::Strategy::Passthrough)].devices) {
    SCOPED_TRACE(d.device);
    EXPECT_EQ(d.events.iotlb_misses, 0u);
    EXPECT_EQ(d.cpu.iova + d.cpu.page_table + d.cpu.invalidation + d.cpu.flush, 0u);
  }
}

TEST(Runner, ForceBounceBouncesEveryByte) {
  for (const char* device : {"nic64", "nic32", "odd31", "disk", "dma0"}) {
    SCOPED_TRACE(device);
    const DeviceResult& d = result(small_run(), dma::Strategy::ForceBounce, device);
    EXPECT_GE(d.events.bytes_bounced, d.bytes);
    EXPECT_GT(d.cpu.bounce, 0u);
  }
  // Without forcing, a 64-bit device never bounces; the narrow ones do on RAM above 4 GiB.
  EXPECT_EQ(result(small_run(), dma::Strategy::Bounce, "nic64").events.bytes_bounced, 0u);
  EXPECT_EQ(result(small_run(), dma::Strategy::Bounce, "disk").events.bytes_bounced, 0u);
  EXPECT_GT(result(small_run(), dma::Strategy::Bounce, "nic32").events.bytes_bounced, 0u);
  EXPECT_GT(result(small_run(), dma::Strategy::Bounce, "odd31").events.bytes_bounced, 0u);
  EXPECT_GT(result(small_run(), dma::Strategy::Bounce, "dma0").events.bytes_bounced, 0u);
}

TEST(Runner, EngineCopiesAboveItsThresholdAreOffloadedAndBelowItInline) {
  // 16 KiB copies: above the 8 KiB threshold a scenario's engine gets, so a channel moves them.
  for (const StrategyResult& s : small_run().strategies) {
    const DeviceResult& d = result(small_run(), s.strategy, "dma0");
    SCOPED_TRACE(dma::strategy_name(s.strategy));
    EXPECT_EQ(d.cpu.copy, 0u);
    EXPECT_EQ(d.bytes, d.ios * 16 * 1024);
    EXPECT_GT(d.dev.transfer, 0u);
  }
  Scenario small =
      parse_scenario(override_key(kSmallScenario, "t", "workloads[4].copies.bytes", "4KiB"), "t");
  small.strategies = {dma::Strategy::IommuStrict};
  const RunResult run = run_scenario(small, {});
  const DeviceResult& d = result(run, dma::Strategy::IommuStrict, "dma0");
  EXPECT_EQ(d.errors, 0u);
  EXPECT_GT(d.ios, 0u);
  EXPECT_GT(d.cpu.copy, 0u);
  EXPECT_EQ(d.events.iova_allocations, 0u) << "an inline copy maps nothing for the engine";
  EXPECT_EQ(d.dev.transfer, 0u);
}

TEST(Runner, OnlyGuestDomainsTrap) {
  for (const StrategyResult& s : small_run().strategies)
    for (const DeviceResult& d : s.devices) {
      if (s.strategy == dma::Strategy::Guest)
        EXPECT_GT(d.events.traps, 0u) << d.device;
      else
        EXPECT_EQ(d.events.traps, 0u) << d.device;
    }
  const DeviceResult& guest = result(small_run(), dma::Strategy::Guest, "disk");
  const DeviceResult& strict = result(small_run(), dma::Strategy::IommuStrict, "disk");
  EXPECT_EQ(guest.cpu.total() - guest.cpu.traps, strict.cpu.total());
}

TEST(Runner, CostsComeFromTheCostModel) {
  const Scenario base = parse_scenario(kSmallScenario, "s");
  Scenario dearer = base;
  dearer.cost.iommu.invalidation *= 2;
  dearer.iommu.costs = dearer.cost.iommu;
  dearer.strategies = {dma::Strategy::IommuStrict};
  const DeviceResult& a = result(small_run(), dma::Strategy::IommuStrict, "disk");
  const RunResult run = run_scenario(dearer, {});
  const DeviceResult& b = result(run, dma::Strategy::IommuStrict, "disk");
  EXPECT_EQ(b.cpu.invalidation, 2 * a.cpu.invalidation);
  EXPECT_EQ(b.events.invalidations, a.events.invalidations);
}

TEST(Runner, A32BitDescriptorNicWithNothingToHelpItIsRefusedCleanly) {
  // No bounce pool and no IOMMU: nothing can give the NIC addresses below 4 GiB.
  Scenario s = parse_scenario(kSmallScenario, "s");
  s.machine.swiotlb.size = 0;
  s.strategies = {dma::Strategy::Bounce, dma::Strategy::IommuLazy};
  const RunResult run = run_scenario(s, {});
  const DeviceResult& refused = result(run, dma::Strategy::Bounce, "nic32");
  EXPECT_NE(refused.unavailable.find("above-mask"), std::string::npos) << refused.unavailable;
  EXPECT_EQ(refused.ios, 0u);
  EXPECT_TRUE(result(run, dma::Strategy::IommuLazy, "nic32").unavailable.empty());
  EXPECT_EQ(result(run, dma::Strategy::Bounce, "nic64").errors, 0u);
}

TEST(Runner, AModeledDurationStopsTheWorkloads) {
  Scenario s = parse_scenario(kSmallScenario, "s");
  s.operations = 1'000'000;
  s.duration_ns = 200'000;
  s.strategies = {dma::Strategy::IommuStrict};
  const RunResult run = run_scenario(s, {});
  EXPECT_GE(run.strategies[0].modeled_ns, 200'000u);
  EXPECT_LT(result(run, dma::Strategy::IommuStrict, "nic64").ios, 10'000u);
}

TEST(Runner, TraceHasADriverAndADeviceSpanPerStep) {
  Scenario s = parse_scenario(kSmallScenario, "s");
  s.strategies = {dma::Strategy::IommuLazy};
  std::vector<TraceSpan> spans;
  RunOptions options;
  options.trace = &spans;
  (void)run_scenario(s, options);
  ASSERT_FALSE(spans.empty());
  EXPECT_EQ(spans.size() % 2, 0u);
  std::ostringstream out;
  write_trace(out, trace_layout(s), spans);
  const nlohmann::json j = nlohmann::json::parse(out.str());
  std::size_t complete = 0;
  for (const auto& e : j["traceEvents"]) complete += e["ph"] == "X";
  EXPECT_EQ(complete, spans.size());
  for (std::size_t i = 1; i < spans.size(); i += 2)
    EXPECT_EQ(spans[i].start_ns, spans[i - 1].start_ns + spans[i - 1].duration_ns);
}

TEST(Report, TableJsonAndCsvCarryEveryStrategyAndDevice) {
  const RunResult& run = small_run();
  const std::string table = format_table(run);
  for (const dma::Strategy s : dma::all_strategies())
    EXPECT_NE(table.find(std::string(dma::strategy_name(s))), std::string::npos);
  EXPECT_NE(table.find("simulator (host time, not modeled)"), std::string::npos);
  const nlohmann::json j = to_json(run);
  EXPECT_EQ(j["schema"], kRunSchema);
  ASSERT_EQ(j["strategies"].size(), dma::all_strategies().size());
  EXPECT_EQ(j["strategies"][2]["devices"][3]["device"], "disk");
  EXPECT_EQ(j["strategies"][2]["devices"][3]["cpu_cycles"]["total"],
            result(run, dma::Strategy::IommuStrict, "disk").cpu.total());
  const std::string csv = format_csv(run);
  const std::size_t lines = static_cast<std::size_t>(std::ranges::count(csv, '\n'));
  EXPECT_EQ(lines, 1 + dma::all_strategies().size() * 5);  // a row per strategy and device
  EXPECT_EQ(csv.rfind("strategy,device,model,", 0), 0u) << csv.substr(0, 80);
}

}  // namespace
}  // namespace dmakit::sim
