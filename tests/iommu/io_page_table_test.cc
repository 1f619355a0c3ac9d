// SPDX-License-Identifier: Apache-2.0
#include "dmakit/iommu/io_page_table.h"

#include <gtest/gtest.h>

#include <cstring>

#include "dmakit/core/config_error.h"
#include "testing/small_machine.h"

namespace dmakit::iommu {
namespace {

constexpr std::uint64_t k2M = 2 * kMiB;

class IoPageTableTest : public ::testing::Test {
 protected:
  IoPageTableTest() : machine_(testing::plain_machine_config(64 * kMiB)) {}

  std::uint64_t free_pages() const {
    std::uint64_t pages = 0;
    for (const machine::Zone* zone : machine_.zones()) pages += zone->free_pages();
    return pages;
  }

  machine::Machine machine_;
};

TEST_F(IoPageTableTest, MapsAndTranslatesFourKilobytePages) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(0x1000), PhysAddr(0x5000), 0x2000, Perm::ReadWrite));
  const std::optional<Translation> t = table.translate(IovaAddr(0x1234));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->phys, PhysAddr(0x5234));
  EXPECT_EQ(t->perm, Perm::ReadWrite);
  EXPECT_EQ(t->page_size, kPageSize);
  EXPECT_EQ(t->levels_walked, 4u);
  EXPECT_EQ(table.translate(IovaAddr(0x2fff))->phys, PhysAddr(0x6fff));
  EXPECT_FALSE(table.translate(IovaAddr(0x3000)));
  EXPECT_FALSE(table.translate(IovaAddr(0)));
  EXPECT_FALSE(table.translate(IovaAddr(std::uint64_t{1} << 48)));
  const IoPageTableStats s = table.stats();
  EXPECT_EQ(s.mapped_bytes, 0x2000u);
  EXPECT_EQ(s.tables, 4u);           // one per level
  EXPECT_EQ(s.entries_written, 6u);  // four table links (the top one from the root), two leaves
}

TEST_F(IoPageTableTest, UsesTwoMegabyteLeavesWhenIovaAndPhysAreAligned) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(k2M), PhysAddr(2 * k2M), k2M, Perm::Read));
  const std::optional<Translation> t = table.translate(IovaAddr(k2M + 0x1234));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->phys, PhysAddr(2 * k2M + 0x1234));
  EXPECT_EQ(t->page_size, k2M);
  EXPECT_EQ(t->levels_walked, 3u);
  EXPECT_EQ(table.stats().tables, 3u);
}

TEST_F(IoPageTableTest, UsesOneGigabyteLeavesWhenAllowedAndAligned) {
  IoPageTable table(machine_);
  // The output need not be RAM: an IOMMU maps device memory too.
  ASSERT_TRUE(table.map(IovaAddr(kGiB), PhysAddr(2 * kGiB), kGiB, Perm::Write));
  const std::optional<Translation> t = table.translate(IovaAddr(kGiB + 5 * k2M));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->phys, PhysAddr(2 * kGiB + 5 * k2M));
  EXPECT_EQ(t->page_size, kGiB);
  EXPECT_EQ(t->levels_walked, 2u);
  EXPECT_EQ(table.stats().tables, 2u);
}

TEST_F(IoPageTableTest, UsesFourKilobyteLeavesWhenPhysIsNotAlignedForALargeOne) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(k2M), PhysAddr(k2M + kPageSize), k2M, Perm::ReadWrite));
  EXPECT_EQ(table.translate(IovaAddr(k2M))->page_size, kPageSize);
  EXPECT_EQ(table.translate(IovaAddr(2 * k2M - 1))->phys, PhysAddr(2 * k2M + kPageSize - 1));
  EXPECT_EQ(table.stats().entries_written, 4u + 512u);
}

TEST_F(IoPageTableTest, SplitsARangeIntoTheLargestLeavesThatFit) {
  IoPageTable table(machine_);
  const std::uint64_t start = k2M - kPageSize;
  ASSERT_TRUE(table.map(IovaAddr(start), PhysAddr(start), k2M + 2 * kPageSize, Perm::Read));
  EXPECT_EQ(table.translate(IovaAddr(start))->page_size, kPageSize);
  EXPECT_EQ(table.translate(IovaAddr(k2M + kMiB))->page_size, k2M);
  EXPECT_EQ(table.translate(IovaAddr(2 * k2M))->page_size, kPageSize);
  EXPECT_FALSE(table.translate(IovaAddr(2 * k2M + kPageSize)));
  EXPECT_EQ(table.stats().mapped_bytes, k2M + 2 * kPageSize);
}

