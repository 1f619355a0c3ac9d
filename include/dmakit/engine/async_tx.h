// SPDX-License-Identifier: Apache-2.0
// AsyncTx: "a function which arranges for a copy operation to happen using the best method
// available at the moment" (seed 002), asynchronous, with a callback on completion (engine layer;
// Linux's async_tx over dmaengine). Copies, fills and scatter/gather copies of CPU buffers in the
// machine's memory, done inline by the calling CPU or offloaded to a channel of an engine, with
// completion handles, dependencies and fences.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "dmakit/core/stats.h"
#include "dmakit/dma/scatterlist.h"
#include "dmakit/engine/channel.h"
#include "dmakit/engine/descriptor.h"
#include "dmakit/engine/dma_engine.h"

namespace dmakit::engine {

namespace detail {
struct TxState;
struct Op;
}  // namespace detail

/// A completion handle: what an AsyncTx call returns, to poll, wait on, or make later operations
/// depend on. Copyable; an empty (default) handle is complete.
class TxHandle {
 public:
  TxHandle() = default;

  /// True once the operation's callback has returned.
  [[nodiscard]] bool is_complete() const;
  /// Waits until is_complete(), then returns the operation's status; Timeout after `timeout`
  /// (5 s by default, as dma_sync_wait). When the channels poll (WaitMode::Poll) and leave a CPU
  /// spare, it polls to the end as dma_sync_wait does; otherwise it polls briefly, then sleeps.
  /// Must not be called from a callback of the engine's channels for work that needs that channel.
  [[nodiscard]] Status wait(std::chrono::nanoseconds timeout = kSyncWaitTimeout) const;
  /// The completion record once complete; null before.
  [[nodiscard]] const Completion* result() const;

 private:
  friend class AsyncTx;
  explicit TxHandle(std::shared_ptr<detail::TxState> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::TxState> state_;
};

/// How an operation is to be started.
struct TxOptions {
  /// The operation starts only once all of these have completed (async_tx's depend_tx, any
  /// number); if one of them failed, it completes with Aborted and moves nothing.
  std::span<const TxHandle> after{};
  /// Never run the callback before the call returns: an inline copy reports through a channel's
  /// interrupt descriptor instead.
  bool defer_callback = false;
};

/// A snapshot of an AsyncTx's counters.
struct AsyncTxStats {
  std::uint64_t inline_ops = 0;
  std::uint64_t inline_bytes = 0;
  std::uint64_t offloaded_ops = 0;
  std::uint64_t offloaded_bytes = 0;
  std::uint64_t fallbacks = 0;  ///< meant for a channel, copied inline: the buffers could not be
                                ///< mapped for the engine (no bounce slot, no IOVA space, ...)
  std::uint64_t refused = 0;    ///< completed with InvalidArgument (bad input)
};

/// The best-method copy service over one engine. Every call returns a handle and runs its callback
/// exactly once, with a status:
/// - input that cannot be copied (zero length, overlapping source and destination, scatter/gather
///   lists of different lengths) completes with InvalidArgument and touches nothing;
/// - copies shorter than the inline threshold, longer than the engine's max transfer, or that no
///   channel can take now (none has the capability, all hold queue_limit descriptors, or the
///   buffers cannot be mapped for the engine) are done by the calling CPU, and their callback
///   runs before the call returns unless TxOptions::defer_callback is set (as async_tx's
///   synchronous path does);
/// - the rest are mapped for the engine's device (bounce buffers or IOMMU as its DMA ops decide),
///   run by a channel, unmapped, and completed on that channel's thread in its order. An access
///   the engine's IOMMU refuses completes with Fault and no byte written.
/// Operations with dependencies, or after a fence, are started by whichever thread completes what
/// they wait for.
///
/// Buffers are CPU pointers into the machine's direct map (others can only be copied inline), and
/// must stay valid, and untouched by the CPU, until the callback runs; sg tables likewise.
/// Thread-safe. Destruction waits for every operation started through it; do not destroy it from
/// one of its callbacks. The engine must outlive it.
class AsyncTx {
 public:
  /// Uses the engine's configured inline threshold, or else the host's, measured the first time an
  /// AsyncTx needs it (a few hundred copies; then cached for the process).
  explicit AsyncTx(DmaEngine& engine);
  ~AsyncTx();

  AsyncTx(const AsyncTx&) = delete;
  AsyncTx& operator=(const AsyncTx&) = delete;

  /// Copies `length` bytes from `src` to `dst`.
  TxHandle copy_async(void* dst, const void* src, std::uint64_t length, Callback callback,
                      void* context, const TxOptions& options = {});
  /// Fills `length` bytes at `dst` with `value`.
  TxHandle memset_async(void* dst, std::byte value, std::uint64_t length, Callback callback,
                        void* context, const TxOptions& options = {});
  /// Copies the bytes of `src`'s entries, in order, to those of `dst`'s (same total length).
  TxHandle copy_sg_async(dma::SgTable& dst, dma::SgTable& src, Callback callback, void* context,
                         const TxOptions& options = {});
  /// A handle that completes once everything started before it has completed; everything started
  /// after it waits for it (async_tx's FENCE). A fence completes with ok even when something before
  /// it failed: it orders, it does not propagate errors.
  TxHandle fence();

  [[nodiscard]] DmaEngine& engine() const { return engine_; }
  /// Copies shorter than this many bytes are done inline.
  [[nodiscard]] std::uint64_t inline_threshold() const {
    return threshold_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] AsyncTxStats stats() const;

 private:
  friend struct detail::Op;
  [[nodiscard]] detail::Op* new_op();
  void retire(detail::Op* op);
  TxHandle start(detail::Op* op, const TxOptions& options, bool is_fence);
  static void launch(detail::Op* first);
  [[nodiscard]] bool offload(detail::Op* op);
  void run_inline(detail::Op* op);
  void finish(detail::Op* op, const Completion& done);
  [[nodiscard]] std::uint64_t measure_threshold();
  static void on_offloaded(void* context, const Completion& done);
  static void on_deferred(void* context, const Completion& done);

  DmaEngine& engine_;
  std::atomic<std::uint64_t> threshold_;
  /// Handles wait by polling, never sleeping: the channels poll (WaitMode::Poll) and leave a CPU
  /// for the waiter. With no CPU spare, a polling waiter would take one from a worker.
  const bool poll_waits_;

  std::mutex drain_lock_;  ///< the last decrement of in_flight_ and the destructor's wait
  std::condition_variable drained_;
  std::atomic<std::uint64_t> in_flight_{0};

  // Finished operations, reused by the next call: a completion runs on a channel's thread, and
  // freeing there what the caller's thread allocated makes both contend for the allocator's lock.
  std::mutex retired_lock_;
  std::vector<detail::Op*> retired_;  ///< guarded by retired_lock_; capacity fixed at start

  std::mutex order_lock_;
  std::shared_ptr<detail::TxState> fence_;                     ///< guarded by order_lock_
  std::vector<std::shared_ptr<detail::TxState>> since_fence_;  ///< guarded by order_lock_

  Counter inline_ops_;
  Counter inline_bytes_;
  Counter offloaded_ops_;
  Counter offloaded_bytes_;
  Counter fallbacks_;
  Counter refused_;
};

}  // namespace dmakit::engine
