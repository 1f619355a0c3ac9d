// SPDX-License-Identifier: Apache-2.0
// The vmalloc-like area (machine layer): first-fit window ranges, pages mapped from the RAM file.
#include "dmakit/machine/vmalloc_area.h"

#include <utility>

#include "dmakit/core/assert.h"
#include "dmakit/core/config_error.h"
#include "dmakit/machine/host_memory.h"

namespace dmakit::machine {

VmallocArea::VmallocArea(const PhysMemory& memory, PageAllocator& pages, std::uint64_t window_bytes)
    : memory_(memory), pages_(pages), size_(window_bytes) {
  Result<std::byte*> base = host::reserve(window_bytes);
  if (!base) throw ConfigError("machine.vmalloc", base.error().message);
  base_ = *base;
  free_.emplace(0, size_);
}

VmallocArea::~VmallocArea() {
  for (auto& [offset, allocation] : allocations_) release_pages(allocation.pages);
  host::release(base_, size_);
}

Result<std::uint64_t> VmallocArea::take_window(std::uint64_t bytes) {
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    auto [offset, size] = *it;
    if (size < bytes) continue;
    free_.erase(it);
    if (size > bytes) free_.emplace(offset + bytes, size - bytes);
    return offset;
  }
  return fail(Errc::NoMemory, "vmalloc window of {} bytes has no free run of {} bytes", size_,
              bytes);
}

void VmallocArea::give_window(std::uint64_t offset, std::uint64_t bytes) {
  auto next = free_.lower_bound(offset);
  if (next != free_.end() && next->first == offset + bytes) {
    bytes += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      prev->second += bytes;
      return;
    }
  }
  free_.emplace(offset, bytes);
}

Status VmallocArea::map_pages(std::uint64_t offset, const std::vector<Page*>& pages) {
  // One mapping per run of physically consecutive pages.
  std::size_t i = 0;
  while (i < pages.size()) {
    std::size_t j = i + 1;
    while (j < pages.size() &&
           memory_.page_to_pfn(pages[j]) == memory_.page_to_pfn(pages[j - 1]) + 1)
      ++j;
    if (Status ok = host::map_backing(base_ + offset + i * kPageSize, (j - i) * kPageSize,
                                      memory_.backing_fd(), memory_.page_to_phys(pages[i]).value());
        !ok)
      return ok;
    i = j;
  }
  return {};
}

void VmallocArea::release_pages(const std::vector<Page*>& pages) {
  for (Page* page : pages) {
    const Status freed = pages_.free_pages(page, 0);
    DMAKIT_CHECK(freed.has_value(), "vmalloc page lost: {}", freed.error().message);
  }
}

Result<std::byte*> VmallocArea::vmalloc(std::uint64_t bytes, Gfp gfp) {
  if (bytes == 0) return fail(Errc::InvalidArgument, "vmalloc of 0 bytes");
  if (bytes > size_)
    return fail(Errc::NoMemory, "vmalloc of {} bytes exceeds the {}-byte window", bytes, size_);
  const std::uint64_t mapped = align_up(bytes, kPageSize);

  std::vector<Page*> pages;
  pages.reserve(mapped / kPageSize);
  for (std::uint64_t i = 0; i < mapped / kPageSize; ++i) {
    Result<Page*> page = pages_.alloc_pages(gfp, 0);
    if (!page) {
      release_pages(pages);
      return fail(Errc::NoMemory, "vmalloc of {} bytes: {}", bytes, page.error().message);
    }
    pages.push_back(*page);
  }

  const std::scoped_lock guard(lock_);
  Result<std::uint64_t> offset = take_window(mapped + kPageSize);  // + guard page
  if (!offset) {
    release_pages(pages);
    return std::unexpected(offset.error());
  }
  if (Status ok = map_pages(*offset, pages); !ok) {
    (void)host::unmap_to_reserved(base_ + *offset, mapped);
    give_window(*offset, mapped + kPageSize);
    release_pages(pages);
    return std::unexpected(ok.error());
  }
  allocations_.emplace(*offset, Allocation{mapped, std::move(pages)});
  return base_ + *offset;
}

Status VmallocArea::vfree(const void* addr) {
  const std::scoped_lock guard(lock_);
  const auto* p = static_cast<const std::byte*>(addr);
  auto it = contains(addr) ? allocations_.find(static_cast<std::uint64_t>(p - base_))
                           : allocations_.end();
  if (it == allocations_.end())
    return fail(Errc::InvalidArgument, "vfree of {}: not the start of a live vmalloc allocation",
                addr);
  if (Status ok = host::unmap_to_reserved(base_ + it->first, it->second.bytes); !ok) return ok;
  release_pages(it->second.pages);
  give_window(it->first, it->second.bytes + kPageSize);
  allocations_.erase(it);
  return {};
}

const VmallocArea::Allocation* VmallocArea::find(const void* ptr, std::uint64_t* offset_in) const {
  if (!contains(ptr)) return nullptr;
  const auto offset = static_cast<std::uint64_t>(static_cast<const std::byte*>(ptr) - base_);
  auto it = allocations_.upper_bound(offset);
  if (it == allocations_.begin()) return nullptr;
  --it;
  if (offset - it->first >= it->second.bytes) return nullptr;
  *offset_in = offset - it->first;
  return &it->second;
}

Result<Page*> VmallocArea::vmalloc_to_page(const void* ptr) const {
  const std::scoped_lock guard(lock_);
  std::uint64_t offset = 0;
  const Allocation* allocation = find(ptr, &offset);
  if (allocation == nullptr)
    return fail(Errc::BadAddress, "{} is not inside a live vmalloc allocation", ptr);
  return allocation->pages[offset / kPageSize];
}

Result<PhysAddr> VmallocArea::vmalloc_to_phys(const void* ptr) const {
  Result<Page*> page = vmalloc_to_page(ptr);
  if (!page) return std::unexpected(page.error());
  return memory_.page_to_phys(*page) + reinterpret_cast<std::uintptr_t>(ptr) % kPageSize;
}

std::uint64_t VmallocArea::allocated_bytes() const {
  const std::scoped_lock guard(lock_);
  std::uint64_t total = 0;
  for (const auto& [offset, allocation] : allocations_) total += allocation.bytes;
  return total;
}

}  // namespace dmakit::machine
