// SPDX-License-Identifier: Apache-2.0
// Device-declared coherent memory (dma layer; seed 001, reference section 3).
#include "dmakit/dma/declared_memory.h"

#include <bit>
#include <cstring>

#include "dmakit/dma/device.h"
#include "dmakit/iommu/domain.h"

namespace dmakit::dma {

std::string declare_flags_text(unsigned flags) {
  std::string text;
  for (const auto& [bit, name] : kDeclareFlagNames)
    if ((flags & bit) != 0) (text += text.empty() ? "" : ",") += name;
  return text;
}

Status reserve_window(iommu::Domain* domain, DmaAddr device_addr, std::uint64_t size) {
  if (domain == nullptr || domain->config().kind != iommu::DomainKind::Dma) return {};
  return domain->reserve(IovaAddr(device_addr.value()), size);
}

DeclaredMemory::DeclaredMemory(machine::DeviceMemoryRegion region, DmaAddr device_addr,
                               unsigned flags)
    : region_(std::move(region)),
      device_addr_(device_addr),
      flags_(flags),
      blocks_(region_.range.size() / kPageSize) {}

std::byte* DeclaredMemory::cpu_base() const {
  return (flags_ & kMemoryIo) != 0 ? region_.io_window : region_.backing;
}

std::byte* DeclaredMemory::local_bytes(DmaAddr dma, std::uint64_t size) const {
  if (dma < device_addr_ || dma - device_addr_ > this->size() ||
      size > this->size() - (dma - device_addr_))
    return nullptr;
  return region_.backing + (dma - device_addr_);
}

bool DeclaredMemory::contains(const void* cpu) const {
  const auto* p = static_cast<const std::byte*>(cpu);
  return p >= cpu_base() && p < cpu_base() + size();
}

Result<std::byte*> DeclaredMemory::alloc(std::uint64_t size, DmaAddr* handle) {
  const std::uint64_t pages = std::bit_ceil((size + kPageSize - 1) / kPageSize);
  const std::size_t total = blocks_.size();
  std::size_t index = alloc::PageBitmap::npos;
  {
    const std::scoped_lock guard(lock_);
    // First fit among naturally aligned blocks of `pages` pages.
    for (std::size_t i = 0; pages <= total && i <= total - pages;) {
      const std::size_t busy = blocks_.used().next_set(i, i + pages);
      if (busy == i + pages) {
        index = i;
        break;
      }
      i = align_up(busy + 1, pages);
    }
    if (index != alloc::PageBitmap::npos) blocks_.take(index, pages);
  }
  if (index == alloc::PageBitmap::npos)
    return fail(Errc::NoMemory, "declared memory of {} bytes has no free block of {} pages",
                this->size(), pages);
  const std::uint64_t offset = index * kPageSize;
  std::memset(region_.backing + offset, 0, pages * kPageSize);
  *handle = device_addr_ + offset;
  return cpu_base() + offset;
}

Status DeclaredMemory::free(std::uint64_t size, void* cpu, DmaAddr handle) {
  const std::uint64_t offset =
      static_cast<std::uint64_t>(static_cast<std::byte*>(cpu) - cpu_base());
  if (!contains(cpu) || offset % kPageSize != 0 || handle != device_addr_ + offset)
    return fail(Errc::InvalidArgument, "{} / {:#x} is not an allocation of this declared memory",
                cpu, handle.value());
  const std::size_t index = offset / kPageSize;
  const std::uint64_t pages = std::bit_ceil((size + kPageSize - 1) / kPageSize);
  const std::scoped_lock guard(lock_);
  if (blocks_.block_at(index) != pages)
    return fail(
        Errc::InvalidArgument,
        "declared memory: {} bytes at {:#x} is not one allocation (double free or wrong size?)",
        size, handle.value());
  blocks_.release(index, pages);
  return {};
}

Result<std::byte*> DeclaredMemory::mark_occupied(DmaAddr device_addr, std::uint64_t size) {
  if (size == 0 || device_addr < device_addr_ || device_addr - device_addr_ >= this->size() ||
      this->size() - (device_addr - device_addr_) < size)
    return fail(Errc::InvalidArgument, "[{:#x}, +{:#x}) is outside the declared memory",
                device_addr.value(), size);
  const std::size_t first = (device_addr - device_addr_) / kPageSize;
  const std::size_t last = (device_addr - device_addr_ + size - 1) / kPageSize;
  const std::scoped_lock guard(lock_);
  if (blocks_.used().next_set(first, last + 1) != last + 1)
    return fail(Errc::Busy, "[{:#x}, +{:#x}) of the declared memory is already in use",
                device_addr.value(), size);
  blocks_.take(first, last + 1 - first);
  occupied_ += last + 1 - first;
  return cpu_base() + (device_addr - device_addr_);
}

std::uint64_t DeclaredMemory::pages_in_use() const {
  const std::scoped_lock guard(lock_);
  return blocks_.used().count();
}

std::uint64_t DeclaredMemory::pages_allocated() const {
  const std::scoped_lock guard(lock_);
  return blocks_.used().count() - occupied_;
}

Status declare_coherent_memory(Device& dev, PhysAddr bus_addr, DmaAddr device_addr,
                               std::uint64_t size, unsigned flags) {
  if (size == 0 || !is_aligned(size, kPageSize) || !is_aligned(bus_addr.value(), kPageSize) ||
      !is_aligned(device_addr.value(), kPageSize))
    return fail(Errc::InvalidArgument, "{}: declared memory must be page aligned and non-empty",
                dev.name());
  if (((flags & kMemoryMap) != 0) == ((flags & kMemoryIo) != 0))
    return fail(Errc::InvalidArgument, "{}: flags {:#x} need exactly one of MAP and IO", dev.name(),
                flags);
  if (device_addr.value() + size < device_addr.value())
    return fail(Errc::InvalidArgument, "{}: declared window [{:#x}, +{:#x}) wraps", dev.name(),
                device_addr.value(), size);
  if (dev.declared_memory() != nullptr)
    return fail(Errc::Busy, "{}: a device declares one region", dev.name());
  if (Status kept = reserve_window(dev.domain(), device_addr, size); !kept)
    return fail(Errc::Busy, "{}: {}", dev.name(), kept.error().message);
  Result<machine::DeviceMemoryRegion> region =
      dev.machine().device_memory().add(dev.name(), {bus_addr, bus_addr + size});
  if (!region) return std::unexpected(region.error());
  dev.set_declared_memory(std::make_unique<DeclaredMemory>(*region, device_addr, flags));
  return {};
}

Status release_declared_memory(Device& dev) {
  DeclaredMemory* mem = dev.declared_memory();
  if (mem == nullptr) return fail(Errc::InvalidArgument, "{}: no declared memory", dev.name());
  if (const std::uint64_t in_use = mem->pages_allocated(); in_use != 0)
    return fail(Errc::Busy, "{}: {} pages of its declared memory are still allocated", dev.name(),
                in_use);
  const PhysAddr start = mem->region().range.start;
  dev.set_declared_memory(nullptr);
  return dev.machine().device_memory().remove(start);
}

Result<std::byte*> mark_declared_memory_occupied(Device& dev, DmaAddr device_addr,
                                                 std::uint64_t size) {
  DeclaredMemory* mem = dev.declared_memory();
  if (mem == nullptr) return fail(Errc::InvalidArgument, "{}: no declared memory", dev.name());
  return mem->mark_occupied(device_addr, size);
}

DeclaredMemory* declared_memory_for(const Device& dev) {
  if (DeclaredMemory* own = dev.declared_memory()) return own;
  for (const Device* up = dev.parent(); up != nullptr; up = up->parent()) {
    DeclaredMemory* mem = up->declared_memory();
    if (mem != nullptr && (mem->flags() & kMemoryIncludesChildren) != 0) return mem;
  }
  return nullptr;
}

}  // namespace dmakit::dma
