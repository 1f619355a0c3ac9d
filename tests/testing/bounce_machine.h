// SPDX-License-Identifier: Apache-2.0
// Machines for bounce buffering tests: far more RAM than a narrow device reaches.
#pragma once

#include "dmakit/machine/machine.h"

namespace dmakit::testing {

/// 64 GiB of RAM with the PCI hole (RAM up to 65 GiB), a 4 MiB mask pool and a bounce
/// pool of `bounce` bytes in `areas` areas. Only touched pages cost host memory.
inline machine::MachineConfig bounce_machine_config(std::uint64_t bounce = 8 * kMiB,
                                                    unsigned areas = 2) {
  machine::MachineConfig config;
  config.ram_size = 64 * kGiB;
  // A small mask pool, so that the bounce pool, carved from the pool's top, still lies under
  // 16 MiB and serves 24-bit devices.
  config.mask_pool_size = 4 * kMiB;
  config.swiotlb.size = bounce;
  config.swiotlb.areas = areas;
  config.vmalloc_size = 16 * kMiB;
  return config;
}

}  // namespace dmakit::testing
