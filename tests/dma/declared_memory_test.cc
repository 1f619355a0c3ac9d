// SPDX-License-Identifier: Apache-2.0
#include "dmakit/dma/declared_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dmakit/dma/bus_access.h"
#include "dmakit/dma/coherent.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/mapping.h"
#include "testing/platform_kinds.h"

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

// Seed 001: the device addresses its declared memory at device_addr. On every platform kind its
// own accesses there reach that memory, not the RAM or IOVA the same bus address would name.
class DeclaredMemoryOnPlatformTest
    : public ::testing::TestWithParam<dmakit::testing::PlatformKind> {
 protected:
  DeclaredMemoryOnPlatformTest() : under_(GetParam()), dev_(under_.add_device("ctl0")) {}
  dmakit::testing::PlatformUnderTest under_;
  Device& dev_;
};

TEST_P(DeclaredMemoryOnPlatformTest, DeviceReachesItsDeclaredMemoryByItsDeviceAddress) {
  // 16 MiB is RAM (the mask pool) in bus terms, and an IOVA in a domain.
  constexpr DmaAddr kView(16 * kMiB);
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, kView, kRegion, kMemoryMap));
  const std::vector<std::byte> ram_before(
      under_.machine().memory().direct_map(PhysAddr(kView.value())),
      under_.machine().memory().direct_map(PhysAddr(kView.value())) + kPageSize);
  DmaAddr handle{};
  std::byte* cpu = alloc_coherent(dev_, kPageSize, &handle).value();
  ASSERT_EQ(handle, kView);

  const std::vector<std::byte> pattern(kPageSize, std::byte{0x5a});
  ASSERT_TRUE(device_write(dev_, handle, pattern));
  EXPECT_EQ(std::memcmp(cpu, pattern.data(), kPageSize), 0);
  std::memset(cpu, 0x3c, kPageSize);
  std::vector<std::byte> seen(kPageSize);
  ASSERT_TRUE(device_read(dev_, handle, seen));
  EXPECT_EQ(seen, std::vector<std::byte>(kPageSize, std::byte{0x3c}));
  EXPECT_EQ(std::memcmp(under_.machine().memory().direct_map(PhysAddr(kView.value())),
                        ram_before.data(), kPageSize),
            0);
  // An access that runs off the window's end is refused whole.
  EXPECT_EQ(device_read(dev_, kView + kRegion - 8, std::span(seen).first(16)).error().code,
            Errc::Fault);
  EXPECT_TRUE(free_coherent(dev_, kPageSize, cpu, handle));
}

TEST_P(DeclaredMemoryOnPlatformTest, StreamingMappingsNeverLandInTheDeclaredWindow) {
  // The window covers the top of the 32-bit space, where IOVAs are handed out first, and the
  // bus address of the first test buffer, where the direct path would put it.
  const bool translated =
      dev_.domain() != nullptr && dev_.domain()->config().kind != iommu::DomainKind::Identity;
  // Untranslated, a 64-bit device would map the buffers in place, were it not for the window.
  if (!translated) {
    ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(64)));
  }
  std::byte* first = under_.buffer(kPageSize, std::byte{0x77});
  const DmaAddr buffer_bus = dev_.phys_to_dma(*under_.machine().virt_to_phys(first));
  const DmaAddr view = translated ? DmaAddr(4 * kGiB - 256 * kPageSize) : buffer_bus;
  const std::uint64_t window = translated ? 256 * kPageSize : kRegion;
  ASSERT_TRUE(declare_coherent_memory(dev_, kBar, view, window, kMemoryMap));

  std::vector<std::byte*> buffers{first};
  for (int i = 0; i < 300; ++i) buffers.push_back(under_.buffer(kPageSize, std::byte{0x77}));
  for (std::byte* cpu : buffers) {
    const Result<DmaAddr> dma = map_single(dev_, cpu, kPageSize, Direction::ToDevice);
    if (!dma) {
      // Only a platform with neither an IOMMU nor bounce buffers has no other way.
      EXPECT_EQ(under_.kind(), dmakit::testing::PlatformKind::DirectLowRam) << dma.error().message;
      continue;
    }
    EXPECT_FALSE(dma->value() < view.value() + window && view.value() < dma->value() + kPageSize)
        << std::hex << dma->value();
    std::vector<std::byte> seen(kPageSize);
    ASSERT_TRUE(device_read(dev_, *dma, seen));
    EXPECT_EQ(seen, std::vector<std::byte>(kPageSize, std::byte{0x77}));
    ASSERT_TRUE(unmap_single(dev_, *dma, kPageSize, Direction::ToDevice));
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, DeclaredMemoryOnPlatformTest,
                         ::testing::ValuesIn(dmakit::testing::kDataPathKinds),
                         dmakit::testing::PlatformKindName{});

}  // namespace
}  // namespace dmakit::dma
