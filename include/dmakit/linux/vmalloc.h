/* SPDX-License-Identifier: Apache-2.0 */
/* Virtually contiguous memory (linux/vmalloc.h): pages scattered in physical memory behind one
 * virtual range, so not one DMA buffer (seed 004). */
#ifndef DMAKIT_LINUX_VMALLOC_H
#define DMAKIT_LINUX_VMALLOC_H

#include "dmakit/linux/types.h"

#ifdef __cplusplus
extern "C" {
#endif

void* vmalloc(unsigned long size);
void* vzalloc(unsigned long size);
void vfree(const void* addr);
struct page* vmalloc_to_page(const void* addr);
bool is_vmalloc_addr(const void* addr);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_VMALLOC_H */
