// SPDX-License-Identifier: Apache-2.0
// Random alloc/free sequences with random sizes and masks, against a model of live blocks.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "dmakit/alloc/mask_allocator.h"

namespace dmakit::alloc {
namespace {

using machine::Page;

struct Live {
  std::uint64_t size;
  std::uint64_t mask;
};

RC_GTEST_PROP(MaskAllocatorProperty, BlocksFitTheirMasksNeverOverlapAndAreNotRounded, ()) {
  machine::MachineConfig config;
  config.ram_size = 2 * kGiB;
  config.holes.clear();
  config.mask_pool_size = 8 * kMiB;
  config.mask_pool_force = *rc::gen::arbitrary<bool>();
  config.mask_pool_search =
      *rc::gen::element(machine::MaskPoolSearch::NextFit, machine::MaskPoolSearch::TopDown);
  config.vmalloc_size = 16 * kMiB;
  machine::Machine m(config);
  MaskAllocator mask(m);
  mask.set_warning_sink([](const std::string&) {});
  std::vector<std::array<std::uint64_t, machine::kMaxOrder + 1>> initial;
  for (const machine::Zone* zone : m.zones()) initial.push_back(zone->free_blocks());

  std::map<std::uint64_t, Live> live;  // physical start -> block
  const int steps = *rc::gen::inRange(1, 200);
  for (int step = 0; step < steps; ++step) {
    if (!live.empty() && *rc::gen::inRange(0, 3) == 0) {
      auto it = live.begin();
      std::advance(it, *rc::gen::inRange<long>(0, static_cast<long>(live.size())));
      Page* page = m.memory().pfn_to_page(phys_to_pfn(PhysAddr(it->first)));
      RC_ASSERT(mask.free_pages_mask(page, it->second.size).has_value());
      live.erase(it);
      continue;
    }
    // 20 to 23 bits fall inside the 8 MiB pool; 24 to 31 are the seeds' odd devices; 32 and up
    // reach everything.
    const unsigned bits = *rc::gen::weightedElement<unsigned>(
        {{2, 20}, {2, 21}, {2, 22}, {2, 23}, {3, 24}, {2, 29}, {2, 30}, {2, 31}, {1, 32}, {1, 64}});
    const std::uint64_t mask_value = dma_bit_mask(bits);
    const std::uint64_t size = *rc::gen::inRange<std::uint64_t>(16, 24 * kPageSize);
    const Result<Page*> got = mask.alloc_pages_mask(machine::kGfpNoWarn, size, mask_value);
    if (!got) {
      RC_ASSERT(got.error().code == Errc::NoMemory || got.error().code == Errc::AboveMask);
      continue;
    }
    const std::uint64_t start = m.page_to_phys(*got).value();
    RC_ASSERT(fits_under_mask(start, size, mask_value));
    const std::uint64_t end = start + align_up(size, kPageSize);
    auto next = live.lower_bound(start);
    if (next != live.end()) RC_ASSERT(end <= next->first);
    if (next != live.begin()) {
      const auto prev = std::prev(next);
      RC_ASSERT(prev->first + align_up(prev->second.size, kPageSize) <= start);
    }
    live.emplace(start, Live{size, mask_value});

    // The pool holds exactly the pages of the live pool blocks: whole pages, no power-of-two
    // rounding.
    std::uint64_t pool_pages = 0;
    for (const auto& [s, block] : live) {
      if (mask.in_pool(PhysAddr(s))) pool_pages += align_up(block.size, kPageSize) / kPageSize;
    }
    RC_ASSERT(mask.stats().used_pages == pool_pages);
  }
  mask.validate();

  for (const auto& [s, block] : live) {
    Page* page = m.memory().pfn_to_page(phys_to_pfn(PhysAddr(s)));
    RC_ASSERT(mask.free_pages_mask(page, block.size).has_value());
  }
  mask.validate();
  RC_ASSERT(mask.stats().used_pages == 0u);
  RC_ASSERT(mask.stats().free_runs == 1u);
  m.page_allocator().drain_caches();
  for (std::size_t z = 0; z < m.zones().size(); ++z)
    RC_ASSERT(m.zones()[z]->free_blocks() == initial[z]);
}

}  // namespace
}  // namespace dmakit::alloc
