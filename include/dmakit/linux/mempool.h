/* SPDX-License-Identifier: Apache-2.0 */
/* Memory pools (linux/mempool.h) with seed 003's mask-bounded constructor: a reserve of elements
 * below a DMA mask so that I/O always makes progress. */
#ifndef DMAKIT_LINUX_MEMPOOL_H
#define DMAKIT_LINUX_MEMPOOL_H

#include "dmakit/linux/gfp.h"
#include "dmakit/linux/types.h"

typedef struct mempool_s mempool_t;

#ifdef __cplusplus
extern "C" {
#endif

/* `min_nr` elements of `size` bytes lying below `mask` kept in reserve; NULL when they cannot be
 * had. */
mempool_t* mempool_create_pool_pmask(int min_nr, int size, u64 mask);
/* An element: fresh memory below the mask, else one from the reserve; with __GFP_WAIT
 * (GFP_KERNEL) it waits for one to be freed rather than fail. */
void* mempool_alloc(mempool_t* pool, gfp_t gfp);
void mempool_free(void* element, mempool_t* pool);
void mempool_destroy(mempool_t* pool);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_MEMPOOL_H */
