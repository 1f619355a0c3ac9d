// SPDX-License-Identifier: Apache-2.0
#include "dmakit/dma/mapping.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dmakit/dma/coherent.h"
#include "dmakit/dma/cpu_copy_ops.h"
#include "dmakit/dma/direct_ops.h"
#include "dmakit/dma/platform.h"

namespace dmakit::dma {
namespace {

using machine::Page;

class MappingTest : public ::testing::Test {
 protected:
  MappingTest() : machine_(config()), platform_(machine_), dev_(platform_, "dev0") {}
  static machine::MachineConfig config() {
    machine::MachineConfig c;
    c.ram_size = 8 * kGiB;
    c.node_count = 2;
    c.vmalloc_size = 16 * kMiB;
    c.swiotlb.size = 0;  // nothing bounces: unreachable memory is a mapping error
    return c;
  }
  Page* high_page() {
    // Node 1 is wholly above 4 GiB.
    return machine_.page_allocator().alloc_pages(machine::kGfpKernel, 0, 1).value();
  }
  Page* low_page() {
    return machine_.page_allocator().alloc_pages(machine::kGfpDma32, 0, 0).value();
  }

  machine::Machine machine_;
  Platform platform_;
  Device dev_;
};

TEST_F(MappingTest, DirectMappingIsPhysicalPlusBusOffset) {
  Page* page = low_page();
  const std::uint64_t phys = machine_.page_to_phys(page).value();
  EXPECT_EQ(map_page(dev_, page, 100, 200, Direction::ToDevice).value(), DmaAddr(phys + 100));
  dev_.set_bus_offset(0x40000000);
  const DmaAddr shifted = map_page(dev_, page, 0, kPageSize, Direction::FromDevice).value();
  EXPECT_EQ(shifted, DmaAddr(phys + 0x40000000));
  EXPECT_EQ(dma_to_virt(dev_, shifted + 5), machine_.page_address(page) + 5);
  EXPECT_TRUE(unmap_page(dev_, shifted, kPageSize, Direction::FromDevice));
}

TEST_F(MappingTest, MemoryOutOfReachIsAMappingError) {
  Page* page = high_page();
  const Result<DmaAddr> r = map_page(dev_, page, 0, kPageSize, Direction::ToDevice);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::AboveMask);
  EXPECT_NE(r.error().message.find("dev0"), std::string::npos);
  ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(64)));
  EXPECT_TRUE(map_page(dev_, page, 0, kPageSize, Direction::ToDevice));
  dev_.set_bus_dma_limit(dma_bit_mask(32));  // the bus above cuts what the mask allows
  EXPECT_FALSE(map_page(dev_, page, 0, kPageSize, Direction::ToDevice));
}

TEST_F(MappingTest, TheLastByteDecidesReach) {
  // A 29-bit device and a buffer that starts below 512 MiB but ends one byte above it.
  ASSERT_TRUE(dev_.set_dma_mask(dma_bit_mask(29)));
  Page* below = machine_.memory().pfn_to_page((512 * kMiB - kPageSize) / kPageSize);
  EXPECT_TRUE(
      detail::direct_map_phys(dev_, machine_.page_to_phys(below), kPageSize, Direction::ToDevice));
  EXPECT_FALSE(detail::direct_map_phys(dev_, machine_.page_to_phys(below), kPageSize + 1,
                                       Direction::ToDevice));
}

TEST_F(MappingTest, BadArgumentsGetClearErrors) {
  Page* page = low_page();
  EXPECT_EQ(map_page(dev_, page, 0, 0, Direction::ToDevice).error().code, Errc::InvalidArgument);
  EXPECT_EQ(map_page(dev_, page, 0, 8, Direction::None).error().code, Errc::InvalidArgument);
  EXPECT_EQ(map_page(dev_, page, 0, 8, static_cast<Direction>(9)).error().code,
            Errc::InvalidArgument);
  int local = 0;
  EXPECT_EQ(map_single(dev_, &local, 4, Direction::ToDevice).error().code, Errc::BadAddress);
  std::byte* vm = machine_.vmalloc_area().vmalloc(kPageSize).value();
  const auto vmalloc_map = map_single(dev_, vm, 16, Direction::ToDevice);
  ASSERT_FALSE(vmalloc_map);
  EXPECT_NE(vmalloc_map.error().message.find("vmalloc"), std::string::npos);
  EXPECT_EQ(unmap_page(dev_, DmaAddr(3 * kGiB + 4096), 16, Direction::ToDevice).error().code,
            Errc::InvalidArgument);  // in the PCI hole: never mapped
  EXPECT_TRUE(machine_.vmalloc_area().vfree(vm));
}

