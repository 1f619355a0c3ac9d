// SPDX-License-Identifier: Apache-2.0
// The DMA API over an IOMMU, seen from the device: every access goes through device_read and
// device_write, so translation, permissions and isolation are what a bus master would meet.
#include "dmakit/dma/iommu_ops.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/coherent.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/platform.h"
#include "dmakit/iommu/iommu.h"
#include "testing/bounce_machine.h"
#include "testing/bytes.h"

namespace dmakit::dma {
namespace {

using testing::all_bytes;

using machine::Page;

class IommuOpsTest : public ::testing::Test {
 protected:
  IommuOpsTest()
      : machine_(testing::bounce_machine_config()),
        platform_(machine_),
        iommu_(machine_, {}),
        dev_(platform_, "nic32") {
    attach(dev_, iommu::InvalidationPolicy::Strict);
  }
  iommu::Domain& attach(Device& dev, iommu::InvalidationPolicy policy) {
    iommu::Domain& d = iommu_.create_domain({.policy = policy});
    dev.attach(&d);
    return d;
  }
  // A page-aligned buffer at 40 GiB and above.
  std::byte* high_buffer(std::uint64_t size, std::byte fill) {
    std::byte* cpu = machine_.memory().direct_map(PhysAddr(40 * kGiB + next_ * kPageSize));
    next_ += (size + kPageSize - 1) / kPageSize + 1;
    std::memset(cpu, std::to_integer<int>(fill), size);
    return cpu;
  }
  Page* page_of(const std::byte* cpu) {
    return machine_.memory().pfn_to_page(phys_to_pfn(machine_.virt_to_phys(cpu).value()));
  }

  machine::Machine machine_;
  Platform platform_;
  iommu::Iommu iommu_;
  Device dev_;
  std::uint64_t next_ = 0;
};

TEST_F(IommuOpsTest, ThirtyTwoBitDeviceReachesHighMemoryWithoutBouncing) {
  std::byte* tx = high_buffer(10000, std::byte{0x11});
  std::byte* rx = high_buffer(10000, std::byte{0});
  const Result<DmaAddr> tx_dma = map_single(dev_, tx + 100, 9000, Direction::ToDevice);
  const Result<DmaAddr> rx_dma = map_single(dev_, rx + 100, 9000, Direction::FromDevice);
  ASSERT_TRUE(tx_dma && rx_dma);
  EXPECT_LE(tx_dma->value() + 8999, dma_bit_mask(32));
  EXPECT_EQ(tx_dma->value() % kPageSize, 100u);  // the offset in the page is kept
  std::vector<std::byte> data(9000);
  ASSERT_TRUE(device_read(dev_, *tx_dma, data));
  EXPECT_TRUE(all_bytes(data.data(), 9000, std::byte{0x11}));
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i);
  ASSERT_TRUE(device_write(dev_, *rx_dma, data));
  EXPECT_EQ(std::memcmp(rx + 100, data.data(), 9000), 0);  // coherent: visible at once
  ASSERT_TRUE(unmap_single(dev_, *tx_dma, 9000, Direction::ToDevice));
  ASSERT_TRUE(unmap_single(dev_, *rx_dma, 9000, Direction::FromDevice));
  EXPECT_EQ(platform_.swiotlb()->stats().mappings_bounced, 0u);
  EXPECT_EQ(platform_.swiotlb()->stats().bytes_to_device, 0u);
}

TEST_F(IommuOpsTest, DirectionsBecomePermissions) {
  std::byte* buf = high_buffer(kPageSize, std::byte{1});
  const DmaAddr to = map_single(dev_, buf, kPageSize, Direction::ToDevice).value();
  const std::vector<std::byte> junk(16, std::byte{0xee});
  EXPECT_EQ(device_write(dev_, to, junk).error().code, Errc::Fault);
  EXPECT_TRUE(all_bytes(buf, kPageSize, std::byte{1}));
  ASSERT_TRUE(unmap_single(dev_, to, kPageSize, Direction::ToDevice));
  const DmaAddr from = map_single(dev_, buf, kPageSize, Direction::FromDevice).value();
  std::vector<std::byte> out(16);
  EXPECT_EQ(device_read(dev_, from, out).error().code, Errc::Fault);
  EXPECT_TRUE(device_write(dev_, from, junk));
  ASSERT_TRUE(unmap_single(dev_, from, kPageSize, Direction::FromDevice));
  EXPECT_EQ(iommu_.faults().count(), 2u);
}

TEST_F(IommuOpsTest, DevicesInOtherDomainsCannotTouchEachOthersMemory) {
  // Seed 002: a device given to a virtual machine cannot overwrite what its owner did not map.
  Device guest(platform_, "assigned");
  attach(guest, iommu::InvalidationPolicy::Strict);
  std::byte* secret = high_buffer(kPageSize, std::byte{0x5e});
  const DmaAddr dma = map_single(dev_, secret, kPageSize, Direction::Bidirectional).value();
  const std::vector<std::byte> junk(64, std::byte{0});
  const Status attack = device_write(guest, dma, junk);
  ASSERT_FALSE(attack);
  EXPECT_EQ(attack.error().code, Errc::Fault);
  EXPECT_TRUE(all_bytes(secret, kPageSize, std::byte{0x5e}));
  const std::vector<iommu::Fault> faults = iommu_.faults().recorded();
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].device, "assigned");
  EXPECT_EQ(faults[0].reason, iommu::FaultReason::NotMapped);
  EXPECT_TRUE(faults[0].write);
  ASSERT_TRUE(unmap_single(dev_, dma, kPageSize, Direction::Bidirectional));
}

