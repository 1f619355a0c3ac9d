/* SPDX-License-Identifier: Apache-2.0 */
/* The DMA engine API (linux/dmaengine.h) over dmakit's engine, and seed 002's one call,
 * dma_async_memcpy(). The current machine has one copy engine, a 64-bit device behind the
 * machine's IOMMU when it has one, with two channels; drivers map their buffers for the device
 * dmaengine_get_dma_device() names and prepare descriptors on bus addresses. That device and the
 * channels belong to the machine: dmakit_device_destroy() refuses the device, and both are gone
 * with the machine. */
#ifndef DMAKIT_LINUX_DMAENGINE_H
#define DMAKIT_LINUX_DMAENGINE_H

#include "dmakit/linux/types.h"

typedef int32_t dma_cookie_t; /* positive, increasing, wrapping back to 1 */

enum dma_status { DMA_COMPLETE, DMA_IN_PROGRESS, DMA_PAUSED, DMA_ERROR };

enum dma_transaction_type { DMA_MEMCPY, DMA_MEMSET, DMA_SG, DMA_INTERRUPT, DMA_TX_TYPE_END };

typedef struct {
  unsigned long bits[1];
} dma_cap_mask_t;

static inline void __dma_cap_zero(dma_cap_mask_t* mask) { mask->bits[0] = 0; }
static inline void __dma_cap_set(enum dma_transaction_type type, dma_cap_mask_t* mask) {
  mask->bits[0] |= 1UL << type;
}
#define dma_cap_zero(mask) __dma_cap_zero(&(mask))
#define dma_cap_set(type, mask) __dma_cap_set((type), &(mask))

/* Descriptor flags; accepted and otherwise unused (every descriptor completes with a callback). */
#define DMA_PREP_INTERRUPT (1UL << 0)
#define DMA_CTRL_ACK (1UL << 1)

enum dmaengine_tx_result {
  DMA_TRANS_NOERROR = 0,
  DMA_TRANS_READ_FAILED,  /* an access was refused (IOMMU fault, beyond reach): nothing written */
  DMA_TRANS_WRITE_FAILED, /* not reported: dmakit checks both sides before it writes */
  DMA_TRANS_ABORTED,      /* terminated before it ran, a dependency failed, or input refused */
};

struct dmaengine_result {
  enum dmaengine_tx_result result;
  u32 residue; /* bytes not transferred */
};

typedef void (*dma_async_tx_callback)(void* dma_async_param);
typedef void (*dma_async_tx_callback_result)(void* dma_async_param,
                                             const struct dmaengine_result* result);

struct dma_chan;

/* A prepared transfer. Set `callback` (or `callback_result`) and `callback_param` before
 * dmaengine_submit(); the descriptor belongs to the channel from then on and is gone once its
 * callback has run. */
struct dma_async_tx_descriptor {
  dma_cookie_t cookie;
  unsigned long flags;
  struct dma_chan* chan;
  dma_async_tx_callback callback;
  dma_async_tx_callback_result callback_result;
  void* callback_param;
};

typedef bool (*dma_filter_fn)(struct dma_chan* chan, void* filter_param);

#ifdef __cplusplus
extern "C" {
#endif

/* A channel with every capability in `mask`, the least busy one; ERR_PTR(-ENODEV) when none. */
struct dma_chan* dma_request_chan_by_mask(const dma_cap_mask_t* mask);
/* The same, also accepted by `fn` (NULL accepts all); NULL when none. */
struct dma_chan* __dma_request_channel(const dma_cap_mask_t* mask, dma_filter_fn fn,
                                       void* fn_param);
#define dma_request_channel(mask, fn, param) __dma_request_channel(&(mask), (fn), (param))
void dma_release_channel(struct dma_chan* chan);
/* The device to map buffers for before preparing descriptors on this channel. */
struct device* dmaengine_get_dma_device(struct dma_chan* chan);

/* A copy of `len` bytes between bus addresses of the engine's device; NULL for input the channel
 * refuses (zero length, overlap, beyond its maximum transfer or its reach), with the reason in
 * dmakit_last_error(). */
struct dma_async_tx_descriptor* dmaengine_prep_dma_memcpy(struct dma_chan* chan, dma_addr_t dest,
                                                          dma_addr_t src, size_t len,
                                                          unsigned long flags);
dma_cookie_t dmaengine_submit(struct dma_async_tx_descriptor* desc);
/* Starts what was submitted: nothing runs before. */
void dma_async_issue_pending(struct dma_chan* chan);
/* DMA_COMPLETE, DMA_ERROR (it completed but failed) or DMA_IN_PROGRESS; `last` and `used`, when
 * not NULL, get `cookie`. */
enum dma_status dma_async_is_tx_complete(struct dma_chan* chan, dma_cookie_t cookie,
                                         dma_cookie_t* last, dma_cookie_t* used);
/* Waits for `cookie` (issuing pending work first), giving up after 5 s with DMA_ERROR. */
enum dma_status dma_sync_wait(struct dma_chan* chan, dma_cookie_t cookie);
/* Completes everything not yet run with DMA_TRANS_ABORTED and waits for running callbacks. */
int dmaengine_terminate_sync(struct dma_chan* chan);

/* Seed 002: copies `len` bytes between direct-map buffers by the best method available now, a CPU
 * copy when that is cheaper or no channel can take it, else the engine (the buffers are mapped
 * for it and unmapped after). `callback` (may be NULL) runs exactly once with the outcome, possibly
 * before the call returns. 0, or -ENODEV with no current machine (then nothing runs). */
int dma_async_memcpy(void* dst, const void* src, size_t len, dma_async_tx_callback_result callback,
                     void* param);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LINUX_DMAENGINE_H */