TEST_F(MappingTest, MapPageRefusesOffsetsThatWrapThePage) {
  // page + (2^64 - 16) is the 16 bytes before the page: someone else's memory.
  Page* page = low_page();
  for (const std::uint64_t offset : {~std::uint64_t{0} - 15, kMaxRequestBytes + 1}) {
    const Result<DmaAddr> dma = map_page(dev_, page, offset, 16, Direction::ToDevice);
    ASSERT_FALSE(dma) << offset;
    EXPECT_EQ(dma.error().code, Errc::InvalidArgument);
    EXPECT_NE(dma.error().message.find("offset"), std::string::npos);
  }
  EXPECT_FALSE(map_page(dev_, page, 0, ~std::uint64_t{0}, Direction::ToDevice));
  EXPECT_FALSE(
      map_single(dev_, machine_.page_address(page), ~std::uint64_t{0} - 15, Direction::ToDevice));
  EXPECT_TRUE(machine_.page_allocator().free_pages(page, 0));
}

TEST_F(MappingTest, CoherentAllocationRefusesSizesThatOverflowRounding) {
  for (const std::uint64_t size : {~std::uint64_t{0}, ~std::uint64_t{0} - (kPageSize - 1)}) {
    DmaAddr handle{};
    const Result<std::byte*> cpu = alloc_coherent(dev_, size, &handle, machine::kGfpKernel);
    ASSERT_FALSE(cpu) << size;
    EXPECT_EQ(cpu.error().code, Errc::InvalidArgument);
  }
}

TEST_F(MappingTest, MaskSettersRefuseWhatThePlatformCannotHonour) {
  EXPECT_EQ(dev_.set_dma_mask(0xff00ffffu).error().code, Errc::InvalidArgument);
  EXPECT_TRUE(dev_.dma_supported(dma_bit_mask(24)));
  EXPECT_TRUE(dev_.set_dma_mask(dma_bit_mask(20)));      // the mask pool can serve under 1 MiB
  dev_.set_bus_offset(static_cast<std::int64_t>(kGiB));  // the bus sees RAM from 1 GiB up
  const Status refused = dev_.set_dma_mask(dma_bit_mask(29));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::BadAddress);
  EXPECT_EQ(dev_.dma_mask(), dma_bit_mask(20));  // unchanged
  EXPECT_TRUE(dev_.set_dma_mask_and_coherent(dma_bit_mask(31)));
  EXPECT_EQ(dev_.coherent_dma_mask(), dma_bit_mask(31));
}

TEST_F(MappingTest, MapSingleTranslatesTheCpuPointer) {
  Page* page = low_page();
  std::byte* cpu = machine_.page_address(page) + 64;
  const DmaAddr dma = map_single(dev_, cpu, 128, Direction::Bidirectional).value();
  EXPECT_EQ(dma, DmaAddr(machine_.page_to_phys(page).value() + 64));
  EXPECT_TRUE(sync_single_for_cpu(dev_, dma, 128, Direction::Bidirectional));
  EXPECT_TRUE(sync_single_for_device(dev_, dma, 128, Direction::Bidirectional));
  EXPECT_TRUE(unmap_single(dev_, dma, 128, Direction::Bidirectional));
}

// Records every event, to show the hook sees each call.
struct Recorder : MappingObserver {
  std::vector<std::pair<char, MappingEvent>> events;
  void on_map(const MappingEvent& e) override { events.emplace_back('m', e); }
  void on_unmap(const MappingEvent& e) override { events.emplace_back('u', e); }
  void on_sync(const MappingEvent& e, bool for_device) override {
    events.emplace_back(for_device ? 'd' : 'c', e);
  }
};

TEST_F(MappingTest, AnObserverSeesMapSyncAndUnmap) {
  Recorder recorder;
  dev_.set_observer(&recorder);
  Page* page = low_page();
  const DmaAddr dma = map_page(dev_, page, 0, 512, Direction::FromDevice).value();
  ASSERT_TRUE(sync_single_for_cpu(dev_, dma, 512, Direction::FromDevice));
  ASSERT_TRUE(unmap_page(dev_, dma, 512, Direction::FromDevice));
  EXPECT_FALSE(map_page(dev_, page, 0, 0, Direction::FromDevice));  // failures are not events
  ASSERT_EQ(recorder.events.size(), 3u);
  EXPECT_EQ(recorder.events[0].first, 'm');
  EXPECT_EQ(recorder.events[0].second.phys, machine_.page_to_phys(page));
  EXPECT_EQ(recorder.events[0].second.dma, dma);
  EXPECT_EQ(recorder.events[0].second.kind, MappingKind::Page);
  EXPECT_EQ(recorder.events[1].first, 'c');
  EXPECT_EQ(recorder.events[2].first, 'u');
  EXPECT_EQ(recorder.events[2].second.size, 512u);
  dev_.set_observer(nullptr);
}