TEST_F(IommuOpsTest, ScatteredPagesBecomeOneSegment) {
  SgTable table;
  for (int i = 0; i < 3; ++i)
    table.add(page_of(high_buffer(kPageSize, std::byte{7})), 0, kPageSize);
  ASSERT_TRUE(dev_.set_max_segment_size(64 * kKiB));
  const Result<std::size_t> n = map_sg(dev_, table, Direction::ToDevice);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(table.entries()[0].dma_length, 3 * kPageSize);
  std::vector<std::byte> data(3 * kPageSize);
  ASSERT_TRUE(device_read(dev_, table.entries()[0].dma_address, data));
  EXPECT_TRUE(all_bytes(data.data(), data.size(), std::byte{7}));
  ASSERT_TRUE(unmap_sg(dev_, table, Direction::ToDevice));
}

TEST_F(IommuOpsTest, SegmentsSplitAtMaxSizeOffsetsAndTheBoundary) {
  {  // 8 KiB segments: three pages make 8 + 4 KiB.
    ASSERT_TRUE(dev_.set_max_segment_size(8 * kKiB));
    SgTable table;
    for (int i = 0; i < 3; ++i)
      table.add(page_of(high_buffer(kPageSize, std::byte{0})), 0, kPageSize);
    ASSERT_EQ(map_sg(dev_, table, Direction::ToDevice).value(), 2u);
    EXPECT_EQ(table.entries()[0].dma_length, 8 * kKiB);
    EXPECT_EQ(table.entries()[1].dma_length, 4 * kKiB);
    EXPECT_EQ(table.entries()[1].dma_address, table.entries()[0].dma_address + 8 * kKiB);
    ASSERT_TRUE(unmap_sg(dev_, table, Direction::ToDevice));
  }
  {  // An entry that does not start on a page boundary starts a segment of its own.
    ASSERT_TRUE(dev_.set_max_segment_size(64 * kKiB));
    SgTable table;
    table.add(page_of(high_buffer(kPageSize, std::byte{0})), 0, kPageSize);
    table.add(page_of(high_buffer(kPageSize, std::byte{0})), 0x100, 0x200);
    ASSERT_EQ(map_sg(dev_, table, Direction::ToDevice).value(), 2u);
    EXPECT_EQ(table.entries()[1].dma_address.value() % kPageSize, 0x100u);
    ASSERT_TRUE(unmap_sg(dev_, table, Direction::ToDevice));
  }
  {  // A 64 KiB boundary: 48 KiB then 32 KiB; the second is padded to start on the boundary.
    ASSERT_TRUE(dev_.set_segment_boundary_mask(64 * kKiB - 1));
    SgTable table;
    std::byte* a = high_buffer(48 * kKiB, std::byte{1});
    std::byte* b = high_buffer(32 * kKiB, std::byte{2});
    table.add(page_of(a), 0, 48 * kKiB);
    table.add(page_of(b), 0, 32 * kKiB);
    ASSERT_EQ(map_sg(dev_, table, Direction::ToDevice).value(), 2u);
    const ScatterEntry& second = table.entries()[1];
    EXPECT_EQ(second.dma_address.value() % (64 * kKiB), 0u);
    for (const ScatterEntry& e : table.entries().first(2))
      EXPECT_EQ(e.dma_address.value() >> 16, (e.dma_address.value() + e.dma_length - 1) >> 16);
    std::vector<std::byte> data(32 * kKiB);
    ASSERT_TRUE(device_read(dev_, second.dma_address, data));
    EXPECT_TRUE(all_bytes(data.data(), data.size(), std::byte{2}));
    ASSERT_TRUE(unmap_sg(dev_, table, Direction::ToDevice));
  }
}

