// SPDX-License-Identifier: Apache-2.0
#include "dmakit/iommu/iotlb.h"

#include <gtest/gtest.h>

#include <thread>

#include "dmakit/core/config_error.h"

namespace dmakit::iommu {
namespace {

constexpr std::uint64_t k2M = 2 * kMiB;

// 8 entries in 2 ways: 4 sets, so 4 KiB pages 0, 4 and 8 share set 0.
IotlbConfig small_config() {
  IotlbConfig config;
  config.entries = 8;
  config.ways = 2;
  return config;
}

IotlbTranslation page(std::uint64_t phys, Perm perm = Perm::ReadWrite,
                      std::uint64_t size = kPageSize) {
  return {PhysAddr(phys), perm, size};
}

IovaAddr vpn(std::uint64_t number) { return IovaAddr(number * kPageSize); }

TEST(Iotlb, MissesUntilInsertedThenHitsWithTheOffsetApplied) {
  Iotlb tlb;
  EXPECT_FALSE(tlb.lookup(1, IovaAddr(0x5123)));
  ASSERT_TRUE(tlb.insert(1, IovaAddr(0x5000), page(0x9000, Perm::Read)));
  const std::optional<IotlbTranslation> hit = tlb.lookup(1, IovaAddr(0x5123));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->phys, PhysAddr(0x9123));
  EXPECT_EQ(hit->perm, Perm::Read);
  EXPECT_EQ(hit->page_size, kPageSize);
  EXPECT_FALSE(tlb.lookup(1, IovaAddr(0x6000)));
  const IotlbStats s = tlb.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.inserts, 1u);
}

TEST(Iotlb, EntriesAreTaggedByDomain) {
  Iotlb tlb;
  ASSERT_TRUE(tlb.insert(1, vpn(5), page(0x9000)));
  EXPECT_FALSE(tlb.lookup(2, vpn(5)));
  ASSERT_TRUE(tlb.insert(2, vpn(5), page(0xa000)));
  EXPECT_EQ(tlb.lookup(1, vpn(5))->phys, PhysAddr(0x9000));
  EXPECT_EQ(tlb.lookup(2, vpn(5))->phys, PhysAddr(0xa000));
}

TEST(Iotlb, LargePageEntryCoversItsWholePage) {
  Iotlb tlb;
  // Inserted from a lookup in the middle of the page: the entry still covers all of it.
  ASSERT_TRUE(tlb.insert(1, IovaAddr(k2M + 0x3000), page(4 * k2M + 0x3000, Perm::Read, k2M)));
  const std::optional<IotlbTranslation> hit = tlb.lookup(1, IovaAddr(2 * k2M - 1));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->phys, PhysAddr(5 * k2M - 1));
  EXPECT_EQ(hit->page_size, k2M);
  EXPECT_EQ(tlb.lookup(1, IovaAddr(k2M))->phys, PhysAddr(4 * k2M));
  EXPECT_FALSE(tlb.lookup(1, IovaAddr(2 * k2M)));
}

TEST(Iotlb, LeastRecentlyUsedWayOfASetIsEvicted) {
  Iotlb tlb(small_config());
  ASSERT_EQ(tlb.sets(), 4u);
  ASSERT_TRUE(tlb.insert(1, vpn(0), page(0x10000)));
  ASSERT_TRUE(tlb.insert(1, vpn(4), page(0x20000)));
  ASSERT_TRUE(tlb.insert(1, vpn(1), page(0x30000)));  // another set
  ASSERT_TRUE(tlb.lookup(1, vpn(0)));                 // page 4 is now the least recently used
  ASSERT_TRUE(tlb.insert(1, vpn(8), page(0x40000)));
  EXPECT_FALSE(tlb.lookup(1, vpn(4)));
  EXPECT_TRUE(tlb.lookup(1, vpn(0)));
  EXPECT_TRUE(tlb.lookup(1, vpn(8)));
  EXPECT_TRUE(tlb.lookup(1, vpn(1)));
  EXPECT_EQ(tlb.stats().evictions, 1u);
  EXPECT_EQ(tlb.size(), 3u);
}

TEST(Iotlb, InsertingATagAgainReplacesItWithoutEvicting) {
  Iotlb tlb(small_config());
  ASSERT_TRUE(tlb.insert(1, vpn(0), page(0x10000)));
  ASSERT_TRUE(tlb.insert(1, vpn(4), page(0x20000)));
  ASSERT_TRUE(tlb.insert(1, vpn(0), page(0x50000, Perm::Read)));
  EXPECT_EQ(tlb.lookup(1, vpn(0))->phys, PhysAddr(0x50000));
  EXPECT_EQ(tlb.lookup(1, vpn(0))->perm, Perm::Read);
  EXPECT_TRUE(tlb.lookup(1, vpn(4)));
  EXPECT_EQ(tlb.stats().evictions, 0u);
  EXPECT_EQ(tlb.size(), 2u);
}

TEST(Iotlb, RangeInvalidationDropsOnlyThatDomainsOverlappingPagesAndCountsOnce) {
  Iotlb tlb;
  for (std::uint64_t n = 0; n < 4; ++n) ASSERT_TRUE(tlb.insert(1, vpn(n), page(n * kPageSize)));
  ASSERT_TRUE(tlb.insert(2, vpn(1), page(0x9000)));
  tlb.invalidate(1, IovaAddr(0x1800), 0x1000);  // touches pages 1 and 2
  EXPECT_TRUE(tlb.lookup(1, vpn(0)));
  EXPECT_FALSE(tlb.lookup(1, vpn(1)));
  EXPECT_FALSE(tlb.lookup(1, vpn(2)));
  EXPECT_TRUE(tlb.lookup(1, vpn(3)));
  EXPECT_TRUE(tlb.lookup(2, vpn(1)));
  const IotlbStats s = tlb.stats();
  EXPECT_EQ(s.invalidations, 1u);
  EXPECT_EQ(s.entries_invalidated, 2u);
}

