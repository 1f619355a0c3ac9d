/* SPDX-License-Identifier: Apache-2.0 */
/* Small allocations (linux/slab.h), plus seed 000's kmalloc_mask and kmalloc_dev: bytes wholly
 * below a DMA mask, and for kmalloc_dev below the device's mask on its NUMA node. */
#ifndef DMAKIT_LINUX_SLAB_H
#define DMAKIT_LINUX_SLAB_H

#include "dmakit/linux/gfp.h"
#include "dmakit/linux/types.h"

#ifdef __cplusplus
extern "C" {
#endif

void* kmalloc(size_t size, gfp_t gfp);
void* kzalloc(size_t size, gfp_t gfp);
void* kcalloc(size_t n, size_t size, gfp_t gfp);
void* kmalloc_mask(size_t size, gfp_t gfp, u64 mask);
void* kmalloc_dev(size_t size, gfp_t gfp, struct device* dev);
/* Frees any of the above; NULL is ignored. */
void kfree(const void* ptr);
size_t ksize(const void* ptr);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_SLAB_H */
