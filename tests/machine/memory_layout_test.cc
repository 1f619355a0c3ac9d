// SPDX-License-Identifier: Apache-2.0
#include "dmakit/machine/memory_layout.h"

#include <gtest/gtest.h>

#include <functional>

#include "dmakit/core/config_error.h"

namespace dmakit::machine {
namespace {

// Expects plan() to throw a ConfigError on `field` whose message contains `needle`.
void expect_config_error(const MachineConfig& config, const std::string& field,
                         const std::string& needle) {
  try {
    (void)MemoryLayout::plan(config);
    ADD_FAILURE() << "expected a ConfigError on " << field;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), field) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(MemoryLayout, DefaultMachinePutsThePciHoleRamAbove4GiB) {
  const MemoryLayout layout = MemoryLayout::plan({});
  ASSERT_EQ(layout.ram.size(), 2u);
  EXPECT_EQ(layout.ram[0], (PhysRange{PhysAddr(0), PhysAddr(3 * kGiB)}));
  EXPECT_EQ(layout.ram[1], (PhysRange{PhysAddr(4 * kGiB), PhysAddr(9 * kGiB)}));
  ASSERT_EQ(layout.holes.size(), 1u);
  EXPECT_EQ(layout.holes[0].name, "pci");
  EXPECT_EQ(layout.ram_end, PhysAddr(9 * kGiB));
  EXPECT_EQ(layout.ram_bytes_in({PhysAddr(0), PhysAddr(16 * kGiB)}), 8 * kGiB);
}

TEST(MemoryLayout, DefaultMachineHasAMaskPoolInPlaceOfZoneDma) {
  const MemoryLayout layout = MemoryLayout::plan({});
  // 16 MiB for the pool's users and the 64 MiB bounce pool carved from it (seed 003).
  constexpr std::uint64_t kPool = 80 * kMiB;
  EXPECT_EQ(layout.mask_pool, (PhysRange{PhysAddr(0), PhysAddr(kPool)}));
  ASSERT_EQ(layout.zones.size(), 2u);
  EXPECT_EQ(layout.zones[0].kind, ZoneKind::Dma32);
  EXPECT_EQ(layout.zones[0].span, (PhysRange{PhysAddr(0), PhysAddr(4 * kGiB)}));
  // The pool is out of the zone: its pages are not the zone's.
  EXPECT_EQ(layout.zones[0].present_pages, (3 * kGiB - kPool) / kPageSize);
  EXPECT_EQ(layout.zones[1].kind, ZoneKind::Normal);
  EXPECT_EQ(layout.zones[1].present_pages, 5 * kGiB / kPageSize);
  ASSERT_EQ(layout.zone_ram().size(), 2u);
  EXPECT_EQ(layout.zone_ram()[0].start, PhysAddr(kPool));
}

TEST(MemoryLayout, WithoutAMaskPoolZoneDmaCanBeConfigured) {
  MachineConfig config;
  config.mask_pool_size = 0;
  config.swiotlb.size = 0;
  config.zone_dma_limit = 16 * kMiB;
  const MemoryLayout layout = MemoryLayout::plan(config);
  EXPECT_TRUE(layout.mask_pool.empty());
  ASSERT_EQ(layout.zones.size(), 3u);
  EXPECT_EQ(layout.zones[0].kind, ZoneKind::Dma);
  EXPECT_EQ(layout.zones[0].span, (PhysRange{PhysAddr(0), PhysAddr(16 * kMiB)}));
  EXPECT_EQ(layout.zones[1].span, (PhysRange{PhysAddr(16 * kMiB), PhysAddr(4 * kGiB)}));
}

TEST(MemoryLayout, MaskPoolAndZoneDmaExcludeEachOther) {
  MachineConfig config;
  config.zone_dma_limit = 16 * kMiB;
  expect_config_error(config, "machine.zones.dma", "replaces ZONE_DMA");
}

TEST(MemoryLayout, MaskPoolUpToTwoGiBInsideTheFirstRamRange) {
  MachineConfig config;
  config.mask_pool_size = kGiB;
  EXPECT_EQ(MemoryLayout::plan(config).mask_pool.size(), kGiB + 64 * kMiB);  // with the bounce pool
  config.mask_pool_size = 2 * kGiB - 64 * kMiB;
  EXPECT_EQ(MemoryLayout::plan(config).mask_pool.size(), 2 * kGiB);
  config.mask_pool_size += kPageSize;
  expect_config_error(config, "machine.mask_pool.size", "with the 64 MiB bounce pool");
  config.mask_pool_size = 3 * kGiB;
  expect_config_error(config, "machine.mask_pool.size", "at most 2 GiB");
  config.mask_pool_size = kGiB + 1;
  expect_config_error(config, "machine.mask_pool.size", "page size");
}

TEST(MemoryLayout, BouncePoolNeedsAMaskPoolAndWholeSegments) {
  MachineConfig config;
  config.mask_pool_size = 0;
  expect_config_error(config, "machine.swiotlb.size", "carved from the mask pool");
  config = {};
  config.swiotlb.size = 64 * kMiB + 128 * kKiB;
  expect_config_error(config, "machine.swiotlb.size", "multiple of 256 KiB");
  config = {};
  config.swiotlb.transient_size = 100 * kKiB;
  expect_config_error(config, "machine.swiotlb.transient_size", "multiple of 256 KiB");
  config = {};
  config.swiotlb.limit = 0;
  expect_config_error(config, "machine.swiotlb.limit", "page multiple");
}

TEST(MemoryLayout, SmallMachineHasNoRamAbove32Bits) {
  MachineConfig config;
  config.ram_size = 2 * kGiB;
  const MemoryLayout layout = MemoryLayout::plan(config);
  ASSERT_EQ(layout.ram.size(), 1u);
  EXPECT_EQ(layout.ram_end, PhysAddr(2 * kGiB));
  EXPECT_EQ(layout.zones[1].kind, ZoneKind::Normal);
  EXPECT_EQ(layout.zones[1].present_pages, 0u);
}

TEST(MemoryLayout, ZonesCanBeAbsent) {
  MachineConfig config;
  config.zone_dma32_limit.reset();
  const MemoryLayout layout = MemoryLayout::plan(config);
  ASSERT_EQ(layout.zones.size(), 1u);
  EXPECT_EQ(layout.zones[0].kind, ZoneKind::Normal);
  EXPECT_EQ(layout.zones[0].span.start, PhysAddr(0));
}

TEST(MemoryLayout, NodeCountSplitsRamEvenlyOn4MiBBoundaries) {
  MachineConfig config;
  config.node_count = 2;
  const MemoryLayout layout = MemoryLayout::plan(config);
  ASSERT_EQ(layout.nodes.size(), 2u);
  EXPECT_EQ(layout.ram_bytes_in(layout.nodes[0]), 4 * kGiB);
  EXPECT_EQ(layout.ram_bytes_in(layout.nodes[1]), 4 * kGiB);
  EXPECT_EQ(layout.nodes[0].end, PhysAddr(5 * kGiB));  // 3 GiB below the hole, 1 GiB above
  // Node 1 lies wholly above 4 GiB: its DMA32 zone is empty.
  EXPECT_EQ(layout.zones[2].present_pages, 0u);
  EXPECT_EQ(layout.zones[3].present_pages, 4 * kGiB / kPageSize);
}

TEST(MemoryLayout, ExplicitNodesMustCoverAllRam) {
  MachineConfig config;
  config.node_ranges = {{PhysAddr(0), PhysAddr(4 * kGiB)},
                        {PhysAddr(4 * kGiB), PhysAddr(8 * kGiB)}};
  expect_config_error(config, "machine.nodes", "cover 7 GiB");
}

TEST(MemoryLayout, RejectsOverlappingNodes) {
  MachineConfig config;
  config.node_ranges = {{PhysAddr(0), PhysAddr(5 * kGiB)},
                        {PhysAddr(4 * kGiB), PhysAddr(9 * kGiB)}};
  expect_config_error(config, "machine.nodes[1]", "overlaps nodes[0]");
}

TEST(MemoryLayout, RejectsNodeWithoutRam) {
  MachineConfig config;
  config.node_ranges = {{PhysAddr(0), PhysAddr(3 * kGiB)},
                        {PhysAddr(3 * kGiB), PhysAddr(4 * kGiB)},
                        {PhysAddr(4 * kGiB), PhysAddr(9 * kGiB)}};
  expect_config_error(config, "machine.nodes[1]", "holds no RAM");
}

TEST(MemoryLayout, RejectsBadRamSizes) {
  MachineConfig config;
  config.ram_size = 0;
  expect_config_error(config, "machine.ram", "must be from 4 KiB");
  config.ram_size = 8 * kGiB + 100;
  expect_config_error(config, "machine.ram", "page size");
  config.ram_size = 8 * kTiB;
  expect_config_error(config, "machine.ram", "8 TiB");
}

TEST(MemoryLayout, RejectsOverlappingAndEmptyHoles) {
  MachineConfig config;
  config.holes.push_back({"vga", {PhysAddr(3 * kGiB + 4 * kMiB), PhysAddr(5 * kGiB)}});
  expect_config_error(config, "machine.holes", "'vga'");
  config.holes = {{"x", {PhysAddr(kGiB), PhysAddr(kGiB)}}};
  expect_config_error(config, "machine.holes[0]", "empty");
  config.holes = {{"x", {PhysAddr(kGiB + 1), PhysAddr(2 * kGiB)}}};
  expect_config_error(config, "machine.holes[0].start", "page size");
}

TEST(MemoryLayout, RejectsZoneLimitsOutOfOrder) {
  MachineConfig config;
  config.mask_pool_size = 0;
  config.swiotlb.size = 0;
  config.zone_dma_limit = 16 * kMiB;
  config.zone_dma32_limit = 8 * kMiB;
  expect_config_error(config, "machine.zones.dma32", "must be above zones.dma");
  config.zone_dma32_limit = 4 * kGiB;
  config.zone_dma_limit = 0;
  expect_config_error(config, "machine.zones.dma", "above 0");
}

TEST(MemoryLayout, RejectsTooManyNodesForTheRam) {
  MachineConfig config;
  config.ram_size = 8 * kMiB;
  config.mask_pool_size = 0;
  config.swiotlb.size = 0;
  config.holes.clear();
  config.node_count = 4;
  expect_config_error(config, "machine.nodes", "cannot split");
}

TEST(MemoryLayout, RejectsPageCacheBatchAboveHigh) {
  MachineConfig config;
  config.page_cache_batch = 500;
  expect_config_error(config, "machine.page_cache.batch", "500");
}

TEST(MemoryLayout, SupportsA64GiBMachine) {
  MachineConfig config;
  config.ram_size = 64 * kGiB;
  const MemoryLayout layout = MemoryLayout::plan(config);
  EXPECT_EQ(layout.ram_end, PhysAddr(65 * kGiB));
}

}  // namespace
}  // namespace dmakit::machine
