/* SPDX-License-Identifier: Apache-2.0 */
/* Setting up a simulated machine from C: RAM, the mask pool, bounce buffers, an IOMMU and its
 * policy, the misuse checker, and the devices drivers run against. The kernel-named calls of the
 * other headers act on the current machine: the newest one not yet destroyed. Destroying it makes
 * the one created before it (if still there) current again.
 *
 * Ownership: a machine owns its devices. dmakit_machine_destroy() ends every device of the
 * machine, but not the device handles: each handle stays readable until dmakit_device_destroy()
 * releases it, and any call with a handle whose machine is gone is refused (NULL, an error value
 * or DMA_MAPPING_ERROR, with "outlived its machine" in dmakit_last_error()) instead of touching
 * freed memory. So either order is safe: destroy the devices and then the machine, or the machine
 * and then the devices. Every handle dmakit_device_create() returned is released by exactly one
 * dmakit_device_destroy(); a second one is refused with a message. DMA pools (of a device) and
 * mempools (of a machine) follow the same rule: they end with their owner, and their handles stay,
 * refused by every call, until dma_pool_destroy() or mempool_destroy(). Memory handed out by any
 * of them goes with the machine. */
#ifndef DMAKIT_LINUX_MACHINE_H
#define DMAKIT_LINUX_MACHINE_H

#include "dmakit/linux/types.h"

#define DMAKIT_IOMMU_NONE 0
#define DMAKIT_IOMMU_STRICT 1
#define DMAKIT_IOMMU_LAZY 2
#define DMAKIT_IOMMU_PASSTHROUGH 3

struct dmakit_machine_config {
  uint64_t ram_bytes; /* simulated RAM; RAM above 4 GiB exists when > 3 GiB (PCI hole) */
  int numa_nodes;
  uint64_t mask_pool_bytes; /* mask allocator's reserved low pool */
  uint64_t swiotlb_bytes;   /* bounce pool, a multiple of 256 KiB; 0 = none */
  int iommu;                /* DMAKIT_IOMMU_NONE, _STRICT, _LAZY, _PASSTHROUGH */
  int dma_debug;            /* 1 = misuse checker on */
};

struct dmakit_machine;

#ifdef __cplusplus
extern "C" {
#endif

/* 8 GiB of RAM on one node, a 16 MiB mask pool, a 64 MiB bounce pool, no IOMMU, no checker. */
void dmakit_machine_config_default(struct dmakit_machine_config* cfg);
/* A machine, which becomes the current one; NULL with the reason in dmakit_last_error() for a
 * configuration that cannot work. */
struct dmakit_machine* dmakit_machine_create(const struct dmakit_machine_config* cfg);
/* Destroys the machine and ends its devices (their handles stay until dmakit_device_destroy()). A
 * pointer that is no live machine (destroyed already) is refused with a message on stderr. */
void dmakit_machine_destroy(struct dmakit_machine* m);

/* The kernel's "no particular node" (linux/numa.h), which a device's numa_node may be. */
#ifndef NUMA_NO_NODE
#define NUMA_NO_NODE (-1)
#endif

/* A device with the kernel's default 32-bit masks (as Linux gives PCI devices), behind the
 * machine's IOMMU when it has one, on node `numa_node` or NUMA_NO_NODE; NULL for a duplicate name,
 * a node the machine lacks or a destroyed machine. */
struct device* dmakit_device_create(struct dmakit_machine* m, const char* name, int numa_node);
/* Ends the device (if its machine has not already) and releases the handle. NULL is a no-op; a
 * handle released already is refused with a message on stderr. */
void dmakit_device_destroy(struct device* dev);
const char* dev_name(const struct device* dev);

/* The device's side of the bus: reads/writes by bus address through the platform. 0, -EFAULT on
 * a fault (nothing is touched), or -EINVAL for a NULL or stale device or a NULL buffer. */
int dmakit_device_read(struct device* dev, dma_addr_t addr, void* buf, size_t len);
int dmakit_device_write(struct device* dev, dma_addr_t addr, const void* buf, size_t len);

/* Misuse-checker reports so far (0 with dma_debug off), and the last one's class name, such as
 * "unmap-not-mapped" (NULL when none); each report is also printed to stderr. */
size_t dmakit_debug_report_count(struct dmakit_machine* m);
const char* dmakit_debug_last_report(struct dmakit_machine* m);
/* Counters of the whole machine as JSON, valid until the next call on the machine. */
const char* dmakit_machine_stats_json(struct dmakit_machine* m);

/* Why the calling thread's last failed call failed ("" when none has). */
const char* dmakit_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_MACHINE_H */
