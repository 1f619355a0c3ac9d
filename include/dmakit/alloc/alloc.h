// SPDX-License-Identifier: Apache-2.0
// Umbrella header of the alloc layer: memory below a DMA mask (seeds 003 and 000).
#pragma once

#include "dmakit/alloc/block_bitmap.h"
#include "dmakit/alloc/kmalloc_mask.h"
#include "dmakit/alloc/mask_allocator.h"
#include "dmakit/alloc/mask_mempool.h"
#include "dmakit/alloc/page_bitmap.h"
