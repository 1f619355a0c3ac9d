// SPDX-License-Identifier: Apache-2.0
// MaskAllocator: memory below an arbitrary address mask (alloc layer; seed 003, and reference
// section 9 on what the 2008 patches did).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "dmakit/alloc/block_bitmap.h"
#include "dmakit/core/result.h"
#include "dmakit/core/stats.h"
#include "dmakit/machine/machine.h"

namespace dmakit::alloc {

/// A snapshot of the mask allocator: the pool and what has happened to it.
struct MaskAllocatorStats {
  PhysRange pool;
  std::uint64_t pool_pages = 0;
  std::uint64_t used_pages = 0;
  std::uint64_t largest_free_run = 0;   ///< pages
  std::uint64_t free_runs = 0;          ///< maximal runs of free pages: fragmentation
  std::uint64_t served_by_normal = 0;   ///< served by the page allocator, below the mask
  std::uint64_t normal_above_mask = 0;  ///< page-allocator result above the mask, freed at once
  std::uint64_t served_by_pool = 0;
  std::uint64_t wraps = 0;  ///< searches that went back to the low end (next-fit) or top (top-down)
  std::uint64_t failures = 0;
  std::uint64_t waits = 0;  ///< allocations that blocked for a free
};

/// Allocates memory that lies wholly at or below a DMA mask (seed 003). Sizes are bytes, rounded to
/// whole pages and never to a power of two. First the machine's page allocator is tried (exact
/// size, from ZONE_DMA32 when the mask is under 4 GiB) when the mask reaches above the pool; a
/// result that ends above the mask is freed at once. Otherwise, or then, the pool that the machine
/// took out of the zones at boot serves the request, searched with a bitmap as
/// MachineConfig::mask_pool_search says. A request that may wait (Gfp::kWait) blocks until a free
/// makes room or the configured timeout passes.
///
/// It attaches itself to the machine's page allocator as its MaskZone, so GFP_DMA requests come
/// from the pool with a 24-bit mask. Thread-safe (one pool lock, as the 2008 allocator had). The
/// Machine must outlive it; destroy it only when nothing it handed out is still in use.
class MaskAllocator final : public machine::MaskZone {
 public:
  /// Manages `machine`'s mask pool. Throws ConfigError (field machine.mask_pool.size) when the
  /// machine has none.
  explicit MaskAllocator(machine::Machine& machine);
  ~MaskAllocator() override;

  MaskAllocator(const MaskAllocator&) = delete;
  MaskAllocator& operator=(const MaskAllocator&) = delete;

  /// `size` bytes of physically contiguous memory with [addr, addr + size) at or below `mask`.
  /// \param gfp     kZero, kWait, kNoWarn, kThisNode; kDma/kDma32 are refused (the mask says it)
  /// \param size    bytes, at least 16 (a smaller value is almost surely an order passed by
  /// mistake) \param mask    the highest address the block may touch, of the form 2^n - 1 \param
  /// node    preferred NUMA node for the page-allocator attempt Errors: InvalidArgument (bad size,
  /// mask or flags), AboveMask (the pool has room, but not under this mask), NoMemory (nothing
  /// fits; after the timeout for kWait). A failure is reported once through the warning sink unless
  /// kNoWarn.
  [[nodiscard]] Result<machine::Page*> alloc_pages_mask(machine::Gfp gfp, std::uint64_t size,
                                                        std::uint64_t mask,
                                                        int node = machine::kLocalNode);
  /// As alloc_pages_mask(), from the pool alone, never the page allocator, and from the highest
  /// run that fits, keeping the low end for narrow masks: for the bounce pool, which the machine
  /// grew the pool for (seed 003).
  [[nodiscard]] Result<machine::Page*> alloc_pool_pages(machine::Gfp gfp, std::uint64_t size,
                                                        std::uint64_t mask);
  /// Returns a block from alloc_pages_mask() or alloc_pool_pages() with the same size.
  /// InvalidArgument, with nothing freed, for a size that differs from the allocation's, a double
  /// free or a page that starts no block.
  [[nodiscard]] Status free_pages_mask(machine::Page* page, std::uint64_t size);

  /// As alloc_pages_mask(), as the CPU's pointer to the memory.
  [[nodiscard]] Result<std::byte*> get_pages_mask(machine::Gfp gfp, std::uint64_t size,
                                                  std::uint64_t mask,
                                                  int node = machine::kLocalNode);
  /// As free_pages_mask(Page*), from the CPU's pointer.
  [[nodiscard]] Status free_pages_mask(const void* addr, std::uint64_t size);

  [[nodiscard]] bool in_pool(PhysAddr addr) const { return pool_.contains(addr); }
  [[nodiscard]] machine::Machine& machine() const { return machine_; }
  [[nodiscard]] MaskAllocatorStats stats() const;

  /// Where failure reports go (default: standard error). Called without locks held.
  void set_warning_sink(std::function<void(const std::string&)> sink);

  /// Checks the bitmaps against each other and the cursor. Aborts on violation.
  void validate() const;

  // machine::MaskZone: GFP_DMA requests, served with a 24-bit mask.
  [[nodiscard]] Result<machine::Page*> alloc_dma_pages(machine::Gfp gfp, unsigned order) override;
  [[nodiscard]] Status free_pool_pages(machine::Page* page, std::uint64_t pages) override;

 private:
  /// `top` takes the pool's highest run that fits instead of searching.
  [[nodiscard]] Result<machine::Page*> allocate(machine::Gfp gfp, std::uint64_t size,
                                                std::uint64_t mask, int node, bool try_normal,
                                                bool top = false);
  /// The page allocator's block of `pages` pages if it lies under the mask, else null (freed).
  [[nodiscard]] machine::Page* alloc_normal(machine::Gfp gfp, std::uint64_t pages,
                                            std::uint64_t mask, int node);
  /// The index of a newly taken run of `pages` pool pages below `window` (exclusive), or npos.
  [[nodiscard]] std::size_t take_run_locked(std::size_t pages, std::size_t window, bool top);
  [[nodiscard]] Status free_pool_locked(std::size_t index, std::size_t pages);
  [[nodiscard]] std::size_t window_for(std::uint64_t mask) const;
  void warn(const std::string& message);

  machine::Machine& machine_;
  const PhysRange pool_;
  const Pfn pool_start_pfn_;
  const std::size_t pool_pages_;
  const bool force_;
  const machine::MaskPoolSearch search_;
  const std::chrono::milliseconds wait_timeout_;

  mutable std::mutex lock_;
  std::condition_variable freed_;  ///< signalled on every pool free
  BlockBitmap blocks_;  ///< guarded by lock_: a bit per pool page, and where allocations start
  std::size_t cursor_;  ///< guarded by lock_: where the next search begins
  std::function<void(const std::string&)> warning_sink_;

  Counter served_by_normal_;
  Counter normal_above_mask_;
  Counter served_by_pool_;
  Counter wraps_;
  Counter failures_;
  Counter waits_;
};

}  // namespace dmakit::alloc
