// SPDX-License-Identifier: Apache-2.0
#include "dmakit/iommu/iommu_costs.h"

#include <gtest/gtest.h>

#include "dmakit/iommu/iommu.h"
#include "testing/small_machine.h"

namespace dmakit::iommu {
namespace {

constexpr IommuCosts kCosts{.iova_alloc = 100,
                            .pte_write = 10,
                            .invalidation = 2000,
                            .flush = 3000,
                            .trap = 5000,
                            .iotlb_hit = 3,
                            .walk_level = 200};

class IommuCostsTest : public ::testing::Test {
 protected:
  IommuCostsTest() : machine_(testing::plain_machine_config(256 * kMiB)) {}

  Iommu& make_iommu(const IommuCosts& costs) {
    IommuConfig config;
    config.costs = costs;
    return *iommus_.emplace_back(std::make_unique<Iommu>(machine_, config));
  }
  // `pairs` single-page map+unmap pairs in `d`.
  static void map_unmap(Domain& d, int pairs) {
    for (int i = 0; i < pairs; ++i) {
      const PhysChunk chunk{PhysAddr(0x100000), kPageSize};
      const std::uint64_t at = 0;
      const IovaAddr iova = d.map_dma({&chunk, 1}, {&at, 1}, kPageSize, Perm::Read, ~0ull).value();
      ASSERT_TRUE(d.unmap_dma(iova, kPageSize));
    }
  }

  machine::Machine machine_;
  std::vector<std::unique_ptr<Iommu>> iommus_;
};

TEST_F(IommuCostsTest, StrictUnmapsPayAnInvalidationEachDeferredOnesAFlushPerQueue) {
  Iommu& iommu = make_iommu(kCosts);
  map_unmap(iommu.create_domain({.policy = InvalidationPolicy::Strict}), 10);
  IommuCostBreakdown cost = iommu.modeled_cost();
  EXPECT_EQ(cost.invalidation, 10 * kCosts.invalidation);
  EXPECT_EQ(cost.iova, 10 * kCosts.iova_alloc);
  // The first map links a table at each of the four levels, made on first use; then every pair
  // sets and clears one leaf.
  const std::uint64_t tables_and_leaves = 4 + 2 * 10;
  EXPECT_EQ(cost.page_table, tables_and_leaves * kCosts.pte_write);
  EXPECT_EQ(cost.traps, 0u);

  Iommu& lazy = make_iommu(kCosts);
  Domain& d = lazy.create_domain({.policy = InvalidationPolicy::Deferred, .flush_queue_size = 8});
  map_unmap(d, 9);  // the ninth unmap finds the queue full and flushes
  cost = lazy.modeled_cost();
  EXPECT_EQ(cost.invalidation, kCosts.flush);
  EXPECT_EQ(cost.cpu(), cost.iova + cost.page_table + kCosts.flush);
}

TEST_F(IommuCostsTest, GuestDomainsPayATrapPerCall) {
  Iommu& iommu = make_iommu(kCosts);
  map_unmap(iommu.create_domain({.guest = true}), 4);
  EXPECT_EQ(iommu.modeled_cost().traps, 8 * kCosts.trap);
}

TEST_F(IommuCostsTest, DeviceSidePaysWalkLevelsOnMissesAndLittleOnHits) {
  Iommu& iommu = make_iommu(kCosts);
  Domain& d = iommu.create_domain({});
  const PhysChunk chunk{PhysAddr(0x100000), kPageSize};
  const std::uint64_t at = 0;
  const IovaAddr iova = d.map_dma({&chunk, 1}, {&at, 1}, kPageSize, Perm::Read, ~0ull).value();
  ASSERT_TRUE(iommu.translate(d, iova, Perm::Read, "dev"));  // a miss: a four-level walk
  ASSERT_TRUE(iommu.translate(d, iova, Perm::Read, "dev"));  // a hit
  const IommuCostBreakdown cost = iommu.modeled_cost();
  EXPECT_EQ(cost.walks, 4 * kCosts.walk_level);
  EXPECT_EQ(cost.iotlb, kCosts.iotlb_hit);
  EXPECT_EQ(cost.device(), 4 * kCosts.walk_level + kCosts.iotlb_hit);
}

TEST_F(IommuCostsTest, TwoTypesPriceTheSameWorkByTheirOwnCosts) {
  IommuCosts cheap = kCosts;
  cheap.invalidation = 500;
  Iommu& a = make_iommu(kCosts);
  Iommu& b = make_iommu(cheap);
  map_unmap(a.create_domain({.policy = InvalidationPolicy::Strict}), 5);
  map_unmap(b.create_domain({.policy = InvalidationPolicy::Strict}), 5);
  EXPECT_EQ(a.modeled_cost().cpu() - b.modeled_cost().cpu(), 5 * (2000u - 500u));
}

}  // namespace
}  // namespace dmakit::iommu
