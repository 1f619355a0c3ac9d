// SPDX-License-Identifier: Apache-2.0
// Bounce buffering through the DMA API: the device reads and writes bus addresses through
// device_read/device_write, never the CPU's pointer, so only the copies the API makes connect the
// two views.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/direct_ops.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/mapping_tracker.h"
#include "dmakit/dma/platform.h"
#include "testing/bounce_machine.h"
#include "testing/bytes.h"

namespace dmakit::dma {
namespace {

using testing::all_bytes;

using machine::Page;

class BounceTest : public ::testing::Test {
 protected:
  explicit BounceTest(machine::MachineConfig config = testing::bounce_machine_config())
      : machine_(config), platform_(machine_), dev_(platform_, "dev0") {
    platform_.swiotlb()->set_warning_sink([this](const std::string& m) { warnings_.push_back(m); });
  }

  // A page-aligned buffer at 40 GiB, beyond any device narrower than 36 bits.
  std::byte* high_buffer(std::uint64_t size, std::byte fill) {
    const Page* page = machine_.memory().pfn_to_page(phys_to_pfn(PhysAddr(40 * kGiB)) + next_);
    next_ += (size + kPageSize - 1) / kPageSize;
    std::byte* cpu = machine_.memory().page_address(page);
    std::memset(cpu, std::to_integer<int>(fill), size);
    return cpu;
  }
  Page* page_of(const std::byte* cpu) {
    return machine_.memory().pfn_to_page(phys_to_pfn(machine_.virt_to_phys(cpu).value()));
  }
  std::vector<std::byte> device_reads(DmaAddr dma, std::uint64_t size) {
    std::vector<std::byte> out(size);
    EXPECT_TRUE(device_read(dev_, dma, out));
    return out;
  }
  void device_fills(DmaAddr dma, std::uint64_t size, std::byte value) {
    const std::vector<std::byte> data(size, value);
    ASSERT_TRUE(device_write(dev_, dma, data));
  }

  machine::Machine machine_;
  Platform platform_;
  Device dev_;
  std::vector<std::string> warnings_;
  std::uint64_t next_ = 0;
};

TEST_F(BounceTest, ThirtyOneBitDeviceMovesDataAt40GiB) {
  ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(31)));
  EXPECT_TRUE(dev_.may_bounce());
  std::byte* tx = high_buffer(9000, std::byte{0x11});
  std::byte* rx = high_buffer(9000, std::byte{0x00});
  const Result<DmaAddr> tx_dma = map_single(dev_, tx, 9000, Direction::ToDevice);
  const Result<DmaAddr> rx_dma = map_single(dev_, rx, 9000, Direction::FromDevice);
  ASSERT_TRUE(tx_dma && rx_dma);
  EXPECT_LE(tx_dma->value() + 8999, dma_bit_mask(31));
  EXPECT_LE(rx_dma->value() + 8999, dma_bit_mask(31));
  // The device copies what it reads into the receive buffer, through the bus.
  std::vector<std::byte> data = device_reads(*tx_dma, 9000);
  EXPECT_TRUE(all_bytes(data.data(), 9000, std::byte{0x11}));
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7);
  ASSERT_TRUE(device_write(dev_, *rx_dma, data));
  EXPECT_TRUE(all_bytes(rx, 9000, std::byte{0}));  // nothing reaches the CPU's buffer before unmap
  ASSERT_TRUE(unmap_single(dev_, *tx_dma, 9000, Direction::ToDevice));
  ASSERT_TRUE(unmap_single(dev_, *rx_dma, 9000, Direction::FromDevice));
  EXPECT_EQ(std::memcmp(rx, data.data(), 9000), 0);
  const swiotlb::SwiotlbStats s = platform_.swiotlb()->stats();
  EXPECT_EQ(s.mappings_bounced, 2u);
  EXPECT_EQ(s.bytes_to_device, 18000u);
  EXPECT_EQ(s.bytes_from_device, 9000u);
  EXPECT_EQ(s.used_slots, 0u);
}

TEST_F(BounceTest, NarrowMasksGetSlotsTheyReach) {
  for (const unsigned bits : {24u, 30u, 31u, 32u}) {
    ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(bits)));
    std::byte* buf = high_buffer(kPageSize, static_cast<std::byte>(bits));
    const Result<DmaAddr> dma = map_single(dev_, buf, kPageSize, Direction::Bidirectional);
    ASSERT_TRUE(dma) << bits;
    EXPECT_LE(dma->value() + kPageSize - 1, dma_bit_mask(bits)) << bits;
    EXPECT_TRUE(
        all_bytes(device_reads(*dma, kPageSize).data(), kPageSize, static_cast<std::byte>(bits)));
    device_fills(*dma, kPageSize, std::byte{0xee});
    ASSERT_TRUE(unmap_single(dev_, *dma, kPageSize, Direction::Bidirectional));
    EXPECT_TRUE(all_bytes(buf, kPageSize, std::byte{0xee})) << bits;
  }
}