TEST_F(MappingTest, DirectOpsBehaveAsTheInlinePath) {
  DirectOps ops;
  dev_.set_ops(&ops);
  Page* page = low_page();
  const DmaAddr dma = map_page(dev_, page, 8, 64, Direction::ToDevice).value();
  EXPECT_EQ(dma, DmaAddr(machine_.page_to_phys(page).value() + 8));
  EXPECT_FALSE(map_page(dev_, high_page(), 0, 64, Direction::ToDevice));
  EXPECT_EQ(dma_to_virt(dev_, dma), machine_.page_address(page) + 8);
  EXPECT_TRUE(unmap_page(dev_, dma, 64, Direction::ToDevice));
  dev_.set_ops(nullptr);
}

TEST_F(MappingTest, CpuCopyDeviceGetsCpuAddressesAndOnlyLiveOnesResolve) {
  CpuCopyOps ops;
  Device copier(platform_, "ipath0");
  copier.set_ops(&ops);
  EXPECT_TRUE(copier.set_dma_mask(dma_bit_mask(12)));  // anything goes: the CPU does the copying
  Page* page = high_page();
  std::memcpy(machine_.page_address(page), "payload", 8);
  const DmaAddr dma = map_page(copier, page, 0, 8, Direction::ToDevice).value();
  // The "bus address" is the CPU pointer, so the driver copies through it.
  EXPECT_EQ(reinterpret_cast<const char*>(dma_to_virt(copier, dma)), std::string("payload"));
  EXPECT_EQ(dma.value(), reinterpret_cast<std::uintptr_t>(machine_.page_address(page)));
  ASSERT_TRUE(unmap_page(copier, dma, 8, Direction::ToDevice));
  EXPECT_EQ(dma_to_virt(copier, dma), nullptr);
  EXPECT_EQ(unmap_page(copier, dma, 8, Direction::ToDevice).error().code, Errc::InvalidArgument);
}

TEST_F(MappingTest, CoherentMemoryIsZeroedAndUnderTheCoherentMask) {
  ASSERT_TRUE(dev_.set_coherent_dma_mask(dma_bit_mask(30)));
  DmaAddr handle{};
  std::byte* cpu = alloc_coherent(dev_, 3 * kPageSize, &handle).value();
  EXPECT_LE(handle.value() + 3 * kPageSize - 1, dma_bit_mask(30));
  EXPECT_EQ(handle, DmaAddr(machine_.virt_to_phys(cpu)->value()));
  for (std::uint64_t i = 0; i < 3 * kPageSize; ++i) ASSERT_EQ(cpu[i], std::byte{0});
  std::memset(cpu, 0xee, 3 * kPageSize);
  EXPECT_EQ(free_coherent(dev_, 3 * kPageSize, cpu, handle + kPageSize).error().code,
            Errc::InvalidArgument);
  EXPECT_FALSE(free_coherent(dev_, 2 * kPageSize, cpu, handle));  // wrong size: refused, kept
  EXPECT_TRUE(free_coherent(dev_, 3 * kPageSize, cpu, handle));
}

TEST_F(MappingTest, CoherentMemoryComesFromTheDevicesNode) {
  Device far(platform_, "far", nullptr, /*node=*/1);
  ASSERT_TRUE(far.set_dma_mask_and_coherent(dma_bit_mask(64)));
  DmaAddr handle{};
  std::byte* cpu = alloc_coherent(far, kPageSize, &handle).value();
  EXPECT_EQ(machine_.node_of(*machine_.virt_to_phys(cpu)), 1u);
  EXPECT_TRUE(free_coherent(far, kPageSize, cpu, handle));
}

TEST_F(MappingTest, CoherentMemoryHonoursTheBusOffset) {
  ASSERT_TRUE(dev_.set_coherent_dma_mask(dma_bit_mask(31)));
  dev_.set_bus_offset(static_cast<std::int64_t>(kGiB));
  DmaAddr handle{};
  std::byte* cpu = alloc_coherent(dev_, kPageSize, &handle).value();
  EXPECT_LE(handle.value() + kPageSize - 1, dma_bit_mask(31));
  EXPECT_EQ(handle.value(), machine_.virt_to_phys(cpu)->value() + kGiB);
  EXPECT_TRUE(free_coherent(dev_, kPageSize, cpu, handle));
}

TEST_F(MappingTest, PlatformListsItsDevices) {
  EXPECT_EQ(platform_.devices().size(), 1u);
  {
    Device child(platform_, "child", &dev_);
    EXPECT_EQ(platform_.devices().size(), 2u);
    EXPECT_EQ(child.parent(), &dev_);
  }
  EXPECT_EQ(platform_.devices().size(), 1u);
}

}  // namespace
}  // namespace dmakit::dma
