// SPDX-License-Identifier: Apache-2.0
// The best-method copy service (engine layer; seed 002's first paragraph, Linux's async_tx).
//
// An operation is an Op from start to callback. start() registers it with what it waits for (its
// `after` handles and the current fence); the last of those to complete launches it, on that
// thread. launch() checks the input, then offloads (pick the least busy capable channel, map the
// buffers for the engine's device, prepare, submit, issue) or copies inline. finish() runs the
// callback, publishes the result to the handle, launches the dependents and frees the Op. Launches
// triggered from inside a finish() are queued on the thread and run by the outermost one, so a
// long chain of inline completions does not grow the stack.
#include "dmakit/engine/async_tx.h"

#include <algorithm>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <thread>

#include "dmakit/core/assert.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/mapping.h"
#include "engine/interval.h"
#include "engine/spin.h"

namespace dmakit::engine {

namespace detail {

struct TxState {
  std::atomic<bool> done{false};  ///< set under lock, after result
  bool poll_wait = false;  ///< wait() polls to the end, as dma_sync_wait (AsyncTx::poll_waits_)
  Completion result;
  std::mutex lock;
  std::condition_variable completed;  ///< for waiters that stopped polling
  std::vector<Op*> dependents;        ///< launched when this completes; guarded by lock
};

struct Op {
  enum class Kind : std::uint8_t { Copy, Memset, CopySg, Fence };

