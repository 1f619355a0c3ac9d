// SPDX-License-Identifier: Apache-2.0
#include "dmakit/iommu/domain.h"

#include <gtest/gtest.h>

#include "dmakit/iommu/iommu.h"
#include "testing/small_machine.h"

namespace dmakit::iommu {
namespace {

class DomainTest : public ::testing::Test {
 protected:
  DomainTest() : machine_(testing::plain_machine_config(256 * kMiB)), iommu_(machine_, {}) {}

  Domain& domain(DomainKind kind, InvalidationPolicy policy = InvalidationPolicy::Strict,
                 bool guest = false) {
    return iommu_.create_domain({.kind = kind, .policy = policy, .guest = guest});
  }
  Result<IovaAddr> map_one(Domain& d, PhysAddr phys, std::uint64_t size, Perm perm,
                           std::uint64_t limit = dma_bit_mask(32)) {
    const PhysChunk chunk{phys, size};
    const std::uint64_t at = 0;
    return d.map_dma({&chunk, 1}, {&at, 1}, size, perm, limit);
  }
  Result<Translation> device_access(Domain& d, IovaAddr iova, Perm perm) {
    return iommu_.translate(d, iova, perm, "dev");
  }

  machine::Machine machine_;
  Iommu iommu_;
};

TEST_F(DomainTest, ExplicitMapsKeepVirtioIommusContract) {
  Domain& d = domain(DomainKind::Unmanaged);
  ASSERT_TRUE(d.map(IovaAddr(0x100000), PhysAddr(0x200000), 0x3000, Perm::ReadWrite));
  ASSERT_TRUE(d.map(IovaAddr(0x103000), PhysAddr(0x400000), 0x1000, Perm::Read));
  // A map overlapping an existing mapping fails and changes nothing.
  EXPECT_EQ(d.map(IovaAddr(0x102000), PhysAddr(0x500000), 0x2000, Perm::Read).error().code,
            Errc::Busy);
  EXPECT_EQ(d.translate(IovaAddr(0x102000))->phys, PhysAddr(0x202000));
  // An unmap that would split a mapping fails and unmaps nothing.
  EXPECT_EQ(d.unmap(IovaAddr(0x101000), 0x1000).error().code, Errc::InvalidArgument);
  EXPECT_EQ(d.unmap(IovaAddr(0x100000), 0x3800).error().code, Errc::InvalidArgument);
  EXPECT_TRUE(d.translate(IovaAddr(0x100000)));
  // One covering several whole mappings removes them all; one covering nothing removes nothing.
  EXPECT_EQ(d.unmap(IovaAddr(0x0), 0x200000).value(), 0x4000u);
  EXPECT_FALSE(d.translate(IovaAddr(0x103000)));
  EXPECT_EQ(d.unmap(IovaAddr(0x0), 0x200000).value(), 0u);
  // The DMA API's calls are for DMA domains only, and explicit ones for unmanaged domains only.
  EXPECT_FALSE(map_one(d, PhysAddr(0x200000), 0x1000, Perm::Read));
  EXPECT_FALSE(domain(DomainKind::Dma).map(IovaAddr(0x1000), PhysAddr(0x1000), 0x1000, Perm::Read));
}

TEST_F(DomainTest, LargePagesAreUsedWhenAligned) {
  Domain& d = domain(DomainKind::Unmanaged);
  ASSERT_TRUE(d.map(IovaAddr(0x4000'0000), PhysAddr(0x400'0000), 4 * kMiB, Perm::ReadWrite));
  EXPECT_EQ(d.translate(IovaAddr(0x4000'0000))->page_size, 2 * kMiB);
  ASSERT_TRUE(d.map(IovaAddr(0x5000'1000), PhysAddr(0x800'1000), 2 * kMiB, Perm::ReadWrite));
  EXPECT_EQ(d.translate(IovaAddr(0x5000'1000))->page_size, kPageSize);
}

TEST_F(DomainTest, DevicesGetOnlyWhatIsMappedWithTheRightsGiven) {
  Domain& d = domain(DomainKind::Dma);
  const IovaAddr ro = map_one(d, PhysAddr(0x10'0000), kPageSize, Perm::Read).value();
  EXPECT_LE(ro.value(), dma_bit_mask(32));
  EXPECT_EQ(device_access(d, ro + 8, Perm::Read)->phys, PhysAddr(0x10'0008));
  const Result<Translation> write = device_access(d, ro, Perm::Write);
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().code, Errc::Fault);
  EXPECT_FALSE(device_access(d, ro + kPageSize, Perm::Read));
  const std::vector<Fault> faults = iommu_.faults().recorded();
  ASSERT_EQ(faults.size(), 2u);
  EXPECT_EQ(faults[0].reason, FaultReason::NoPermission);
  EXPECT_TRUE(faults[0].write);
  EXPECT_EQ(faults[0].device, "dev");
  EXPECT_EQ(faults[1].reason, FaultReason::NotMapped);
  EXPECT_EQ(faults[1].iova, ro + kPageSize);
}

TEST_F(DomainTest, StrictUnmapEndsAccessAtOnce) {
  Domain& d = domain(DomainKind::Dma, InvalidationPolicy::Strict);
  const IovaAddr iova = map_one(d, PhysAddr(0x10'0000), kPageSize, Perm::ReadWrite).value();
  ASSERT_TRUE(device_access(d, iova, Perm::Read));  // now cached in the IOTLB
  ASSERT_TRUE(d.unmap_dma(iova, kPageSize));
  EXPECT_FALSE(device_access(d, iova, Perm::Read));
  EXPECT_EQ(d.stats().invalidations, 1u);
  EXPECT_EQ(iommu_.stats().stale_hits, 0u);
}

TEST_F(DomainTest, DeferredUnmapLeavesAWindowUntilTheFlushAndHoldsTheIova) {
  Domain& d = domain(DomainKind::Dma, InvalidationPolicy::Deferred);
  const IovaAddr iova = map_one(d, PhysAddr(0x10'0000), kPageSize, Perm::ReadWrite).value();
  ASSERT_TRUE(device_access(d, iova, Perm::Read));
  ASSERT_TRUE(d.unmap_dma(iova, kPageSize));
  // The IOTLB still holds the translation: the access succeeds, and is counted as stale.
  EXPECT_TRUE(device_access(d, iova, Perm::Read));
  EXPECT_EQ(iommu_.stats().stale_hits, 1u);
  EXPECT_EQ(d.stats().queued_now, 1u);
  // The IOVA is not reused before the flush.
  const IovaAddr other = map_one(d, PhysAddr(0x20'0000), kPageSize, Perm::Read).value();
  EXPECT_NE(other, iova);
  iommu_.advance(9'000'000);
  EXPECT_TRUE(device_access(d, iova, Perm::Read));  // 9 ms: not yet
  iommu_.advance(1'000'000);                        // 10 ms: the timer flushes
  EXPECT_FALSE(device_access(d, iova, Perm::Read));
  const DomainStats s = d.stats();
  EXPECT_EQ(s.flushes, 1u);
  EXPECT_EQ(s.queued_now, 0u);
  EXPECT_EQ(s.exposure_ns, 10'000'000u);
}

TEST_F(DomainTest, AFullFlushQueueFlushesSynchronously) {
  Domain& d = iommu_.create_domain({.policy = InvalidationPolicy::Deferred, .flush_queue_size = 4});
  for (int i = 0; i < 5; ++i) {
    const IovaAddr iova = map_one(d, PhysAddr(0x10'0000), kPageSize, Perm::Read).value();
    ASSERT_TRUE(d.unmap_dma(iova, kPageSize));
  }
  EXPECT_EQ(d.stats().flushes, 1u);
  EXPECT_EQ(d.stats().queued_now, 1u);
}

// A 2 MiB mapping whose physical start is not 2 MiB aligned takes a whole table of 4 KiB leaves;
// its unmap detaches that table, which goes back only once the IOTLB can no longer walk it.
TEST_F(DomainTest, StrictUnmapFreesCoveredPageTablesAfterItsInvalidation) {
  Domain& d = domain(DomainKind::Dma, InvalidationPolicy::Strict);
  const IovaAddr iova = map_one(d, PhysAddr(0x10'1000), 2 * kMiB, Perm::ReadWrite).value();
  ASSERT_EQ(iova.value() % (2 * kMiB), 0u);
  ASSERT_EQ(d.translate(iova)->page_size, kPageSize);
  const std::uint64_t tables = d.stats().page_table.tables;
  ASSERT_TRUE(d.unmap_dma(iova, 2 * kMiB));
  EXPECT_EQ(d.stats().page_table.tables, tables - 1);
  EXPECT_EQ(d.stats().invalidations, 1u);
}

TEST_F(DomainTest, DeferredUnmapKeepsCoveredPageTablesUntilTheFlush) {
  Domain& d = domain(DomainKind::Dma, InvalidationPolicy::Deferred);
  const IovaAddr iova = map_one(d, PhysAddr(0x10'1000), 2 * kMiB, Perm::ReadWrite).value();
  const std::uint64_t tables = d.stats().page_table.tables;
  ASSERT_TRUE(d.unmap_dma(iova, 2 * kMiB));
  EXPECT_FALSE(d.translate(iova));
  EXPECT_EQ(d.stats().page_table.tables, tables);  // queued with the IOVA
  d.flush();
  EXPECT_EQ(d.stats().page_table.tables, tables - 1);
  EXPECT_EQ(d.stats().queued_now, 0u);
}

TEST_F(DomainTest, ExplicitUnmapFreesCoveredPageTables) {
  Domain& d = domain(DomainKind::Unmanaged);
  ASSERT_TRUE(d.map(IovaAddr(4 * kMiB), PhysAddr(0x10'1000), 2 * kMiB, Perm::Read));
  const std::uint64_t tables = d.stats().page_table.tables;
  EXPECT_EQ(d.unmap(IovaAddr(4 * kMiB), 2 * kMiB).value(), 2 * kMiB);
  EXPECT_EQ(d.stats().page_table.tables, tables - 1);
}

TEST_F(DomainTest, GuestDomainsTrapOncePerCall) {
  Domain& d = domain(DomainKind::Dma, InvalidationPolicy::Strict, /*guest=*/true);
  std::vector<IovaAddr> maps;
  for (int i = 0; i < 5; ++i)
    maps.push_back(map_one(d, PhysAddr(0x10'0000 + i * kPageSize), kPageSize, Perm::Read).value());
  EXPECT_EQ(d.stats().traps, 5u);
  // A list of five chunks maps in one call: one trap.
  std::vector<PhysChunk> chunks;
  std::vector<std::uint64_t> offsets;
  for (std::uint64_t i = 0; i < 5; ++i) {
    chunks.push_back({PhysAddr(0x80'0000 + 2 * i * kPageSize), kPageSize});
    offsets.push_back(i * kPageSize);
  }
  const IovaAddr sg =
      d.map_dma(chunks, offsets, 5 * kPageSize, Perm::Read, dma_bit_mask(32)).value();
  EXPECT_EQ(d.stats().traps, 6u);
  ASSERT_TRUE(d.unmap_dma(sg, 5 * kPageSize));
  EXPECT_EQ(d.stats().traps, 7u);
  EXPECT_EQ(domain(DomainKind::Dma).stats().traps, 0u);  // a host domain never traps
}

TEST_F(DomainTest, BadUnmapsChangeNothing) {
  Domain& d = domain(DomainKind::Dma);
  const IovaAddr iova = map_one(d, PhysAddr(0x10'0000), 2 * kPageSize, Perm::Read).value();
  EXPECT_FALSE(d.unmap_dma(iova + kPageSize, kPageSize));
  EXPECT_FALSE(d.unmap_dma(iova, 3 * kPageSize));
  EXPECT_TRUE(d.translate(iova + kPageSize));
  ASSERT_TRUE(d.unmap_dma(iova, 2 * kPageSize));
  EXPECT_FALSE(d.unmap_dma(iova, 2 * kPageSize));  // twice
}

TEST_F(DomainTest, IdentityDomainsPassAddressesThrough) {
  Domain& d = domain(DomainKind::Identity);
  EXPECT_EQ(device_access(d, IovaAddr(0x1234'5678), Perm::Write)->phys, PhysAddr(0x1234'5678));
  EXPECT_TRUE(d.supports_mask(dma_bit_mask(24)));
}

}  // namespace
}  // namespace dmakit::iommu