TEST_F(BounceTest, ReachableBuffersAreMappedDirectlyAndCounted) {
  Page* low = machine_.page_allocator().alloc_pages(machine::kGfpDma32, 0).value();
  const Result<DmaAddr> dma = map_page(dev_, low, 0, 512, Direction::ToDevice);
  ASSERT_TRUE(dma);
  EXPECT_EQ(*dma, dev_.phys_to_dma(machine_.page_to_phys(low)));
  ASSERT_TRUE(unmap_page(dev_, *dma, 512, Direction::ToDevice));
  EXPECT_EQ(platform_.swiotlb()->stats().mappings_direct, 1u);
  EXPECT_EQ(platform_.swiotlb()->stats().mappings_bounced, 0u);
  // A device that reaches all RAM never takes the bounce branch at all.
  ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(64)));
  EXPECT_FALSE(dev_.may_bounce());
  EXPECT_EQ(max_mapping_size(dev_), ~std::uint64_t{0});
  ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(32)));
  EXPECT_EQ(max_mapping_size(dev_), 256 * kKiB);
}

TEST_F(BounceTest, ForcedDevicesBounceEverythingAndNeverTouchTheOriginal) {
  ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(64)));
  dev_.set_force_bounce(true);
  EXPECT_TRUE(dev_.may_bounce());
  std::byte* buf = high_buffer(4096, std::byte{1});
  const Result<DmaAddr> dma = map_single(dev_, buf, 4096, Direction::FromDevice);
  ASSERT_TRUE(dma);
  EXPECT_TRUE(platform_.swiotlb()->owns(dev_.dma_to_phys(*dma)));
  device_fills(*dma, 4096, std::byte{9});
  EXPECT_TRUE(all_bytes(buf, 4096, std::byte{1}));  // shadowed until the driver takes it back
  ASSERT_TRUE(sync_single_for_cpu(dev_, *dma, 4096, Direction::FromDevice));
  EXPECT_TRUE(all_bytes(buf, 4096, std::byte{9}));
  ASSERT_TRUE(unmap_single(dev_, *dma, 4096, Direction::FromDevice));
}

TEST_F(BounceTest, PartialSyncsMoveOnlyTheirRange) {
  std::byte* buf = high_buffer(16384, std::byte{1});
  const Result<DmaAddr> dma = map_single(dev_, buf, 16384, Direction::Bidirectional);
  ASSERT_TRUE(dma);
  device_fills(*dma, 16384, std::byte{2});
  ASSERT_TRUE(sync_single_for_cpu(dev_, *dma + 5000, 100, Direction::Bidirectional));
  EXPECT_TRUE(all_bytes(buf, 5000, std::byte{1}));
  EXPECT_TRUE(all_bytes(buf + 5000, 100, std::byte{2}));
  EXPECT_TRUE(all_bytes(buf + 5100, 16384 - 5100, std::byte{1}));
  std::memset(buf + 8192, 3, 64);  // the CPU writes and hands 64 bytes back
  ASSERT_TRUE(sync_single_for_device(dev_, *dma + 8192, 64, Direction::Bidirectional));
  const std::vector<std::byte> seen = device_reads(*dma + 8190, 68);
  EXPECT_EQ(seen[0], std::byte{2});
  EXPECT_TRUE(all_bytes(seen.data() + 2, 64, std::byte{3}));
  EXPECT_EQ(seen[66], std::byte{2});
  // A sync past the mapping's end is refused.
  EXPECT_FALSE(sync_single_for_cpu(dev_, *dma + 16000, 385, Direction::Bidirectional));
  ASSERT_TRUE(unmap_single(dev_, *dma, 16384, Direction::Bidirectional));
}

