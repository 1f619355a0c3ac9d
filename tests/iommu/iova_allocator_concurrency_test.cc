// SPDX-License-Identifier: Apache-2.0
// Two threads allocating and freeing IOVA ranges of one allocator at once, through the caches, the
// depots, flush-and-retry and the tree. Run under the tsan preset to check the locking.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <barrier>
#include <bit>
#include <chrono>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dmakit/iommu/iova_allocator.h"

namespace dmakit::iommu {
namespace {

constexpr std::uint64_t kLimit =
    2048;  // less than the threads ask for at times: they run out and flush

struct Setup {
  const char* name;
  bool caches;
  unsigned shards;
};

// Names the setup in test listings instead of dumping its bytes.
void PrintTo(const Setup& setup, std::ostream* os) { *os << setup.name; }

class IovaAllocatorConcurrency : public ::testing::TestWithParam<Setup> {};

TEST_P(IovaAllocatorConcurrency, TwoThreadsNeverShareAPfnAndEverythingComesBack) {
  IovaAllocatorConfig config;
  config.caches = GetParam().caches;
  config.cache_shards = GetParam().shards;
  config.depot_trim_interval = std::chrono::milliseconds(0);
  IovaAllocator iova(config);
  // Who holds each pfn: a second owner would mean two threads were given one range.
  std::vector<std::atomic<int>> owner(kLimit);

  auto worker = [&](int id) {
    std::mt19937 rng(static_cast<unsigned>(id));
    std::vector<std::pair<std::uint64_t, std::uint64_t>> live;  // pfn, pages asked for
    auto release = [&](std::size_t victim) {
      const auto [pfn, pages] = live[victim];
      const std::uint64_t taken = pages <= 32 ? std::bit_ceil(pages) : pages;
      for (std::uint64_t p = pfn; p < pfn + taken; ++p) ASSERT_EQ(owner[p].exchange(0), id);
      ASSERT_TRUE(iova.free(pfn, pages));
      live[victim] = live.back();
      live.pop_back();
    };
    for (int i = 0; i < 20000; ++i) {
      if (live.size() > 64 || (!live.empty() && rng() % 2 == 0)) {
        release(rng() % live.size());
        continue;
      }
      const std::uint64_t pages = rng() % 8 == 0 ? 33 + rng() % 8 : 1 + rng() % 32;
      const Result<std::uint64_t> pfn = iova.alloc(pages, kLimit);
      if (!pfn) {
        ASSERT_EQ(pfn.error().code, Errc::NoIovaSpace);
        continue;
      }
      const std::uint64_t taken = pages <= 32 ? std::bit_ceil(pages) : pages;
      ASSERT_LE(*pfn + taken, kLimit);
      for (std::uint64_t p = *pfn; p < *pfn + taken; ++p) ASSERT_EQ(owner[p].exchange(id), 0);
      live.emplace_back(*pfn, pages);
    }
    while (!live.empty()) release(live.size() - 1);
  };

  std::thread a(worker, 1);
  std::thread b(worker, 2);
  a.join();
  b.join();

  iova.validate();
  iova.flush_caches();
  const IovaStats s = iova.stats();
  EXPECT_EQ(s.live_ranges, 0u);
  EXPECT_EQ(s.tree_ranges, 0u);
  EXPECT_GT(s.allocations, 0u);
  EXPECT_GT(s.failures, 0u);  // the space ran out, so searches failed and (with caches) flushed
  if (config.caches) {
    EXPECT_GT(s.cache_hits, 0u);
    EXPECT_GT(s.flushes, 0u);
  }
}

TEST_P(IovaAllocatorConcurrency, TwoThreadsFreeingTheSameRangesEachFreeItOnce) {
  IovaAllocatorConfig config;
  config.caches = GetParam().caches;
  config.cache_shards = GetParam().shards;
  IovaAllocator iova(config);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // pfn, pages
  for (std::uint64_t i = 0; i < 2000; ++i) {
    const std::uint64_t pages = 1 + i % 40;  // cached sizes and others
    ranges.emplace_back(iova.alloc(pages, std::uint64_t{1} << 20).value(), pages);
  }
  std::array<int, 2> freed{};
  std::barrier step(2);  // both threads free each range at the same moment
  auto worker = [&](int id) {
    for (const auto& [pfn, pages] : ranges) {
      step.arrive_and_wait();
      const Status status = iova.free(pfn, pages);
      if (status) {
        ++freed[static_cast<std::size_t>(id)];
      } else {
        ASSERT_EQ(status.error().code, Errc::InvalidArgument);
      }
    }
  };
  std::thread a(worker, 0);
  std::thread b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(freed[0] + freed[1], 2000);
  iova.validate();
  iova.flush_caches();
  EXPECT_EQ(iova.stats().tree_ranges, 0u);
}

INSTANTIATE_TEST_SUITE_P(CacheSetups, IovaAllocatorConcurrency,
                         ::testing::Values(Setup{"PlainTree", false, 0},
                                           Setup{"OneSharedShard", true, 1},
                                           Setup{"ShardPerThread", true, 2}),
                         [](const ::testing::TestParamInfo<Setup>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace dmakit::iommu
