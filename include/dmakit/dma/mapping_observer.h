// SPDX-License-Identifier: Apache-2.0
// MappingObserver: hooks on every map, unmap and sync of a device (dma layer). The misuse checker,
// mapping tables and tracers implement it; the mapping path pays one null check when none is set.
#pragma once

#include <cstdint>

#include "dmakit/core/addr.h"
#include "dmakit/core/direction.h"

namespace dmakit::dma {

class Device;

/// What a mapping call was about. For sg calls one event per entry, `sg_index` counting from 0.
enum class MappingKind : std::uint8_t { Page, Single, SgEntry, Coherent };

struct MappingEvent {
  const Device* device;
  MappingKind kind;
  PhysAddr phys;  ///< the CPU-side memory (the original buffer, not a bounce slot)
  DmaAddr dma;    ///< what the device was given
  std::uint64_t size;
  Direction dir;
  std::uint32_t sg_index = 0;
};

/// Contract: called on the mapping thread after the operation succeeded (on_map, on_sync) or before
/// it takes effect (on_unmap); must not call back into the mapping API for the same device. Default
/// implementations do nothing.
class MappingObserver {
 public:
  virtual ~MappingObserver() = default;
  virtual void on_map(const MappingEvent& /*event*/) {}
  virtual void on_unmap(const MappingEvent& /*event*/) {}
  virtual void on_sync(const MappingEvent& /*event*/, bool /*for_device*/) {}
};

}  // namespace dmakit::dma
