// SPDX-License-Identifier: Apache-2.0
// Two threads allocating and freeing on one machine at once: through the page caches, the zone
// locks and the vmalloc area. Run under the tsan preset to check the locking.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "dmakit/machine/machine.h"
#include "testing/small_machine.h"

namespace dmakit::machine {
namespace {

TEST(PageAllocatorConcurrency, TwoThreadsNeverShareAPageAndEverythingComesBack) {
  Machine m(testing::small_machine_config());
  std::vector<std::array<std::uint64_t, kMaxOrder + 1>> initial;
  for (const Zone* zone : m.zones()) initial.push_back(zone->free_blocks());

  auto worker = [&m](unsigned seed) {
    std::mt19937 rng(seed);
    PageAllocator& pages = m.page_allocator();
    std::vector<std::pair<Page*, unsigned>> live;
    for (int i = 0; i < 20000; ++i) {
      if (live.size() > 64 || (!live.empty() && rng() % 2 == 0)) {
        const std::size_t victim = rng() % live.size();
        auto [page, order] = live[victim];
        // Each thread stamps its pages; another thread's stamp would mean a shared page.
        const std::byte* bytes = m.page_address(page);
        for (std::uint64_t b = 0; b < (kPageSize << order); b += kPageSize)
          ASSERT_EQ(bytes[b], static_cast<std::byte>(seed));
        ASSERT_TRUE(pages.free_pages(page, order));
        live[victim] = live.back();
        live.pop_back();
      } else {
        const unsigned order = rng() % 4 == 0 ? rng() % 4 : 0;
        const Gfp gfp = rng() % 8 == 0 ? kGfpDma32 : kGfpKernel;
        Result<Page*> page = pages.alloc_pages(gfp, order, static_cast<int>(seed % 2));
        if (!page) continue;
        std::byte* bytes = m.page_address(*page);
        for (std::uint64_t b = 0; b < (kPageSize << order); b += kPageSize)
          bytes[b] = static_cast<std::byte>(seed);
        live.emplace_back(*page, order);
      }
    }
    for (auto [page, order] : live) ASSERT_TRUE(pages.free_pages(page, order));
  };
  auto vmalloc_worker = [&m] {
    for (int i = 0; i < 300; ++i) {
      Result<std::byte*> p = m.vmalloc_area().vmalloc((i % 5 + 1) * kPageSize);
      if (!p) continue;
      std::memset(*p, 0x11, kPageSize);
      ASSERT_TRUE(m.vmalloc_area().vfree(*p));
    }
  };

  std::thread a(worker, 1);
  std::thread b(worker, 2);
  std::thread c(vmalloc_worker);
  a.join();
  b.join();
  c.join();

  m.page_allocator().drain_caches();
  m.validate();
  for (std::size_t z = 0; z < m.zones().size(); ++z)
    EXPECT_EQ(m.zones()[z]->free_blocks(), initial[z]) << "zone " << z;
}

}  // namespace
}  // namespace dmakit::machine
