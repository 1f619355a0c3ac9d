// SPDX-License-Identifier: Apache-2.0
// Reading scenarios: the sections, defaults and overrides, and every class of bad input named by
// file, line and key.
#include "dmakit/sim/scenario.h"

#include <gtest/gtest.h>

#include <string>

#include "sim/small_scenario.h"

namespace dmakit::sim {
namespace {

// The error a scenario text gets, as "source:line: field: reason".
std::string error_of(const std::string& text) {
  try {
    (void)parse_scenario(text, "test.yaml");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Scenario, ReadsEverySection) {
  const Scenario s = parse_scenario(kSmallScenario, "small");
  EXPECT_EQ(s.name, "small");
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(s.operations, 96u);
  EXPECT_EQ(s.machine.ram_size, 8ull << 30);
  ASSERT_EQ(s.devices.size(), 5u);
  EXPECT_EQ(std::get<devices::NicSettings>(s.models.at("nic32").settings).nic.format,
            devices::DescriptorFormat::Bits32);
  ASSERT_EQ(s.workloads.size(), 5u);
  const auto& packets = std::get<PacketWorkload>(s.workloads[1].spec);
  ASSERT_EQ(packets.sizes.sizes.size(), 1u);
  EXPECT_EQ(packets.sizes.sizes[0].first, 1500u);
  EXPECT_EQ(std::get<BlockWorkload>(s.workloads[3].spec).queue_depth, 4u);
  EXPECT_EQ(std::get<TransferWorkload>(s.workloads[2].spec).bytes, 8192u);
  EXPECT_EQ(std::get<CopyWorkload>(s.workloads[4].spec).bytes, 16384u);
  // The engine's threshold, left to calibration, is fixed so that runs do not depend on the host.
  EXPECT_EQ(
      std::get<devices::CopyEngineConfig>(s.models.at("dma0").settings).engine.inline_threshold,
      kScenarioEngineThreshold);
  // Unnamed: every strategy, the vtd preset, its costs on the IOMMU.
  EXPECT_EQ(s.strategies.size(), dma::all_strategies().size());
  EXPECT_EQ(s.cost.name, "vtd");
  EXPECT_EQ(s.iommu.costs.invalidation, s.cost.iommu.invalidation);
}

TEST(Scenario, TheBuiltInDefaultParses) {
  const Scenario s = parse_scenario(std::string(default_scenario_yaml()), "<default>");
  EXPECT_EQ(s.workloads.size(), 5u);
  EXPECT_GT(s.machine.ram_size, 4ull << 30);  // the seeds' question needs RAM above 4 GiB
}

TEST(Scenario, CostModelTakesAPresetAndOverrides) {
  const Scenario s = parse_scenario(
      std::string(kSmallScenario) + "cost_model: {preset: smmuv3-remote, trap: 9000}\n", "t");
  EXPECT_EQ(s.cost.iommu.invalidation, 1650u);
  EXPECT_EQ(s.cost.iommu.trap, 9000u);
  EXPECT_EQ(s.iommu.costs.trap, 9000u);
  EXPECT_EQ(s.cost.name, "smmuv3-remote+overrides");
}

TEST(Scenario, StrategiesAndDurationAreRead) {
  const std::string text =
      override_key(override_key(kSmallScenario, "t", "scenario.strategies", "[iommu-lazy, bounce]"),
                   "t", "scenario.duration", "250us");
  const Scenario s = parse_scenario(text, "t");
  ASSERT_EQ(s.strategies.size(), 2u);
  EXPECT_EQ(s.strategies[0], dma::Strategy::IommuLazy);
  EXPECT_EQ(s.strategies[1], dma::Strategy::Bounce);
  EXPECT_EQ(s.duration_ns, 250'000u);
}

TEST(Scenario, OverrideReachesIntoListsAndCreatesMappings) {
  std::string text = override_key(kSmallScenario, "t", "devices[1].dma_mask", "40");
  text = override_key(text, "t", "cost_model.invalidation", "777");
  const Scenario s = parse_scenario(text, "t");
  EXPECT_EQ(s.devices[1].dma_mask_bits, 40u);
  EXPECT_EQ(s.cost.iommu.invalidation, 777u);
}

TEST(Scenario, OverrideOfAMissingListEntryIsAnError) {
  EXPECT_THROW((void)override_key(kSmallScenario, "t", "devices[9].dma_mask", "40"), ScenarioError);
  EXPECT_THROW((void)override_key(kSmallScenario, "t", "scenario.seed", "[unclosed"),
               ScenarioError);
}

TEST(ScenarioErrors, UnknownTopLevelKeyNamesItsLine) {
  const std::string e = error_of(std::string(kSmallScenario) + "engines: []\n");
  EXPECT_NE(e.find("test.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("engines"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key"), std::string::npos) << e;
}

TEST(ScenarioErrors, UnknownNestedKeyNamesFileLineAndPath) {
  std::string text = kSmallScenario;
  text.replace(text.find("batch: 16}"), 10, "batch: 16, burst: 2}");
  const std::string e = error_of(text);
  // workloads[0] sits on line 26 of the text (which starts with a newline).
  EXPECT_NE(e.find("test.yaml:26: workloads[0].packets"), std::string::npos) << e;
  EXPECT_NE(e.find("burst"), std::string::npos) << e;
}

TEST(ScenarioErrors, MalformedValueSaysWhatWasExpected) {
  std::string text = kSmallScenario;
  text.replace(text.find("read_percent: 50"), 16, "read_percent: 150");
  const std::string e = error_of(text);
  EXPECT_NE(e.find("workloads[3].block_io.read_percent"), std::string::npos) << e;
  EXPECT_NE(e.find("percentage"), std::string::npos) << e;
}

TEST(ScenarioErrors, UnknownStrategyListsTheKnownOnes) {
  const std::string e =
      error_of(override_key(kSmallScenario, "t", "scenario.strategies", "[iommu-eager]"));
  EXPECT_NE(e.find("scenario.strategies[0]"), std::string::npos) << e;
  EXPECT_NE(e.find("iommu-strict"), std::string::npos) << e;
}

TEST(ScenarioErrors, BadDurationAndPresetAreNamed) {
  EXPECT_NE(error_of(override_key(kSmallScenario, "t", "scenario.duration", "10 parsecs"))
                .find("scenario.duration"),
            std::string::npos);
  EXPECT_NE(error_of(override_key(kSmallScenario, "t", "cost_model", "pdp11"))
                .find("unknown preset 'pdp11'"),
            std::string::npos);
}

TEST(ScenarioErrors, WorkloadMustNameADeviceWithAModelOfItsKind) {
  EXPECT_NE(error_of(override_key(kSmallScenario, "t", "workloads[0].device", "nic99"))
                .find("'nic99' is not a device with a model"),
            std::string::npos);
  EXPECT_NE(error_of(override_key(kSmallScenario, "t", "workloads[2].device", "disk"))
                .find("takes block_io"),
            std::string::npos);
  EXPECT_NE(error_of(override_key(kSmallScenario, "t", "workloads[4].device", "nic64"))
                .find("'nic64' has a model of kind nic, which takes packets"),
            std::string::npos);
  EXPECT_NE(error_of(override_key(kSmallScenario, "t", "workloads[3].device", "dma0"))
                .find("'dma0' has a model of kind engine, which takes copies"),
            std::string::npos);
}

TEST(ScenarioErrors, BuffersLargerThanALargestBuddyBlockAreRefused) {
  // 16 MiB copies passed the parser, and their buffers then failed to allocate in every strategy.
  for (const char* key : {"workloads[4].copies.bytes", "workloads[2].transfers.bytes",
                          "workloads[3].block_io.io_bytes"}) {
    const std::string e = error_of(override_key(kSmallScenario, "t", key, "16MiB"));
    EXPECT_NE(e.find(std::string(key) + ": 16777216: must be 1 to 4194304"), std::string::npos)
        << e;
  }
  EXPECT_NO_THROW((void)parse_scenario(
      override_key(kSmallScenario, "t", "workloads[4].copies.bytes", "4MiB"), "t"));
}

TEST(ScenarioErrors, EachDeviceHasOneWorkloadAndOneKind) {
  EXPECT_NE(error_of(override_key(kSmallScenario, "t", "workloads[1].device", "nic64"))
                .find("already has a workload"),
            std::string::npos);
  EXPECT_NE(error_of(override_key(kSmallScenario, "t", "workloads[2].block_io", "{}"))
                .find("exactly one of"),
            std::string::npos);
}

TEST(ScenarioErrors, StrategiesPlaceTheDevicesNotTheScenario) {
  const std::string e =
      error_of(override_key(kSmallScenario, "t", "devices[0].iommu", "{iommu: iommu0}"));
  EXPECT_NE(e.find("devices[0].iommu"), std::string::npos) << e;
}

TEST(ScenarioErrors, InvalidYamlNamesItsLine) {
  const std::string e = error_of("scenario:\n  name: [unclosed\n");
  EXPECT_NE(e.find("test.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("yaml"), std::string::npos) << e;
}

TEST(ScenarioErrors, MissingWorkloadsAndMachineAreErrors) {
  EXPECT_NE(error_of("machine: {ram: 8GiB}\n").find("workloads"), std::string::npos);
  EXPECT_NE(error_of("scenario: {seed: 1}\n").find("machine"), std::string::npos);
}

// The error of kSmallScenario with `key` set to `value`.
std::string error_with(const std::string& key, const std::string& value) {
  return error_of(override_key(kSmallScenario, "t", key, value));
}

TEST(ScenarioErrors, SeedIsAWholeNumberWithoutAUnit) {
  EXPECT_NE(error_with("scenario.seed", "x").find("scenario.seed: 'x' is not a whole number"),
            std::string::npos)
      << error_with("scenario.seed", "x");
  EXPECT_NE(error_with("scenario.seed", "1KiB").find("'1KiB' is not a whole number"),
            std::string::npos);
  EXPECT_EQ(parse_scenario(override_key(kSmallScenario, "t", "scenario.seed", "0x10"), "t").seed,
            16u);
}

TEST(ScenarioErrors, DuplicateKeyNamesTheKeyAndBothLines) {
  std::string text = kSmallScenario;
  text.replace(text.find("  ram: 8GiB\n"), 11, "  ram: 8GiB\n  ram: 4GiB\n");
  EXPECT_EQ(error_of(text), "test.yaml:7: machine.ram: given twice, on lines 7 and 8");
  std::string workload = kSmallScenario;
  workload.replace(workload.find("queue_depth: 4}"), 15, "queue_depth: 4, queue_depth: 8}");
  EXPECT_NE(error_of(workload).find("test.yaml:32: workloads[3].block_io.queue_depth: given twice, "
                                    "on lines 32 and 32"),
            std::string::npos)
      << error_of(workload);
}

TEST(ScenarioErrors, BlockIoMustFitTheDiskAndItsQueueAtParseTime) {
  // Each of these passed the parser; every strategy then failed every I/O and the run exited 0.
  EXPECT_EQ(error_with("workloads[3].block_io.io_bytes", "513"),
            "test.yaml:31: workloads[3].block_io.io_bytes: 513: must be a multiple of 512 within "
            "the model's 8388608-byte disk");
  EXPECT_NE(error_with("devices[3].model.capacity", "8KiB").find("the model's 8192-byte disk"),
            std::string::npos);
  EXPECT_EQ(error_with("workloads[3].block_io.queue_depth", "1000000000"),
            "test.yaml:31: workloads[3].block_io.queue_depth: 1000000000 buffers of 16 KiB exceed "
            "the machine's 8 GiB of RAM or the 1 GiB a run's buffers may take");
  EXPECT_EQ(error_with("workloads[3].block_io.queue_depth", "33"),
            "test.yaml:31: workloads[3].block_io.queue_depth: 33 I/Os of 1 commands each overflow "
            "the model's 32 queue_entries");
  // A 1 MiB I/O takes eight commands of 32 page segments: four of them fill the 32 entries.
  EXPECT_NE(error_with("workloads[3].block_io", "{io_bytes: 1MiB, queue_depth: 5}")
                .find("5 I/Os of 8 commands each overflow the model's 32 queue_entries"),
            std::string::npos);
  EXPECT_NO_THROW((void)parse_scenario(override_key(kSmallScenario, "t", "workloads[3].block_io",
                                                    "{io_bytes: 1MiB, queue_depth: 4}"),
                                       "t"));
  EXPECT_NO_THROW((void)parse_scenario(override_key(kSmallScenario, "t", "workloads[3].block_io",
                                                    "{io_bytes: 4KiB, queue_depth: 32}"),
                                       "t"));
}

TEST(ScenarioErrors, PacketsMustFitTheNicsBuffersFifoAndRingAtParseTime) {
  EXPECT_NE(error_with("workloads[1].packets.sizes", "[100000]")
                .find("workloads[1].packets.sizes: 100000-byte packets exceed the 2044-byte "
                      "payload"),
            std::string::npos);
  // The batch was built in memory whole: a billion packets were never refused.
  EXPECT_NE(error_with("workloads[1].packets.batch", "1000000000")
                .find("workloads[1].packets.batch: 1000000000 packets overflow the 256-frame "
                      "wire_fifo"),
            std::string::npos);
  EXPECT_NE(error_with("workloads[0].packets.batch", "65")
                .find("workloads[0].packets.batch: 65 packets overflow the 64-entry tx_entries"),
            std::string::npos);
  EXPECT_NE(error_with("devices[0].model.rx_entries", "1000000000")
                .find("devices[0].model.rx_entries: 1000000000: must be 1 to 4096"),
            std::string::npos);
}

TEST(ScenarioErrors, WorkloadBuffersStayWithinTheRunsBudget) {
  // Each workload fits its model, but together they would hold more than 1 GiB per strategy.
  std::string text = override_key(kSmallScenario, "t", "devices[3].model",
                                  "{kind: storage, capacity: 1GiB, queue_entries: 8192}");
  text = override_key(text, "t", "workloads[3].block_io", "{io_bytes: 1MiB, queue_depth: 512}");
  EXPECT_NO_THROW((void)parse_scenario(text, "t"));
  text = override_key(text, "t", "workloads[4].copies.bytes", "4MiB");
  text = override_key(text, "t", "workloads[3].block_io.queue_depth", "1020");
  EXPECT_NE(error_of(text).find("workloads[4]: its buffers bring the workloads' to"),
            std::string::npos)
      << error_of(text);
}

TEST(ScenarioErrors, TransfersBeyondTheDevicesMaxTransferAreRefused) {
  EXPECT_EQ(error_with("workloads[2].transfers.bytes", "1MiB"),
            "test.yaml:29: workloads[2].transfers.bytes: 1048576: more than the device's "
            "65536-byte max_transfer");
}

TEST(ScenarioErrors, DeviceNodeMustBeANodeOfTheMachine) {
  EXPECT_EQ(error_with("devices[0].node", "5"),
            "test.yaml:11: devices[0].node: 5: the machine has 1 node(s), 0 to 0");
  EXPECT_NO_THROW(
      (void)parse_scenario(override_key(override_key(kSmallScenario, "t", "machine.nodes", "2"),
                                        "t", "devices[0].node", "1"),
                           "t"));
}

TEST(ScenarioErrors, MachineLimitsAreNamedWithTheirLine) {
  EXPECT_EQ(error_with("machine.ram", "4TiB"),
            "test.yaml:6: machine.ram: 4 TiB must be from 4 KiB to 1 TiB");
  EXPECT_NE(error_with("machine.swiotlb", "{transient_pools: 1000000000}")
                .find("machine.swiotlb.transient_pools: 1000000000 pools"),
            std::string::npos);
}

TEST(ScenarioErrors, AnIotlbLargerThanAnyRealOneIsRefused) {
  EXPECT_NE(error_with("iommus", "[{name: vtd, iotlb: {entries: 1073741824, ways: 1}}]")
                .find("iommus[0].iotlb.entries: 1073741824: must be 1 to 65536"),
            std::string::npos);
}

TEST(ScenarioErrors, AFileThatCannotBeReadIsNamed) {
  try {
    (void)load_scenario("/nonexistent/x.yaml");
    FAIL();
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.yaml"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dmakit::sim
