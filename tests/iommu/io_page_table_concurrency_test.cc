// SPDX-License-Identifier: Apache-2.0
// Two threads mapping, translating and unmapping interleaved pages of one I/O page table, so that
// they race to link the same missing tables and write entries of the same table pages. Run under
// the tsan preset to check the atomics.
#include <gtest/gtest.h>

#include <thread>

#include "dmakit/iommu/io_page_table.h"
#include "testing/small_machine.h"

namespace dmakit::iommu {
namespace {

// Runs worker(0) and worker(1) at once and returns the table's counters after both.
template <class Worker>
IoPageTableStats run_pair(const IoPageTable& table, const Worker& worker) {
  std::thread a(worker, std::uint64_t{0});
  std::thread b(worker, std::uint64_t{1});
  a.join();
  b.join();
  return table.stats();
}

TEST(IoPageTableConcurrency, DisjointMapsShareTablesAndTranslateTheirOwnPages) {
  machine::Machine m(testing::plain_machine_config(64 * kMiB));
  IoPageTable table(m);
  constexpr std::uint64_t kPages = 2048;  // four leaf tables, linked by whichever thread is first

  auto worker = [&table](std::uint64_t parity) {
    for (int round = 0; round < 4; ++round) {
      for (std::uint64_t n = parity; n < kPages; n += 2) {
        const IovaAddr iova(kGiB + n * kPageSize);
        ASSERT_TRUE(table.map(iova, PhysAddr(n * kPageSize), kPageSize, Perm::ReadWrite));
      }
      for (std::uint64_t n = parity; n < kPages; n += 2) {
        const std::optional<Translation> t = table.translate(IovaAddr(kGiB + n * kPageSize + 8));
        ASSERT_TRUE(t);
        ASSERT_EQ(t->phys, PhysAddr(n * kPageSize + 8));
      }
      for (std::uint64_t n = parity; n < kPages; n += 2)
        ASSERT_EQ(table.unmap(IovaAddr(kGiB + n * kPageSize), kPageSize).value().bytes, kPageSize);
    }
  };
  const IoPageTableStats s = run_pair(table, worker);
  EXPECT_EQ(s.mapped_bytes, 0u);
  EXPECT_EQ(s.tables, 3u + kPages / 512);  // no table was linked twice
  EXPECT_EQ(s.tables_allocated, s.tables);
}

constexpr std::uint64_t k2M = 2 * kMiB;
constexpr std::uint64_t kSpans = 8;

// Each thread maps and unmaps whole 2 MiB spans of 4 KiB leaves in its own half of one 1 GiB
// region, so its unmaps detach leaf tables from a level-1 table the other thread is mapping
// through at the same time.
TEST(IoPageTableConcurrency, DetachingWholeTablesLeavesTheOtherThreadsMappingsAlone) {
  machine::Machine m(testing::plain_machine_config(64 * kMiB));
  IoPageTable table(m);

  auto worker = [&table](std::uint64_t half) {
    const std::uint64_t base = kGiB + half * kSpans * k2M;
    for (int round = 0; round < 4; ++round) {
      for (std::uint64_t span = 0; span < kSpans; ++span) {
        const IovaAddr iova(base + span * k2M);
        // Physical start off 2 MiB alignment: a table of 4 KiB leaves.
        ASSERT_TRUE(table.map(iova, PhysAddr(kPageSize + span * k2M), k2M, Perm::ReadWrite));
        ASSERT_EQ(table.translate(iova + 8)->phys, PhysAddr(kPageSize + span * k2M + 8));
      }
      for (std::uint64_t span = 0; span < kSpans; ++span) {
        const Result<Unmapped> r = table.unmap(IovaAddr(base + span * k2M), k2M);
        ASSERT_TRUE(r);
        ASSERT_EQ(r->bytes, k2M);
        ASSERT_EQ(r->tables.subtrees(), 1u);
      }
    }
  };
  const IoPageTableStats s = run_pair(table, worker);
  EXPECT_EQ(s.mapped_bytes, 0u);
  EXPECT_EQ(s.tables, 3u);  // the path down to the level-1 table; every leaf table went back
  EXPECT_EQ(s.tables_allocated, 3u + 2 * 4 * kSpans);
}

}  // namespace
}  // namespace dmakit::iommu