TEST(Iotlb, LargeRangeInvalidationReachesEverySetAndLargeEntries) {
  Iotlb tlb(small_config());
  ASSERT_TRUE(tlb.insert(1, vpn(3), page(0x3000)));
  ASSERT_TRUE(tlb.insert(1, vpn(500), page(0x4000)));
  ASSERT_TRUE(tlb.insert(1, IovaAddr(k2M), page(k2M, Perm::Read, k2M)));
  ASSERT_TRUE(tlb.insert(1, IovaAddr(kGiB), page(0x5000)));  // outside the range
  tlb.invalidate(1, IovaAddr(0), k2M + kPageSize);
  EXPECT_FALSE(tlb.lookup(1, vpn(3)));
  EXPECT_FALSE(tlb.lookup(1, vpn(500)));
  EXPECT_FALSE(tlb.lookup(1, IovaAddr(k2M + kMiB)));
  EXPECT_TRUE(tlb.lookup(1, IovaAddr(kGiB)));
  EXPECT_EQ(tlb.stats().entries_invalidated, 3u);
}

TEST(Iotlb, DomainInvalidationLeavesOtherDomains) {
  Iotlb tlb;
  ASSERT_TRUE(tlb.insert(1, vpn(1), page(0x1000)));
  ASSERT_TRUE(tlb.insert(1, IovaAddr(kGiB), page(kGiB, Perm::Read, kGiB)));
  ASSERT_TRUE(tlb.insert(2, vpn(1), page(0x2000)));
  tlb.invalidate_domain(1);
  EXPECT_FALSE(tlb.lookup(1, vpn(1)));
  EXPECT_FALSE(tlb.lookup(1, IovaAddr(kGiB)));
  EXPECT_TRUE(tlb.lookup(2, vpn(1)));
  EXPECT_EQ(tlb.stats().domain_invalidations, 1u);
  EXPECT_EQ(tlb.stats().entries_invalidated, 2u);
}

TEST(Iotlb, GlobalInvalidationEmptiesIt) {
  Iotlb tlb;
  ASSERT_TRUE(tlb.insert(1, vpn(1), page(0x1000)));
  ASSERT_TRUE(tlb.insert(2, vpn(2), page(0x2000)));
  tlb.invalidate_all();
  EXPECT_EQ(tlb.size(), 0u);
  EXPECT_FALSE(tlb.lookup(2, vpn(2)));
  EXPECT_EQ(tlb.stats().global_invalidations, 1u);
  EXPECT_EQ(tlb.stats().entries_invalidated, 2u);
}

TEST(Iotlb, InsertRefusesUncachedPageSizesAndMismatchedOffsets) {
  IotlbConfig config;
  config.page_sizes = kPageSize;
  Iotlb tlb(config);
  EXPECT_EQ(tlb.insert(1, IovaAddr(k2M), page(k2M, Perm::Read, k2M)).error().code,
            Errc::InvalidArgument);
  EXPECT_EQ(tlb.insert(1, IovaAddr(0x1100), page(0x2200)).error().code, Errc::InvalidArgument);
  EXPECT_EQ(tlb.size(), 0u);
  EXPECT_EQ(tlb.stats().inserts, 0u);
}

TEST(Iotlb, RefusesGeometriesThatCannotWork) {
  auto field_of = [](IotlbConfig config) {
    try {
      Iotlb tlb(config);
    } catch (const ConfigError& e) {
      return e.field();
    }
    return std::string();
  };
  IotlbConfig config;
  config.entries = 12;
  config.ways = 4;
  EXPECT_EQ(field_of(config), "iommu.iotlb.entries");  // 3 sets
  config.ways = 5;
  EXPECT_EQ(field_of(config), "iommu.iotlb.ways");
  config = {};
  config.ways = 0;
  EXPECT_EQ(field_of(config), "iommu.iotlb.ways");
  config = {};
  config.page_sizes = kPageSize | 0x800;
  EXPECT_EQ(field_of(config), "iommu.iotlb.page_sizes");
  EXPECT_EQ(field_of({}), "");
}

TEST(Iotlb, ThreadsOfDifferentDomainsShareItSafely) {
  Iotlb tlb(small_config());
  auto worker = [&tlb](DomainId domain) {
    for (std::uint64_t i = 0; i < 5000; ++i) {
      const IovaAddr iova = vpn(i % 16);
      if (const std::optional<IotlbTranslation> hit = tlb.lookup(domain, iova)) {
        ASSERT_EQ(hit->phys, PhysAddr(domain * kGiB + iova.value()));
      } else {
        ASSERT_TRUE(tlb.insert(domain, iova, page(domain * kGiB + iova.value())));
      }
      if (i % 97 == 0) tlb.invalidate(domain, vpn(0), 8 * kPageSize);
      if (i % 501 == 0) tlb.invalidate_domain(domain);
    }
  };
  std::thread a(worker, 1);
  std::thread b(worker, 2);
  a.join();
  b.join();
  const IotlbStats s = tlb.stats();
  EXPECT_EQ(s.hits + s.misses, 10000u);
  EXPECT_LE(tlb.size(), 8u);
}

}  // namespace
}  // namespace dmakit::iommu
