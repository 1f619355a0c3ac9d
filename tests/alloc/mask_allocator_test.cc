// SPDX-License-Identifier: Apache-2.0
#include "dmakit/alloc/mask_allocator.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "dmakit/core/request_size.h"
#include "testing/mask_machine.h"

namespace dmakit::alloc {
namespace {

using machine::kGfpKernel;
using machine::kGfpNoWarn;
using machine::kGfpWait;
using machine::kGfpZero;
using machine::Machine;
using machine::MaskPoolSearch;
using machine::Page;
using testing::mask_machine_config;

constexpr std::uint64_t kPoolPages = kMiB / kPageSize;

class MaskAllocatorTest : public ::testing::Test {
 protected:
  explicit MaskAllocatorTest(machine::MachineConfig config = mask_machine_config())
      : machine_(config), mask_(machine_) {
    mask_.set_warning_sink([this](const std::string& m) { warnings_.push_back(m); });
  }
  std::uint64_t phys(const Page* page) const { return machine_.page_to_phys(page).value(); }
  std::uint64_t pool_index(const Page* page) const { return phys(page) / kPageSize; }

  Machine machine_;
  MaskAllocator mask_;
  std::vector<std::string> warnings_;
};

class ForcedMaskAllocatorTest : public MaskAllocatorTest {
 protected:
  ForcedMaskAllocatorTest()
      : MaskAllocatorTest(mask_machine_config(MaskPoolSearch::NextFit, true)) {}
};

class TopDownMaskAllocatorTest : public MaskAllocatorTest {
 protected:
  TopDownMaskAllocatorTest()
      : MaskAllocatorTest(mask_machine_config(MaskPoolSearch::TopDown, true)) {}
};

TEST_F(MaskAllocatorTest, NormalAllocatorIsTriedFirst) {
  Page* page = mask_.alloc_pages_mask(kGfpKernel, 3 * kPageSize, dma_bit_mask(32)).value();
  EXPECT_GE(phys(page), kMiB);  // not from the pool
  const MaskAllocatorStats s = mask_.stats();
  EXPECT_EQ(s.served_by_normal, 1u);
  EXPECT_EQ(s.used_pages, 0u);
  EXPECT_TRUE(mask_.free_pages_mask(page, 3 * kPageSize));
}

TEST_F(MaskAllocatorTest, NormalResultAboveTheMaskIsFreedAndThePoolUsed) {
  // Take [1 MiB, 2 MiB), the page allocator's lowest memory, so its next block lies above 2 MiB.
  Page* low = machine_.page_allocator().alloc_pages(machine::kGfpDma32, 8).value();
  ASSERT_EQ(phys(low), kMiB);
  const std::uint64_t zone_free = machine_.zones()[0]->free_pages();
  Page* page = mask_.alloc_pages_mask(kGfpKernel, 2 * kPageSize, dma_bit_mask(21)).value();
  EXPECT_LT(phys(page), kMiB);
  const MaskAllocatorStats s = mask_.stats();
  EXPECT_EQ(s.normal_above_mask, 1u);
  EXPECT_EQ(s.served_by_pool, 1u);
  machine_.page_allocator().drain_caches();
  EXPECT_EQ(machine_.zones()[0]->free_pages(), zone_free);  // the rejected block was given back
  EXPECT_TRUE(mask_.free_pages_mask(page, 2 * kPageSize));
  EXPECT_TRUE(machine_.page_allocator().free_pages(low, 8));
}

TEST_F(MaskAllocatorTest, MasksThatDoNotReachAboveThePoolSkipTheNormalAllocator) {
  Page* page = mask_.alloc_pages_mask(kGfpKernel, kPageSize, dma_bit_mask(20)).value();
  EXPECT_LT(phys(page), kMiB);
  EXPECT_EQ(mask_.stats().normal_above_mask, 0u);
  EXPECT_EQ(mask_.stats().served_by_normal, 0u);
  EXPECT_TRUE(mask_.free_pages_mask(page, kPageSize));
}

TEST_F(MaskAllocatorTest, SizesRoundToPagesNeverToPowersOfTwo) {
  Page* page = mask_.alloc_pages_mask(kGfpKernel, 5 * kPageSize - 7, dma_bit_mask(20)).value();
  EXPECT_EQ(mask_.stats().used_pages, 5u);
  EXPECT_TRUE(mask_.free_pages_mask(page, 5 * kPageSize - 7));
  EXPECT_EQ(mask_.stats().used_pages, 0u);
}

TEST_F(MaskAllocatorTest, RejectsSizesMasksAndFlagsThatMakeNoSense) {
  EXPECT_EQ(mask_.alloc_pages_mask(kGfpKernel, 0, dma_bit_mask(24)).error().code,
            Errc::InvalidArgument);
  const auto order = mask_.alloc_pages_mask(kGfpKernel, 3, dma_bit_mask(24));
  ASSERT_FALSE(order);
  EXPECT_NE(order.error().message.find("not an order"), std::string::npos);
  const auto holes = mask_.alloc_pages_mask(kGfpKernel, kPageSize, 0xff00ffffu);
  ASSERT_FALSE(holes);
  EXPECT_NE(holes.error().message.find("2^n - 1"), std::string::npos);
  EXPECT_EQ(mask_.alloc_pages_mask(machine::kGfpDma, kPageSize, dma_bit_mask(24)).error().code,
            Errc::InvalidArgument);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(MaskAllocatorTest, RefusesSizesThatOverflowPageRounding) {
  // Rounded up to a page, these wrapped to 0 pages: the pool's first frame, handed out again.
  for (const std::uint64_t size :
       {~std::uint64_t{0}, ~std::uint64_t{0} - (kPageSize - 1), kMaxRequestBytes + 1}) {
    const auto page = mask_.alloc_pages_mask(kGfpKernel, size, dma_bit_mask(20));
    ASSERT_FALSE(page) << size;
    EXPECT_EQ(page.error().code, Errc::InvalidArgument);
    EXPECT_NE(page.error().message.find("limit of one request"), std::string::npos);
  }
  EXPECT_EQ(mask_.stats().used_pages, 0u);
  Page* page = mask_.alloc_pages_mask(kGfpKernel, kPageSize, dma_bit_mask(20)).value();
  EXPECT_FALSE(mask_.free_pages_mask(page, ~std::uint64_t{0}));  // not freed as 0 pages
  EXPECT_TRUE(mask_.free_pages_mask(page, kPageSize));
}

TEST_F(MaskAllocatorTest, ZeroFlagClearsPoolMemory) {
  Page* page = mask_.alloc_pages_mask(kGfpKernel, kPageSize, dma_bit_mask(20)).value();
  std::memset(machine_.page_address(page), 0x77, kPageSize);
  ASSERT_TRUE(mask_.free_pages_mask(page, kPageSize));
  Page* again = mask_.alloc_pages_mask(kGfpZero, kPageSize, dma_bit_mask(20)).value();
  const std::byte* bytes = machine_.page_address(again);
  for (std::uint64_t i = 0; i < kPageSize; ++i) ASSERT_EQ(bytes[i], std::byte{0});
}

TEST(MaskAllocator, GfpDmaRequestsComeFromThePoolWithA24BitMask) {
  Machine m;  // the default machine: a 16 MiB pool where ZONE_DMA was
  MaskAllocator mask(m);
  machine::PageAllocator& pages = m.page_allocator();
  Page* page = pages.alloc_pages(machine::kGfpDma, 2).value();
  EXPECT_LE(m.page_to_phys(page).value() + 4 * kPageSize, 16 * kMiB);
  EXPECT_EQ(mask.stats().used_pages, 4u);
  EXPECT_TRUE(pages.free_pages(page, 2));  // the page allocator hands it back to the pool
  EXPECT_EQ(mask.stats().used_pages, 0u);
}

TEST_F(MaskAllocatorTest, GfpDmaOnASmallPoolTriesTheNormalAllocatorFirst) {
  // A 1 MiB pool does not cover the 24-bit mask: the page allocator may serve it from below 16 MiB.
  machine::PageAllocator& pages = machine_.page_allocator();
  Page* page = pages.alloc_pages(machine::kGfpDma, 2).value();
  EXPECT_LE(phys(page) + 4 * kPageSize, 16 * kMiB);
  EXPECT_EQ(mask_.stats().served_by_normal, 1u);
  EXPECT_TRUE(pages.free_pages(page, 2));
}

TEST_F(MaskAllocatorTest, BadFreesAreRefusedAndChangeNothing) {
  Page* page = mask_.alloc_pages_mask(kGfpKernel, 4 * kPageSize, dma_bit_mask(20)).value();
  const auto wrong_size = mask_.free_pages_mask(page, 3 * kPageSize);
  ASSERT_FALSE(wrong_size);
  EXPECT_NE(wrong_size.error().message.find("freed as 3 pages, allocated as 4"), std::string::npos);
  EXPECT_FALSE(mask_.free_pages_mask(page + 1, 3 * kPageSize));  // an interior page
  EXPECT_EQ(mask_.stats().used_pages, 4u);
  ASSERT_TRUE(mask_.free_pages_mask(page, 4 * kPageSize));
  const auto twice = mask_.free_pages_mask(page, 4 * kPageSize);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("double free"), std::string::npos);
  mask_.validate();
}

TEST_F(MaskAllocatorTest, PointerInterfaceRoundTrips) {
  std::byte* p = mask_.get_pages_mask(kGfpKernel, 100, dma_bit_mask(20)).value();
  EXPECT_LT(machine_.virt_to_phys(p).value().value(), kMiB);
  EXPECT_EQ(mask_.free_pages_mask(p + 8, 100).error().code, Errc::InvalidArgument);
  EXPECT_TRUE(mask_.free_pages_mask(p, 100));
}

TEST_F(ForcedMaskAllocatorTest, ForceSendsEveryRequestToThePool) {
  Page* page = mask_.alloc_pages_mask(kGfpKernel, kPageSize, dma_bit_mask(64)).value();
  EXPECT_LT(phys(page), kMiB);
  EXPECT_EQ(mask_.stats().served_by_normal, 0u);
  EXPECT_TRUE(mask_.free_pages_mask(page, kPageSize));
}

TEST_F(ForcedMaskAllocatorTest, NextFitWrapsToTheLowEndWhenTheNextRunExceedsTheMask) {
  // Move the cursor to page 100, then ask for 40 pages under a 512 KiB (128-page) mask: the next
  // run, [100, 140), would end above it.
  Page* first = mask_.alloc_pages_mask(kGfpKernel, 100 * kPageSize, dma_bit_mask(20)).value();
  EXPECT_EQ(pool_index(first), 0u);
  ASSERT_TRUE(mask_.free_pages_mask(first, 100 * kPageSize));
  Page* wrapped = mask_.alloc_pages_mask(kGfpKernel, 40 * kPageSize, dma_bit_mask(19)).value();
  EXPECT_EQ(pool_index(wrapped), 0u);
  EXPECT_EQ(mask_.stats().wraps, 1u);
  // Without a mask in the way, next-fit carries on from the cursor.
  Page* next = mask_.alloc_pages_mask(kGfpKernel, kPageSize, dma_bit_mask(20)).value();
  EXPECT_EQ(pool_index(next), 40u);
}

TEST_F(ForcedMaskAllocatorTest, FailsWhenFullAndReportsOnce) {
  Page* all = mask_.alloc_pages_mask(kGfpKernel, kMiB, dma_bit_mask(20)).value();
  const auto full = mask_.alloc_pages_mask(kGfpKernel, kPageSize, dma_bit_mask(20));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::NoMemory);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("4096 bytes"), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find("0xfffff"), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find("256 of 256 pages"), std::string::npos) << warnings_[0];
  EXPECT_FALSE(mask_.alloc_pages_mask(kGfpNoWarn, kPageSize, dma_bit_mask(20)));
  EXPECT_EQ(warnings_.size(), 1u);
  EXPECT_EQ(mask_.stats().failures, 2u);
  EXPECT_TRUE(mask_.free_pages_mask(all, kMiB));
}

