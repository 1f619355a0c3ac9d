// SPDX-License-Identifier: Apache-2.0
#include "dmakit/swiotlb/swiotlb.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dmakit/core/config_error.h"
#include "testing/bytes.h"
#include "testing/small_machine.h"

namespace dmakit::swiotlb {
namespace {

class SwiotlbTest : public ::testing::Test {
 protected:
  static machine::MachineConfig config() {
    machine::MachineConfig c = testing::compact_machine_config(512 * kMiB, kMiB);
    c.swiotlb.areas = 1;
    c.swiotlb.transient_pools = 2;
    c.swiotlb.transient_size = 256 * kKiB;
    return c;
  }
  SwiotlbTest() : machine_(config()), mask_(machine_), tlb_(mask_, machine_.config().swiotlb) {
    tlb_.set_warning_sink([this](const std::string& m) { warnings_.push_back(m); });
  }

  // A buffer high in RAM filled with `fill`.
  PhysAddr buffer(std::uint64_t size, std::byte fill) {
    const PhysAddr phys = next_;
    next_ = next_ + ((size + kPageSize - 1) & ~(kPageSize - 1));
    std::memset(cpu(phys), std::to_integer<int>(fill), size);
    return phys;
  }
  std::byte* cpu(PhysAddr phys) { return machine_.memory().direct_map(phys); }
  bool all(PhysAddr phys, std::uint64_t size, std::byte value) {
    return testing::all_bytes(cpu(phys), size, value);
  }

