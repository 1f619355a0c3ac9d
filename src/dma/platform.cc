// SPDX-License-Identifier: Apache-2.0
// A machine with its DMA facilities (dma layer).
#include "dmakit/dma/platform.h"

#include <algorithm>

#include "dmakit/dma/device.h"

namespace dmakit::dma {

Platform::Platform(machine::Machine& machine) : machine_(machine) {
  if (!machine.layout().mask_pool.empty()) mask_ = std::make_unique<alloc::MaskAllocator>(machine);
}

Platform::~Platform() = default;

void Platform::remove_device(Device* device) { std::erase(devices_, device); }

}  // namespace dmakit::dma