  AsyncTx* tx = nullptr;
  Kind kind = Kind::Copy;
  std::byte* dst = nullptr;
  const std::byte* src = nullptr;
  std::uint64_t length = 0;
  std::byte fill{0};
  dma::SgTable* dst_sg = nullptr;
  dma::SgTable* src_sg = nullptr;
  Callback callback = nullptr;
  void* context = nullptr;
  bool defer = false;
  std::shared_ptr<TxState> state;
  std::atomic<unsigned> waiting{1};  ///< dependencies not complete, plus one while starting
  std::atomic<bool> dependency_failed{false};
  DmaAddr dst_dma{};
  DmaAddr src_dma{};
  Completion deferred;  ///< an inline result waiting for its interrupt descriptor
};

// Retired operations kept for reuse at most; beyond, they are freed.
constexpr std::size_t kRetiredOps = 256;

}  // namespace detail

using detail::Op;
using detail::TxState;

namespace {

using Clock = std::chrono::steady_clock;

// Ops launched by a finish() on this thread, run by the outermost launcher.
thread_local std::vector<Op*>* launch_queue = nullptr;

Capability capability_of(Op::Kind kind) {
  switch (kind) {
    case Op::Kind::Copy:
      return Capability::Memcpy;
    case Op::Kind::Memset:
      return Capability::Memset;
    case Op::Kind::CopySg:
      return Capability::Sg;
    case Op::Kind::Fence:
      break;
  }
  return Capability::Interrupt;
}

std::byte* cpu_of(const machine::Machine& m, const dma::ScatterEntry& e) {
  return m.page_address(e.page) + e.offset;
}

detail::Intervals cpu_intervals(const machine::Machine& m, const dma::SgTable& t) {
  detail::Intervals out;
  for (const dma::ScatterEntry& e : t.entries()) {
    const auto start = reinterpret_cast<std::uintptr_t>(cpu_of(m, e));
    out.push_back({start, start + e.length});
  }
  return out;
}

// Why the CPU could not copy `op`, or ok.
Status check_input(const machine::Machine& m, const Op& op) {
  if (op.kind == Op::Kind::CopySg) {
    if (op.dst_sg->length() != op.src_sg->length() || op.dst_sg->length() == 0)
      return fail(Errc::InvalidArgument,
                  "scatter/gather copy of {} bytes into {}: lengths must be equal and non-zero",
                  op.src_sg->length(), op.dst_sg->length());
    detail::Intervals dst = cpu_intervals(m, *op.dst_sg);
    detail::Intervals src = cpu_intervals(m, *op.src_sg);
    if (detail::any_overlap(dst, src))
      return fail(Errc::InvalidArgument, "scatter/gather copy: source and destination overlap");
    return {};
  }
  if (op.length == 0) return fail(Errc::InvalidArgument, "operation of 0 bytes");
  if (op.dst == nullptr || (op.kind == Op::Kind::Copy && op.src == nullptr))
    return fail(Errc::InvalidArgument, "null buffer");
  if (op.kind == Op::Kind::Copy) {
    const auto d = reinterpret_cast<std::uintptr_t>(op.dst);
    const auto s = reinterpret_cast<std::uintptr_t>(op.src);
    if (d < s + op.length && s < d + op.length)
      return fail(Errc::InvalidArgument, "copy of {} bytes from {} to {}: the buffers overlap",
                  op.length, static_cast<const void*>(op.src), static_cast<const void*>(op.dst));
  }
  return {};
}

void copy_sg_inline(const machine::Machine& m, const dma::SgTable& dst, const dma::SgTable& src) {
  const auto d = dst.entries();
  const auto s = src.entries();
  std::size_t i = 0;
  std::size_t j = 0;
  std::uint64_t i_off = 0;
  std::uint64_t j_off = 0;
  while (i < d.size() && j < s.size()) {
    const std::uint64_t n = std::min<std::uint64_t>(d[i].length - i_off, s[j].length - j_off);
    std::memcpy(cpu_of(m, d[i]) + i_off, cpu_of(m, s[j]) + j_off, n);
    i_off += n;
    j_off += n;
    if (i_off == d[i].length) ++i, i_off = 0;
    if (j_off == s[j].length) ++j, j_off = 0;
  }
}

std::vector<BusSegment> segments_of(const dma::SgTable& t) {
  std::vector<BusSegment> out;
  out.reserve(t.nents());
  for (std::size_t k = 0; k < t.nents(); ++k)
    out.push_back({t.entries()[k].dma_address, t.entries()[k].dma_length});
  return out;
}

void unmap(dma::Device& dev, Op& op) {
  // The engine wrote the destination (FROM_DEVICE: copied back out of a bounce buffer here).
  switch (op.kind) {
    case Op::Kind::Copy:
      DMAKIT_CHECK(dma::unmap_single(dev, op.src_dma, op.length, Direction::ToDevice).has_value(),
                   "{}: unmapping an engine source failed", dev.name());
      [[fallthrough]];
    case Op::Kind::Memset:
      DMAKIT_CHECK(dma::unmap_single(dev, op.dst_dma, op.length, Direction::FromDevice).has_value(),
                   "{}: unmapping an engine destination failed", dev.name());
      return;
    case Op::Kind::CopySg:
      DMAKIT_CHECK(dma::unmap_sg(dev, *op.src_sg, Direction::ToDevice).has_value() &&
                       dma::unmap_sg(dev, *op.dst_sg, Direction::FromDevice).has_value(),
                   "{}: unmapping engine scatter/gather lists failed", dev.name());
      return;
    case Op::Kind::Fence:
      return;
  }
}

// Maps what `op` moves for the engine's device. On failure nothing stays mapped.
Status map(dma::Device& dev, Op& op) {
  switch (op.kind) {
    case Op::Kind::Copy: {
      const Result<DmaAddr> src = dma::map_single(dev, op.src, op.length, Direction::ToDevice);
      if (!src) return std::unexpected(src.error());
      const Result<DmaAddr> dst = dma::map_single(dev, op.dst, op.length, Direction::FromDevice);
      if (!dst) {
        DMAKIT_CHECK(dma::unmap_single(dev, *src, op.length, Direction::ToDevice).has_value(),
                     "{}: unmapping an engine source failed", dev.name());
        return std::unexpected(dst.error());
      }
      op.src_dma = *src;
      op.dst_dma = *dst;
      return {};
    }
    case Op::Kind::Memset: {
      const Result<DmaAddr> dst = dma::map_single(dev, op.dst, op.length, Direction::FromDevice);
      if (!dst) return std::unexpected(dst.error());
      op.dst_dma = *dst;
      return {};
    }
    case Op::Kind::CopySg: {
      if (Result<std::size_t> n = dma::map_sg(dev, *op.src_sg, Direction::ToDevice); !n)
        return std::unexpected(n.error());
      if (Result<std::size_t> n = dma::map_sg(dev, *op.dst_sg, Direction::FromDevice); !n) {
        DMAKIT_CHECK(dma::unmap_sg(dev, *op.src_sg, Direction::ToDevice).has_value(),
                     "{}: unmapping an engine source list failed", dev.name());
        return std::unexpected(n.error());
      }
      return {};
    }
    case Op::Kind::Fence:
      break;
  }
  return {};
}

Result<Descriptor> prepare(Channel& ch, const Op& op) {
  switch (op.kind) {
    case Op::Kind::Copy:
      return ch.prep_memcpy(op.dst_dma, op.src_dma, op.length);
    case Op::Kind::Memset:
      return ch.prep_memset(op.dst_dma, op.fill, op.length);
    case Op::Kind::CopySg:
      return ch.prep_sg(segments_of(*op.dst_sg), segments_of(*op.src_sg));
    case Op::Kind::Fence:
      break;
  }
  return ch.prep_interrupt();
}

// Registers `op` to start after `state` completes; notes a failure that already happened.
void depend(Op& op, TxState& state) {
  std::lock_guard guard(state.lock);
  if (state.done.load(std::memory_order_relaxed)) {
    if (!state.result.status) op.dependency_failed.store(true, std::memory_order_relaxed);
    return;
  }
  op.waiting.fetch_add(1, std::memory_order_relaxed);
  state.dependents.push_back(&op);
}

// The channel that should take `cap` now: the least busy one with room, or null.
Channel* pick_channel(const DmaEngine& engine, Capability cap) {
  Channel* best = nullptr;
  std::uint64_t best_depth = engine.config().queue_limit;
  for (const auto& ch : engine.channels()) {
    if (!ch->has(cap)) continue;
    const std::uint64_t depth = ch->queue_depth();
    if (depth < best_depth) {
      best = ch.get();
      best_depth = depth;
    }
  }
  return best;
}

}  // namespace

bool TxHandle::is_complete() const {
  return state_ == nullptr || state_->done.load(std::memory_order_acquire);
}

namespace {
Status timed_out(std::chrono::nanoseconds timeout) {
  return fail(Errc::Timeout, "operation not complete after {} ms",
              std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
}
}  // namespace

Status TxHandle::wait(std::chrono::nanoseconds timeout) const {
  if (state_ == nullptr) return {};
  if (state_->poll_wait) {
    // dma_sync_wait's loop: poll with cpu_relax until done or the timeout. Sleeping would make the
    // channel's worker pay a futex wake per completion, a fifth of a 1 MiB copy on a virtual host.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (unsigned spins = 1;; ++spins) {
      if (state_->done.load(std::memory_order_acquire)) return state_->result.status;
      if (spins % 1024 == 0 && std::chrono::steady_clock::now() >= deadline) break;
      detail::cpu_relax();
    }
    return timed_out(timeout);
  }
  // Poll a little (a small offloaded copy completes in about a microsecond), then sleep until the
  // completer signals, giving the CPU to the channel's worker.
  for (int spins = 0; spins < 2048; ++spins) {
    if (state_->done.load(std::memory_order_acquire)) return state_->result.status;
  }
  std::unique_lock guard(state_->lock);
  if (!state_->completed.wait_for(guard, timeout,
                                  [&] { return state_->done.load(std::memory_order_relaxed); }))
    return timed_out(timeout);
  return state_->result.status;
}

const Completion* TxHandle::result() const {
  if (state_ == nullptr || !state_->done.load(std::memory_order_acquire)) return nullptr;
  return &state_->result;
}

AsyncTx::AsyncTx(DmaEngine& engine)
    : engine_(engine),
      threshold_(engine.config().inline_threshold.value_or(0)),
      poll_waits_(engine.config().channel.wait == WaitMode::Poll &&
                  engine.config().channels < std::thread::hardware_concurrency()) {
  retired_.reserve(detail::kRetiredOps);
  if (engine.config().inline_threshold) return;
  static std::once_flag once;
  static std::uint64_t measured = 0;
  std::call_once(once, [this] { measured = measure_threshold(); });
  threshold_.store(measured, std::memory_order_relaxed);
}

AsyncTx::~AsyncTx() {
  {
    std::unique_lock guard(drain_lock_);
    drained_.wait(guard, [&] { return in_flight_.load(std::memory_order_acquire) == 0; });
  }
  for (Op* op : retired_) delete op;
}

Op* AsyncTx::new_op() {
  Op* op = nullptr;
  {
    const std::unique_lock guard = detail::take(retired_lock_);
    if (!retired_.empty()) {
      op = retired_.back();
      retired_.pop_back();
    }
  }
  if (op == nullptr) return new Op;
  // Reset in this thread: the old handle state, if nobody else holds it, is freed here.
  op->state.reset();
  op->waiting.store(1, std::memory_order_relaxed);
  op->dependency_failed.store(false, std::memory_order_relaxed);
  op->dst_sg = nullptr;
  op->src_sg = nullptr;
  op->deferred = {};
  return op;
}

void AsyncTx::retire(Op* op) {
  {
    const std::unique_lock guard = detail::take(retired_lock_);
    if (retired_.size() < detail::kRetiredOps) {
      retired_.push_back(op);
      return;
    }
  }
  delete op;
}

AsyncTxStats AsyncTx::stats() const {
  return {inline_ops_.value(),      inline_bytes_.value(), offloaded_ops_.value(),
          offloaded_bytes_.value(), fallbacks_.value(),    refused_.value()};
}

TxHandle AsyncTx::copy_async(void* dst, const void* src, std::uint64_t length, Callback callback,
                             void* context, const TxOptions& options) {
  Op* op = new_op();
  op->kind = Op::Kind::Copy;
  op->dst = static_cast<std::byte*>(dst);
  op->src = static_cast<const std::byte*>(src);
  op->length = length;
  op->callback = callback;
  op->context = context;
  return start(op, options, /*is_fence=*/false);
}

TxHandle AsyncTx::memset_async(void* dst, std::byte value, std::uint64_t length, Callback callback,
                               void* context, const TxOptions& options) {
  Op* op = new_op();
  op->kind = Op::Kind::Memset;
  op->dst = static_cast<std::byte*>(dst);
  op->src = nullptr;
  op->fill = value;
  op->length = length;
  op->callback = callback;
  op->context = context;
  return start(op, options, /*is_fence=*/false);
}

TxHandle AsyncTx::copy_sg_async(dma::SgTable& dst, dma::SgTable& src, Callback callback,
                                void* context, const TxOptions& options) {
  Op* op = new_op();
  op->kind = Op::Kind::CopySg;
  op->dst_sg = &dst;
  op->src_sg = &src;
  op->length = dst.length();
  op->callback = callback;
  op->context = context;
  return start(op, options, /*is_fence=*/false);
}

TxHandle AsyncTx::fence() {
  Op* op = new_op();
  op->kind = Op::Kind::Fence;
  op->dst = nullptr;
  op->src = nullptr;
  op->length = 0;
  op->callback = nullptr;
  op->context = nullptr;
  return start(op, {}, /*is_fence=*/true);
}

TxHandle AsyncTx::start(Op* op, const TxOptions& options, bool is_fence) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  op->tx = this;
  op->defer = options.defer_callback;
  op->state = std::make_shared<TxState>();
  op->state->poll_wait = poll_waits_;
  TxHandle handle(op->state);
  {
    std::lock_guard guard(order_lock_);
    if (is_fence) {
      // The fence waits for everything since the last one (that one included).
      for (const auto& s : since_fence_) depend(*op, *s);
      since_fence_.clear();
      fence_ = op->state;
    } else if (fence_ != nullptr) {
      depend(*op, *fence_);
      if (fence_->done.load(std::memory_order_acquire)) fence_.reset();
    }
    // Forget what has completed now and then, so the list stays as long as what is in flight.
    if (since_fence_.size() >= 64)
      std::erase_if(since_fence_,
                    [](const auto& s) { return s->done.load(std::memory_order_acquire); });
    since_fence_.push_back(op->state);
  }
  for (const TxHandle& h : options.after) {
    if (h.state_ != nullptr) depend(*op, *h.state_);
  }
  if (op->waiting.fetch_sub(1, std::memory_order_acq_rel) == 1) launch(op);
  return handle;
}