  machine::Machine machine_;
  alloc::MaskAllocator mask_;
  Swiotlb tlb_;
  std::vector<std::string> warnings_;
  PhysAddr next_{256 * kMiB};
};

constexpr std::uint64_t kReach = dma_bit_mask(32);

TEST_F(SwiotlbTest, ThePoolComesFromTheMaskPool) {
  const SwiotlbStats s = tlb_.stats();
  EXPECT_TRUE(mask_.in_pool(s.pool.start));
  EXPECT_EQ(s.pool.size(), kMiB);
  EXPECT_EQ(s.total_slots, 512u);
  EXPECT_EQ(mask_.stats().used_pages, kMiB / kPageSize);
}

TEST_F(SwiotlbTest, MapCopiesTheBufferInWhateverTheDirection) {
  for (const Direction dir :
       {Direction::ToDevice, Direction::FromDevice, Direction::Bidirectional}) {
    const PhysAddr orig = buffer(3000, std::byte{0x5a});
    const Result<PhysAddr> bounce = tlb_.map(orig, 3000, dir, {}, kReach, "dev");
    ASSERT_TRUE(bounce);
    EXPECT_TRUE(all(*bounce, 3000, std::byte{0x5a})) << static_cast<int>(dir);
    ASSERT_TRUE(tlb_.unmap(*bounce, 3000, dir));
  }
  EXPECT_EQ(tlb_.stats().bytes_to_device, 9000u);
}

TEST_F(SwiotlbTest, UnmapCopiesBackOnlyWhatTheDeviceMayHaveWritten) {
  for (const Direction dir :
       {Direction::ToDevice, Direction::FromDevice, Direction::Bidirectional}) {
    const PhysAddr orig = buffer(100, std::byte{1});
    const Result<PhysAddr> bounce = tlb_.map(orig, 100, dir, {}, kReach, "dev");
    ASSERT_TRUE(bounce);
    std::memset(cpu(*bounce), 2, 100);  // what a device would write
    ASSERT_TRUE(tlb_.unmap(*bounce, 100, dir));
    EXPECT_TRUE(all(orig, 100, dir == Direction::ToDevice ? std::byte{1} : std::byte{2}))
        << static_cast<int>(dir);
  }
}

TEST_F(SwiotlbTest, SyncsCopyByDirectionAndOnlyTheRangeAsked) {
  const PhysAddr orig = buffer(8192, std::byte{1});
  const Result<PhysAddr> bounce = tlb_.map(orig, 8192, Direction::Bidirectional, {}, kReach, "d");
  ASSERT_TRUE(bounce);
  std::memset(cpu(*bounce), 2, 8192);
  ASSERT_TRUE(tlb_.sync_for_cpu(*bounce + 1000, 500, Direction::Bidirectional));
  EXPECT_TRUE(all(orig, 1000, std::byte{1}));
  EXPECT_TRUE(all(orig + 1000, 500, std::byte{2}));
  EXPECT_TRUE(all(orig + 1500, 8192 - 1500, std::byte{1}));
  std::memset(cpu(orig), 3, 8192);
  ASSERT_TRUE(tlb_.sync_for_device(*bounce + 4096, 10, Direction::Bidirectional));
  EXPECT_TRUE(all(*bounce + 4096, 10, std::byte{3}));
  EXPECT_TRUE(all(*bounce + 4106, 10, std::byte{2}));
  // A TO_DEVICE sync for the CPU and a FROM_DEVICE sync for the device move nothing.
  ASSERT_TRUE(tlb_.sync_for_cpu(*bounce, 8192, Direction::ToDevice));
  ASSERT_TRUE(tlb_.sync_for_device(*bounce, 8192, Direction::FromDevice));
  EXPECT_TRUE(all(orig, 8192, std::byte{3}));
  // A range that leaves the mapping is refused and copies nothing.
  EXPECT_EQ(tlb_.sync_for_cpu(*bounce + 8000, 193, Direction::Bidirectional).error().code,
            Errc::InvalidArgument);
  EXPECT_TRUE(all(orig + 8000, 192, std::byte{3}));
  ASSERT_TRUE(tlb_.unmap(*bounce, 8192, Direction::ToDevice));
}

TEST_F(SwiotlbTest, AFullPoolFailsWithOneReportNamingTheDeviceAndRecovers) {
  std::vector<PhysAddr> live;
  const PhysAddr orig = buffer(kMaxRunBytes, std::byte{7});
  // 1 MiB of pool and two 256 KiB transient pools: six maximal mappings.
  for (int i = 0; i < 6; ++i) {
    const Result<PhysAddr> b = tlb_.map(orig, kMaxRunBytes, Direction::ToDevice, {}, kReach, "nic");
    ASSERT_TRUE(b) << i;
    live.push_back(*b);
  }
  EXPECT_EQ(tlb_.stats().transient_active, 2u);
  const Result<PhysAddr> full = tlb_.map(orig, 64, Direction::ToDevice, {}, kReach, "nic");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::NoBounceSlot);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("nic: swiotlb buffer is full (sz: 64 bytes), total 768 (slots), "
                              "used 768 (slots)"),
            std::string::npos)
      << warnings_[0];
  EXPECT_EQ(tlb_.stats().failures, 1u);
  // Live mappings are untouched, and the pool serves again once one is released.
  EXPECT_TRUE(all(live[0], kMaxRunBytes, std::byte{7}));
  ASSERT_TRUE(tlb_.unmap(live[0], kMaxRunBytes, Direction::ToDevice));
  const Result<PhysAddr> again = tlb_.map(orig, 64, Direction::ToDevice, {}, kReach, "nic");
  ASSERT_TRUE(again);
  ASSERT_TRUE(tlb_.unmap(*again, 64, Direction::ToDevice));
  for (std::size_t i = 1; i < live.size(); ++i)
    ASSERT_TRUE(tlb_.unmap(live[i], kMaxRunBytes, Direction::ToDevice));
  tlb_.validate();
}

TEST_F(SwiotlbTest, FailureReportsAreRateLimited) {
  std::vector<PhysAddr> live;
  const PhysAddr orig = buffer(kMaxRunBytes, std::byte{7});
  for (Result<PhysAddr> b;
       (b = tlb_.map(orig, kMaxRunBytes, Direction::ToDevice, {}, kReach, "d"));)
    live.push_back(*b);
  for (int i = 0; i < 30; ++i)
    EXPECT_FALSE(tlb_.map(orig, kMaxRunBytes, Direction::ToDevice, {}, kReach, "d"));
  EXPECT_EQ(warnings_.size(), 10u);  // Linux's default burst: 10 per 5 s
  EXPECT_EQ(tlb_.stats().failures, 31u);
  for (const PhysAddr b : live) ASSERT_TRUE(tlb_.unmap(b, kMaxRunBytes, Direction::ToDevice));
}

