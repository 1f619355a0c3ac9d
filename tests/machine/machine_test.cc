// SPDX-License-Identifier: Apache-2.0
#include "dmakit/machine/machine.h"

#include <gtest/gtest.h>

#include <cstring>

#include "testing/small_machine.h"

namespace dmakit::machine {
namespace {

TEST(Machine, DefaultMachineHasEveryRamPageFree) {
  const Machine m;
  EXPECT_EQ(m.ram_size(), 8 * kGiB);
  ASSERT_EQ(m.nodes().size(), 1u);
  std::uint64_t free = 0;
  for (const Zone* zone : m.zones()) {
    EXPECT_EQ(zone->free_pages(), zone->present_pages());
    free += zone->free_pages();
  }
  // All but the mask pool: 16 MiB and the 64 MiB bounce pool carved from it.
  EXPECT_EQ(free, (8 * kGiB - 80 * kMiB) / kPageSize);
  m.validate();
}

TEST(Machine, PhysToVirtRefusesHolesAndAddressesPastRam) {
  const Machine m;
  EXPECT_TRUE(m.phys_to_virt(PhysAddr(3 * kGiB - kPageSize), kPageSize));
  const auto in_hole = m.phys_to_virt(PhysAddr(3 * kGiB + 123));
  ASSERT_FALSE(in_hole);
  EXPECT_EQ(in_hole.error().code, Errc::BadAddress);
  EXPECT_FALSE(m.phys_to_virt(PhysAddr(3 * kGiB - 8), 16));  // straddles into the hole
  EXPECT_FALSE(m.phys_to_virt(PhysAddr(9 * kGiB)));
  EXPECT_FALSE(m.phys_to_virt(PhysAddr(~std::uint64_t{0} - 2), 8));  // wraps
}

TEST(Machine, VirtToPhysRoundTripsAndRefusesForeignPointers) {
  const Machine m;
  const PhysAddr high(6 * kGiB + 0x123);
  std::byte* p = m.phys_to_virt(high).value();
  EXPECT_EQ(m.virt_to_phys(p).value(), high);
  int local = 0;
  EXPECT_EQ(m.virt_to_phys(&local).error().code, Errc::BadAddress);
}

TEST(Machine, PageBytesAreTheSameMemoryAsTheirPhysicalAddress) {
  Machine m(testing::small_machine_config());
  Page* page = m.page_allocator().alloc_pages(kGfpKernel, 0).value();
  std::memcpy(m.page_address(page), "dma", 4);
  const std::byte* via_phys = m.phys_to_virt(m.page_to_phys(page)).value();
  EXPECT_EQ(std::memcmp(via_phys, "dma", 4), 0);
  EXPECT_TRUE(m.page_allocator().free_pages(page, 0));
}

TEST(MachineDeathTest, StrayAccessToAHoleFaults) {
  const Machine m;
  volatile std::byte* hole = m.memory().direct_map(PhysAddr(3 * kGiB + kPageSize));
  EXPECT_DEATH(*hole = std::byte{1}, "");
}

TEST(Machine, BadConfigurationIsRejectedAtConstruction) {
  MachineConfig config;
  config.ram_size = 0;
  EXPECT_THROW(Machine{config}, ConfigError);
}

// Sanitizers shadow every touched byte: ThreadSanitizer with about four bytes per byte,
// AddressSanitizer with one per eight.
#if defined(__SANITIZE_THREAD__)
constexpr std::uint64_t kShadowFactor = 5;
#else
constexpr std::uint64_t kShadowFactor = 1;
#endif

// Host memory grows only with what is touched. Building a 64 GiB machine, allocating all of it in
// largest blocks (one 16-byte Page written per 4 MiB: 64 MiB of host pages), and writing 64 MiB
// spread across it stays under 64 MiB touched + 160 MiB, times the sanitizer shadow factor.
TEST(Machine, SixtyFourGiBMachineCostsOnlyWhatIsTouched) {
  constexpr std::uint64_t kTouched = 64 * kMiB;
  constexpr std::uint64_t kBound = (kTouched + 160 * kMiB) * kShadowFactor;
  const std::uint64_t before = host::resident_bytes();
  {
    MachineConfig config;
    config.ram_size = 64 * kGiB;
    Machine m(config);
    EXPECT_EQ(m.layout().ram_end, PhysAddr(65 * kGiB));
    PageAllocator& pages = m.page_allocator();
    std::vector<Page*> blocks;
    for (Result<Page*> p = pages.alloc_pages(kGfpKernel, kMaxOrder); p;
         p = pages.alloc_pages(kGfpKernel, kMaxOrder))
      blocks.push_back(*p);
    // Everything but what the lowmem reserves keep in ZONE_DMA and ZONE_DMA32.
    ASSERT_GT(blocks.size(), 64 * kGiB / (kPageSize << kMaxOrder) - 100);
    // Fill 16 blocks of 4 MiB spread evenly over the machine.
    const std::uint64_t stride = blocks.size() / (kTouched / (kPageSize << kMaxOrder));
    std::uint64_t written = 0;
    for (std::size_t i = 0; i < blocks.size() && written < kTouched; i += stride) {
      std::memset(m.page_address(blocks[i]), 0x5a, kPageSize << kMaxOrder);
      written += kPageSize << kMaxOrder;
    }
    EXPECT_EQ(written, kTouched);
    // The top of RAM, above 64 GiB, is real memory too.
    std::byte* top = m.phys_to_virt(PhysAddr(65 * kGiB - 1)).value();
    *top = std::byte{7};
    EXPECT_EQ(*m.phys_to_virt(PhysAddr(65 * kGiB - 1)).value(), std::byte{7});
    const std::uint64_t growth = host::resident_bytes() - before;
    EXPECT_LT(growth, kBound) << "resident growth " << growth / kMiB << " MiB";
    for (Page* p : blocks) ASSERT_TRUE(pages.free_pages(p, kMaxOrder));
    m.validate();
  }
}

}  // namespace
}  // namespace dmakit::machine
