// SPDX-License-Identifier: Apache-2.0
// MachineConfig: what a simulated machine is made of (machine layer): RAM size, memory holes, NUMA
// nodes, zone limits (seed 001), lowmem reserve ratios and per-thread page caches.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/name_table.h"
#include "dmakit/core/units.h"

namespace dmakit::machine {

/// A range of the physical address space where no RAM sits (MMIO windows such as the PCI hole).
struct MemoryHole {
  std::string name;
  PhysRange range;
};

/// How the mask allocator searches its pool for a free run (seed 003, reference section 9.4).
enum class MaskPoolSearch : std::uint8_t {
  NextFit,  ///< the seed's description: a cursor cycles upwards; above the mask, wrap to the low
            ///< end
  TopDown,  ///< the 2008 patches: next-fit downwards from the top of the caller's allowed window
};
inline constexpr NameTable<MaskPoolSearch, 2> kMaskPoolSearchNames = {{
    {MaskPoolSearch::NextFit, "next-fit"},
    {MaskPoolSearch::TopDown, "top-down"},
}};

/// The bounce pool (swiotlb, seed 001), carved out of the mask pool at start (seed 003: the swiotlb
/// "makes allocations from the DMA area and no longer has its own dedicated memory pool"). The
/// machine grows its mask pool by `size` so the pool's other users keep mask_pool_size, and the
/// bounce pool takes the pool's top, so the low end stays for the narrow masks only it serves.
struct SwiotlbConfig {
  static constexpr std::uint64_t kSegmentBytes = 256 * kKiB;  ///< 128 slots of 2 KiB

  /// Bytes of bounce slots, a multiple of 256 KiB; 0 for no bounce buffering.
  std::uint64_t size = 64 * kMiB;
  /// The pool lies wholly below this physical address (Linux places it in low memory).
  std::uint64_t limit = 4 * kGiB;
  /// Independently locked areas; 0 picks the host's hardware threads, rounded up to a power of 2.
  unsigned areas = 0;
  /// Every streaming mapping of every device bounces (swiotlb=force; the shadow-buffer strategy).
  bool force = false;
  /// Extra pools taken from the mask allocator when the pool is full, each given back once empty.
  unsigned transient_pools = 0;
  /// Bytes of each transient pool, a multiple of 256 KiB.
  std::uint64_t transient_size = 1 * kMiB;

  bool operator==(const SwiotlbConfig&) const = default;
};

/// The configuration of a Machine. Defaults describe an 8 GiB single-node x86-64 machine: the PCI
/// hole from 3 GiB to 4 GiB with the RAM that would sit there placed above 4 GiB, a 16 MiB mask
/// pool at the bottom of RAM in place of ZONE_DMA (seed 003), grown by a 64 MiB bounce pool, and
/// ZONE_DMA32 below 4 GiB (seed 001).
struct MachineConfig {
  /// A machine costs the host about 4 bytes of resident page metadata per simulated page however
  /// little of its RAM is used (4.2 GB for 4 TiB): 1 GiB for 1 TiB, so that a scenario's six
  /// strategies, one machine each, stay within the budget of docs/limits.md.
  static constexpr std::uint64_t kMaxRam = 1 * kTiB;
  /// The end of the physical address space, RAM and holes: the host reserves address space for all
  /// of it (the direct map and its mem_map), and six machines of 8 TiB fit a 47-bit user address
  /// space (128 TiB) with room to spare.
  static constexpr std::uint64_t kMaxPhysEnd = 8 * kTiB;

  /// Bytes of simulated RAM, a multiple of the 4 KiB page size, at most kMaxRam.
  std::uint64_t ram_size = 8 * kGiB;

  /// Holes in the physical address space. RAM is placed from address 0 upwards, skipping holes.
  std::vector<MemoryHole> holes = {{"pci", {PhysAddr(3 * kGiB), PhysAddr(4 * kGiB)}}};

  /// NUMA nodes as explicit physical ranges. Empty: `node_count` nodes that split the RAM evenly,
  /// their boundaries aligned to 4 MiB (a largest buddy block).
  std::vector<PhysRange> node_ranges;
  unsigned node_count = 1;
  static constexpr unsigned kMaxNodes = 64;  ///< zone ids are 8 bits: 64 nodes x 3 zones

  /// Upper limits of ZONE_DMA and ZONE_DMA32 (exclusive). nullopt: the zone does not exist, as on
  /// architectures without it; requests that name it then fall to the zones below. ZONE_DMA and a
  /// mask pool exclude each other: the pool replaces the zone.
  std::optional<std::uint64_t> zone_dma_limit;
  std::optional<std::uint64_t> zone_dma32_limit = 4 * kGiB;

  /// Linux's lowmem_reserve_ratio for ZONE_DMA and ZONE_DMA32: a request that may use a higher zone
  /// falls back into this one only while it keeps (pages of the zones above) / ratio pages free.
  /// 0 turns the protection off. Keeps low memory for the devices that need it (seed 003).
  std::array<unsigned, 2> lowmem_reserve_ratio = {256, 256};

  /// Order-0 page caches per zone (Linux's per-CPU page lists): 0 picks the host's hardware
  /// threads.
  unsigned page_cache_shards = 0;
  /// Pages moved between a page cache and the buddy lists at once, and the most a cache holds.
  unsigned page_cache_batch = 31;
  unsigned page_cache_high = 186;

  /// Bytes at the bottom of RAM taken out of the zones at boot for the mask allocator (seed 003),
  /// a page multiple up to 2 GiB inside the first RAM range; 0 for no pool.
  std::uint64_t mask_pool_size = 16 * kMiB;
  /// Send every mask allocation to the pool, never to the normal allocator first (2008's
  /// maskzone=force), to test drivers against the pool alone.
  bool mask_pool_force = false;
  MaskPoolSearch mask_pool_search = MaskPoolSearch::NextFit;
  /// How long a mask allocation that may wait blocks for a free before it fails.
  std::chrono::milliseconds mask_pool_wait_timeout{5000};

  SwiotlbConfig swiotlb;

  /// Host address space reserved for the vmalloc-like area (virtually contiguous, physically
  /// scattered allocations).
  std::uint64_t vmalloc_size = 1 * kGiB;
};

/// Reads a machine configuration from a YAML file: the keys under `machine:`, each documented in
/// configs/machine.yaml.
/// Keys not given keep their defaults. Throws ConfigError naming the key and the value on any
/// unknown key, malformed size or impossible value; throws ConfigError with field "config" when the
/// file cannot be read or parsed.
MachineConfig load_machine_config(const std::string& path);

/// As load_machine_config(), from YAML text.
MachineConfig parse_machine_config(const std::string& yaml_text);

}  // namespace dmakit::machine