TEST_F(SwiotlbTest, TransientPoolsGrowBelowTheDevicesReachAndGoBackWhenEmpty) {
  const std::uint64_t pool_pages = mask_.stats().used_pages;
  std::vector<PhysAddr> live;
  const PhysAddr orig = buffer(kMaxRunBytes, std::byte{7});
  for (int i = 0; i < 4; ++i)
    live.push_back(*tlb_.map(orig, kMaxRunBytes, Direction::ToDevice, {}, kReach, "d"));
  // A 24-bit device's transient pool comes from below 16 MiB.
  const BounceRequest isa{.bus_limit = dma_bit_mask(24)};
  const Result<PhysAddr> grown =
      tlb_.map(orig, 4096, Direction::ToDevice, isa, dma_bit_mask(24), "isa");
  ASSERT_TRUE(grown);
  EXPECT_LT(grown->value(), 16 * kMiB);
  EXPECT_EQ(tlb_.stats().transient_active, 1u);
  EXPECT_EQ(tlb_.stats().transient_taken, 1u);
  EXPECT_EQ(mask_.stats().used_pages, pool_pages + 256 * kKiB / kPageSize);
  EXPECT_EQ(tlb_.original(*grown + 5).value(), orig + 5);
  ASSERT_TRUE(tlb_.unmap(*grown, 4096, Direction::ToDevice));
  EXPECT_EQ(tlb_.stats().transient_active, 0u);
  EXPECT_EQ(mask_.stats().used_pages, pool_pages);
  EXPECT_FALSE(tlb_.owns(*grown));
  for (const PhysAddr b : live) ASSERT_TRUE(tlb_.unmap(b, kMaxRunBytes, Direction::ToDevice));
  EXPECT_EQ(tlb_.stats().used_slots, 0u);
}

TEST_F(SwiotlbTest, CountsSlotsAndTheHighWaterMark) {
  const PhysAddr orig = buffer(5000, std::byte{1});
  const Result<PhysAddr> a = tlb_.map(orig, 5000, Direction::ToDevice, {}, kReach, "d");
  const Result<PhysAddr> b = tlb_.map(orig, 100, Direction::FromDevice, {}, kReach, "d");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(tlb_.stats().used_slots, 4u);  // 5000 bytes take 3 slots, 100 bytes 1
  ASSERT_TRUE(tlb_.unmap(*a, 5000, Direction::ToDevice));
  ASSERT_TRUE(tlb_.unmap(*b, 100, Direction::FromDevice));
  const SwiotlbStats s = tlb_.stats();
  EXPECT_EQ(s.used_slots, 0u);
  EXPECT_EQ(s.used_hiwater, 4u);
  EXPECT_EQ(s.mappings_bounced, 2u);
  EXPECT_EQ(s.bytes_to_device, 5100u);
  EXPECT_EQ(s.bytes_from_device, 100u);
}

TEST_F(SwiotlbTest, BadUnmapsAreRefusedAndLoseNothing) {
  const PhysAddr orig = buffer(100, std::byte{1});
  const Result<PhysAddr> b = tlb_.map(orig, 100, Direction::FromDevice, {}, kReach, "d");
  ASSERT_TRUE(b);
  EXPECT_EQ(tlb_.unmap(*b, 99, Direction::FromDevice).error().code, Errc::InvalidArgument);
  EXPECT_EQ(tlb_.unmap(orig, 100, Direction::FromDevice).error().code, Errc::InvalidArgument);
  EXPECT_EQ(tlb_.unmap(*b, 100, Direction::None).error().code, Errc::InvalidArgument);
  EXPECT_EQ(tlb_.map(orig, 0, Direction::ToDevice, {}, kReach, "d").error().code,
            Errc::InvalidArgument);
  ASSERT_TRUE(tlb_.unmap(*b, 100, Direction::FromDevice));
  EXPECT_EQ(tlb_.unmap(*b, 100, Direction::FromDevice).error().code, Errc::InvalidArgument);
  EXPECT_EQ(tlb_.stats().used_slots, 0u);
}

TEST(Swiotlb, APoolThatCannotBePlacedIsAConfigError) {
  machine::MachineConfig c = testing::compact_machine_config(512 * kMiB, kMiB);
  c.swiotlb.limit = 512 * kKiB;  // below the pool's own size
  machine::Machine m(c);
  alloc::MaskAllocator mask(m);
  EXPECT_THROW(Swiotlb(mask, c.swiotlb), ConfigError);
  EXPECT_EQ(mask.stats().used_pages, 0u);  // nothing kept
}

}  // namespace
}  // namespace dmakit::swiotlb
