// SPDX-License-Identifier: Apache-2.0
#include "dmakit/alloc/mask_mempool.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "testing/mask_machine.h"

namespace dmakit::alloc {
namespace {

class MaskMempoolTest : public ::testing::Test {
 protected:
  MaskMempoolTest()
      : machine_(testing::mask_machine_config(machine::MaskPoolSearch::NextFit, /*force=*/true)),
        mask_(machine_) {
    mask_.set_warning_sink([](const std::string&) {});
  }
  machine::Machine machine_;
  MaskAllocator mask_;
};

TEST_F(MaskMempoolTest, CreationReservesMinNrElementsBelowTheMask) {
  auto pool = MaskMempool::create(mask_, 4, 2 * kPageSize, dma_bit_mask(20)).value();
  EXPECT_EQ(pool->reserved(), 4u);
  EXPECT_EQ(mask_.stats().used_pages, 8u);
}

TEST_F(MaskMempoolTest, CreationFailureKeepsNothing) {
  const auto pool =
      MaskMempool::create(mask_, 300, kPageSize, dma_bit_mask(20));  // pool: 256 pages
  EXPECT_FALSE(pool);
  EXPECT_EQ(mask_.stats().used_pages, 0u);
}

TEST_F(MaskMempoolTest, FallsBackToTheReserveAndFreesRefillItFirst) {
  auto pool = MaskMempool::create(mask_, 2, 64 * kPageSize, dma_bit_mask(20)).value();
  // 128 pages reserved; take the other 128 straight from the allocator.
  std::vector<std::byte*> taken;
  for (int i = 0; i < 2; ++i) taken.push_back(pool->alloc(machine::kGfpKernel).value());
  EXPECT_EQ(pool->reserved(), 2u);
  // The allocator is empty now: the reserve serves.
  for (int i = 0; i < 2; ++i) taken.push_back(pool->alloc(machine::kGfpKernel).value());
  EXPECT_EQ(pool->reserved(), 0u);
  EXPECT_EQ(pool->alloc(machine::kGfpKernel).error().code, Errc::NoMemory);
  // Frees refill the reserve before giving anything back.
  ASSERT_TRUE(pool->free(taken[0]));
  EXPECT_EQ(pool->reserved(), 1u);
  ASSERT_TRUE(pool->free(taken[1]));
  ASSERT_TRUE(pool->free(taken[2]));
  EXPECT_EQ(pool->reserved(), 2u);
  EXPECT_EQ(mask_.stats().used_pages, 192u);
  ASSERT_TRUE(pool->free(taken[3]));
  EXPECT_EQ(mask_.stats().used_pages, 128u);
}

TEST_F(MaskMempoolTest, WaitingAllocationNeverFailsUnderExhaustion) {
  auto pool = MaskMempool::create(mask_, 1, 128 * kPageSize, dma_bit_mask(20)).value();
  std::byte* other = pool->alloc(machine::kGfpKernel).value();  // the allocator's last 128 pages
  std::byte* reserve = pool->alloc(machine::kGfpKernel).value();
  std::thread giver([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(pool->free(reserve));
  });
  const Result<std::byte*> waited = pool->alloc(machine::kGfpWait);
  giver.join();
  ASSERT_TRUE(waited);
  EXPECT_EQ(*waited, reserve);
  ASSERT_TRUE(pool->free(*waited));
  ASSERT_TRUE(pool->free(other));
}

TEST_F(MaskMempoolTest, ElementsLieBelowTheMask) {
  auto pool = MaskMempool::create(mask_, 1, kPageSize, dma_bit_mask(18)).value();
  for (int i = 0; i < 10; ++i) {
    std::byte* e = pool->alloc(machine::kGfpKernel).value();
    EXPECT_LE(machine_.virt_to_phys(e)->value() + kPageSize - 1, dma_bit_mask(18));
    ASSERT_TRUE(pool->free(e));
  }
}

}  // namespace
}  // namespace dmakit::alloc