TEST_F(IoPageTableTest, FormatWithoutLargeSizesMapsOnlyFourKilobyteLeaves) {
  PageTableFormat format;
  format.page_sizes = kPageSize;
  IoPageTable table(machine_, format);
  ASSERT_TRUE(table.map(IovaAddr(kGiB), PhysAddr(kGiB), k2M, Perm::Read));
  EXPECT_EQ(table.translate(IovaAddr(kGiB))->page_size, kPageSize);
}

TEST_F(IoPageTableTest, FewerLevelsTranslateFewerBitsInFewerSteps) {
  PageTableFormat format;
  format.levels = 3;
  IoPageTable table(machine_, format);
  EXPECT_EQ(table.iova_limit(), std::uint64_t{1} << 39);
  ASSERT_TRUE(table.map(IovaAddr(0x1000), PhysAddr(0x1000), kPageSize, Perm::Read));
  EXPECT_EQ(table.translate(IovaAddr(0x1000))->levels_walked, 3u);
  EXPECT_EQ(
      table.map(IovaAddr(std::uint64_t{1} << 39), PhysAddr(0), kPageSize, Perm::Read).error().code,
      Errc::InvalidArgument);

  format.levels = 5;
  IoPageTable five(machine_, format);
  const IovaAddr high(std::uint64_t{1} << 56);
  ASSERT_TRUE(five.map(high, PhysAddr(0x1000), kPageSize, Perm::Read));
  EXPECT_EQ(five.translate(high)->levels_walked, 5u);
}

TEST_F(IoPageTableTest, MapOverAMappedPageIsRefusedWithNothingChanged) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(0x10000), PhysAddr(0x10000), 0x4000, Perm::Read));
  const IoPageTableStats before = table.stats();
  const Status again = table.map(IovaAddr(0xe000), PhysAddr(0x20000), 0x4000, Perm::Write);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::Busy);
  EXPECT_FALSE(table.translate(IovaAddr(0xe000)));
  EXPECT_EQ(table.translate(IovaAddr(0x10000))->phys, PhysAddr(0x10000));
  const IoPageTableStats after = table.stats();
  EXPECT_EQ(after.entries_written, before.entries_written);
  EXPECT_EQ(after.tables, before.tables);
  EXPECT_EQ(after.mapped_bytes, before.mapped_bytes);
}

TEST_F(IoPageTableTest, MapInsideALargeLeafIsRefused) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(k2M), PhysAddr(k2M), k2M, Perm::Read));
  EXPECT_EQ(table.map(IovaAddr(k2M + kPageSize), PhysAddr(0), kPageSize, Perm::Read).error().code,
            Errc::Busy);
  EXPECT_EQ(table.translate(IovaAddr(k2M + kPageSize))->phys, PhysAddr(k2M + kPageSize));
}

TEST_F(IoPageTableTest, UnmapRemovesWholeLeavesAndReturnsTheirBytes) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(0x10000), PhysAddr(0x40000), 0x3000, Perm::ReadWrite));
  EXPECT_EQ(table.unmap(IovaAddr(0x11000), 0x1000).value().bytes, 0x1000u);
  EXPECT_FALSE(table.translate(IovaAddr(0x11000)));
  EXPECT_TRUE(table.translate(IovaAddr(0x12000)));
  EXPECT_EQ(table.unmap(IovaAddr(0x10000), 0x3000).value().bytes, 0x2000u);
  EXPECT_EQ(table.unmap(IovaAddr(0x10000), 0x3000).value().bytes, 0u);
  EXPECT_FALSE(table.translate(IovaAddr(0x10000)));
  EXPECT_EQ(table.stats().mapped_bytes, 0u);
}

TEST_F(IoPageTableTest, UnmapThatWouldSplitALargeLeafIsRefusedWithNothingChanged) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(k2M), PhysAddr(k2M), k2M, Perm::Read));
  const Result<Unmapped> part = table.unmap(IovaAddr(k2M + kPageSize), kPageSize);
  ASSERT_FALSE(part);
  EXPECT_EQ(part.error().code, Errc::InvalidArgument);
  // A range reaching past the leaf's start splits it too.
  EXPECT_FALSE(table.unmap(IovaAddr(k2M - kPageSize), 2 * kPageSize));
  EXPECT_EQ(table.translate(IovaAddr(k2M + kPageSize))->page_size, k2M);
  EXPECT_EQ(table.stats().mapped_bytes, k2M);
  EXPECT_EQ(table.unmap(IovaAddr(0), 2 * k2M).value().bytes, k2M);
}

