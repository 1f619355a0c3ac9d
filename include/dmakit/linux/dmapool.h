/* SPDX-License-Identifier: Apache-2.0 */
/* DMA pools (linux/dmapool.h): small blocks of coherent memory for one device. */
#ifndef DMAKIT_LINUX_DMAPOOL_H
#define DMAKIT_LINUX_DMAPOOL_H

#include "dmakit/linux/gfp.h"
#include "dmakit/linux/types.h"

struct dma_pool;

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks of `size` bytes aligned to `align` (a power of two; 0 means none), none crossing a
 * multiple of `boundary` (0 means none); NULL for arguments that cannot work. */
struct dma_pool* dma_pool_create(const char* name, struct device* dev, size_t size, size_t align,
                                 size_t boundary);
void* dma_pool_alloc(struct dma_pool* pool, gfp_t gfp, dma_addr_t* handle);
void* dma_pool_zalloc(struct dma_pool* pool, gfp_t gfp, dma_addr_t* handle);
void dma_pool_free(struct dma_pool* pool, void* vaddr, dma_addr_t addr);
/* Frees the pool; blocks still allocated are reported and leaked, as the kernel does. */
void dma_pool_destroy(struct dma_pool* pool);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_DMAPOOL_H */
