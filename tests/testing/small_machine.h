// SPDX-License-Identifier: Apache-2.0
// Machine configurations for tests: small enough to build in microseconds, shaped like the real
// thing (zones, a hole displacing RAM, two nodes) at a reduced scale.
#pragma once

#include "dmakit/machine/machine.h"

namespace dmakit::testing {

/// 96 MiB of RAM on two nodes, ZONE_DMA below 8 MiB, ZONE_DMA32 below 48 MiB, and a hole at
/// [32 MiB, 40 MiB) whose RAM sits at [96 MiB, 104 MiB). No mask pool, no bounce pool. Two
/// page-cache shards.
inline machine::MachineConfig small_machine_config() {
  machine::MachineConfig config;
  config.ram_size = 96 * kMiB;
  config.holes = {{"mmio", {PhysAddr(32 * kMiB), PhysAddr(40 * kMiB)}}};
  config.node_count = 2;
  config.mask_pool_size = 0;
  config.swiotlb.size = 0;
  config.zone_dma_limit = 8 * kMiB;
  config.zone_dma32_limit = 48 * kMiB;
  config.page_cache_shards = 2;
  config.vmalloc_size = 64 * kMiB;
  return config;
}

/// A single-node machine of `ram` bytes without holes, DMA zone, mask or bounce pool or page
/// caches: every allocation goes straight to the buddy lists, so tests can predict them exactly.
inline machine::MachineConfig plain_machine_config(std::uint64_t ram) {
  machine::MachineConfig config;
  config.ram_size = ram;
  config.holes.clear();
  config.mask_pool_size = 0;
  config.swiotlb.size = 0;
  config.zone_dma32_limit.reset();
  config.page_cache_high = 0;
  config.vmalloc_size = 16 * kMiB;
  return config;
}

/// A machine of `ram` bytes from address 0 without holes, with the default 16 MiB mask pool and a
/// bounce pool of `bounce` bytes (none by default, so that unreachable memory fails to map): the
/// usual ground for mapping, pool and scatter/gather tests.
inline machine::MachineConfig compact_machine_config(std::uint64_t ram, std::uint64_t bounce = 0) {
  machine::MachineConfig config;
  config.ram_size = ram;
  config.holes.clear();
  config.swiotlb.size = bounce;
  config.vmalloc_size = 16 * kMiB;
  return config;
}

}  // namespace dmakit::testing