TEST_F(IoPageTableTest, EachLeafKeepsItsOwnPermissions) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(0x1000), PhysAddr(0x1000), kPageSize, Perm::Read));
  ASSERT_TRUE(table.map(IovaAddr(0x2000), PhysAddr(0x2000), kPageSize, Perm::Write));
  EXPECT_EQ(table.translate(IovaAddr(0x1000))->perm, Perm::Read);
  EXPECT_EQ(table.translate(IovaAddr(0x2000))->perm, Perm::Write);
  EXPECT_TRUE(allows(table.translate(IovaAddr(0x1000))->perm, Perm::Read));
  EXPECT_FALSE(allows(table.translate(IovaAddr(0x1000))->perm, Perm::Write));
  EXPECT_EQ(table.map(IovaAddr(0x3000), PhysAddr(0x3000), kPageSize, Perm::None).error().code,
            Errc::InvalidArgument);
}

TEST_F(IoPageTableTest, RefusesUnalignedEmptyAndOutOfRangeArguments) {
  IoPageTable table(machine_);
  auto code = [](const Status& s) { return s.error().code; };
  EXPECT_EQ(code(table.map(IovaAddr(0x1001), PhysAddr(0), kPageSize, Perm::Read)),
            Errc::InvalidArgument);
  EXPECT_EQ(code(table.map(IovaAddr(0x1000), PhysAddr(0x10), kPageSize, Perm::Read)),
            Errc::InvalidArgument);
  EXPECT_EQ(code(table.map(IovaAddr(0x1000), PhysAddr(0), 0, Perm::Read)), Errc::InvalidArgument);
  EXPECT_EQ(code(table.map(IovaAddr(0x1000), PhysAddr(0), 100, Perm::Read)), Errc::InvalidArgument);
  EXPECT_EQ(code(table.map(IovaAddr((std::uint64_t{1} << 48) - kPageSize), PhysAddr(0),
                           2 * kPageSize, Perm::Read)),
            Errc::InvalidArgument);
  EXPECT_EQ(
      code(table.map(IovaAddr(0x1000), PhysAddr(std::uint64_t{1} << 52), kPageSize, Perm::Read)),
      Errc::InvalidArgument);
  EXPECT_EQ(table.unmap(IovaAddr(0x1800), kPageSize).error().code, Errc::InvalidArgument);
  EXPECT_EQ(table.stats().tables, 0u);
}

TEST_F(IoPageTableTest, TablesAreZeroedMachinePagesCountedAndFreedOnDestruction) {
  const std::uint64_t before = free_pages();
  {
    IoPageTable table(machine_);
    EXPECT_FALSE(table.root_table());
    ASSERT_TRUE(table.map(IovaAddr(0x1000), PhysAddr(0x7000), kPageSize, Perm::ReadWrite));
    ASSERT_TRUE(table.map(IovaAddr(kGiB), PhysAddr(0x8000), kPageSize, Perm::Read));
    const IoPageTableStats s = table.stats();
    EXPECT_EQ(s.tables, 6u);  // two top levels shared; the leaf 1 GiB away needs two more
    EXPECT_EQ(s.table_bytes, 6 * kPageSize);
    EXPECT_EQ(free_pages(), before - 6);

    // The entries are bytes of simulated RAM: the top table's first entry links the next level.
    const PhysAddr root = table.root_table().value();
    std::uint64_t first = 0;
    std::memcpy(&first, machine_.phys_to_virt(root, sizeof(first)).value(), sizeof(first));
    EXPECT_NE(first & pte::kPresent, 0u);
    EXPECT_EQ(first & pte::kLeaf, 0u);
    EXPECT_TRUE(machine_.phys_to_virt(PhysAddr(first & pte::kAddrMask)));

    // Tables an unmap only empties stay linked.
    EXPECT_EQ(table.unmap(IovaAddr(0x1000), 0x2000).value().bytes, kPageSize);
    EXPECT_EQ(table.stats().tables, 6u);
  }
  EXPECT_EQ(free_pages(), before);
}

