// SPDX-License-Identifier: Apache-2.0
#include "dmakit/pool/dma_pool.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <vector>

#include "dmakit/core/request_size.h"
#include "dmakit/dma/platform.h"
#include "testing/small_machine.h"

namespace dmakit::pool {
namespace {

machine::MachineConfig small() { return testing::compact_machine_config(512 * kMiB); }

class DmaPoolTest : public ::testing::Test {
 protected:
  DmaPoolTest() : machine_(small()), platform_(machine_), dev_(platform_, "nic0") {}
  machine::Machine machine_;
  dma::Platform platform_;
  dma::Device dev_;
};

TEST_F(DmaPoolTest, BlocksShareCoherentPagesAndMatchTheirBusAddress) {
  auto pool = DmaPool::create("desc", dev_, 32, 32, 0).value();
  std::vector<std::pair<std::byte*, DmaAddr>> blocks;
  for (int i = 0; i < 200; ++i) {
    DmaAddr dma{};
    std::byte* cpu = pool->alloc(machine::kGfpKernel, &dma).value();
    EXPECT_EQ(dma.value(), machine_.virt_to_phys(cpu)->value());
    EXPECT_LE(dma.value() + 31, dev_.coherent_dma_mask());
    blocks.emplace_back(cpu, dma);
  }
  EXPECT_EQ(pool->pages(), 2u);  // 128 blocks of 32 bytes per page
  EXPECT_EQ(pool->blocks_in_use(), 200u);
  for (auto [cpu, dma] : blocks) ASSERT_TRUE(pool->free(cpu, dma));
  EXPECT_EQ(pool->blocks_in_use(), 0u);
  EXPECT_TRUE(pool->destroy().empty());
}

TEST_F(DmaPoolTest, ZallocZeroesRecycledBlocks) {
  auto pool = DmaPool::create("z", dev_, 100, 4, 0).value();
  DmaAddr dma{};
  std::byte* cpu = pool->alloc(machine::kGfpKernel, &dma).value();
  std::memset(cpu, 0x5a, 100);
  ASSERT_TRUE(pool->free(cpu, dma));
  std::byte* again = pool->zalloc(machine::kGfpKernel, &dma).value();
  ASSERT_EQ(again, cpu);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(again[i], std::byte{0});
  ASSERT_TRUE(pool->free(again, dma));
}

TEST_F(DmaPoolTest, RejectsBadParameters) {
  EXPECT_EQ(DmaPool::create("a", dev_, 0, 8, 0).error().code, Errc::InvalidArgument);
  EXPECT_EQ(DmaPool::create("a", dev_, 64, 24, 0).error().code, Errc::InvalidArgument);
  EXPECT_EQ(DmaPool::create("a", dev_, 64, 8, 32).error().code, Errc::InvalidArgument);
  EXPECT_EQ(DmaPool::create("a", dev_, 64, 8, 100).error().code, Errc::InvalidArgument);
}

TEST_F(DmaPoolTest, RefusesBlockSizesThatOverflowAlignment) {
  // The block size rounded up to the alignment wrapped: a pool of 0-byte or 2^64-byte blocks.
  for (const std::uint64_t size :
       {~std::uint64_t{0}, ~std::uint64_t{0} - 7, kMaxRequestBytes + 1}) {
    const auto pool = DmaPool::create("huge", dev_, size, 8, 0);
    ASSERT_FALSE(pool) << size;
    EXPECT_EQ(pool.error().code, Errc::InvalidArgument);
    EXPECT_NE(pool.error().message.find("block size"), std::string::npos);
  }
  // The kernel's bound on a block: at most INT_MAX bytes.
  EXPECT_TRUE(DmaPool::create("big", dev_, (std::uint64_t{1} << 31) - 1, 8, 0));
  EXPECT_FALSE(DmaPool::create("big", dev_, std::uint64_t{1} << 31, 8, 0));
  const auto aligned = DmaPool::create("huge", dev_, 64, std::uint64_t{1} << 63, 0);
  ASSERT_FALSE(aligned);
  EXPECT_NE(aligned.error().message.find("align"), std::string::npos);
}

TEST_F(DmaPoolTest, BadFreesAreRefused) {
  auto pool = DmaPool::create("f", dev_, 64, 64, 0).value();
  DmaAddr dma{};
  std::byte* cpu = pool->alloc(machine::kGfpKernel, &dma).value();
  EXPECT_FALSE(pool->free(cpu + 8, dma + 8));
  EXPECT_FALSE(pool->free(cpu, dma + 64));
  ASSERT_TRUE(pool->free(cpu, dma));
  const Status twice = pool->free(cpu, dma);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("double free"), std::string::npos);
}

TEST_F(DmaPoolTest, DestroyReportsEachLeakedBlock) {
  auto pool = DmaPool::create("leaky", dev_, 128, 8, 0).value();
  std::vector<std::string> reports;
  pool->set_warning_sink([&](const std::string& m) { reports.push_back(m); });
  DmaAddr a{}, b{}, c{};
  std::byte* pa = pool->alloc(machine::kGfpKernel, &a).value();
  ASSERT_TRUE(pool->alloc(machine::kGfpKernel, &b));
  std::byte* pc = pool->alloc(machine::kGfpKernel, &c).value();
  ASSERT_TRUE(pool->free(pa, a));
  const std::vector<LeakedBlock> leaks = pool->destroy();
  ASSERT_EQ(leaks.size(), 2u);
  EXPECT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[0].find("'leaky'"), std::string::npos);
  EXPECT_NE(reports[0].find("nic0"), std::string::npos);
  EXPECT_TRUE(leaks[0].dma == b || leaks[1].dma == b);
  EXPECT_TRUE(leaks[0].cpu == pc || leaks[1].cpu == pc);
}

