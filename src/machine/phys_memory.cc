// SPDX-License-Identifier: Apache-2.0
// Simulated physical memory over a sparse host file (machine layer).
#include "dmakit/machine/phys_memory.h"

#include <algorithm>
#include <utility>

#include "dmakit/core/assert.h"
#include "dmakit/core/config_error.h"
#include "dmakit/machine/host_memory.h"

namespace dmakit::machine {
namespace {

// Host failures while building a machine are setup errors: the machine asked for cannot be had
// here.
template <class T>
T setup_or_throw(Result<T> result) {
  if (!result) throw ConfigError("machine.ram", result.error().message);
  return std::move(*result);
}

void setup_or_throw(const Status& status) {
  if (!status) throw ConfigError("machine.ram", status.error().message);
}

}  // namespace

PhysMemory::PhysMemory(std::vector<PhysRange> ram) : ram_(std::move(ram)) {
  DMAKIT_CHECK(!ram_.empty(), "a machine needs RAM");
  end_ = ram_.back().end;
  fd_ = setup_or_throw(host::create_backing_file(end_.value()));
  try {
    base_ = setup_or_throw(host::reserve(end_.value()));
    for (const PhysRange& range : ram_) {
      // File offset = physical address, so the file stays sparse over holes.
      setup_or_throw(
          host::map_backing(base_ + range.start.value(), range.size(), fd_, range.start.value()));
    }
    mem_map_ =
        reinterpret_cast<Page*>(setup_or_throw(host::reserve_zeroed(end_pfn() * sizeof(Page))));
  } catch (...) {
    host::release(base_, end_.value());
    host::close_backing_file(fd_);
    throw;
  }
}

PhysMemory::~PhysMemory() {
  host::release(reinterpret_cast<std::byte*>(mem_map_), end_pfn() * sizeof(Page));
  host::release(base_, end_.value());
  host::close_backing_file(fd_);
}

Result<std::byte*> PhysMemory::phys_to_virt(PhysAddr addr, std::uint64_t size) const {
  if (!is_ram(addr, size))
    return fail(Errc::BadAddress,
                "physical range [{:#x}, +{:#x}) is not RAM (hole or past end {:#x})", addr.value(),
                size, end_.value());
  return direct_map(addr);
}

Result<PhysAddr> PhysMemory::virt_to_phys(const void* ptr) const {
  if (!in_direct_map(ptr))
    return fail(Errc::BadAddress, "pointer {} is not in the machine's direct map", ptr);
  const PhysAddr addr(static_cast<std::uint64_t>(static_cast<const std::byte*>(ptr) - base_));
  if (!is_ram(addr))
    return fail(Errc::BadAddress, "pointer {} falls in a hole at physical {:#x}", ptr,
                addr.value());
  return addr;
}

}  // namespace dmakit::machine