TEST_F(BounceTest, AFromDeviceBufferThatTheDeviceOnlyPartlyWritesKeepsItsOtherBytes) {
  // Stale bytes in every slot, as another mapping would have left them.
  const PhysRange pool = platform_.swiotlb()->stats().pool;
  std::memset(machine_.memory().direct_map(pool.start), 0xbd, pool.size());
  std::byte* buf = high_buffer(4096, std::byte{0x44});
  const Result<DmaAddr> dma = map_single(dev_, buf, 4096, Direction::FromDevice);
  ASSERT_TRUE(dma);
  device_fills(*dma, 100, std::byte{0x55});
  ASSERT_TRUE(unmap_single(dev_, *dma, 4096, Direction::FromDevice));
  EXPECT_TRUE(all_bytes(buf, 100, std::byte{0x55}));
  EXPECT_TRUE(all_bytes(buf + 100, 4096 - 100, std::byte{0x44}));
}

TEST_F(BounceTest, ScatterListsBounceEntryByEntry) {
  SgTable table;
  std::vector<std::byte*> bufs;
  for (std::size_t i = 0; i < 3; ++i) {
    bufs.push_back(high_buffer(4096, std::byte{0}));
    table.add(page_of(bufs.back()), 100, 3000);
  }
  const Result<std::size_t> segments = map_sg(dev_, table, Direction::FromDevice);
  ASSERT_TRUE(segments);
  EXPECT_EQ(*segments, 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const ScatterEntry& e = table.entries()[i];
    EXPECT_EQ(e.dma_length, 3000u);
    EXPECT_LE(e.dma_address.value() + 2999, dma_bit_mask(32));
    device_fills(e.dma_address, 3000, static_cast<std::byte>(i + 1));
  }
  ASSERT_TRUE(sync_sg_for_cpu(dev_, table, Direction::FromDevice));
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_TRUE(all_bytes(bufs[i] + 100, 3000, static_cast<std::byte>(i + 1))) << i;
  ASSERT_TRUE(unmap_sg(dev_, table, Direction::FromDevice));
  EXPECT_EQ(platform_.swiotlb()->stats().used_slots, 0u);
}

TEST_F(BounceTest, AListThatCannotBeBouncedLeavesNothingMapped) {
  SgTable table;
  table.add(page_of(high_buffer(kPageSize, std::byte{0})), 0, kPageSize);
  // Beyond the largest bounce mapping.
  table.add(page_of(high_buffer(512 * kKiB, std::byte{0})), 0, 512 * kKiB);
  EXPECT_FALSE(map_sg(dev_, table, Direction::ToDevice));
  EXPECT_EQ(platform_.swiotlb()->stats().used_slots, 0u);
  EXPECT_EQ(table.nents(), 0u);
}

TEST_F(BounceTest, ReverseLookupGivesTheOriginalBuffer) {
  std::byte* buf = high_buffer(6000, std::byte{0});
  const Result<DmaAddr> dma = map_single(dev_, buf + 10, 5000, Direction::ToDevice);
  ASSERT_TRUE(dma);
  EXPECT_EQ(dma_to_virt(dev_, *dma), buf + 10);
  EXPECT_EQ(dma_to_virt(dev_, *dma + 4999), buf + 10 + 4999);
  ASSERT_TRUE(unmap_single(dev_, *dma, 5000, Direction::ToDevice));
  // A tracker answers for live bounce mappings too, however they share DMA pages.
  MappingTracker tracker;
  dev_.set_tracker(&tracker);
  const Result<DmaAddr> one = map_single(dev_, buf, 100, Direction::ToDevice);
  const Result<DmaAddr> two = map_single(dev_, buf + 4096, 100, Direction::ToDevice);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(dma_to_virt(dev_, *one + 1), buf + 1);
  EXPECT_EQ(dma_to_virt(dev_, *two + 1), buf + 4097);
  ASSERT_TRUE(unmap_single(dev_, *one, 100, Direction::ToDevice));
  EXPECT_EQ(dma_to_virt(dev_, *one), nullptr);
  EXPECT_EQ(dma_to_virt(dev_, *two), buf + 4096);
  ASSERT_TRUE(unmap_single(dev_, *two, 100, Direction::ToDevice));
  dev_.set_tracker(nullptr);
}

TEST_F(BounceTest, DirectOpsBounceAsTheInlinePathDoes) {
  DirectOps ops;
  dev_.set_ops(&ops);
  std::byte* buf = high_buffer(kPageSize, std::byte{6});
  const Result<DmaAddr> dma = map_single(dev_, buf, kPageSize, Direction::Bidirectional);
  ASSERT_TRUE(dma);
  EXPECT_TRUE(all_bytes(device_reads(*dma, kPageSize).data(), kPageSize, std::byte{6}));
  device_fills(*dma, 8, std::byte{7});
  ASSERT_TRUE(sync_single_for_cpu(dev_, *dma, 8, Direction::Bidirectional));
  EXPECT_TRUE(all_bytes(buf, 8, std::byte{7}));
  EXPECT_EQ(max_mapping_size(dev_), 256 * kKiB);
  ASSERT_TRUE(unmap_single(dev_, *dma, kPageSize, Direction::Bidirectional));
  dev_.set_ops(nullptr);
}