TEST_F(ForcedMaskAllocatorTest, RoomAboveTheMaskOnlyIsAboveMask) {
  Page* low = mask_.alloc_pages_mask(kGfpKernel, 128 * kPageSize, dma_bit_mask(19)).value();
  const auto r = mask_.alloc_pages_mask(kGfpNoWarn, kPageSize, dma_bit_mask(19));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::AboveMask);
  EXPECT_TRUE(mask_.free_pages_mask(low, 128 * kPageSize));
}

TEST_F(ForcedMaskAllocatorTest, WaitingAllocationIsWokenByAFreeOnAnotherThread) {
  Page* all = mask_.alloc_pages_mask(kGfpKernel, kMiB, dma_bit_mask(20)).value();
  std::thread freer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(mask_.free_pages_mask(all, kMiB));
  });
  const auto got = mask_.alloc_pages_mask(kGfpWait, 8 * kPageSize, dma_bit_mask(20));
  freer.join();
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(mask_.stats().waits, 1u);
  EXPECT_TRUE(mask_.free_pages_mask(*got, 8 * kPageSize));
}

TEST_F(ForcedMaskAllocatorTest, WaitingAllocationTimesOut) {
  Page* all = mask_.alloc_pages_mask(kGfpKernel, kMiB, dma_bit_mask(20)).value();
  const auto start = std::chrono::steady_clock::now();
  const auto got = mask_.alloc_pages_mask(kGfpWait | kGfpNoWarn, kPageSize, dma_bit_mask(20));
  EXPECT_FALSE(got);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  EXPECT_TRUE(mask_.free_pages_mask(all, kMiB));
}

