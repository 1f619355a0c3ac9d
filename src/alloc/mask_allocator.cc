// SPDX-License-Identifier: Apache-2.0
// The mask allocator (alloc layer; seed 003).
//
// The pool is [pool_start, pool_start + pool_pages) pages, bit i of the BlockBitmap standing for
// page pool_start + i. Its start bits are what let a free check its size: a free that names a page
// where no allocation starts, or a size other than the allocation's, is refused and changes
// nothing.
//
// A request's window is the pool pages that lie wholly at or below its mask, [0, window). Two
// searches, chosen per machine:
//  - next-fit (the seed): a cursor cycles upwards through the pool; the next free run at or
//    after the cursor is taken if it fits in the window, otherwise the search goes back to the low
//    end of the pool ("wraps"). Short-lived DMA buffers spread over the pool instead of piling up
//    at its bottom.
//  - top-down (the 2008 patches, reference section 9.4): the cursor is used only when it lies in
//    the upper half of the caller's window; otherwise, or when nothing is free below it, the
//    search starts again at the top of the window. Searches run downwards, so the lowest memory
//    stays free for the tightest masks.
// Either way the cursor moves past the run just taken.
//
// Two bugs of the 2008 code are not repeated: the page-allocator attempt checks the block's last
// byte against the mask, not only its first page, and a rejected block is freed, never leaked.
#include "dmakit/alloc/mask_allocator.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>

#include "dmakit/core/config_error.h"
#include "dmakit/core/mask.h"
#include "dmakit/core/request_size.h"
#include "dmakit/core/units.h"

