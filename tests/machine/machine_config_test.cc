// SPDX-License-Identifier: Apache-2.0
#include "dmakit/machine/machine_config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "dmakit/core/config_error.h"

namespace dmakit::machine {
namespace {

std::string error_field(const std::string& yaml) {
  try {
    (void)parse_machine_config(yaml);
  } catch (const ConfigError& e) {
    return e.field();
  }
  return "<no error>";
}

TEST(MachineConfig, ParsesEveryKey) {
  const MachineConfig c = parse_machine_config(R"(
machine:
  ram: 16GiB
  holes:
    - {name: pci, start: 0xc0000000, end: 4GiB}
    - {name: low, start: 640KiB, end: 1MiB}
  nodes: 2
  zones: {dma: none, dma32: 2GiB}
  mask_pool: {size: 0}
  swiotlb: {size: 0}
  lowmem_reserve_ratio: {dma: 128, dma32: 0}
  page_cache: {shards: 4, batch: 8, high: 64}
  vmalloc: 256MiB
)");
  EXPECT_EQ(c.ram_size, 16 * kGiB);
  ASSERT_EQ(c.holes.size(), 2u);
  EXPECT_EQ(c.holes[1].name, "low");
  EXPECT_EQ(c.holes[1].range.start, PhysAddr(640 * kKiB));
  EXPECT_EQ(c.node_count, 2u);
  EXPECT_FALSE(c.zone_dma_limit.has_value());
  EXPECT_EQ(c.zone_dma32_limit, 2 * kGiB);
  EXPECT_EQ(c.lowmem_reserve_ratio[0], 128u);
  EXPECT_EQ(c.lowmem_reserve_ratio[1], 0u);
  EXPECT_EQ(c.page_cache_shards, 4u);
  EXPECT_EQ(c.page_cache_batch, 8u);
  EXPECT_EQ(c.page_cache_high, 64u);
  EXPECT_EQ(c.vmalloc_size, 256 * kMiB);
}

TEST(MachineConfig, KeysNotGivenKeepTheirDefaults) {
  const MachineConfig c = parse_machine_config("machine: {ram: 1GiB}");
  EXPECT_EQ(c.ram_size, kGiB);
  ASSERT_EQ(c.holes.size(), 1u);
  EXPECT_EQ(c.holes[0].name, "pci");
  EXPECT_FALSE(c.zone_dma_limit.has_value());
  EXPECT_EQ(c.mask_pool_size, 16 * kMiB);
}

TEST(MachineConfig, ParsesTheMaskPool) {
  const MachineConfig c = parse_machine_config(R"(
machine:
  mask_pool: {size: 64MiB, force: true, search: top-down, wait_timeout_ms: 250}
)");
  EXPECT_EQ(c.mask_pool_size, 64 * kMiB);
  EXPECT_TRUE(c.mask_pool_force);
  EXPECT_EQ(c.mask_pool_search, MaskPoolSearch::TopDown);
  EXPECT_EQ(c.mask_pool_wait_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(error_field("machine: {mask_pool: {search: best-fit}}"), "machine.mask_pool.search");
  EXPECT_EQ(error_field("machine: {mask_pool: {force: maybe}}"), "machine.mask_pool.force");
}

TEST(MachineConfig, EmptyHoleListRemovesThePciHole) {
  EXPECT_TRUE(parse_machine_config("machine: {holes: []}").holes.empty());
}

TEST(MachineConfig, ExplicitNodeRanges) {
  const MachineConfig c = parse_machine_config(R"(
machine:
  nodes:
    - {start: 0, end: 5GiB}
    - {start: 5GiB, end: 9GiB}
)");
  ASSERT_EQ(c.node_ranges.size(), 2u);
  EXPECT_EQ(c.node_ranges[1].start, PhysAddr(5 * kGiB));
}

TEST(MachineConfig, ErrorsNameTheOffendingKey) {
  EXPECT_EQ(error_field("machine: {ramm: 1GiB}"), "machine.ramm");
  EXPECT_EQ(error_field("machine: {ram: lots}"), "machine.ram");
  EXPECT_EQ(error_field("machine: {zones: {dma: 1XB}}"), "machine.zones.dma");
  EXPECT_EQ(error_field("machine: {zones: {highmem: 1GiB}}"), "machine.zones.highmem");
  EXPECT_EQ(error_field("machine: {holes: [{start: 1GiB}]}"), "machine.holes[0]");
  EXPECT_EQ(error_field("machine: {nodes: [{start: 0, end: 1GiB, cpu: 3}]}"),
            "machine.nodes[0].cpu");
  EXPECT_EQ(error_field("other: 1"), "machine");
  EXPECT_EQ(error_field("machine: [unbalanced"), "config");
}

TEST(MachineConfig, ShippedExampleDescribesTheDefaultMachine) {
  const MachineConfig shipped = load_machine_config(DMAKIT_SOURCE_DIR "/configs/machine.yaml");
  const MachineConfig defaults;
  EXPECT_EQ(shipped.ram_size, defaults.ram_size);
  ASSERT_EQ(shipped.holes.size(), 1u);
  EXPECT_EQ(shipped.holes[0].name, defaults.holes[0].name);
  EXPECT_EQ(shipped.holes[0].range, defaults.holes[0].range);
  EXPECT_EQ(shipped.node_count, defaults.node_count);
  EXPECT_EQ(shipped.zone_dma_limit, defaults.zone_dma_limit);
  EXPECT_EQ(shipped.zone_dma32_limit, defaults.zone_dma32_limit);
  EXPECT_EQ(shipped.lowmem_reserve_ratio, defaults.lowmem_reserve_ratio);
  EXPECT_EQ(shipped.page_cache_shards, defaults.page_cache_shards);
  EXPECT_EQ(shipped.page_cache_batch, defaults.page_cache_batch);
  EXPECT_EQ(shipped.page_cache_high, defaults.page_cache_high);
  EXPECT_EQ(shipped.vmalloc_size, defaults.vmalloc_size);
  EXPECT_EQ(shipped.mask_pool_size, defaults.mask_pool_size);
  EXPECT_EQ(shipped.mask_pool_force, defaults.mask_pool_force);
  EXPECT_EQ(shipped.mask_pool_search, defaults.mask_pool_search);
  EXPECT_EQ(shipped.mask_pool_wait_timeout, defaults.mask_pool_wait_timeout);
  EXPECT_EQ(shipped.swiotlb, defaults.swiotlb);
}

TEST(MachineConfig, ReadsTheBouncePool) {
  const MachineConfig c = parse_machine_config(
      "machine:\n  swiotlb: {size: 128MiB, limit: 1GiB, areas: 4, force: true,\n"
      "            transient_pools: 2, transient_size: 512KiB}\n");
  EXPECT_EQ(c.swiotlb.size, 128 * kMiB);
  EXPECT_EQ(c.swiotlb.limit, kGiB);
  EXPECT_EQ(c.swiotlb.areas, 4u);
  EXPECT_TRUE(c.swiotlb.force);
  EXPECT_EQ(c.swiotlb.transient_pools, 2u);
  EXPECT_EQ(c.swiotlb.transient_size, 512 * kKiB);
  try {
    (void)parse_machine_config("machine:\n  swiotlb: {slots: 4}\n");
    ADD_FAILURE() << "an unknown key must be refused";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "machine.swiotlb.slots");
  }
}

// The error a machine text gets, as "field: reason".
std::string error_of(const std::string& yaml) {
  try {
    (void)parse_machine_config(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(MachineConfig, DuplicateKeyIsAnErrorNamingTheKeyAndBothLines) {
  EXPECT_EQ(error_of("machine:\n  ram: 8GiB\n  ram: 4GiB\n"),
            "machine.ram: given twice, on lines 2 and 3");
  // In any mapping, also one the machine section does not read.
  EXPECT_EQ(error_of("machine: {}\ndevices:\n  - {name: a, name: b}\n"),
            "devices[0].name: given twice, on lines 3 and 3");
}

TEST(MachineConfig, LayoutLimitsAreCheckedAtParseTime) {
  // 4 TiB cost 4.2 GB of host page metadata per machine: the maximum is 1 TiB.
  EXPECT_EQ(error_field("machine: {ram: 4TiB}"), "machine.ram");
  EXPECT_EQ(parse_machine_config("machine: {ram: 1TiB}").ram_size, kTiB);
  EXPECT_EQ(error_field("machine: {ram: 12KiB, mask_pool: {size: 0}, swiotlb: {size: 0}, "
                        "page_cache: {batch: 0}}"),
            "machine.page_cache.batch");
}

TEST(MachineConfig, AHoleThatLeavesNoRoomForRamIsNamed) {
  EXPECT_EQ(error_of("machine:\n  holes: [{name: all, start: 0, end: 8TiB}]\n"),
            "machine.holes[0]: 'all' [0x0, 0x80000000000) leaves no room for 8 GiB of RAM below "
            "8 TiB");
  EXPECT_EQ(error_field("machine:\n  holes: [{name: big, start: 4GiB, end: 0xfffffffffffff000}]\n"),
            "machine.holes[0].end");
}

TEST(MachineConfig, BouncePoolAreasAndTransientPoolsAreBounded) {
  // areas was cut down to the pool's 256 segments without a word.
  EXPECT_EQ(error_of("machine:\n  swiotlb: {areas: 1000000000}\n"),
            "machine.swiotlb.areas: 1000000000: at most 256, one per 256 KiB segment of the 64 MiB "
            "pool");
  EXPECT_EQ(parse_machine_config("machine:\n  swiotlb: {areas: 256}\n").swiotlb.areas, 256u);
  // Every transient pool was built when the machine started.
  EXPECT_EQ(error_of("machine:\n  swiotlb: {transient_pools: 1000000000}\n"),
            "machine.swiotlb.transient_pools: 1000000000 pools of 1 MiB do not fit the 16 MiB "
            "mask pool they come from");
  EXPECT_EQ(
      parse_machine_config("machine:\n  swiotlb: {transient_pools: 16}\n").swiotlb.transient_pools,
      16u);
}

TEST(MachineConfig, MissingFileIsAConfigError) {
  EXPECT_THROW((void)load_machine_config("/nonexistent/machine.yaml"), ConfigError);
}

TEST(MachineConfig, AFileThatNeverEndsIsRefusedAtTheInputLimit) {
  try {
    (void)load_machine_config("/dev/zero");
    FAIL() << "read /dev/zero";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than 4 MiB"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dmakit::machine

namespace dmakit::machine {
namespace {

// One table serves parsing and printing, so an error lists exactly the names that parse.
TEST(MachineConfig, AChoiceErrorNamesTheTextAndEveryChoiceOfItsTable) {
  try {
    (void)parse_machine_config("machine: {mask_pool: {search: best-fit}}");
    FAIL() << "best-fit was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "machine.mask_pool.search: 'best-fit' is not next-fit or top-down");
  }
  for (const auto& [value, name] : kMaskPoolSearchNames)
    EXPECT_EQ(parse_machine_config(fmt::format("machine: {{mask_pool: {{search: {}}}}}", name))
                  .mask_pool_search,
              value);
}

}  // namespace
}  // namespace dmakit::machine
