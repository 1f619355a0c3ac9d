// SPDX-License-Identifier: Apache-2.0
// Machines with a small mask pool, for mask allocator tests.
#pragma once

#include "dmakit/machine/machine.h"

namespace dmakit::testing {

/// 512 MiB of RAM without holes, a 1 MiB mask pool at [0, 1 MiB) (no bounce pool in it), ZONE_DMA32
/// below 256 MiB, and a short wait timeout.
inline machine::MachineConfig mask_machine_config(
    machine::MaskPoolSearch search = machine::MaskPoolSearch::NextFit, bool force = false) {
  machine::MachineConfig config;
  config.ram_size = 512 * kMiB;
  config.holes.clear();
  config.mask_pool_size = kMiB;
  config.swiotlb.size = 0;
  config.zone_dma32_limit = 256 * kMiB;
  config.mask_pool_search = search;
  config.mask_pool_force = force;
  config.mask_pool_wait_timeout = std::chrono::milliseconds(200);
  config.page_cache_shards = 2;
  config.vmalloc_size = 16 * kMiB;
  return config;
}

}  // namespace dmakit::testing