class FullBounceTest : public BounceTest {
 protected:
  FullBounceTest() : BounceTest(testing::bounce_machine_config(kMiB, 1)) {}
};

TEST_F(FullBounceTest, PoolExhaustionIsAMappingErrorThatDisturbsNothing) {
  std::byte* buf = high_buffer(256 * kKiB, std::byte{3});
  std::vector<DmaAddr> live;
  for (int i = 0; i < 4; ++i)
    live.push_back(map_single(dev_, buf, 256 * kKiB, Direction::ToDevice).value());
  const Result<DmaAddr> full = map_single(dev_, buf, 4096, Direction::ToDevice);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::NoBounceSlot);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("dev0: swiotlb buffer is full (sz: 4096 bytes), total 512 (slots), "
                              "used 512 (slots)"),
            std::string::npos)
      << warnings_[0];
  for (const DmaAddr d : live)
    EXPECT_TRUE(all_bytes(device_reads(d, 256 * kKiB).data(), 256 * kKiB, std::byte{3}));
  ASSERT_TRUE(unmap_single(dev_, live.back(), 256 * kKiB, Direction::ToDevice));
  live.pop_back();
  const Result<DmaAddr> again = map_single(dev_, buf, 4096, Direction::ToDevice);
  ASSERT_TRUE(again);
  ASSERT_TRUE(unmap_single(dev_, *again, 4096, Direction::ToDevice));
  for (const DmaAddr d : live) ASSERT_TRUE(unmap_single(dev_, d, 256 * kKiB, Direction::ToDevice));
}

class HighRamBounceTest : public BounceTest {
 protected:
  // All RAM above 4 GiB, the bus seeing physical 4 GiB at 0, the bounce pool allowed up there.
  static machine::MachineConfig config() {
    machine::MachineConfig c = testing::bounce_machine_config();
    c.holes = {{"low", {PhysAddr(0), PhysAddr(4 * kGiB)}}};
    c.zone_dma32_limit.reset();
    c.swiotlb.limit = 8 * kGiB;
    return c;
  }
  HighRamBounceTest() : BounceTest(config()) {}
};

TEST_F(HighRamBounceTest, NarrowDevicesWorkWhenNoRamSitsLow) {
  // With no offset a 31-bit device reaches nothing: no RAM and no bounce slot lies under 2 GiB.
  EXPECT_FALSE(dev_.set_dma_mask(dma_bit_mask(31)));
  dev_.set_bus_offset(-static_cast<std::int64_t>(4 * kGiB));
  ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(31)));
  ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(24)));
  std::byte* buf = high_buffer(1000, std::byte{0x31});
  const Result<DmaAddr> dma = map_single(dev_, buf, 1000, Direction::Bidirectional);
  ASSERT_TRUE(dma);
  EXPECT_LE(dma->value() + 999, dma_bit_mask(24));
  EXPECT_TRUE(all_bytes(device_reads(*dma, 1000).data(), 1000, std::byte{0x31}));
  device_fills(*dma, 1000, std::byte{0x24});
  ASSERT_TRUE(unmap_single(dev_, *dma, 1000, Direction::Bidirectional));
  EXPECT_TRUE(all_bytes(buf, 1000, std::byte{0x24}));
}

TEST(BusAccess, DevicesFaultBeyondTheirAddressLinesAndOutsideRam) {
  machine::Machine m(testing::bounce_machine_config());
  Platform platform(m);
  Device dev(platform, "dev");
  std::vector<std::byte> buf(16);
  EXPECT_EQ(device_read(dev, DmaAddr(4 * kGiB - 8), buf).error().code, Errc::Fault);
  EXPECT_EQ(device_read(dev, DmaAddr(3 * kGiB), buf).error().code, Errc::Fault);  // the PCI hole
  EXPECT_EQ(device_write(dev, DmaAddr(0x1000), std::span<const std::byte>{}).error().code,
            Errc::InvalidArgument);
  EXPECT_TRUE(device_write(dev, DmaAddr(0x1000), buf));
}

}  // namespace
}  // namespace dmakit::dma
