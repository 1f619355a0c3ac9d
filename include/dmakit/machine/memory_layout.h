// SPDX-License-Identifier: Apache-2.0
// MemoryLayout: where RAM, holes, NUMA nodes and zones sit in the physical address space of a
// machine (machine layer), computed from a MachineConfig and checked before anything is allocated.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/machine/machine_config.h"

namespace dmakit::machine {

/// Memory zones of seed 001, lowest first. A request names the highest zone it may use.
enum class ZoneKind : std::uint8_t { Dma, Dma32, Normal };
inline constexpr unsigned kZoneKinds = 3;

/// "DMA", "DMA32", "Normal", as /proc/zoneinfo names them.
std::string_view zone_kind_name(ZoneKind kind);

/// The physical span of one zone of one node. The span may contain holes; `present_pages` counts
/// the RAM inside it. A zone may be empty (a node entirely above 4 GiB has no DMA32 memory).
struct ZoneSpan {
  ZoneKind kind;
  unsigned node;
  PhysRange span;
  std::uint64_t present_pages;
};

/// The physical memory map of a machine. Immutable once planned.
struct MemoryLayout {
  std::vector<PhysRange> ram;     ///< RAM ranges, ascending, non-adjacent
  std::vector<MemoryHole> holes;  ///< holes, ascending
  std::vector<PhysRange> nodes;   ///< node i's physical range; together they cover all RAM
  std::vector<ZoneSpan> zones;    ///< for each node, its configured zones from Dma to Normal
  PhysRange mask_pool;  ///< RAM taken out of the zones for the mask allocator; may be empty
  PhysAddr ram_end;     ///< one past the highest RAM byte

  /// Validates `config` and lays the machine out. Throws ConfigError naming the field and the
  /// value: RAM size zero, unaligned or above MachineConfig::kMaxRam; holes unaligned, empty or
  /// overlapping; nodes overlapping, unaligned, without RAM, or not covering all RAM; zone limits
  /// unaligned or not ascending; a mask pool unaligned, too large or beside a ZONE_DMA; page-cache
  /// sizes that cannot work.
  static MemoryLayout plan(const MachineConfig& config);

  /// Bytes of RAM inside `range`.
  [[nodiscard]] std::uint64_t ram_bytes_in(PhysRange range) const;
  /// The RAM the zones manage: every RAM range less the mask pool.
  [[nodiscard]] std::vector<PhysRange> zone_ram() const;
  /// Bytes of zone-managed RAM inside `range`.
  [[nodiscard]] std::uint64_t zone_ram_bytes_in(PhysRange range) const;
};

}  // namespace dmakit::machine
