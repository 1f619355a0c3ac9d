// SPDX-License-Identifier: Apache-2.0
// MappingObserver: hooks on every map, unmap and sync of a device, its mapping-error checks, its
// bus accesses and its removal, and on CPU accesses to DMA buffers made through dma/cpu_access.h
// (dma layer). The misuse checker, mapping tables and tracers implement it; the mapping path pays
// one null check when none is set.
#pragma once

#include <cstdint>

#include "dmakit/core/addr.h"
#include "dmakit/core/direction.h"
#include "dmakit/core/error.h"

namespace dmakit::dma {

class Device;

/// What a mapping call was about. For sg calls one event per entry, `sg_index` counting from 0.
enum class MappingKind : std::uint8_t { Page, Single, SgEntry, Coherent };

/// One call, with the caller's arguments. For unmaps and syncs `phys` is what the device's path
/// says lies behind `dma` (0 when nothing does).
struct MappingEvent {
  const Device* device;
  MappingKind kind;
  PhysAddr phys;  ///< the CPU-side memory (the original buffer, not a bounce slot)
  DmaAddr dma;    ///< what the device was given; sg entries: the entry's own bus address
  std::uint64_t size;
  Direction dir;
  std::uint32_t sg_index = 0;
  std::uint32_t sg_count = 0;  ///< sg events: the list's entries (Linux's nents); 0 otherwise
  /// sg map events: the length of the DMA segment this entry starts; 0 when it continues one.
  std::uint64_t sg_segment = 0;
  const void* cpu = nullptr;  ///< coherent events and map_single: the CPU address passed
};

/// Contract: every hook runs on the calling thread and must not call back into the mapping API for
/// the same device. on_map runs after a map succeeded; on_map_refused after one failed (the event's
/// dma is kDmaMappingError); on_unmap and on_sync run before the call is validated or takes effect,
/// so they see calls the ops then reject. Default implementations do nothing.
class MappingObserver {
 public:
  virtual ~MappingObserver() = default;
  virtual void on_map(const MappingEvent& /*event*/) {}
  virtual void on_map_refused(const MappingEvent& /*event*/, const Error& /*error*/) {}
  virtual void on_unmap(const MappingEvent& /*event*/) {}
  virtual void on_sync(const MappingEvent& /*event*/, bool /*for_device*/) {}
  /// dma::mapping_error(dev, addr) was asked (Linux's dma_mapping_error()).
  virtual void on_mapping_error_check(const Device& /*dev*/, DmaAddr /*addr*/) {}
  /// The device is about to read or write [dma, dma + size) (dma/bus_access.h).
  virtual void on_device_access(const Device& /*dev*/, DmaAddr /*dma*/, std::uint64_t /*size*/,
                                bool /*write*/) {}
  /// The CPU is about to read or write [cpu, cpu + size) through dma/cpu_access.h. Only the
  /// platform's observer sees these.
  virtual void on_cpu_access(const void* /*cpu*/, std::uint64_t /*size*/, bool /*write*/) {}
  /// The device is being destroyed; its mappings die with it. Only the platform's observer sees
  /// these.
  virtual void on_device_removed(const Device& /*dev*/) {}
};

}  // namespace dmakit::dma