namespace dmakit::alloc {

using machine::Gfp;
using machine::Page;

namespace {

constexpr std::uint64_t kMinSize =
    16;  // smaller sizes are almost surely an order passed by mistake

PhysRange checked_pool(const machine::Machine& machine) {
  const PhysRange pool = machine.layout().mask_pool;
  if (pool.empty())
    throw ConfigError("machine.mask_pool.size", "the machine has no mask pool to manage");
  return pool;
}

}  // namespace

MaskAllocator::MaskAllocator(machine::Machine& machine)
    : machine_(machine),
      pool_(checked_pool(machine)),
      pool_start_pfn_(phys_to_pfn(pool_.start)),
      pool_pages_(pool_.size() / kPageSize),
      force_(machine.config().mask_pool_force),
      search_(machine.config().mask_pool_search),
      wait_timeout_(machine.config().mask_pool_wait_timeout),
      blocks_(pool_pages_),
      cursor_(search_ == machine::MaskPoolSearch::NextFit ? 0 : pool_pages_),
      warning_sink_([](const std::string& message) {
        std::fputs(fmt::format("dmakit: {}\n", message).c_str(), stderr);
      }) {
  machine_.page_allocator().attach_mask_zone(this);
}

MaskAllocator::~MaskAllocator() { machine_.page_allocator().attach_mask_zone(nullptr); }

void MaskAllocator::set_warning_sink(std::function<void(const std::string&)> sink) {
  const std::scoped_lock guard(lock_);
  warning_sink_ = std::move(sink);
}

void MaskAllocator::warn(const std::string& message) {
  std::function<void(const std::string&)> sink;
  {
    const std::scoped_lock guard(lock_);
    sink = warning_sink_;
  }
  sink(message);
}

std::size_t MaskAllocator::window_for(std::uint64_t mask) const {
  // Pages wholly at or below the mask: frames below (mask + 1) / 4 KiB, without overflowing at
  // 2^64.
  const Pfn limit = mask == ~std::uint64_t{0} ? ~Pfn{0} : (mask + 1) >> kPageShift;
  if (limit <= pool_start_pfn_) return 0;
  return static_cast<std::size_t>(std::min<Pfn>(limit - pool_start_pfn_, pool_pages_));
}

Page* MaskAllocator::alloc_normal(Gfp gfp, std::uint64_t pages, std::uint64_t mask, int node) {
  // Ask the zone that best matches the mask, so the result is likely to fit; then check it.
  const Gfp zone = machine::zone_flags_for_mask(machine_.config(), mask);
  const Gfp passed = (gfp.has(Gfp::kThisNode) ? machine::kGfpThisNode : machine::kGfpKernel) | zone;
  machine::PageAllocator& allocator = machine_.page_allocator();
  Result<Page*> page = allocator.alloc_pages_exact(passed, pages * kPageSize, node);
  if (!page) return nullptr;
  if (fits_under_mask(machine_.page_to_phys(*page).value(), pages * kPageSize, mask)) return *page;
  normal_above_mask_.add();
  const Status freed = allocator.free_pages_exact(*page, pages * kPageSize);
  DMAKIT_CHECK(freed.has_value(), "cannot give back a block just taken: {}", freed.error().message);
  return nullptr;
}

std::size_t MaskAllocator::take_run_locked(std::size_t pages, std::size_t window, bool top) {
  const PageBitmap& used = blocks_.used();
  if (top) {
    // The highest run, the search cursor untouched: the bounce pool's place, which leaves the
    // low end to the narrow masks only it can serve.
    const std::size_t index = used.find_clear_run_down(0, window, pages);
    if (index != PageBitmap::npos) blocks_.take(index, pages);
    return index;
  }
  std::size_t index = PageBitmap::npos;
  if (search_ == machine::MaskPoolSearch::NextFit) {
    if (cursor_ < window) index = used.find_clear_run(cursor_, window, pages);
    if (index == PageBitmap::npos) {
      index = used.find_clear_run(0, std::min(window, cursor_ + pages - 1), pages);
      if (index != PageBitmap::npos) wraps_.add();
    }
  } else {
    // The cursor counts only in the upper half of the caller's window (reference section 9.4).
    if (cursor_ <= window && cursor_ >= window / 2 + pages)
      index = used.find_clear_run_down(0, cursor_, pages);
    if (index == PageBitmap::npos) {
      index = used.find_clear_run_down(0, window, pages);
      if (index != PageBitmap::npos) wraps_.add();
    }
  }
  if (index == PageBitmap::npos) return index;
  blocks_.take(index, pages);
  if (search_ == machine::MaskPoolSearch::NextFit)
    cursor_ = index + pages == pool_pages_ ? 0 : index + pages;
  else
    cursor_ = index == 0 ? pool_pages_ : index;
  return index;
}

Result<Page*> MaskAllocator::alloc_pages_mask(Gfp gfp, std::uint64_t size, std::uint64_t mask,
                                              int node) {
  return allocate(gfp, size, mask, node, /*try_normal=*/!force_);
}

Result<Page*> MaskAllocator::alloc_pool_pages(Gfp gfp, std::uint64_t size, std::uint64_t mask) {
  return allocate(gfp, size, mask, machine::kLocalNode, /*try_normal=*/false, /*top=*/true);
}

Result<Page*> MaskAllocator::allocate(Gfp gfp, std::uint64_t size, std::uint64_t mask, int node,
                                      bool try_normal, bool top) {
  if (size < kMinSize)
    return fail(Errc::InvalidArgument, "size {} is under {} bytes: sizes are bytes, not an order",
                size, kMinSize);
  if (!is_contiguous_mask(mask))
    return fail(Errc::InvalidArgument, "mask {:#x} is not of the form 2^n - 1", mask);
  if (gfp.has(Gfp::kDma) || gfp.has(Gfp::kDma32))
    return fail(Errc::InvalidArgument, "zone flags with a mask: the mask already says the limit");
  const Result<std::uint64_t> bytes = round_up_request("size", size, kPageSize);
  if (!bytes) return std::unexpected(bytes.error());
  const std::uint64_t pages = *bytes / kPageSize;

  // The page allocator first, when something it holds could satisfy the mask and the block is one
  // it can make (seed 003: the pool is the scarce resource).
  const Pfn pool_end_pfn = pool_start_pfn_ + pool_pages_;
  if (try_normal && (mask >> kPageShift) >= pool_end_pfn &&
      pages <= (Pfn{1} << machine::kMaxOrder)) {
    if (Page* page = alloc_normal(gfp, pages, mask, node); page != nullptr) {
      served_by_normal_.add();
      if (gfp.has(Gfp::kZero)) std::memset(machine_.page_address(page), 0, pages * kPageSize);
      return page;
    }
  }

  const std::size_t window = window_for(mask);
  std::size_t index = PageBitmap::npos;
  bool room_elsewhere = false;
  std::size_t used = 0;
  {
    std::unique_lock guard(lock_);
    index = take_run_locked(pages, window, top);
    // A run longer than the pool's window under the mask cannot come from any free: no wait.
    if (index == PageBitmap::npos && gfp.has(Gfp::kWait) && pages <= window) {
      waits_.add();
      const auto deadline = std::chrono::steady_clock::now() + wait_timeout_;
      while (index == PageBitmap::npos &&
             freed_.wait_until(guard, deadline) != std::cv_status::timeout)
        index = take_run_locked(pages, window, top);
      if (index == PageBitmap::npos) index = take_run_locked(pages, window, top);
    }
    if (index == PageBitmap::npos) {
      room_elsewhere = blocks_.used().find_clear_run(0, pool_pages_, pages) != PageBitmap::npos;
      used = blocks_.used().count();
    }
  }
  if (index != PageBitmap::npos) {
    served_by_pool_.add();
    Page* page = machine_.memory().pfn_to_page(pool_start_pfn_ + index);
    page->private_data = 0;
    if (gfp.has(Gfp::kZero)) std::memset(machine_.page_address(page), 0, pages * kPageSize);
    return page;
  }

  failures_.add();
  const std::string message = fmt::format(
      "cannot allocate {} bytes ({} pages) below mask {:#x}: pool {} has {} of {} "
      "pages in use{}",
      size, pages, mask, format_size(pool_.size()), used, pool_pages_,
      room_elsewhere ? ", free runs that fit lie above the mask" : "");
  if (!gfp.has(Gfp::kNoWarn)) warn("mask allocator: " + message);
  return std::unexpected(Error{room_elsewhere ? Errc::AboveMask : Errc::NoMemory, message});
}

Status MaskAllocator::free_pool_locked(std::size_t index, std::size_t pages) {
  const std::size_t allocated = blocks_.block_at(index);
  if (allocated == 0)
    return fail(Errc::InvalidArgument,
                "frame {:#x} starts no pool allocation (double free or interior page?)",
                pool_start_pfn_ + index);
  if (allocated != pages)
    return fail(Errc::InvalidArgument, "frame {:#x}: freed as {} pages, allocated as {} pages",
                pool_start_pfn_ + index, pages, allocated);
  blocks_.release(index, pages);
  return {};
}

Status MaskAllocator::free_pages_mask(Page* page, std::uint64_t size) {
  if (size < kMinSize)
    return fail(Errc::InvalidArgument, "size {} is under {} bytes: sizes are bytes, not an order",
                size, kMinSize);
  if (page == nullptr || !machine_.memory().owns(page))
    return fail(Errc::BadAddress, "page {} is not a frame of this machine",
                static_cast<const void*>(page));
  const PhysAddr addr = machine_.page_to_phys(page);
  if (!in_pool(addr)) return machine_.page_allocator().free_pages_exact(page, size);
  const Result<std::uint64_t> bytes = round_up_request("size", size, kPageSize);
  if (!bytes) return std::unexpected(bytes.error());
  const std::size_t pages = *bytes / kPageSize;
  {
    const std::scoped_lock guard(lock_);
    if (Status ok = free_pool_locked(phys_to_pfn(addr) - pool_start_pfn_, pages); !ok) return ok;
  }
  freed_.notify_all();
  return {};
}

Result<std::byte*> MaskAllocator::get_pages_mask(Gfp gfp, std::uint64_t size, std::uint64_t mask,
                                                 int node) {
  Result<Page*> page = alloc_pages_mask(gfp, size, mask, node);
  if (!page) return std::unexpected(page.error());
  return machine_.page_address(*page);
}

Status MaskAllocator::free_pages_mask(const void* addr, std::uint64_t size) {
  const Result<PhysAddr> phys = machine_.virt_to_phys(addr);
  if (!phys) return std::unexpected(phys.error());
  if (!is_aligned(phys->value(), kPageSize))
    return fail(Errc::InvalidArgument, "{} is not the page-aligned start of an allocation", addr);
  return free_pages_mask(machine_.memory().pfn_to_page(phys_to_pfn(*phys)), size);
}

Result<Page*> MaskAllocator::alloc_dma_pages(Gfp gfp, unsigned order) {
  return alloc_pages_mask(gfp.without(Gfp::kDma), kPageSize << order, dma_bit_mask(24));
}

Status MaskAllocator::free_pool_pages(Page* page, std::uint64_t pages) {
  return free_pages_mask(page, pages * kPageSize);
}

MaskAllocatorStats MaskAllocator::stats() const {
  MaskAllocatorStats s;
  s.pool = pool_;
  s.pool_pages = pool_pages_;
  {
    const std::scoped_lock guard(lock_);
    s.used_pages = blocks_.used().count();
    const PageBitmap::ClearRuns runs = blocks_.used().clear_runs();
    s.largest_free_run = runs.largest;
    s.free_runs = runs.runs;
  }
  s.served_by_normal = served_by_normal_.value();
  s.normal_above_mask = normal_above_mask_.value();
  s.served_by_pool = served_by_pool_.value();
  s.wraps = wraps_.value();
  s.failures = failures_.value();
  s.waits = waits_.value();
  return s;
}

void MaskAllocator::validate() const {
  const std::scoped_lock guard(lock_);
  blocks_.validate();
  DMAKIT_CHECK(cursor_ <= pool_pages_, "cursor {} beyond the pool of {} pages", cursor_,
               pool_pages_);
}

}  // namespace dmakit::alloc
