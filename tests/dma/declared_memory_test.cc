// SPDX-License-Identifier: Apache-2.0
#include "dmakit/dma/declared_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dmakit/dma/coherent.h"
#include "dmakit/dma/device.h"

namespace dmakit::dma {
namespace {

// The region sits in the PCI hole, as a controller's BAR would; the device sees it at 0x10000.
constexpr PhysAddr kBar(0xd0000000);
constexpr DmaAddr kDeviceView(0x10000);
constexpr std::uint64_t kRegion = 64 * kKiB;  // 16 pages

class DeclaredMemoryTest : public ::testing::Test {
 protected:
  DeclaredMemoryTest() : platform_(machine_), dev_(platform_, "raid0") {}
  machine::Machine machine_;
  Platform platform_;
  Device dev_;
};

TEST_F(DeclaredMemoryTest, MapRegionHandsOutPlainPointersAndDeviceAddresses) {
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryMap));
  DmaAddr handle{};
  std::byte* cpu = alloc_coherent(dev_, 3 * kPageSize, &handle).value();
  EXPECT_EQ(handle, kDeviceView);  // the device's own view, not the bus address
  EXPECT_EQ(dev_.declared_memory()->pages_in_use(), 4u);  // 3 pages take an aligned 4-page block
  std::memcpy(cpu, "on-board", 9);
  EXPECT_EQ(std::memcmp(machine_.device_memory().find(kBar)->backing, "on-board", 9), 0);
  DmaAddr second{};
  ASSERT_TRUE(alloc_coherent(dev_, kPageSize, &second));
  EXPECT_EQ(second, kDeviceView + 4 * kPageSize);
  EXPECT_FALSE(free_coherent(dev_, kPageSize, cpu, handle));  // wrong size
  EXPECT_TRUE(free_coherent(dev_, 3 * kPageSize, cpu, handle));
}

TEST_F(DeclaredMemoryTest, NonExclusiveRegionFallsBackToSystemMemoryWhenFull) {
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryMap));
  std::vector<std::pair<std::byte*, DmaAddr>> blocks(16);
  for (auto& [cpu, dma] : blocks) cpu = alloc_coherent(dev_, kPageSize, &dma).value();
  DmaAddr fallback{};
  std::byte* sys = alloc_coherent(dev_, kPageSize, &fallback).value();
  EXPECT_TRUE(machine_.virt_to_phys(sys));  // system RAM
  EXPECT_TRUE(free_coherent(dev_, kPageSize, sys, fallback));
  for (auto [cpu, dma] : blocks) EXPECT_TRUE(free_coherent(dev_, kPageSize, cpu, dma));
}

TEST_F(DeclaredMemoryTest, ExclusiveRegionFailsWhenFull) {
  ASSERT_TRUE(
      declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryMap | kMemoryExclusive));
  std::vector<std::pair<std::byte*, DmaAddr>> blocks(16);
  for (auto& [cpu, dma] : blocks) cpu = alloc_coherent(dev_, kPageSize, &dma).value();
  DmaAddr none{};
  EXPECT_EQ(alloc_coherent(dev_, kPageSize, &none).error().code, Errc::NoMemory);
  for (auto [cpu, dma] : blocks) EXPECT_TRUE(free_coherent(dev_, kPageSize, cpu, dma));
}

TEST_F(DeclaredMemoryTest, IoRegionIsReachableOnlyThroughAccessors) {
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryIo));
  DmaAddr handle{};
  std::byte* io = alloc_coherent(dev_, kPageSize, &handle).value();
  ASSERT_TRUE(machine_.device_memory().write_io(io + 8, "regs", 5));
  char back[5] = {};
  ASSERT_TRUE(machine_.device_memory().read_io(back, io + 8, 5));
  EXPECT_STREQ(back, "regs");
  EXPECT_EQ(machine_.device_memory().write_io(io + kRegion - 2, "xyz", 3).error().code,
            Errc::BadAddress);
  EXPECT_TRUE(free_coherent(dev_, kPageSize, io, handle));
}

