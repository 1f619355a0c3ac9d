// SPDX-License-Identifier: Apache-2.0
// kmalloc_mask: size classes carved from mask-allocator pages (alloc layer; seed 000).
//
// Each slab is one page from the mask allocator, cut into objects of one size class. A slab fits a
// request when its whole page lies under the request's mask, so a slab taken for a tight mask also
// serves wider ones but never the reverse. The slab index lives in the page's private_data (plus
// one, so that 0 means "not ours"); a large allocation's first page carries kLargeTag | pages. A
// slab whose last object is freed goes back to the mask allocator at once: DMA memory below a mask
// is the scarce resource (seed 003), not worth hoarding.
#include "dmakit/alloc/kmalloc_mask.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "dmakit/core/assert.h"
#include "dmakit/core/mask.h"

namespace dmakit::alloc {

using machine::Gfp;
using machine::Page;

KmallocMask::~KmallocMask() {
  for (const Slab& slab : slabs_) {
    if (slab.page == nullptr) continue;
    slab.page->private_data = 0;
    const Status freed = allocator_.free_pages_mask(slab.page, kPageSize);
    DMAKIT_CHECK(freed.has_value(), "slab page lost: {}", freed.error().message);
  }
}

Result<std::byte*> KmallocMask::kmalloc_mask(std::uint64_t size, Gfp gfp, std::uint64_t mask,
                                             int node) {
  if (size == 0) return fail(Errc::InvalidArgument, "kmalloc of 0 bytes");
  if (!is_contiguous_mask(mask))
    return fail(Errc::InvalidArgument, "mask {:#x} is not of the form 2^n - 1", mask);
  machine::Machine& m = allocator_.machine();

  if (size > kMaxSlabObject) {
    Result<Page*> page = allocator_.alloc_pages_mask(gfp, size, mask, node);
    if (!page) return std::unexpected(page.error());
    (*page)->private_data =
        kLargeTag | static_cast<std::uint32_t>(align_up(size, kPageSize) / kPageSize);
    return m.page_address(*page);
  }

  const auto cls = static_cast<std::size_t>(
      std::lower_bound(kClasses.begin(), kClasses.end(), size) - kClasses.begin());
  const unsigned want_node = node == machine::kLocalNode
                                 ? machine::thread_node() % static_cast<unsigned>(m.nodes().size())
                                 : static_cast<unsigned>(node);
  std::unique_lock guard(lock_);
  std::optional<std::uint32_t> slot = find_partial(cls, mask, want_node, /*node_only=*/true);
  if (!slot) {
    // A new slab on the wanted node beats a partial one elsewhere. Taken without the lock held; the
    // partial lists may change meanwhile, so they are searched again if the page does not come.
    guard.unlock();
    Result<Page*> page =
        allocator_.alloc_pages_mask(gfp.without(Gfp::kZero), kPageSize, mask, node);
    guard.lock();
    if (page)
      slot = make_slab(cls, *page);
    else
      slot = find_partial(cls, mask, want_node, /*node_only=*/false);
    if (!slot) return std::unexpected(page.error());
  }

  Slab& slab = slabs_[*slot];
  const std::uint16_t index = slab.free.back();
  slab.free.pop_back();
  slab.in_use[index] = true;
  if (slab.free.empty()) std::erase(partial_[cls], *slot);
  std::byte* object = m.page_address(slab.page) + std::uint64_t{index} * slab.object_size();
  guard.unlock();
  if (gfp.has(Gfp::kZero)) std::memset(object, 0, size);
  return object;
}

std::optional<std::uint32_t> KmallocMask::find_partial(std::size_t cls, std::uint64_t mask,
                                                       unsigned node, bool node_only) const {
  std::optional<std::uint32_t> elsewhere;
  for (const std::uint32_t slot : partial_[cls]) {
    const Slab& slab = slabs_[slot];
    if (slab.end - 1 > mask) continue;
    if (slab.node == node) return slot;
    if (!elsewhere) elsewhere = slot;
  }
  return node_only ? std::nullopt : elsewhere;
}

std::uint32_t KmallocMask::make_slab(std::size_t cls, Page* page) {
  machine::Machine& m = allocator_.machine();
  std::uint32_t slot;
  if (unused_slots_.empty()) {
    slot = static_cast<std::uint32_t>(slabs_.size());
    slabs_.emplace_back();
  } else {
    slot = unused_slots_.back();
    unused_slots_.pop_back();
  }
  Slab& slab = slabs_[slot];
  slab.page = page;
  slab.end = m.page_to_phys(page).value() + kPageSize;
  slab.node = m.node_of(m.page_to_phys(page));
  slab.cls = cls;
  slab.in_use.assign(kPageSize / kClasses[cls], false);
  slab.free.clear();
  for (std::size_t i = slab.capacity(); i-- > 0;)
    slab.free.push_back(static_cast<std::uint16_t>(i));
  page->private_data = slot + 1;
  partial_[cls].push_back(slot);
  return slot;
}

Result<KmallocMask::Located> KmallocMask::locate(const void* ptr) const {
  machine::Machine& m = allocator_.machine();
  const Result<PhysAddr> phys = m.virt_to_phys(ptr);
  if (!phys)
    return fail(Errc::InvalidArgument, "{} is not a kmalloc_mask allocation: {}", ptr,
                phys.error().message);
  Page* page = m.memory().pfn_to_page(phys_to_pfn(*phys));
  if (page->private_data == 0)
    return fail(Errc::InvalidArgument, "{} is not a live kmalloc_mask allocation", ptr);
  return Located{page, page->private_data, phys->value() % kPageSize};
}

Status KmallocMask::kfree(const void* ptr) {
  const std::unique_lock guard(lock_);
  Result<Located> where = locate(ptr);
  if (!where) return std::unexpected(where.error());
  if (where->tag & kLargeTag) {
    if (where->offset != 0)
      return fail(Errc::InvalidArgument, "{} points inside a large kmalloc_mask block", ptr);
    const std::uint64_t pages = where->tag & ~kLargeTag;
    where->page->private_data = 0;
    return allocator_.free_pages_mask(where->page, pages * kPageSize);
  }
  const std::uint32_t slot = where->tag - 1;
  if (slot >= slabs_.size() || slabs_[slot].page != where->page)
    return fail(Errc::InvalidArgument, "{} is not a live kmalloc_mask allocation", ptr);
  Slab& slab = slabs_[slot];
  const std::uint64_t index = where->offset / slab.object_size();
  if (where->offset % slab.object_size() != 0 || index >= slab.capacity() || !slab.in_use[index])
    return fail(Errc::InvalidArgument, "{} is not a live {}-byte object (double kfree?)", ptr,
                slab.object_size());
  const std::size_t cls = slab.cls;
  slab.in_use[index] = false;
  slab.free.push_back(static_cast<std::uint16_t>(index));
  if (slab.free.size() == 1) partial_[cls].push_back(slot);
  if (slab.free.size() == slab.capacity()) {
    std::erase(partial_[cls], slot);
    Page* page = slab.page;
    page->private_data = 0;
    slab.page = nullptr;
    unused_slots_.push_back(slot);
    return allocator_.free_pages_mask(page, kPageSize);
  }
  return {};
}

Result<std::uint64_t> KmallocMask::ksize(const void* ptr) const {
  const std::scoped_lock guard(lock_);
  Result<Located> where = locate(ptr);
  if (!where) return std::unexpected(where.error());
  if (where->tag & kLargeTag) return std::uint64_t{where->tag & ~kLargeTag} * kPageSize;
  return slabs_[where->tag - 1].object_size();
}

std::uint64_t KmallocMask::slab_pages() const {
  const std::scoped_lock guard(lock_);
  return slabs_.size() - unused_slots_.size();
}

}  // namespace dmakit::alloc