TEST_F(ForcedMaskAllocatorTest, ARunLargerThanTheWindowFailsWithoutWaiting) {
  // No free can make 2 MiB of room in a 1 MiB pool: waiting for one only delays the failure.
  const auto start = std::chrono::steady_clock::now();
  const auto got = mask_.alloc_pages_mask(kGfpWait | kGfpNoWarn, 2 * kMiB, dma_bit_mask(32));
  EXPECT_FALSE(got);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(mask_.stats().waits, 0u);
}

TEST_F(TopDownMaskAllocatorTest, SearchesDownFromTheTopOfTheCallersWindow) {
  Page* wide = mask_.alloc_pages_mask(kGfpKernel, kPageSize, dma_bit_mask(20)).value();
  EXPECT_EQ(pool_index(wide), kPoolPages - 1);
  Page* narrow = mask_.alloc_pages_mask(kGfpKernel, kPageSize, dma_bit_mask(18)).value();
  EXPECT_EQ(pool_index(narrow), 63u);  // top of the 256 KiB window
  Page* wide2 = mask_.alloc_pages_mask(kGfpKernel, kPageSize, dma_bit_mask(20)).value();
  EXPECT_EQ(pool_index(wide2), kPoolPages - 2);  // the cursor continues below the last one
  for (Page* p : {wide, narrow, wide2}) EXPECT_TRUE(mask_.free_pages_mask(p, kPageSize));
}