TEST_F(DeclaredMemoryTest, PlainAccessToAnIoRegionFaults) {
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryIo));
  DmaAddr handle{};
  volatile std::byte* io = alloc_coherent(dev_, kPageSize, &handle).value();
  EXPECT_DEATH(io[0] = std::byte{1}, "");
}

TEST_F(DeclaredMemoryTest, ChildrenUseTheRegionOnlyWhenItIncludesThem) {
  Device child(platform_, "disk0", &dev_);
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryMap));
  DmaAddr handle{};
  std::byte* cpu = alloc_coherent(child, kPageSize, &handle).value();
  EXPECT_TRUE(machine_.virt_to_phys(cpu));  // system RAM: the region is the parent's alone
  EXPECT_TRUE(free_coherent(child, kPageSize, cpu, handle));

  Device other(platform_, "bridge1");
  Device grandchild_parent(platform_, "port", &other);
  Device grandchild(platform_, "disk1", &grandchild_parent);
  ASSERT_TRUE(declare_coherent_memory(other, PhysAddr(0xd1000000), DmaAddr(0), kRegion,
                                      kMemoryMap | kMemoryIncludesChildren));
  std::byte* shared = alloc_coherent(grandchild, kPageSize, &handle).value();
  EXPECT_FALSE(machine_.virt_to_phys(shared));  // not RAM: the bridge's memory
  EXPECT_EQ(handle, DmaAddr(0));
  EXPECT_TRUE(free_coherent(grandchild, kPageSize, shared, handle));
}

TEST_F(DeclaredMemoryTest, BadDeclarationsAreRefused) {
  EXPECT_EQ(declare_coherent_memory(dev_, kBar, kDeviceView, 0, kMemoryMap).error().code,
            Errc::InvalidArgument);
  EXPECT_EQ(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, 0).error().code,
            Errc::InvalidArgument);
  EXPECT_EQ(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryMap | kMemoryIo)
                .error()
                .code,
            Errc::InvalidArgument);
  EXPECT_EQ(
      declare_coherent_memory(dev_, PhysAddr(kGiB), kDeviceView, kRegion, kMemoryMap).error().code,
      Errc::BadAddress);  // that is RAM
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryMap));
  EXPECT_EQ(
      declare_coherent_memory(dev_, kBar + kRegion, kDeviceView, kRegion, kMemoryMap).error().code,
      Errc::Busy);
  Device other(platform_, "other");
  EXPECT_EQ(declare_coherent_memory(other, kBar, kDeviceView, kRegion, kMemoryMap).error().code,
            Errc::BadAddress);  // raid0's region
}

TEST_F(DeclaredMemoryTest, MarkOccupiedKeepsARangeFromAllocation) {
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryMap));
  std::byte* fw = mark_declared_memory_occupied(dev_, kDeviceView, 2 * kPageSize).value();
  EXPECT_EQ(fw, machine_.device_memory().find(kBar)->backing);
  DmaAddr handle{};
  ASSERT_TRUE(alloc_coherent(dev_, kPageSize, &handle));
  EXPECT_EQ(handle, kDeviceView + 2 * kPageSize);
  EXPECT_EQ(mark_declared_memory_occupied(dev_, kDeviceView + kPageSize, 10).error().code,
            Errc::Busy);
  EXPECT_EQ(mark_declared_memory_occupied(dev_, kDeviceView + kRegion, 10).error().code,
            Errc::InvalidArgument);
}

TEST_F(DeclaredMemoryTest, ReleaseWaitsForTheLastAllocationButNotForReservations) {
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryMap));
  ASSERT_TRUE(mark_declared_memory_occupied(dev_, kDeviceView, kPageSize));
  DmaAddr handle{};
  std::byte* cpu = alloc_coherent(dev_, kPageSize, &handle).value();
  EXPECT_EQ(release_declared_memory(dev_).error().code, Errc::Busy);
  ASSERT_TRUE(free_coherent(dev_, kPageSize, cpu, handle));
  ASSERT_TRUE(release_declared_memory(dev_));
  EXPECT_FALSE(machine_.device_memory().find(kBar));
  EXPECT_TRUE(declare_coherent_memory(dev_, kBar, kDeviceView, kRegion, kMemoryMap));
}

}  // namespace
}  // namespace dmakit::dma
