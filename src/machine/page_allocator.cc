// SPDX-License-Identifier: Apache-2.0
// Zone and node selection, exact-size allocations and free-side validation (machine layer).
#include "dmakit/machine/page_allocator.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <string>

namespace dmakit::machine {
namespace {

thread_local unsigned current_node = 0;

ZoneKind highest_zone(Gfp gfp) {
  if (gfp.has(Gfp::kDma)) return ZoneKind::Dma;
  if (gfp.has(Gfp::kDma32)) return ZoneKind::Dma32;
  return ZoneKind::Normal;
}

// Visits the zones a request may use in zonelist order, visit(zone, step) with step 0 on the
// preferred node: the preferred node's zones from `highest` downwards, then each other node's,
// until visit returns true.
template <class Visit>
void for_each_candidate(std::span<const NumaNode> nodes, unsigned preferred, unsigned nodes_to_try,
                        ZoneKind highest, Visit&& visit) {
  for (unsigned step = 0; step < nodes_to_try; ++step) {
    const NumaNode& node = nodes[(preferred + step) % nodes.size()];
    for (int k = static_cast<int>(highest); k >= 0; --k) {
      Zone* zone = node.zone(static_cast<ZoneKind>(k));
      if (zone != nullptr && visit(*zone, step)) return;
    }
  }
}

}  // namespace

Gfp zone_flags_for_mask(const MachineConfig& config, std::uint64_t mask) {
  if (config.zone_dma_limit && mask < *config.zone_dma_limit) return kGfpDma;
  if (config.zone_dma32_limit && mask < *config.zone_dma32_limit) return kGfpDma32;
  return kGfpKernel;
}

void set_thread_node(unsigned node) { current_node = node; }
unsigned thread_node() { return current_node; }

PageAllocator::PageAllocator(const PhysMemory& memory, std::span<Zone* const> zones,
                             std::span<const NumaNode> nodes, PhysRange mask_pool)
    : memory_(memory), zones_(zones), nodes_(nodes), mask_pool_(mask_pool) {}

Result<Page*> PageAllocator::alloc_pages(Gfp gfp, unsigned order, int node) {
  if (order > kMaxOrder)
    return fail(Errc::InvalidArgument, "order {} exceeds the largest block order {}", order,
                kMaxOrder);
  if (gfp.has(Gfp::kDma) && gfp.has(Gfp::kDma32))
    return fail(Errc::InvalidArgument, "flags name two highest zones (DMA and DMA32)");
  if (node < kLocalNode || node >= static_cast<int>(nodes_.size()))
    return fail(Errc::InvalidArgument, "node {} does not exist (machine has {} nodes)", node,
                nodes_.size());
  // GFP_DMA on a machine whose ZONE_DMA became a mask pool (the 2008 patches' compatibility hook).
  if (gfp.has(Gfp::kDma) && mask_zone_ != nullptr) return mask_zone_->alloc_dma_pages(gfp, order);
  const unsigned node_count = static_cast<unsigned>(nodes_.size());
  const unsigned preferred =
      node == kLocalNode ? thread_node() % node_count : static_cast<unsigned>(node);
  const ZoneKind highest = highest_zone(gfp);
  const unsigned nodes_to_try = gfp.has(Gfp::kThisNode) ? 1 : node_count;

  // Second pass after draining the page caches, where other threads may hold the last free pages
  // (Linux drains its per-CPU lists before it gives up).
  Page* page = nullptr;
  for (int pass = 0; pass < 2 && page == nullptr; ++pass) {
    if (pass == 1) drain_caches();
    for_each_candidate(nodes_, preferred, nodes_to_try, highest, [&](Zone& zone, unsigned step) {
      if (zone.present_pages() == 0) return false;
      page = zone.alloc(order, highest);
      if (page == nullptr) return false;
      allocations_.add();
      (step == 0 ? node_hits_ : node_misses_).add();
      if (zone.kind() != highest) zone_fallbacks_.add();
      return true;
    });
  }
  if (page != nullptr) {
    if (gfp.has(Gfp::kZero)) std::memset(memory_.page_address(page), 0, kPageSize << order);
    return page;
  }

  failures_.add();
  std::string tried;
  for_each_candidate(nodes_, preferred, nodes_to_try, highest, [&](Zone& zone, unsigned) {
    tried += fmt::format("{}node {} {}", tried.empty() ? "" : ", ", zone.node(),
                         zone_kind_name(zone.kind()));
    return false;
  });
  return fail(Errc::NoMemory, "no free order-{} block at or below zone {} (tried: {})", order,
              zone_kind_name(highest), tried.empty() ? "no such zone on this machine" : tried);
}

Status PageAllocator::check_allocated(const Page* page, unsigned order) const {
  if (page == nullptr || !memory_.owns(page))
    return fail(Errc::BadAddress, "page {} is not a frame of this machine",
                static_cast<const void*>(page));
  const Pfn pfn = memory_.page_to_pfn(page);
  if (page->is_buddy() || page->is_cached())
    return fail(Errc::InvalidArgument, "frame {:#x} is already free (double free?)", pfn);
  if (!page->is_head())
    return fail(Errc::InvalidArgument, "frame {:#x} is not the head of an allocated block", pfn);
  if (page->order() != order)
    return fail(Errc::InvalidArgument, "frame {:#x} heads an order-{} block, freed as order {}",
                pfn, page->order(), order);
  if (page->zone_id >= zones_.size() || !zones_[page->zone_id]->contains(pfn))
    return fail(Errc::InvalidArgument, "frame {:#x} has a corrupt zone id {}", pfn, page->zone_id);
  return {};
}

Status PageAllocator::free_pages(Page* page, unsigned order) {
  if (mask_zone_ != nullptr && page != nullptr && memory_.owns(page) &&
      mask_pool_.contains(memory_.page_to_phys(page)))
    return mask_zone_->free_pool_pages(page, std::uint64_t{1} << order);
  if (Status ok = check_allocated(page, order); !ok) return ok;
  zones_[page->zone_id]->free(page, order);
  return {};
}

Result<Page*> PageAllocator::alloc_pages_exact(Gfp gfp, std::uint64_t bytes, int node) {
  constexpr std::uint64_t kLargest = kPageSize << kMaxOrder;
  if (bytes == 0 || bytes > kLargest)
    return fail(Errc::InvalidArgument, "exact allocation of {} bytes: must be 1 to {} bytes", bytes,
                kLargest);
  const Pfn pages = (bytes + kPageSize - 1) / kPageSize;
  const auto order = static_cast<unsigned>(std::bit_width(pages - 1));
  Result<Page*> block = alloc_pages(gfp.without(Gfp::kZero), order, node);
  if (!block) return block;

  Page* head = *block;
  const Pfn start = memory_.page_to_pfn(head);
  const std::uint8_t zone_id = head->zone_id;
  // The kept pages become the blocks of their unique decomposition, so free_pages_exact() can find
  // them again; the tail goes back to the zone straight away.
  for_each_aligned_block(start, start + pages, [&](Pfn pfn, unsigned piece_order) {
    Page& piece = *memory_.pfn_to_page(pfn);
    piece.set(Page::kHead, piece_order);
    piece.zone_id = zone_id;
  });
  for_each_aligned_block(start + pages, start + (Pfn{1} << order),
                         [&](Pfn pfn, unsigned piece_order) {
                           Page& piece = *memory_.pfn_to_page(pfn);
                           piece.set(Page::kHead, piece_order);
                           zones_[zone_id]->free(&piece, piece_order);
                         });
  if (gfp.has(Gfp::kZero)) std::memset(memory_.page_address(head), 0, pages * kPageSize);
  return head;
}

Status PageAllocator::free_pages_exact(Page* page, std::uint64_t bytes) {
  if (bytes == 0 || bytes > (kPageSize << kMaxOrder) || page == nullptr || !memory_.owns(page))
    return fail(Errc::InvalidArgument, "exact free of {} bytes at page {}: no such allocation",
                bytes, static_cast<const void*>(page));
  const Pfn start = memory_.page_to_pfn(page);
  const Pfn end = start + (bytes + kPageSize - 1) / kPageSize;
  Status verdict;
  for_each_aligned_block(start, end, [&](Pfn pfn, unsigned order) {
    if (verdict) verdict = check_allocated(memory_.pfn_to_page(pfn), order);
  });
  if (!verdict)
    return fail(Errc::InvalidArgument, "exact free of {} bytes at frame {:#x}: {}", bytes, start,
                verdict.error().message);
  for_each_aligned_block(start, end, [&](Pfn pfn, unsigned order) {
    Page* piece = memory_.pfn_to_page(pfn);
    zones_[piece->zone_id]->free(piece, order);
  });
  return {};
}

void PageAllocator::drain_caches() {
  for (Zone* zone : zones_) zone->drain_caches();
}

PageAllocatorStats PageAllocator::stats() const {
  return {allocations_.value(), failures_.value(), node_hits_.value(), node_misses_.value(),
          zone_fallbacks_.value()};
}

void PageAllocator::validate() const {
  for (const Zone* zone : zones_) zone->validate();
}

}  // namespace dmakit::machine
