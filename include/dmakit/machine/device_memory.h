// SPDX-License-Identifier: Apache-2.0
// DeviceMemory: memory that lives on devices (machine layer; seed 001's controllers with memory of
// their own): physical ranges outside RAM, such as a BAR in the PCI hole, with real backing bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"

namespace dmakit::machine {

/// One region of device memory. `backing` holds its bytes. `io_window` is where the CPU "ioremaps"
/// it: a range of host addresses with no access, so plain loads and stores through it fault and
/// only the I/O accessors (DeviceMemoryMap::write_io / read_io) reach the bytes.
struct DeviceMemoryRegion {
  std::string owner;
  PhysRange range;
  std::byte* backing;
  std::byte* io_window;
};

/// The device-memory regions of a machine. Thread-safe. Regions live until removed or until the map
/// is destroyed.
class DeviceMemoryMap {
 public:
  explicit DeviceMemoryMap(std::vector<PhysRange> ram) : ram_(std::move(ram)) {}
  ~DeviceMemoryMap();

  DeviceMemoryMap(const DeviceMemoryMap&) = delete;
  DeviceMemoryMap& operator=(const DeviceMemoryMap&) = delete;

  /// Adds zero-filled memory at `range`. InvalidArgument when the range is empty or not page
  /// aligned; BadAddress when it overlaps RAM or another region (naming it).
  [[nodiscard]] Result<DeviceMemoryRegion> add(std::string owner, PhysRange range);
  /// Removes the region that starts at `start`. InvalidArgument when there is none.
  [[nodiscard]] Status remove(PhysAddr start);

  /// The region holding `addr`, if any.
  [[nodiscard]] std::optional<DeviceMemoryRegion> find(PhysAddr addr) const;

  /// The I/O accessors (memcpy_toio / memcpy_fromio): `io` is an address inside a region's I/O
  /// window. BadAddress when [io, io + size) is not inside one window.
  [[nodiscard]] Status write_io(void* io, const void* src, std::uint64_t size) const;
  [[nodiscard]] Status read_io(void* dst, const void* io, std::uint64_t size) const;

 private:
  [[nodiscard]] const DeviceMemoryRegion* find_io_locked(const void* io, std::uint64_t size) const;

  std::vector<PhysRange> ram_;
  mutable std::mutex lock_;
  std::vector<DeviceMemoryRegion> regions_;  ///< guarded by lock_
};

}  // namespace dmakit::machine
