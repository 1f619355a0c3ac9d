// SPDX-License-Identifier: Apache-2.0
#include "dmakit/core/mask.h"

#include <gtest/gtest.h>

#include "dmakit/core/addr.h"

namespace dmakit {
namespace {

TEST(DmaBitMask, MatchesLinuxDefinition) {
  EXPECT_EQ(dma_bit_mask(24), 0xffffffu);
  EXPECT_EQ(dma_bit_mask(32), 0xffffffffu);
  EXPECT_EQ(dma_bit_mask(64), ~std::uint64_t{0});
}

TEST(ContiguousMask, RejectsMasksWithHoles) {
  EXPECT_TRUE(is_contiguous_mask(dma_bit_mask(31)));
  EXPECT_TRUE(is_contiguous_mask(dma_bit_mask(64)));
  EXPECT_FALSE(is_contiguous_mask(0));
  EXPECT_FALSE(is_contiguous_mask(0xff00ffffu));
  EXPECT_FALSE(is_contiguous_mask(0x1000000u));
}

TEST(FitsUnderMask, ChecksTheLastByteNotTheFirst) {
  const std::uint64_t mask = dma_bit_mask(24);
  EXPECT_TRUE(fits_under_mask(0xfff000, 0x1000, mask));
  EXPECT_FALSE(fits_under_mask(0xfff000, 0x1001, mask));
  EXPECT_FALSE(fits_under_mask(0x1000000, 1, mask));
  EXPECT_FALSE(fits_under_mask(0, 0, mask));
  EXPECT_TRUE(fits_under_mask(0, ~std::uint64_t{0}, ~std::uint64_t{0}));
}

TEST(PhysRange, IsHalfOpen) {
  const PhysRange r{PhysAddr(0x1000), PhysAddr(0x2000)};
  EXPECT_TRUE(r.contains(PhysAddr(0x1fff)));
  EXPECT_FALSE(r.contains(PhysAddr(0x2000)));
  EXPECT_FALSE(r.overlaps({PhysAddr(0x2000), PhysAddr(0x3000)}));
  EXPECT_TRUE(r.overlaps({PhysAddr(0x1fff), PhysAddr(0x3000)}));
  EXPECT_EQ(r.size(), 0x1000u);
}

}  // namespace
}  // namespace dmakit