TEST(MaskAllocator, MachineWithoutAPoolIsAConfigError) {
  machine::MachineConfig config = mask_machine_config();
  config.mask_pool_size = 0;
  Machine m(config);
  EXPECT_THROW(MaskAllocator{m}, ConfigError);
}

TEST(MaskAllocatorConcurrency, TwoThreadsShareThePoolWithoutOverlap) {
  Machine m(mask_machine_config(MaskPoolSearch::NextFit, true));
  MaskAllocator mask(m);
  mask.set_warning_sink([](const std::string&) {});
  auto worker = [&](unsigned seed) {
    std::vector<std::pair<std::byte*, std::uint64_t>> live;
    std::uint64_t rng = seed;
    for (int i = 0; i < 3000; ++i) {
      rng = rng * 6364136223846793005u + 1442695040888963407u;
      if (live.size() > 8 || (!live.empty() && (rng >> 40) % 2 == 0)) {
        auto [p, size] = live.back();
        live.pop_back();
        for (std::uint64_t b = 0; b < size; b += 512) ASSERT_EQ(p[b], static_cast<std::byte>(seed));
        ASSERT_TRUE(mask.free_pages_mask(p, size));
      } else {
        const std::uint64_t size = ((rng >> 20) % 8 + 1) * kPageSize;
        const unsigned bits = 19 + static_cast<unsigned>((rng >> 50) % 3);
        Result<std::byte*> p = mask.get_pages_mask(kGfpNoWarn, size, dma_bit_mask(bits));
        if (!p) continue;
        ASSERT_LE(m.virt_to_phys(*p)->value() + size - 1, dma_bit_mask(bits));
        for (std::uint64_t b = 0; b < size; b += 512) (*p)[b] = static_cast<std::byte>(seed);
        live.emplace_back(*p, size);
      }
    }
    for (auto [p, size] : live) ASSERT_TRUE(mask.free_pages_mask(p, size));
  };
  std::thread a(worker, 1);
  std::thread b(worker, 2);
  a.join();
  b.join();
  mask.validate();
  EXPECT_EQ(mask.stats().used_pages, 0u);
}

}  // namespace
}  // namespace dmakit::alloc
