// SPDX-License-Identifier: Apache-2.0
#include "dmakit/alloc/kmalloc_mask.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

#include "dmakit/core/request_size.h"
#include "testing/mask_machine.h"

namespace dmakit::alloc {
namespace {

class KmallocMaskTest : public ::testing::Test {
 protected:
  KmallocMaskTest() : machine_(testing::mask_machine_config()), mask_(machine_), kmalloc_(mask_) {}
  std::uint64_t phys(const void* p) const { return machine_.virt_to_phys(p)->value(); }
  machine::Machine machine_;
  MaskAllocator mask_;
  KmallocMask kmalloc_;
};

TEST_F(KmallocMaskTest, SmallObjectsShareASlabPageAndStayBelowTheMask) {
  std::set<std::uint64_t> pages;
  std::vector<std::byte*> objects;
  for (int i = 0; i < 50; ++i) {
    std::byte* p = kmalloc_.kmalloc_mask(40, machine::kGfpKernel, dma_bit_mask(20)).value();
    EXPECT_LE(phys(p) + 40 - 1, dma_bit_mask(20));
    EXPECT_EQ(phys(p) % 64, 0u);  // aligned to its 64-byte class
    std::memset(p, i, 40);
    pages.insert(phys(p) / kPageSize);
    objects.push_back(p);
  }
  EXPECT_EQ(pages.size(), 1u);  // 64 objects of 64 bytes per page
  EXPECT_EQ(kmalloc_.ksize(objects[0]).value(), 64u);
  for (std::size_t i = 0; i < objects.size(); ++i)
    EXPECT_EQ(objects[i][39], static_cast<std::byte>(i));  // no two objects overlap
  for (std::byte* p : objects) ASSERT_TRUE(kmalloc_.kfree(p));
  EXPECT_EQ(kmalloc_.slab_pages(), 0u);  // an empty slab goes back at once
}

TEST_F(KmallocMaskTest, ASlabForAWideMaskIsNotUsedForANarrowOne) {
  // The normal allocator serves the 32-bit request from above the 1 MiB pool.
  std::byte* wide = kmalloc_.kmalloc_mask(100, machine::kGfpKernel, dma_bit_mask(32)).value();
  EXPECT_GE(phys(wide), kMiB);
  std::byte* narrow = kmalloc_.kmalloc_mask(100, machine::kGfpKernel, dma_bit_mask(20)).value();
  EXPECT_LT(phys(narrow), kMiB);
  EXPECT_EQ(kmalloc_.slab_pages(), 2u);
  // ...but a narrow slab serves a wide request.
  std::byte* wide2 = kmalloc_.kmalloc_mask(100, machine::kGfpKernel, dma_bit_mask(64)).value();
  EXPECT_EQ(kmalloc_.slab_pages(), 2u);
  for (std::byte* p : {wide, narrow, wide2}) ASSERT_TRUE(kmalloc_.kfree(p));
}

TEST_F(KmallocMaskTest, LargeRequestsTakeWholePages) {
  std::byte* p =
      kmalloc_.kmalloc_mask(3 * kPageSize + 1, machine::kGfpZero, dma_bit_mask(20)).value();
  EXPECT_EQ(phys(p) % kPageSize, 0u);
  EXPECT_EQ(kmalloc_.ksize(p).value(), 4 * kPageSize);
  EXPECT_EQ(p[3 * kPageSize], std::byte{0});
  EXPECT_EQ(mask_.stats().used_pages, 4u);
  EXPECT_EQ(kmalloc_.kfree(p + 8).error().code, Errc::InvalidArgument);
  ASSERT_TRUE(kmalloc_.kfree(p));
  EXPECT_EQ(mask_.stats().used_pages, 0u);
}

TEST_F(KmallocMaskTest, RefusesSizesThatOverflowPageRounding) {
  for (const std::uint64_t size : {~std::uint64_t{0}, ~std::uint64_t{0} - (kPageSize - 1)}) {
    const auto p = kmalloc_.kmalloc_mask(size, machine::kGfpKernel, ~std::uint64_t{0});
    ASSERT_FALSE(p) << size;
    EXPECT_EQ(p.error().code, Errc::InvalidArgument);
  }
  EXPECT_EQ(mask_.stats().used_pages, 0u);
}

TEST_F(KmallocMaskTest, BadFreesAreRefused) {
  std::byte* a = kmalloc_.kmalloc_mask(16, machine::kGfpKernel, dma_bit_mask(20)).value();
  std::byte* b = kmalloc_.kmalloc_mask(16, machine::kGfpKernel, dma_bit_mask(20)).value();
  EXPECT_EQ(kmalloc_.kfree(a + 1).error().code, Errc::InvalidArgument);
  ASSERT_TRUE(kmalloc_.kfree(a));
  const Status twice = kmalloc_.kfree(a);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("double kfree"), std::string::npos);
  int local = 0;
  EXPECT_EQ(kmalloc_.kfree(&local).error().code, Errc::InvalidArgument);
  EXPECT_EQ(kmalloc_.kmalloc_mask(0, machine::kGfpKernel, dma_bit_mask(20)).error().code,
            Errc::InvalidArgument);
  ASSERT_TRUE(kmalloc_.kfree(b));
}

}  // namespace
}  // namespace dmakit::alloc