void AsyncTx::launch(Op* first) {
  if (launch_queue != nullptr) {
    launch_queue->push_back(first);
    return;
  }
  std::vector<Op*> queue{first};
  launch_queue = &queue;
  for (std::size_t i = 0; i < queue.size(); ++i) {
    Op* op = queue[i];
    AsyncTx& tx = *op->tx;
    const machine::Machine& m = tx.engine_.device().machine();
    if (op->kind == Op::Kind::Fence) {
      tx.finish(op, {{}, Method::Inline, 0, 0});
    } else if (op->dependency_failed.load(std::memory_order_relaxed)) {
      tx.finish(op, {fail(Errc::Aborted, "a dependency failed"), Method::Inline, 0, 0});
    } else if (Status s = check_input(m, *op); !s) {
      tx.refused_.add();
      tx.finish(op, {std::move(s), Method::Inline, 0, 0});
    } else if (!tx.offload(op)) {
      tx.run_inline(op);
    }
  }
  launch_queue = nullptr;
}

bool AsyncTx::offload(Op* op) {
  const std::uint64_t length = op->length;
  if (length < inline_threshold() || length > engine_.config().channel.max_transfer) return false;
  Channel* ch = pick_channel(engine_, capability_of(op->kind));
  if (ch == nullptr) return false;
  dma::Device& dev = engine_.device();
  if (!map(dev, *op)) {
    fallbacks_.add();
    return false;
  }
  Result<Descriptor> desc = prepare(*ch, *op);
  if (!desc) {
    // The mapping landed where this channel cannot work (beyond max_transfer after merging, or
    // beyond its reach): the CPU can still do it.
    unmap(dev, *op);
    fallbacks_.add();
    return false;
  }
  desc->set_callback(&AsyncTx::on_offloaded, op);
  ch->submit(std::move(*desc));
  ch->issue_pending();
  return true;
}

