/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation flags (linux/gfp.h) and the page allocator's calls, with the kernel's meaning on the
 * simulated machine: GFP_KERNEL may wait for memory, GFP_ATOMIC never does; GFP_DMA and GFP_DMA32
 * cap the zone. */
#ifndef DMAKIT_LINUX_GFP_H
#define DMAKIT_LINUX_GFP_H

#include "dmakit/linux/types.h"

typedef unsigned int gfp_t;

#define __GFP_DMA 0x01u      /* highest zone ZONE_DMA */
#define __GFP_DMA32 0x02u    /* highest zone ZONE_DMA32 */
#define __GFP_ZERO 0x04u     /* zero the memory */
#define __GFP_THISNODE 0x08u /* the preferred node only */
#define __GFP_WAIT 0x10u     /* may sleep until memory is freed (the mask pool, mempools) */
#define __GFP_NOWARN 0x20u   /* no failure report */

#define GFP_ATOMIC 0u
#define GFP_NOWAIT 0u
#define GFP_KERNEL __GFP_WAIT
#define GFP_DMA __GFP_DMA
#define GFP_DMA32 __GFP_DMA32

#ifdef __cplusplus
extern "C" {
#endif

/* 2^order contiguous pages of the current machine, from the highest zone the flags allow (RAM
 * above 4 GiB first, when the machine has it); NULL when none are free. */
struct page* alloc_pages(gfp_t gfp, unsigned int order);
struct page* alloc_page(gfp_t gfp);
void __free_pages(struct page* page, unsigned int order);
void __free_page(struct page* page);
/* The same, by kernel virtual address. */
unsigned long __get_free_pages(gfp_t gfp, unsigned int order);
void free_pages(unsigned long addr, unsigned int order);

/* Seed 003's mask allocator: `size` bytes (rounded up to pages, no power-of-two rounding) lying
 * wholly at or below `mask`, from the normal allocator first and then the reserved low pool. */
struct page* alloc_pages_mask(gfp_t gfp, unsigned size, u64 mask);
void __free_pages_mask(struct page* page, unsigned size);
void* get_pages_mask(gfp_t gfp, unsigned size, u64 mask);
void free_pages_mask(void* mem, unsigned size);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_GFP_H */