TEST_F(IommuOpsTest, CoherentMemoryIsMappedReadWriteAndFreedWithIt) {
  DmaAddr handle;
  std::byte* cpu = static_cast<std::byte*>(alloc_coherent(dev_, 3 * kPageSize, &handle).value());
  EXPECT_LE(handle.value() + 3 * kPageSize - 1, dev_.coherent_limit());
  const std::vector<std::byte> data(100, std::byte{9});
  ASSERT_TRUE(device_write(dev_, handle + kPageSize, data));
  EXPECT_TRUE(all_bytes(cpu + kPageSize, 100, std::byte{9}));
  EXPECT_EQ(dma_to_virt(dev_, handle + 5), cpu + 5);
  ASSERT_TRUE(free_coherent(dev_, 3 * kPageSize, cpu, handle));
  std::vector<std::byte> out(8);
  EXPECT_FALSE(device_read(dev_, handle, out));
}

TEST_F(IommuOpsTest, DeferredInvalidationHoldsTheWindowUntilTheFlush) {
  Device lazy(platform_, "lazy");
  iommu::Domain& d = attach(lazy, iommu::InvalidationPolicy::Deferred);
  std::byte* buf = high_buffer(kPageSize, std::byte{3});
  const DmaAddr dma = map_single(lazy, buf, kPageSize, Direction::FromDevice).value();
  const std::vector<std::byte> data(8, std::byte{4});
  ASSERT_TRUE(device_write(lazy, dma, data));
  ASSERT_TRUE(unmap_single(lazy, dma, kPageSize, Direction::FromDevice));
  EXPECT_TRUE(device_write(lazy, dma, data));  // the stale IOTLB entry still works
  d.flush();
  EXPECT_FALSE(device_write(lazy, dma, data));
  EXPECT_EQ(iommu_.stats().stale_hits, 1u);
}

TEST_F(IommuOpsTest, PassthroughDevicesUseTheDirectPath) {
  Device fast(platform_, "passthrough");
  fast.attach(&iommu_.create_domain({.kind = iommu::DomainKind::Identity}));
  EXPECT_EQ(fast.ops(), nullptr);
  Page* low = machine_.page_allocator().alloc_pages(machine::kGfpDma32, 0).value();
  const DmaAddr dma = map_page(fast, low, 0, 64, Direction::ToDevice).value();
  EXPECT_EQ(dma.value(), machine_.page_to_phys(low).value());
  std::vector<std::byte> out(64);
  EXPECT_TRUE(device_read(fast, dma, out));
  ASSERT_TRUE(unmap_page(fast, dma, 64, Direction::ToDevice));
  fast.attach(nullptr);
}

TEST_F(IommuOpsTest, MasksAreSupportedWhereIovaSpaceExists) {
  EXPECT_TRUE(dev_.set_dma_mask(dma_bit_mask(24)));
  std::byte* buf = high_buffer(kPageSize, std::byte{0});
  const DmaAddr dma = map_single(dev_, buf, kPageSize, Direction::ToDevice).value();
  EXPECT_LE(dma.value(), dma_bit_mask(24));
  ASSERT_TRUE(unmap_single(dev_, dma, kPageSize, Direction::ToDevice));
  EXPECT_FALSE(dev_.set_dma_mask(dma_bit_mask(12)));  // not one page above IOVA 0
}

TEST_F(IommuOpsTest, TwoThreadsMapThroughOneDomain) {
  Device other(platform_, "other");
  other.attach(dev_.domain());  // devices may share a domain
  const auto work = [&](Device& dev, std::byte* buf, bool* ok) {
    for (int i = 0; i < 2000; ++i) {
      const Result<DmaAddr> dma = map_single(dev, buf, 3000, Direction::Bidirectional);
      std::vector<std::byte> out(3000);
      if (!dma || !device_read(dev, *dma, out) || out[2999] != buf[2999] ||
          !unmap_single(dev, *dma, 3000, Direction::Bidirectional))
        *ok = false;
    }
  };
  bool ok_a = true;
  bool ok_b = true;
  std::byte* a = high_buffer(3000, std::byte{1});
  std::byte* b = high_buffer(3000, std::byte{2});
  std::thread ta(work, std::ref(dev_), a, &ok_a);
  std::thread tb(work, std::ref(other), b, &ok_b);
  ta.join();
  tb.join();
  EXPECT_TRUE(ok_a && ok_b);
  EXPECT_EQ(dev_.domain()->stats().iova.live_ranges, 0u);
  EXPECT_EQ(iommu_.faults().count(), 0u);
}

}  // namespace
}  // namespace dmakit::dma
