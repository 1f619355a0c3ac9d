// SPDX-License-Identifier: Apache-2.0
// The `dma_debug:` section: every key, the on/off switch, and errors that name the key.
#include "dmakit/debug/dma_debug_config.h"

#include <gtest/gtest.h>

#include "dmakit/core/config_error.h"
#include "dmakit/debug/dma_debug.h"
#include "testing/small_machine.h"

namespace dmakit::debug {
namespace {

TEST(DmaDebugConfig, OffWithoutASection) {
  EXPECT_FALSE(parse_dma_debug_config("machine:\n  ram: 1GiB\n").enabled);
}

TEST(DmaDebugConfig, ASectionTurnsItOnWithEveryKey) {
  const DmaDebugConfig c = parse_dma_debug_config(R"(
dma_debug:
  action: count
  loud_per_class: 3
  devices: [nic0, nvme0]
  stack_depth: 4
  check_mapping_error: false
  keep_reports: 10
)");
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.action, ReportAction::Count);
  EXPECT_EQ(c.loud_per_class, 3u);
  EXPECT_EQ(c.devices, (std::vector<std::string>{"nic0", "nvme0"}));
  EXPECT_EQ(c.stack_depth, 4);
  EXPECT_FALSE(c.check_mapping_error);
  EXPECT_EQ(c.keep_reports, 10u);
  EXPECT_FALSE(parse_dma_debug_config("dma_debug:\n  enabled: false\n").enabled);
}

TEST(DmaDebugConfig, ErrorsNameTheKey) {
  auto field_of = [](const char* yaml) {
    try {
      (void)parse_dma_debug_config(yaml);
    } catch (const ConfigError& e) {
      return std::string(e.field());
    }
    return std::string("no error");
  };
  EXPECT_EQ(field_of("dma_debug:\n  action: shout\n"), "dma_debug.action");
  EXPECT_EQ(field_of("dma_debug:\n  stack_depth: 99\n"), "dma_debug.stack_depth");
  EXPECT_EQ(field_of("dma_debug:\n  colour: red\n"), "dma_debug.colour");
}

TEST(DmaDebugConfig, TheSwitchDecidesWhetherAPlatformGetsAChecker) {
  machine::Machine machine(testing::small_machine_config());
  dma::Platform platform(machine);
  EXPECT_EQ(DmaDebug::attach_if_enabled(platform, {}), nullptr);
  EXPECT_EQ(DmaDebug::of(platform), nullptr);
  DmaDebugConfig on;
  on.enabled = true;
  DmaDebug* checker = DmaDebug::attach_if_enabled(platform, on);
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(DmaDebug::of(platform), checker);
}

}  // namespace
}  // namespace dmakit::debug
