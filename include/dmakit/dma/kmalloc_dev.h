// SPDX-License-Identifier: Apache-2.0
// kmalloc_dev(): memory a device can reach, near it (dma layer; seed 000's proposal: "the advantage
// of also being able to allocate local memory on a NUMA system").
#pragma once

#include <cstdint>

#include "dmakit/alloc/kmalloc_mask.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/direct.h"

namespace dmakit::dma {

/// kmalloc_mask() under what the device can reach (its DMA mask and bus limit, through its bus
/// offset), trying the device's NUMA node first and falling back to the other nodes. Errors as
/// KmallocMask::kmalloc_mask; free with KmallocMask::kfree.
[[nodiscard]] inline Result<std::byte*> kmalloc_dev(alloc::KmallocMask& kmalloc, std::uint64_t size,
                                                    machine::Gfp gfp, const Device& device) {
  return kmalloc.kmalloc_mask(size, gfp, detail::phys_mask_under(device, device.streaming_limit()),
                              device.numa_node());
}

}  // namespace dmakit::dma
