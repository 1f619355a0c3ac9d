// SPDX-License-Identifier: Apache-2.0
// KmallocMask: byte-granular allocations whose bytes lie below a mask (alloc layer; seed 000's
// kmalloc_mask() proposal, on the mask allocator of seed 003).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "dmakit/alloc/mask_allocator.h"

namespace dmakit::alloc {

/// A small slab allocator over the mask allocator. Requests up to kMaxSlabObject bytes come from
/// size classes (16 to 2048 bytes) carved out of single mask-allocator pages; a slab page serves
/// any request whose mask its whole page lies under, and slabs on the requested node are preferred.
/// Larger requests take whole pages directly. kfree() finds the class itself from the page.
///
/// The slab's Page::private_data identifies the slab (pages it owns only). Thread-safe, one lock.
/// The MaskAllocator must outlive it; everything handed out must be freed before it is destroyed.
class KmallocMask {
 public:
  static constexpr std::uint64_t kMaxSlabObject = 2048;

  explicit KmallocMask(MaskAllocator& allocator) : allocator_(allocator) {}
  ~KmallocMask();

  KmallocMask(const KmallocMask&) = delete;
  KmallocMask& operator=(const KmallocMask&) = delete;

  /// `size` bytes, aligned to the size class (to a page above kMaxSlabObject), lying wholly at or
  /// below `mask`, preferably on `node`. Errors: InvalidArgument for 0 bytes or a bad mask, and
  /// the mask allocator's.
  [[nodiscard]] Result<std::byte*> kmalloc_mask(std::uint64_t size, machine::Gfp gfp,
                                                std::uint64_t mask, int node = machine::kLocalNode);

  /// Frees what kmalloc_mask() returned. InvalidArgument, with nothing freed, for a pointer it did
  /// not hand out or one already freed.
  [[nodiscard]] Status kfree(const void* ptr);

  /// The usable size of a live allocation (its size class, or its pages).
  [[nodiscard]] Result<std::uint64_t> ksize(const void* ptr) const;

  /// Pages held by slabs (live objects or not).
  [[nodiscard]] std::uint64_t slab_pages() const;

 private:
  static constexpr std::array<std::uint32_t, 8> kClasses = {16, 32, 64, 128, 256, 512, 1024, 2048};
  static constexpr std::uint32_t kLargeTag = 0x80000000u;  ///< private_data of a large block's page

  struct Slab {
    machine::Page* page = nullptr;  ///< null while the slot is unused
    std::uint64_t end = 0;          ///< one past the page's last physical byte
    unsigned node = 0;
    std::size_t cls = 0;              ///< index into kClasses
    std::vector<std::uint16_t> free;  ///< indices of free objects
    std::vector<bool> in_use;         ///< per object: a double kfree is refused

    [[nodiscard]] std::uint64_t object_size() const { return kClasses[cls]; }
    [[nodiscard]] std::size_t capacity() const { return in_use.size(); }
  };

  struct Located {
    machine::Page* page;
    std::uint32_t tag;
    std::uint64_t offset;  ///< of ptr inside its page
  };
  [[nodiscard]] Result<Located> locate(const void* ptr) const;
  /// A partial slab of class `cls` whose page lies under `mask`: on `node` if any, else (unless
  /// node_only) on another node. Caller holds lock_.
  [[nodiscard]] std::optional<std::uint32_t> find_partial(std::size_t cls, std::uint64_t mask,
                                                          unsigned node, bool node_only) const;
  /// Makes `page` a slab of class `cls` and lists it as partial. Caller holds lock_.
  std::uint32_t make_slab(std::size_t cls, machine::Page* page);

  MaskAllocator& allocator_;
  mutable std::mutex lock_;
  std::vector<Slab> slabs_;                            ///< guarded by lock_
  std::vector<std::uint32_t> unused_slots_;            ///< guarded by lock_
  std::array<std::vector<std::uint32_t>, 8> partial_;  ///< per class, slabs with free objects
};

}  // namespace dmakit::alloc
