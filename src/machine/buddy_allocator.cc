// SPDX-License-Identifier: Apache-2.0
// The binary buddy allocator of one zone (machine layer).
//
// A free block of order o starting at frame p is "on the lists" when Page[p] has kBuddy set and
// order == o; only the head page carries state, the other 2^o - 1 frames are untouched. This keeps
// a freshly built 64 GiB machine to one metadata write per 4 MiB. Lists are doubly linked through
// frame numbers (32 bits: up to 16 TiB of physical space), so a buddy found free on free() is
// unlinked in O(1). Blocks never cross the zone's span, so buddies outside it are never looked at.
#include "dmakit/machine/buddy_allocator.h"

#include "dmakit/core/assert.h"

namespace dmakit::machine {

BuddyAllocator::BuddyAllocator(Page* mem_map, Pfn start_pfn, Pfn end_pfn)
    : mem_map_(mem_map), start_pfn_(start_pfn), end_pfn_(end_pfn) {
  DMAKIT_CHECK(end_pfn <= kNoPfnLink, "zone end frame {:#x} exceeds 32-bit frame links", end_pfn);
  free_head_.fill(kNoPfnLink);
}

void BuddyAllocator::push(Pfn pfn, unsigned order) {
  Page& page = mem_map_[pfn];
  const std::uint32_t head = free_head_[order];
  page.set(Page::kBuddy, order);
  page.prev = kNoPfnLink;
  page.next = head;
  if (head != kNoPfnLink) mem_map_[head].prev = static_cast<std::uint32_t>(pfn);
  free_head_[order] = static_cast<std::uint32_t>(pfn);
  ++free_count_[order];
  free_pages_ += Pfn{1} << order;
}

void BuddyAllocator::unlink(Pfn pfn, unsigned order) {
  Page& page = mem_map_[pfn];
  if (page.prev != kNoPfnLink)
    mem_map_[page.prev].next = page.next;
  else
    free_head_[order] = page.next;
  if (page.next != kNoPfnLink) mem_map_[page.next].prev = page.prev;
  page.set_flags(0);
  --free_count_[order];
  free_pages_ -= Pfn{1} << order;
}

void BuddyAllocator::free_block(Pfn pfn, unsigned order) {
  while (order < kMaxOrder) {
    const Pfn buddy = pfn ^ (Pfn{1} << order);
    // Only look at the buddy's metadata once we know it is inside this zone: frames of a
    // neighbouring zone or of a hole are not ours to interpret.
    if (!in_zone(buddy, order)) break;
    const Page& buddy_page = mem_map_[buddy];
    if (!buddy_page.is_buddy() || buddy_page.order() != order) break;
    unlink(buddy, order);
    pfn &= ~(Pfn{1} << order);
    ++order;
  }
  push(pfn, order);
}

void BuddyAllocator::add_free_range(Pfn start, Pfn end) {
  DMAKIT_CHECK(start >= start_pfn_ && end <= end_pfn_ && start <= end,
               "free range [{:#x}, {:#x}) outside zone [{:#x}, {:#x})", start, end, start_pfn_,
               end_pfn_);
  for_each_aligned_block(start, end, [this](Pfn pfn, unsigned order) { free_block(pfn, order); });
}

Page* BuddyAllocator::alloc(unsigned order) {
  unsigned found = order;
  while (found <= kMaxOrder && free_head_[found] == kNoPfnLink) ++found;
  if (found > kMaxOrder) return nullptr;

  const Pfn pfn = free_head_[found];
  unlink(pfn, found);
  // Keep the lower half, give the upper halves back, largest first (Linux's expand()).
  while (found > order) {
    --found;
    push(pfn + (Pfn{1} << found), found);
  }
  Page& page = mem_map_[pfn];
  page.set(Page::kHead, order);
  return &page;
}

void BuddyAllocator::free(Page* page, unsigned order) {
  const Pfn pfn = pfn_of(page);
  DMAKIT_CHECK(page->is_head() && page->order() == order && in_zone(pfn, order) &&
                   is_aligned(pfn, Pfn{1} << order),
               "free of frame {:#x} order {}: not an allocated block of this zone (flags {:#x}, "
               "order {})",
               pfn, order, page->flags(), page->order());
  page->set_flags(0);
  free_block(pfn, order);
}

void BuddyAllocator::validate() const {
  std::uint64_t total = 0;
  for (unsigned order = 0; order <= kMaxOrder; ++order) {
    std::uint64_t count = 0;
    std::uint32_t prev = kNoPfnLink;
    for (std::uint32_t pfn = free_head_[order]; pfn != kNoPfnLink; pfn = mem_map_[pfn].next) {
      const Page& page = mem_map_[pfn];
      DMAKIT_CHECK(page.is_buddy() && page.order() == order,
                   "frame {:#x} on order-{} list has flags {:#x} order {}", pfn, order,
                   page.flags(), page.order());
      DMAKIT_CHECK(page.prev == prev, "frame {:#x} has a broken back link", pfn);
      DMAKIT_CHECK(in_zone(pfn, order) && is_aligned(pfn, Pfn{1} << order),
                   "free block {:#x} order {} misaligned or outside the zone", pfn, order);
      if (order < kMaxOrder) {
        const Pfn buddy = pfn ^ (Pfn{1} << order);
        DMAKIT_CHECK(!in_zone(buddy, order) || !mem_map_[buddy].is_buddy() ||
                         mem_map_[buddy].order() != order,
                     "free blocks {:#x} and {:#x} of order {} were not merged", pfn, buddy, order);
      }
      DMAKIT_CHECK(++count <= free_count_[order], "order-{} list longer than its count", order);
      prev = pfn;
    }
    DMAKIT_CHECK(count == free_count_[order], "order-{} list holds {} blocks, count says {}", order,
                 count, free_count_[order]);
    total += count << order;
  }
  DMAKIT_CHECK(total == free_pages_, "lists hold {} pages, counter says {}", total, free_pages_);
}

}  // namespace dmakit::machine
