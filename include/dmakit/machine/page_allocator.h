// SPDX-License-Identifier: Apache-2.0
// PageAllocator: the machine's page allocator front end (machine layer): picks zones and nodes for
// a request as Linux's zonelists do, and adds exact-size allocations on top of the buddy zones.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "dmakit/core/result.h"
#include "dmakit/core/stats.h"
#include "dmakit/machine/gfp.h"
#include "dmakit/machine/mask_zone.h"
#include "dmakit/machine/phys_memory.h"
#include "dmakit/machine/zone.h"

namespace dmakit::machine {

/// A NUMA node: its physical span and its zones (null where the machine has no zone of that kind).
struct NumaNode {
  unsigned id;
  PhysRange span;
  std::uint64_t present_pages;
  std::array<Zone*, kZoneKinds> zones;

  [[nodiscard]] Zone* zone(ZoneKind kind) const { return zones[static_cast<unsigned>(kind)]; }
};

/// `node` argument meaning "the node of the calling thread" (Linux's numa_node_id()).
inline constexpr int kLocalNode = -1;

/// Sets the node the calling thread runs on, for requests that pass kLocalNode. Default 0.
void set_thread_node(unsigned node);
[[nodiscard]] unsigned thread_node();

/// The zone flags that best match an address mask on this machine (Linux's dma-direct zone choice):
/// GFP_DMA when ZONE_DMA exists and the mask lies below its limit, GFP_DMA32 likewise, else none.
/// The result may still end above the mask (a 30-bit mask gets ZONE_DMA32): callers check it.
[[nodiscard]] Gfp zone_flags_for_mask(const MachineConfig& config, std::uint64_t mask);

/// Counters of the page allocator; a snapshot.
struct PageAllocatorStats {
  std::uint64_t allocations = 0;  ///< requests served
  std::uint64_t failures = 0;     ///< requests refused (no zone allowed by the flags had a block)
  std::uint64_t node_hits = 0;    ///< served from the preferred node (numa_hit)
  std::uint64_t node_misses = 0;  ///< served from another node (numa_miss)
  std::uint64_t zone_fallbacks = 0;  ///< served by a zone below the highest one the flags allow
};

/// Allocates physical pages for a machine. A request names its highest zone through Gfp; it is
/// tried on the preferred node from that zone downwards, never upwards (a GFP_KERNEL request may
/// end in ZONE_DMA32 or ZONE_DMA, a GFP_DMA32 one never in ZONE_NORMAL), then on the other nodes in
/// order of distance (ascending node id after the preferred one), unless Gfp::kThisNode. A request
/// that falls back into a lower zone must leave that zone's lowmem reserve free. On a machine with
/// a mask pool, GFP_DMA requests and frees of pool pages go to the attached MaskZone (seed 003).
///
/// Thread-safe. Owned by the Machine; the zones and PhysMemory must outlive it.
class PageAllocator {
 public:
  PageAllocator(const PhysMemory& memory, std::span<Zone* const> zones,
                std::span<const NumaNode> nodes, PhysRange mask_pool);

  /// Routes GFP_DMA requests and frees of pages in the mask pool to `zone` (null detaches). The
  /// zone must outlive its attachment; attach before allocating from several threads.
  void attach_mask_zone(MaskZone* zone) { mask_zone_ = zone; }

  /// A block of 2^order pages (order <= kMaxOrder). Errors: InvalidArgument (order too large, both
  /// kDma and kDma32, node out of range), NoMemory (no allowed zone has a block; the message names
  /// the zones tried). kWait and kNoWarn matter only to the mask zone: the zones never block.
  [[nodiscard]] Result<Page*> alloc_pages(Gfp gfp, unsigned order, int node = kLocalNode);

  /// Returns a block from alloc_pages(). InvalidArgument, with nothing freed, when `page` does not
  /// head an allocated block of exactly `order` (a double free, a tail page, a wrong order);
  /// BadAddress when it is not a Page of this machine.
  [[nodiscard]] Status free_pages(Page* page, unsigned order);

  /// ceil(bytes / 4 KiB) contiguous pages, and not a page more: the block is taken at the next
  /// order up and the unused tail freed at once (alloc_pages_exact). Errors as alloc_pages(), and
  /// InvalidArgument for 0 bytes or more than a largest block (4 MiB).
  [[nodiscard]] Result<Page*> alloc_pages_exact(Gfp gfp, std::uint64_t bytes,
                                                int node = kLocalNode);

  /// Returns pages from alloc_pages_exact() with the same byte count. Checks every piece first and
  /// frees nothing when one is wrong (InvalidArgument).
  [[nodiscard]] Status free_pages_exact(Page* page, std::uint64_t bytes);

  /// Empties every zone's page caches back to the buddy lists.
  void drain_caches();

  [[nodiscard]] PageAllocatorStats stats() const;
  [[nodiscard]] std::span<Zone* const> zones() const { return zones_; }

  /// Validates every zone. Aborts on violation.
  void validate() const;

 private:
  [[nodiscard]] Status check_allocated(const Page* page, unsigned order) const;

  const PhysMemory& memory_;
  std::span<Zone* const> zones_;
  std::span<const NumaNode> nodes_;
  PhysRange mask_pool_;
  MaskZone* mask_zone_ = nullptr;

  Counter allocations_;
  Counter failures_;
  Counter node_hits_;
  Counter node_misses_;
  Counter zone_fallbacks_;
};

}  // namespace dmakit::machine
