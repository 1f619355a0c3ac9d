/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel base types for dmakit's Linux-compatible C API (linux layer): the kernel's names and
 * widths, usable from C11 and C++. */
#ifndef DMAKIT_LINUX_TYPES_H
#define DMAKIT_LINUX_TYPES_H

#include <errno.h> /* calls that fail return a negative errno value */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Conversions the headers' inline functions make, spelled for whichever language includes them. */
#ifdef __cplusplus
#define DMAKIT_REINTERPRET(type, value) reinterpret_cast<type>(value)
#define DMAKIT_STATIC(type, value) static_cast<type>(value)
#else
#define DMAKIT_REINTERPRET(type, value) ((type)(value))
#define DMAKIT_STATIC(type, value) ((type)(value))
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* A bus address as a device drives it: physical, IOVA, or offset, depending on the platform. */
typedef uint64_t dma_addr_t;
typedef uint64_t phys_addr_t;

/* A device on the simulated machine (dmakit_device_create) and a simulated page frame; both are
 * opaque, as drivers reach them only through the API. */
struct device;
struct page;

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

#endif /* DMAKIT_LINUX_TYPES_H */
