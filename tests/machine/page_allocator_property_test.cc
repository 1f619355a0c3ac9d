// SPDX-License-Identifier: Apache-2.0
// Random request sequences on a small two-node machine with zones, a hole and page caches, checked
// against a model of live allocations.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "dmakit/machine/machine.h"
#include "testing/small_machine.h"

namespace dmakit::machine {
namespace {

struct Live {
  Pfn pages;
  unsigned order;  // for exact allocations: the byte count is pages * 4 KiB
  bool exact;
};

// The highest physical address (exclusive) each kind of request may receive on the test machine.
std::uint64_t limit_for(Gfp gfp) {
  if (gfp.has(Gfp::kDma)) return 8 * kMiB;
  if (gfp.has(Gfp::kDma32)) return 48 * kMiB;
  return ~std::uint64_t{0};
}

ZoneKind highest_for(Gfp gfp) {
  if (gfp.has(Gfp::kDma)) return ZoneKind::Dma;
  if (gfp.has(Gfp::kDma32)) return ZoneKind::Dma32;
  return ZoneKind::Normal;
}

// Whether `node` could serve the request from its own zones right now (buddy lists, reserves and,
// for order 0, this thread's page cache).
bool node_can_serve(const NumaNode& node, unsigned order, ZoneKind highest) {
  for (unsigned k = 0; k <= static_cast<unsigned>(highest); ++k) {
    const Zone* zone = node.zones[k];
    if (zone == nullptr) continue;
    const std::uint64_t reserve = zone->lowmem_reserve(highest);
    if (reserve != 0 && zone->free_pages() < reserve + (Pfn{1} << order)) continue;
    const auto blocks = zone->free_blocks();
    for (unsigned o = order; o <= kMaxOrder; ++o) {
      if (blocks[o] != 0) return true;
    }
    if (order == 0 && zone->cached_pages() != 0) return true;
  }
  return false;
}

RC_GTEST_PROP(PageAllocatorProperty, RandomSequencesKeepEveryInvariant, ()) {
  Machine m(testing::small_machine_config());
  PageAllocator& pages = m.page_allocator();
  std::vector<std::array<std::uint64_t, kMaxOrder + 1>> initial;
  for (const Zone* zone : m.zones()) initial.push_back(zone->free_blocks());

  std::map<Pfn, Live> live;
  const int steps = *rc::gen::inRange(1, 300);
  for (int step = 0; step < steps; ++step) {
    const int action = *rc::gen::inRange(0, 10);
    if (action < 4 && !live.empty()) {
      auto it = live.begin();
      std::advance(it, *rc::gen::inRange<long>(0, static_cast<long>(live.size())));
      Page* page = m.memory().pfn_to_page(it->first);
      const Status freed = it->second.exact
                               ? pages.free_pages_exact(page, it->second.pages * kPageSize)
                               : pages.free_pages(page, it->second.order);
      RC_ASSERT(freed.has_value());
      live.erase(it);
      continue;
    }
    const Gfp gfp = *rc::gen::element(kGfpKernel, kGfpDma32, kGfpDma, kGfpKernel | kGfpThisNode);
    const int node = *rc::gen::inRange(0, 2);
    const bool exact = action == 9;
    const unsigned order =
        *rc::gen::weightedElement<unsigned>({{8, 0}, {4, 1}, {3, 3}, {1, 6}, {1, 10}});
    const Pfn want = exact ? *rc::gen::inRange<Pfn>(1, 300) : Pfn{1} << order;
    const unsigned need_order = static_cast<unsigned>(std::bit_width(want - 1));
    const bool preferred_could = node_can_serve(m.nodes()[node], need_order, highest_for(gfp));

    const Result<Page*> got = exact ? pages.alloc_pages_exact(gfp, want * kPageSize - 1, node)
                                    : pages.alloc_pages(gfp, order, node);
    if (!got) {
      RC_ASSERT(got.error().code == Errc::NoMemory);
      RC_ASSERT(!preferred_could);
      continue;
    }
    const Pfn pfn = m.memory().page_to_pfn(*got);
    const PhysAddr start = pfn_to_phys(pfn);
    // Inside RAM, below the limit of the zones the flags allow.
    RC_ASSERT(m.memory().is_ram(start, want * kPageSize));
    RC_ASSERT(start.value() + want * kPageSize <= limit_for(gfp));
    // On the preferred node whenever that node had memory for it.
    const bool on_preferred = m.nodes()[node].span.contains(start);
    if (preferred_could) RC_ASSERT(on_preferred);
    if (gfp.has(Gfp::kThisNode)) RC_ASSERT(on_preferred);
    // No overlap with any live allocation.
    auto next = live.lower_bound(pfn);
    if (next != live.end()) RC_ASSERT(pfn + want <= next->first);
    if (next != live.begin()) {
      const auto prev = std::prev(next);
      RC_ASSERT(prev->first + prev->second.pages <= pfn);
    }
    live.emplace(pfn, Live{want, order, exact});
  }
  m.validate();

  for (const auto& [pfn, a] : live) {
    Page* page = m.memory().pfn_to_page(pfn);
    RC_ASSERT((a.exact ? pages.free_pages_exact(page, a.pages * kPageSize)
                       : pages.free_pages(page, a.order))
                  .has_value());
  }
  pages.drain_caches();
  m.validate();
  for (std::size_t z = 0; z < m.zones().size(); ++z)
    RC_ASSERT(m.zones()[z]->free_blocks() == initial[z]);
}

}  // namespace
}  // namespace dmakit::machine
