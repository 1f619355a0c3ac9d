/* SPDX-License-Identifier: Apache-2.0 */
/* Error pointers, as linux/err.h: the top 4095 addresses carry a negative errno. */
#ifndef DMAKIT_LINUX_ERR_H
#define DMAKIT_LINUX_ERR_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "dmakit/linux/types.h"

#define MAX_ERRNO 4095

static inline void* ERR_PTR(long error) {
  return DMAKIT_REINTERPRET(void*, DMAKIT_STATIC(intptr_t, error));
}
static inline long PTR_ERR(const void* ptr) {
  return DMAKIT_STATIC(long, DMAKIT_REINTERPRET(intptr_t, ptr));
}
static inline bool IS_ERR(const void* ptr) {
  return DMAKIT_REINTERPRET(uintptr_t, ptr) >= DMAKIT_STATIC(uintptr_t, -MAX_ERRNO);
}
static inline bool IS_ERR_OR_NULL(const void* ptr) { return !ptr || IS_ERR(ptr); }

#endif /* DMAKIT_LINUX_ERR_H */
