/* SPDX-License-Identifier: Apache-2.0 */
/* Pages and their addresses (linux/mm.h) on the current simulated machine. */
#ifndef DMAKIT_LINUX_MM_H
#define DMAKIT_LINUX_MM_H

#include "dmakit/linux/gfp.h"
#include "dmakit/linux/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel virtual address of a page: a pointer to its real bytes. */
void* page_address(const struct page* page);
/* The page holding a kernel virtual address of the direct map; NULL for any other pointer. */
struct page* virt_to_page(const void* addr);
phys_addr_t page_to_phys(const struct page* page);
unsigned long page_to_pfn(const struct page* page);
struct page* pfn_to_page(unsigned long pfn);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_MM_H */