TEST_F(IoPageTableTest, UnmapDetachesTheTablesItsRangeCoversAndFreesThemWhenLetGo) {
  const std::uint64_t before = free_pages();
  IoPageTable table(machine_);
  // 4 KiB leaves filling one leaf table, plus one page in the next 2 MiB: two leaf tables.
  for (std::uint64_t off = 0; off < k2M; off += kPageSize)
    ASSERT_TRUE(table.map(IovaAddr(k2M + off), PhysAddr(0x100000 + off % (16 * kPageSize)),
                          kPageSize, Perm::ReadWrite));
  ASSERT_TRUE(table.map(IovaAddr(2 * k2M), PhysAddr(0x100000), kPageSize, Perm::Read));
  ASSERT_EQ(table.stats().tables, 5u);
  const std::uint64_t written = table.stats().entries_written;
  {
    Result<Unmapped> r = table.unmap(IovaAddr(k2M), k2M + kPageSize);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->bytes, k2M + kPageSize);
    // The covered leaf table goes with one entry write instead of 512; the other is only emptied.
    EXPECT_EQ(r->tables.subtrees(), 1u);
    EXPECT_EQ(table.stats().entries_written - written, 2u);
    EXPECT_FALSE(table.translate(IovaAddr(k2M)));
    EXPECT_FALSE(table.translate(IovaAddr(2 * k2M)));
    EXPECT_EQ(table.stats().mapped_bytes, 0u);
    // Detached but not yet freed: an IOMMU may still be walking it.
    EXPECT_EQ(table.stats().tables, 5u);
    EXPECT_EQ(free_pages(), before - 5);
  }
  EXPECT_EQ(table.stats().tables, 4u);
  EXPECT_EQ(free_pages(), before - 4);
  // The range maps again, with a 2 MiB leaf where the detached table was.
  ASSERT_TRUE(table.map(IovaAddr(k2M), PhysAddr(k2M), k2M, Perm::Read));
  EXPECT_EQ(table.translate(IovaAddr(k2M))->page_size, k2M);
}

TEST_F(IoPageTableTest, UnmappingEverythingLeavesOnlyTheTopTable) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(0x1000), PhysAddr(0x7000), kPageSize, Perm::ReadWrite));
  ASSERT_TRUE(table.map(IovaAddr(kGiB), PhysAddr(0x8000), kPageSize, Perm::Read));
  ASSERT_TRUE(table.map(IovaAddr(std::uint64_t{1} << 40), PhysAddr(k2M), k2M, Perm::Read));
  EXPECT_EQ(table.unmap(IovaAddr(0), table.iova_limit()).value().bytes, k2M + 2 * kPageSize);
  EXPECT_EQ(table.stats().tables, 1u);
  EXPECT_TRUE(table.root_table());
}

TEST_F(IoPageTableTest, EmptyTableLeftByAnUnmapTakesSmallerLeavesInsteadOfALargeOne) {
  IoPageTable table(machine_);
  ASSERT_TRUE(table.map(IovaAddr(k2M), PhysAddr(k2M), kPageSize, Perm::Read));
  ASSERT_EQ(table.unmap(IovaAddr(k2M), kPageSize).value().bytes, kPageSize);
  const std::uint64_t tables = table.stats().tables;
  ASSERT_TRUE(table.map(IovaAddr(k2M), PhysAddr(4 * k2M), k2M, Perm::Read));
  EXPECT_EQ(table.translate(IovaAddr(k2M))->page_size, kPageSize);
  EXPECT_EQ(table.translate(IovaAddr(2 * k2M - 1))->phys, PhysAddr(5 * k2M - 1));
  EXPECT_EQ(table.stats().tables, tables);
  EXPECT_EQ(table.stats().mapped_bytes, k2M);
}

TEST_F(IoPageTableTest, RefusesFormatsThatCannotWork) {
  auto field_of = [this](PageTableFormat format) {
    try {
      IoPageTable table(machine_, format);
    } catch (const ConfigError& e) {
      return e.field();
    }
    return std::string();
  };
  PageTableFormat format;
  format.levels = 0;
  EXPECT_EQ(field_of(format), "iommu.page_table.levels");
  format.levels = 6;
  EXPECT_EQ(field_of(format), "iommu.page_table.levels");
  format = {};
  format.page_sizes = k2M;
  EXPECT_EQ(field_of(format), "iommu.page_table.page_sizes");
  format = {};
  format.page_sizes |= 64 * kKiB;
  EXPECT_EQ(field_of(format), "iommu.page_table.page_sizes");
  format = {};
  format.levels = 2;
  EXPECT_EQ(field_of(format), "iommu.page_table.page_sizes");  // 1 GiB needs 3 levels
  format.page_sizes = kPageSize | k2M;
  EXPECT_EQ(field_of(format), "");
}

}  // namespace
}  // namespace dmakit::iommu