void AsyncTx::on_offloaded(void* context, const Completion& done) {
  Op* op = static_cast<Op*>(context);
  unmap(op->tx->engine_.device(), *op);
  op->tx->finish(op, done);
}

void AsyncTx::on_deferred(void* context, const Completion&) {
  Op* op = static_cast<Op*>(context);
  // The bytes moved inline already; whatever became of the interrupt, that is the result.
  op->tx->finish(op, op->deferred);
}

void AsyncTx::run_inline(Op* op) {
  switch (op->kind) {
    case Op::Kind::Copy:
      std::memcpy(op->dst, op->src, op->length);
      break;
    case Op::Kind::Memset:
      std::memset(op->dst, std::to_integer<int>(op->fill), op->length);
      break;
    case Op::Kind::CopySg:
      copy_sg_inline(engine_.device().machine(), *op->dst_sg, *op->src_sg);
      break;
    case Op::Kind::Fence:
      break;
  }
  const Completion done{{}, Method::Inline, 0, op->length};
  if (!op->defer) {
    finish(op, done);
    return;
  }
  // Every channel signals interrupts (DmaEngine guarantees it); report in the channel's order.
  Channel* ch = pick_channel(engine_, Capability::Interrupt);
  if (ch == nullptr) ch = engine_.channels().front().get();
  Result<Descriptor> irq = ch->prep_interrupt();
  DMAKIT_CHECK(irq.has_value(), "{}: no interrupt descriptor", ch->name());
  op->deferred = done;
  irq->set_callback(&AsyncTx::on_deferred, op);
  ch->submit(std::move(*irq));
  ch->issue_pending();
}

