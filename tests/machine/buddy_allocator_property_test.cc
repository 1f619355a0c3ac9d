// SPDX-License-Identifier: Apache-2.0
// Random alloc/free sequences on one zone's buddy lists, checked against a model of live blocks.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <vector>

#include "dmakit/machine/buddy_allocator.h"

namespace dmakit::machine {
namespace {

RC_GTEST_PROP(BuddyAllocatorProperty, LiveBlocksNeverOverlapAndEverythingCoalescesBack,
              (std::vector<std::tuple<bool, unsigned, std::size_t>> raw_ops)) {
  // An odd-shaped zone: starts unaligned, ends mid-block, so edges are exercised.
  const Pfn start = *rc::gen::inRange<Pfn>(0, 700);
  const Pfn end = start + *rc::gen::inRange<Pfn>(1, 3000);
  std::vector<Page> mem_map(4096);
  BuddyAllocator buddy(mem_map.data(), start, end);
  buddy.add_free_range(start, end);
  std::array<std::uint64_t, kMaxOrder + 1> initial{};
  for (unsigned o = 0; o <= kMaxOrder; ++o) initial[o] = buddy.free_blocks(o);

  std::map<Pfn, unsigned> live;  // start frame -> order
  // Each op: allocate (order) or free (the victim-th live block, modulo the live count).
  for (const auto& [is_alloc, order_raw, victim] : raw_ops) {
    if (is_alloc || live.empty()) {
      const unsigned order = order_raw % (kMaxOrder + 1);
      Page* page = buddy.alloc(order);
      if (page == nullptr) {
        for (unsigned o = order; o <= kMaxOrder; ++o) RC_ASSERT(buddy.free_blocks(o) == 0u);
        continue;
      }
      const Pfn pfn = static_cast<Pfn>(page - mem_map.data());
      RC_ASSERT(pfn % (Pfn{1} << order) == 0);
      RC_ASSERT(pfn >= start);
      RC_ASSERT(pfn + (Pfn{1} << order) <= end);
      // No overlap with the neighbours on either side.
      auto next = live.lower_bound(pfn);
      if (next != live.end()) RC_ASSERT(pfn + (Pfn{1} << order) <= next->first);
      if (next != live.begin()) {
        auto prev = std::prev(next);
        RC_ASSERT(prev->first + (Pfn{1} << prev->second) <= pfn);
      }
      live.emplace(pfn, order);
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<long>(victim % live.size()));
      buddy.free(&mem_map[it->first], it->second);
      live.erase(it);
    }
    buddy.validate();
  }
  for (const auto& [pfn, order] : live) buddy.free(&mem_map[pfn], order);
  buddy.validate();
  RC_ASSERT(buddy.free_pages() == end - start);
  for (unsigned o = 0; o <= kMaxOrder; ++o) RC_ASSERT(buddy.free_blocks(o) == initial[o]);
}

}  // namespace
}  // namespace dmakit::machine
