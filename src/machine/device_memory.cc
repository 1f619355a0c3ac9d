// SPDX-License-Identifier: Apache-2.0
// Device memory regions with real bytes (machine layer; seed 001).
#include "dmakit/machine/device_memory.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "dmakit/machine/host_memory.h"

namespace dmakit::machine {

DeviceMemoryMap::~DeviceMemoryMap() {
  for (const DeviceMemoryRegion& r : regions_) {
    host::release(r.backing, r.range.size());
    host::release(r.io_window, r.range.size());
  }
}

Result<DeviceMemoryRegion> DeviceMemoryMap::add(std::string owner, PhysRange range) {
  if (range.empty() || !is_aligned(range.start.value(), kPageSize) ||
      !is_aligned(range.end.value(), kPageSize))
    return fail(Errc::InvalidArgument,
                "device memory [{:#x}, {:#x}) for {}: empty or not page aligned",
                range.start.value(), range.end.value(), owner);
  for (const PhysRange& r : ram_) {
    if (r.overlaps(range))
      return fail(Errc::BadAddress,
                  "device memory [{:#x}, {:#x}) for {} overlaps RAM [{:#x}, {:#x})",
                  range.start.value(), range.end.value(), owner, r.start.value(), r.end.value());
  }
  const std::scoped_lock guard(lock_);
  for (const DeviceMemoryRegion& r : regions_) {
    if (r.range.overlaps(range))
      return fail(Errc::BadAddress, "device memory [{:#x}, {:#x}) for {} overlaps {}'s",
                  range.start.value(), range.end.value(), owner, r.owner);
  }
  Result<std::byte*> backing = host::reserve_zeroed(range.size());
  if (!backing) return std::unexpected(backing.error());
  Result<std::byte*> window = host::reserve(range.size());
  if (!window) {
    host::release(*backing, range.size());
    return std::unexpected(window.error());
  }
  regions_.push_back({std::move(owner), range, *backing, *window});
  return regions_.back();
}

Status DeviceMemoryMap::remove(PhysAddr start) {
  const std::scoped_lock guard(lock_);
  auto it = std::find_if(regions_.begin(), regions_.end(),
                         [&](const DeviceMemoryRegion& r) { return r.range.start == start; });
  if (it == regions_.end())
    return fail(Errc::InvalidArgument, "no device memory starts at {:#x}", start.value());
  host::release(it->backing, it->range.size());
  host::release(it->io_window, it->range.size());
  regions_.erase(it);
  return {};
}

std::optional<DeviceMemoryRegion> DeviceMemoryMap::find(PhysAddr addr) const {
  const std::scoped_lock guard(lock_);
  for (const DeviceMemoryRegion& r : regions_) {
    if (r.range.contains(addr)) return r;
  }
  return std::nullopt;
}

const DeviceMemoryRegion* DeviceMemoryMap::find_io_locked(const void* io,
                                                          std::uint64_t size) const {
  const auto* p = static_cast<const std::byte*>(io);
  for (const DeviceMemoryRegion& r : regions_) {
    if (p >= r.io_window && size <= r.range.size() && p + size <= r.io_window + r.range.size())
      return &r;
  }
  return nullptr;
}

Status DeviceMemoryMap::write_io(void* io, const void* src, std::uint64_t size) const {
  const std::scoped_lock guard(lock_);
  const DeviceMemoryRegion* r = find_io_locked(io, size);
  if (r == nullptr)
    return fail(Errc::BadAddress, "memcpy_toio: [{}, +{:#x}) is not I/O memory", io, size);
  std::memcpy(r->backing + (static_cast<std::byte*>(io) - r->io_window), src, size);
  return {};
}

Status DeviceMemoryMap::read_io(void* dst, const void* io, std::uint64_t size) const {
  const std::scoped_lock guard(lock_);
  const DeviceMemoryRegion* r = find_io_locked(io, size);
  if (r == nullptr)
    return fail(Errc::BadAddress, "memcpy_fromio: [{}, +{:#x}) is not I/O memory", io, size);
  std::memcpy(dst, r->backing + (static_cast<const std::byte*>(io) - r->io_window), size);
  return {};
}

}  // namespace dmakit::machine
