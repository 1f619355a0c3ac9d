// SPDX-License-Identifier: Apache-2.0
// The scenario parser refuses bad input with a ScenarioError and nothing else. The cases named
// "Fuzz..." are inputs scripts/fuzz.sh found that once did otherwise (tests/fuzz/scenario_fuzz.cc).
#include "dmakit/sim/scenario.h"

#include <gtest/gtest.h>

#include <string>

namespace dmakit::sim {
namespace {

// A scenario that parses, with a workload section to vary.
std::string scenario_with(const std::string& workload) {
  return "machine: {ram: 8GiB}\n"
         "devices:\n"
         "  - {name: nic, dma_mask: 32, model: {kind: nic, descriptors: 32}}\n"
         "workloads:\n"
         "  - {device: nic, " +
         workload + "}\n";
}

// The ScenarioError `text` is refused with; fails the test when it parses or throws another type.
ScenarioError refusal(const std::string& text) {
  try {
    (void)parse_scenario(text, "<test>");
  } catch (const ScenarioError& e) {
    return e;
  }
  ADD_FAILURE() << "parsed:\n" << text;
  return ScenarioError("<test>", 0, ConfigError("none", "none"));
}

TEST(ParseScenario, ReadsAPacketWorkload) {
  const Scenario s =
      parse_scenario(scenario_with("packets: {sizes: {64: 3, 1500: 1}, batch: 8}"), "<test>");
  ASSERT_EQ(s.workloads.size(), 1u);
  const auto& load = std::get<PacketWorkload>(s.workloads[0].spec);
  EXPECT_EQ(load.batch, 8u);
  ASSERT_EQ(load.sizes.sizes.size(), 2u);
  EXPECT_EQ(load.sizes.sizes[1], (std::pair<std::uint32_t, std::uint32_t>{1500, 1}));
}

TEST(ParseScenario, ErrorNamesTheFileLineAndKey) {
  const ScenarioError e = refusal(scenario_with("packets: {batch: 0}"));
  EXPECT_EQ(e.field(), "<test>:5: workloads[0].packets.batch");
  EXPECT_EQ(e.reason(), "expected a positive number");
  EXPECT_EQ(e.line(), 5);
}

// Found by the fuzzer: a key holding a NUL byte cut what() short, and ScenarioError, which then
// read the reason past the end of what(), threw std::out_of_range instead.
TEST(ParseScenario, FuzzKeyWithANulByteIsRefusedAndShownEscaped) {
  const ScenarioError e = refusal("scenario:\n  \"a\\0b\": 1\n" + scenario_with("packets: {}"));
  EXPECT_EQ(e.field(), "<test>:2: scenario.a\\x00b");
  EXPECT_NE(e.reason().find("unknown key"), std::string::npos) << e.reason();
  EXPECT_NE(std::string(e.what()).find("unknown key"), std::string::npos) << e.what();
}

// Found reading the parser for the fuzzer: counts kept in 32 bits were cut down from 64, so a
// packet weight of 2^32 became 0, and drawing a size from such a mix would divide by zero.
TEST(ParseScenario, FuzzCountsBeyond32BitsAreRefusedNotCutDown) {
  for (const char* workload : {"packets: {sizes: {64: 4294967296}}",
                               "packets: {sizes: [4294967360]}", "packets: {batch: 4294967296}"}) {
    const ScenarioError e = refusal(scenario_with(workload));
    EXPECT_NE(e.reason().find("too large"), std::string::npos) << workload << ": " << e.what();
  }
}

}  // namespace
}  // namespace dmakit::sim