// Over random (size, align, boundary): every block is aligned, never crosses a boundary line in bus
// space, lies under the coherent mask, and no two live blocks overlap.
RC_GTEST_PROP(DmaPoolProperty, BlocksAreAlignedAndNeverCrossTheBoundary, ()) {
  machine::Machine m(small());
  dma::Platform platform(m);
  dma::Device dev(platform, "prop");
  RC_ASSERT(dev.set_coherent_dma_mask(dma_bit_mask(*rc::gen::inRange(24u, 33u))).has_value());
  const auto size = *rc::gen::inRange<std::uint64_t>(1, 9000);
  const std::uint64_t align = std::uint64_t{1} << *rc::gen::inRange(0, 15);
  const std::uint64_t block = align_up(size, align);
  const int boundary_shift = *rc::gen::inRange(0, 18);
  const std::uint64_t boundary =
      boundary_shift == 0 ? 0 : std::max(std::bit_ceil(block), std::uint64_t{1} << boundary_shift);
  auto pool = DmaPool::create("p", dev, size, align, boundary).value();
  std::map<std::uint64_t, std::byte*> live;  // bus address -> block
  const int steps = *rc::gen::inRange(1, 120);
  for (int i = 0; i < steps; ++i) {
    if (!live.empty() && *rc::gen::inRange(0, 3) == 0) {
      auto it = live.begin();
      std::advance(it, *rc::gen::inRange<long>(0, static_cast<long>(live.size())));
      RC_ASSERT(pool->free(it->second, DmaAddr(it->first)).has_value());
      live.erase(it);
      continue;
    }
    DmaAddr dma{};
    std::byte* cpu = pool->alloc(machine::kGfpKernel, &dma).value();
    const std::uint64_t first = dma.value();
    const std::uint64_t last = first + block - 1;
    RC_ASSERT(first % align == 0);
    if (boundary != 0) RC_ASSERT(first / boundary == last / boundary);
    RC_ASSERT(last <= dev.coherent_dma_mask());
    auto next = live.lower_bound(first);
    if (next != live.end()) RC_ASSERT(last < next->first);
    if (next != live.begin()) RC_ASSERT(std::prev(next)->first + block <= first);
    live.emplace(first, cpu);
  }
  for (auto [dma, cpu] : live) RC_ASSERT(pool->free(cpu, DmaAddr(dma)).has_value());
  RC_ASSERT(pool->destroy().empty());
}

}  // namespace
}  // namespace dmakit::pool