void AsyncTx::finish(Op* op, const Completion& done) {
  if (op->kind != Op::Kind::Fence && done.status) {
    (done.method == Method::Inline ? inline_ops_ : offloaded_ops_).add();
    (done.method == Method::Inline ? inline_bytes_ : offloaded_bytes_).add(done.bytes);
  }
  if (op->callback != nullptr) op->callback(op->context, done);
  std::vector<Op*> dependents;
  {
    std::lock_guard guard(op->state->lock);
    op->state->result = done;
    op->state->done.store(true, std::memory_order_release);
    dependents.swap(op->state->dependents);
  }
  op->state->completed.notify_all();
  for (Op* d : dependents) {
    if (!done.status && op->kind != Op::Kind::Fence)
      d->dependency_failed.store(true, std::memory_order_relaxed);
    if (d->waiting.fetch_sub(1, std::memory_order_acq_rel) == 1) launch(d);
  }
  retire(op);
  // Under the lock, so that the destructor cannot return (and free the lock) in between.
  const std::lock_guard guard(drain_lock_);
  if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1) drained_.notify_all();
}

std::uint64_t AsyncTx::measure_threshold() {
  // Below the threshold the CPU finishes a copy before an offloaded one would even report back:
  // threshold = offload round trip (median of 64-byte copies) x memcpy bandwidth.
  constexpr std::uint64_t kFallback = 4096;
  constexpr unsigned kOrder = 6;  // 256 KiB buffers
  constexpr std::uint64_t kBytes = kPageSize << kOrder;
  machine::Machine& m = engine_.device().machine();
  Result<machine::Page*> a = m.page_allocator().alloc_pages(machine::kGfpKernel, kOrder);
  Result<machine::Page*> b = m.page_allocator().alloc_pages(machine::kGfpKernel, kOrder);
  std::uint64_t threshold = kFallback;
  if (a && b) {
    std::byte* src = m.page_address(*a);
    std::byte* dst = m.page_address(*b);
    std::memset(src, 1, kBytes);
    double best_ns = 1e18;
    for (int i = 0; i < 8; ++i) {
      const Clock::time_point t0 = Clock::now();
      std::memcpy(dst, src, kBytes);
      best_ns =
          std::min(best_ns, std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
    }
    threshold_.store(0, std::memory_order_relaxed);  // offload everything while measuring
    std::vector<double> round_trips;
    for (int i = 0; i < 65; ++i) {
      const Clock::time_point t0 = Clock::now();
      const TxHandle h = copy_async(dst, src, 64, nullptr, nullptr);
      if (!h.wait()) break;
      round_trips.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
    }
    if (!round_trips.empty()) {
      std::ranges::nth_element(round_trips, round_trips.begin() + round_trips.size() / 2);
      const double bytes = round_trips[round_trips.size() / 2] * static_cast<double>(kBytes) /
                           std::max(best_ns, 1.0);
      threshold = std::clamp<std::uint64_t>(std::bit_ceil(static_cast<std::uint64_t>(bytes)), 256,
                                            std::uint64_t{1} << 20);
    }
  }
  if (a) (void)m.page_allocator().free_pages(*a, kOrder);
  if (b) (void)m.page_allocator().free_pages(*b, kOrder);
  return threshold;
}

}  // namespace dmakit::engine
