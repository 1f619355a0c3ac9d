// SPDX-License-Identifier: Apache-2.0
// MaskZone: what serves GFP_DMA requests on a machine whose low memory is a mask pool instead of
// ZONE_DMA (machine layer; seed 003, and the 2008 patches' GFP_DMA compatibility hooks).
#pragma once

#include <cstdint>

#include "dmakit/core/result.h"
#include "dmakit/machine/gfp.h"
#include "dmakit/machine/page.h"

namespace dmakit::machine {

/// Implemented by the mask allocator (alloc layer), which attaches itself to the PageAllocator so
/// that code written for zones keeps working: a GFP_DMA request goes to the pool with a 24-bit
/// mask, and a page of the pool freed through the page allocator goes back to the pool.
///
/// Contract: alloc_dma_pages() returns 2^order contiguous pages wholly below 16 MiB or an error;
/// free_pool_pages() takes back exactly what alloc_dma_pages() returned, refusing anything else
/// with an error and freeing nothing.
class MaskZone {
 public:
  virtual ~MaskZone() = default;
  [[nodiscard]] virtual Result<Page*> alloc_dma_pages(Gfp gfp, unsigned order) = 0;
  [[nodiscard]] virtual Status free_pool_pages(Page* page, std::uint64_t pages) = 0;
};

}  // namespace dmakit::machine
