/* SPDX-License-Identifier: Apache-2.0 */
/* The DMA-mapping API (linux/dma-mapping.h) over dmakit's mapping layer: masks, streaming maps
 * and syncs, scatter/gather, coherent memory, device-declared memory (seed 001) and the reverse
 * lookup (seed 004). Every call goes through the device's platform: direct, bounce buffers, or an
 * IOMMU, and the misuse checker when the machine has it on. Calls that return nothing report bad
 * arguments on stderr and in dmakit_last_error(). */
#ifndef DMAKIT_LINUX_DMA_MAPPING_H
#define DMAKIT_LINUX_DMA_MAPPING_H

#include "dmakit/linux/gfp.h"
#include "dmakit/linux/scatterlist.h"
#include "dmakit/linux/types.h"

enum dma_data_direction {
  DMA_BIDIRECTIONAL = 0,
  DMA_TO_DEVICE = 1,
  DMA_FROM_DEVICE = 2,
  DMA_NONE = 3,
};

#define DMA_BIT_MASK(n) (((n) == 64) ? ~0ULL : ((1ULL << (n)) - 1))
#define DMA_MAPPING_ERROR (~UINT64_C(0))

/* dma_declare_coherent_memory() flags, with the values of the kernel of seed 001's era. */
#define DMA_MEMORY_MAP 0x01
#define DMA_MEMORY_IO 0x02
#define DMA_MEMORY_INCLUDES_CHILDREN 0x04
#define DMA_MEMORY_EXCLUSIVE 0x08

#ifdef __cplusplus
extern "C" {
#endif

/* 0, or -EIO when the platform cannot give the device addresses under `mask`. */
int dma_set_mask(struct device* dev, u64 mask);
int dma_set_coherent_mask(struct device* dev, u64 mask);
int dma_set_mask_and_coherent(struct device* dev, u64 mask);
u64 dma_get_mask(struct device* dev);
int dma_supported(struct device* dev, u64 mask);

dma_addr_t dma_map_single(struct device* dev, void* ptr, size_t size, enum dma_data_direction dir);
void dma_unmap_single(struct device* dev, dma_addr_t addr, size_t size,
                      enum dma_data_direction dir);
/* DMA_MAPPING_ERROR, with the reason in dmakit_last_error(), for an offset or size above 2^48
 * bytes (which `page + offset` could wrap) as for any other failure. */
dma_addr_t dma_map_page(struct device* dev, struct page* page, size_t offset, size_t size,
                        enum dma_data_direction dir);
void dma_unmap_page(struct device* dev, dma_addr_t addr, size_t size, enum dma_data_direction dir);
/* -ENOMEM when `addr` is DMA_MAPPING_ERROR, else 0. */
int dma_mapping_error(struct device* dev, dma_addr_t addr);

/* Maps `nents` entries and returns the DMA segments written to the first entries (fewer where
 * adjacent entries merge); 0 on failure, with nothing mapped. A list that ends before `nents`
 * entries, or chains back to an entry already walked, is refused. */
int dma_map_sg(struct device* dev, struct scatterlist* sg, int nents, enum dma_data_direction dir);
/* Takes the `nents` passed to dma_map_sg(), not the count it returned. */
void dma_unmap_sg(struct device* dev, struct scatterlist* sg, int nents,
                  enum dma_data_direction dir);

void dma_sync_single_for_cpu(struct device* dev, dma_addr_t addr, size_t size,
                             enum dma_data_direction dir);
void dma_sync_single_for_device(struct device* dev, dma_addr_t addr, size_t size,
                                enum dma_data_direction dir);
void dma_sync_sg_for_cpu(struct device* dev, struct scatterlist* sg, int nelems,
                         enum dma_data_direction dir);
void dma_sync_sg_for_device(struct device* dev, struct scatterlist* sg, int nelems,
                            enum dma_data_direction dir);

/* The largest single mapping the device's path can take (the bounce buffer's limit, or SIZE_MAX).
 */
size_t dma_max_mapping_size(struct device* dev);

/* Zeroed memory the device and the CPU share, under the coherent mask; *handle gets its bus
 * address. NULL when none can be had. */
void* dma_alloc_coherent(struct device* dev, size_t size, dma_addr_t* handle, gfp_t gfp);
void dma_free_coherent(struct device* dev, size_t size, void* cpu, dma_addr_t handle);

/* Seed 001: memory on the device at `bus_addr` (in the machine's PCI hole, 3 to 4 GiB; the
 * machine backs it with real bytes), seen by the device at `device_addr`, serves the device's
 * coherent allocations. Returns DMA_MEMORY_MAP or DMA_MEMORY_IO on success, 0 on failure. */
int dma_declare_coherent_memory(struct device* dev, dma_addr_t bus_addr, dma_addr_t device_addr,
                                size_t size, int flags);
void dma_release_declared_memory(struct device* dev);
/* Reserves part of declared memory; its CPU address, or ERR_PTR(-EINVAL/-EBUSY). */
void* dma_mark_declared_memory_occupied(struct device* dev, dma_addr_t device_addr, size_t size);

/* Seed 004's reverse lookup: the CPU address a live mapping of `addr` stands for (the original
 * buffer when it was bounced), or NULL. */
void* dma_to_virt(struct device* dev, dma_addr_t addr);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_DMA_MAPPING_H */
