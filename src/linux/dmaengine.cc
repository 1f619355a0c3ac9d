// SPDX-License-Identifier: Apache-2.0
// The C API's DMA engine (linux layer; dmaengine.h): the current machine's copy engine, made on
// first use, its channels as `struct dma_chan`, and seed 002's best-method copy.
#include "dmakit/linux/dmaengine.h"

#include <algorithm>

#include "dmakit/linux/dma-mapping.h"
#include "dmakit/linux/err.h"
#include "linux_machine.h"

using namespace dmakit;

// A descriptor as the C side sees it, and the channel's own behind it.
struct prepared_descriptor : dma_async_tx_descriptor {
  engine::Descriptor desc;
  std::uint64_t length;
};

namespace {

dmakit_machine_engine* engine_of_current() {
  dmakit_machine* m = linux_api::current_machine();
  if (m == nullptr) return nullptr;
  const std::scoped_lock guard(m->lock);
  if (!m->engine) {
    struct device* dev = linux_api::create_device(m, "dma-engine0", 0, /*machine_owned=*/true);
    if (dev == nullptr) return nullptr;
    (void)dma_set_mask_and_coherent(dev, ~u64{0});
    m->engine = std::make_unique<dmakit_machine_engine>(dev);
  }
  return m->engine.get();
}

engine::Capability capability_of(unsigned type) {
  switch (type) {
    case DMA_MEMSET:
      return engine::Capability::Memset;
    case DMA_SG:
      return engine::Capability::Sg;
    case DMA_INTERRUPT:
      return engine::Capability::Interrupt;
    default:
      return engine::Capability::Memcpy;
  }
}

dmaengine_result result_of(const engine::Completion& done, std::uint64_t length) {
  dmaengine_tx_result r = DMA_TRANS_NOERROR;
  if (!done.status)
    r = done.status.error().code == Errc::Fault ? DMA_TRANS_READ_FAILED : DMA_TRANS_ABORTED;
  return {r, static_cast<u32>(length - std::min(length, done.bytes))};
}

// The channel's completion of a C descriptor: its status kept for dma_async_is_tx_complete, the
// driver's callback run, and the descriptor freed, as the kernel's is once its callback has run.
void on_complete(void* context, const engine::Completion& done) {
  auto* p = static_cast<prepared_descriptor*>(context);
  if (!done.status) {
    const std::scoped_lock guard(p->chan->lock);
    p->chan->failed.insert(p->cookie);
  }
  const dmaengine_result result = result_of(done, p->length);
  if (p->callback_result != nullptr)
    p->callback_result(p->callback_param, &result);
  else if (p->callback != nullptr)
    p->callback(p->callback_param);
  delete p;
}

}  // namespace

extern "C" {

struct dma_chan* __dma_request_channel(const dma_cap_mask_t* mask, dma_filter_fn fn,
                                       void* fn_param) {
  dmakit_machine_engine* e = engine_of_current();
  if (e == nullptr || mask == nullptr) return nullptr;
  for (const std::unique_ptr<dma_chan>& chan : e->channels) {
    bool has_all = true;
    for (unsigned type = 0; type < DMA_TX_TYPE_END; ++type)
      has_all = has_all &&
                ((mask->bits[0] >> type & 1UL) == 0 || chan->channel->has(capability_of(type)));
    if (has_all && (fn == nullptr || fn(chan.get(), fn_param))) return chan.get();
  }
  linux_api::set_last_error("dma_request_channel: no channel has the capabilities asked for");
  return nullptr;
}

struct dma_chan* dma_request_chan_by_mask(const dma_cap_mask_t* mask) {
  struct dma_chan* chan = __dma_request_channel(mask, nullptr, nullptr);
  return chan != nullptr ? chan : static_cast<struct dma_chan*>(ERR_PTR(-ENODEV));
}

void dma_release_channel(struct dma_chan* /*chan*/) {}  // channels are shared; nothing to give back

struct device* dmaengine_get_dma_device(struct dma_chan* /*chan*/) {
  dmakit_machine_engine* e = engine_of_current();
  return e == nullptr ? nullptr : e->dev;
}

struct dma_async_tx_descriptor* dmaengine_prep_dma_memcpy(struct dma_chan* chan, dma_addr_t dest,
                                                          dma_addr_t src, size_t len,
                                                          unsigned long flags) {
  if (chan == nullptr) return nullptr;
  Result<engine::Descriptor> desc = chan->channel->prep_memcpy(DmaAddr(dest), DmaAddr(src), len);
  if (!desc) {
    linux_api::record("dmaengine_prep_dma_memcpy", desc.error());
    return nullptr;
  }
  auto* p =
      new prepared_descriptor{{0, flags, chan, nullptr, nullptr, nullptr}, std::move(*desc), len};
  return p;
}

dma_cookie_t dmaengine_submit(struct dma_async_tx_descriptor* desc) {
  if (desc == nullptr) return -EINVAL;
  auto* p = static_cast<prepared_descriptor*>(desc);
  // The channel owns the descriptor now: the C side lives until the callback.
  p->desc.set_callback(on_complete, p);
  desc->cookie = static_cast<dma_cookie_t>(p->chan->channel->submit(std::move(p->desc)));
  return desc->cookie;
}

void dma_async_issue_pending(struct dma_chan* chan) {
  if (chan != nullptr) chan->channel->issue_pending();
}

enum dma_status dma_async_is_tx_complete(struct dma_chan* chan, dma_cookie_t cookie,
                                         dma_cookie_t* last, dma_cookie_t* used) {
  if (last != nullptr) *last = cookie;
  if (used != nullptr) *used = cookie;
  if (chan == nullptr) return DMA_ERROR;
  if (chan->channel->status(static_cast<engine::Cookie>(cookie)) != engine::DmaStatus::Complete)
    return DMA_IN_PROGRESS;
  const std::scoped_lock guard(chan->lock);
  return chan->failed.contains(cookie) ? DMA_ERROR : DMA_COMPLETE;
}

enum dma_status dma_sync_wait(struct dma_chan* chan, dma_cookie_t cookie) {
  if (chan == nullptr) return DMA_ERROR;
  chan->channel->issue_pending();
  if (const Status ok = chan->channel->sync_wait(static_cast<engine::Cookie>(cookie)); !ok) {
    linux_api::record("dma_sync_wait", ok.error());
    return DMA_ERROR;
  }
  return dma_async_is_tx_complete(chan, cookie, nullptr, nullptr);
}

int dmaengine_terminate_sync(struct dma_chan* chan) {
  if (chan == nullptr) return -EINVAL;
  chan->channel->terminate_all();
  return 0;
}

int dma_async_memcpy(void* dst, const void* src, size_t len, dma_async_tx_callback_result callback,
                     void* param) {
  dmakit_machine_engine* e = engine_of_current();
  if (e == nullptr) return -ENODEV;
  struct Context {
    dma_async_tx_callback_result callback;
    void* param;
    std::uint64_t length;
  };
  auto* context = new Context{callback, param, len};
  (void)e->tx.copy_async(
      dst, src, len,
      [](void* c, const engine::Completion& done) {
        auto* ctx = static_cast<Context*>(c);
        const dmaengine_result result = result_of(done, ctx->length);
        if (ctx->callback != nullptr) ctx->callback(ctx->param, &result);
        delete ctx;
      },
      context);
  return 0;
}

}  // extern "C"
