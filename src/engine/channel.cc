// SPDX-License-Identifier: Apache-2.0
// A channel of the software DMA engine (engine layer; seed 002). Submission is a lock and a push;
// the worker takes everything issued at once (a batch), translates each descriptor's ranges for
// the engine device before moving a byte (so an access the IOMMU refuses writes nothing), copies
// RAM to RAM once, and runs the callbacks in submission order. An idle worker spins a little and
// then sleeps on a futex (std::atomic::wait), or keeps polling.
#include "dmakit/engine/channel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "dmakit/core/mask.h"
#include "dmakit/dma/device.h"
#include "engine/interval.h"
#include "engine/spin.h"

namespace dmakit::engine {
namespace {

using Clock = std::chrono::steady_clock;
using detail::cpu_relax;
using detail::take;

std::uint64_t total_length(std::span<const BusSegment> segments) {
  std::uint64_t total = 0;
  for (const BusSegment& s : segments) total += s.length;
  return total;
}

// Copies the bytes of `src` in order to those of `dst` (same totals).
void copy_spans(std::span<const dma::AccessSpan> dst, std::span<const dma::AccessSpan> src) {
  std::size_t d = 0;
  std::size_t s = 0;
  std::uint64_t d_off = 0;
  std::uint64_t s_off = 0;
  while (d < dst.size() && s < src.size()) {
    const std::uint64_t n = std::min(dst[d].size - d_off, src[s].size - s_off);
    std::memcpy(dst[d].mem + d_off, src[s].mem + s_off, n);
    d_off += n;
    s_off += n;
    if (d_off == dst[d].size) ++d, d_off = 0;
    if (s_off == src[s].size) ++s, s_off = 0;
  }
}

bool segments_overlap(std::span<const BusSegment> a, std::span<const BusSegment> b) {
  auto intervals = [](std::span<const BusSegment> segments) {
    detail::Intervals out;
    for (const BusSegment& s : segments) out.push_back({s.addr.value(), s.addr.value() + s.length});
    return out;
  };
  detail::Intervals x = intervals(a);
  detail::Intervals y = intervals(b);
  return detail::any_overlap(x, y);
}

bool spans_overlap(std::span<const dma::AccessSpan> a, std::span<const dma::AccessSpan> b) {
  auto intervals = [](std::span<const dma::AccessSpan> spans) {
    detail::Intervals out;
    for (const dma::AccessSpan& s : spans) {
      const auto start = reinterpret_cast<std::uintptr_t>(s.mem);
      out.push_back({start, start + s.size});
    }
    return out;
  };
  detail::Intervals x = intervals(a);
  detail::Intervals y = intervals(b);
  return detail::any_overlap(x, y);
}

}  // namespace

Channel::Channel(dma::Device& device, std::string name, ChannelConfig config)
    : device_(device),
      name_(std::move(name)),
      config_(config),
      last_cookie_(config.first_cookie - 1),
      last_used_(config.first_cookie - 1),
      last_complete_(config.first_cookie - 1) {
  worker_ = std::thread([this] { run(); });
}

Channel::~Channel() {
  {
    std::lock_guard guard(lock_);
    abort_through_.store(~std::uint64_t{0}, std::memory_order_release);
    std::ranges::move(pending_, std::back_inserter(issued_));
    pending_.clear();
    stop_.store(true, std::memory_order_release);
  }
  work_.fetch_add(1, std::memory_order_seq_cst);
  work_.notify_one();
  worker_.join();
}

Status Channel::check_length(Capability op, std::uint64_t length) const {
  if (!has(op))
    return fail(Errc::InvalidArgument, "{}: the channel has no {} capability", name_,
                capability_name(op));
  if (length == 0)
    return fail(Errc::InvalidArgument, "{}: {} of 0 bytes", name_, capability_name(op));
  if (length > config_.max_transfer)
    return fail(Errc::InvalidArgument, "{}: {} of {} bytes is beyond max_transfer ({})", name_,
                capability_name(op), length, config_.max_transfer);
  return {};
}

Status Channel::check_reach(const char* what, DmaAddr addr, std::uint64_t length) const {
  if (!fits_under_mask(addr.value(), length, device_.streaming_limit()))
    return fail(Errc::AboveMask, "{}: {} [{:#x}, +{:#x}) is beyond what {} reaches ({:#x})", name_,
                what, addr.value(), length, device_.name(), device_.streaming_limit());
  return {};
}

Result<Descriptor> Channel::prep_memcpy(DmaAddr dst, DmaAddr src, std::uint64_t length) {
  const BusSegment d{dst, length};
  const BusSegment s{src, length};
  return prep_copy(Capability::Memcpy, {&d, 1}, {&s, 1});
}

Result<Descriptor> Channel::prep_memset(DmaAddr dst, std::byte value, std::uint64_t length) {
  if (Status s = check_length(Capability::Memset, length); !s) return std::unexpected(s.error());
  if (Status s = check_reach("destination", dst, length); !s) return std::unexpected(s.error());
  Descriptor desc(Capability::Memset, length);
  desc.fill_ = value;
  desc.dst_ = {dst, length};
  return desc;
}

Result<Descriptor> Channel::prep_sg(std::span<const BusSegment> dst,
                                    std::span<const BusSegment> src) {
  return prep_copy(Capability::Sg, dst, src);
}

Result<Descriptor> Channel::prep_copy(Capability op, std::span<const BusSegment> dst,
                                      std::span<const BusSegment> src) {
  if (dst.empty() || src.empty())
    return fail(Errc::InvalidArgument, "{}: a scatter/gather copy needs segments on both sides",
                name_);
  const std::uint64_t length = total_length(dst);
  if (total_length(src) != length)
    return fail(Errc::InvalidArgument,
                "{}: scatter/gather lists of different lengths ({} bytes to {})", name_,
                total_length(src), length);
  if (Status s = check_length(op, length); !s) return std::unexpected(s.error());
  for (const auto& [segments, what] : {std::pair{dst, "destination"}, {src, "source"}}) {
    for (const BusSegment& seg : segments) {
      if (seg.length == 0)
        return fail(Errc::InvalidArgument, "{}: an empty {} segment at {:#x}", name_, what,
                    seg.addr.value());
      if (Status s = check_reach(what, seg.addr, seg.length); !s) return std::unexpected(s.error());
    }
  }
  if (segments_overlap(dst, src))
    return fail(Errc::InvalidArgument, "{}: source and destination overlap", name_);
  Descriptor desc(op, length);
  if (op == Capability::Memcpy) {
    desc.dst_ = dst.front();
    desc.src_ = src.front();
  } else {
    desc.sg_.assign(dst.begin(), dst.end());
    desc.sg_.insert(desc.sg_.end(), src.begin(), src.end());
    desc.sg_dst_ = dst.size();
  }
  return desc;
}

Result<Descriptor> Channel::prep_interrupt() {
  if (!has(Capability::Interrupt))
    return fail(Errc::InvalidArgument, "{}: the channel has no interrupt capability", name_);
  return Descriptor(Capability::Interrupt, 0);
}

Cookie Channel::submit(Descriptor&& desc) {
  std::unique_lock guard = take(lock_);
  last_cookie_ = next_cookie(last_cookie_);
  desc.cookie_ = last_cookie_;
  desc.seq_ = ++last_seq_;
  last_used_.store(last_cookie_, std::memory_order_release);
  const std::uint64_t depth = submitted_.fetch_add(1, std::memory_order_relaxed) + 1 -
                              completed_.load(std::memory_order_relaxed);
  if (depth > max_depth_.load(std::memory_order_relaxed))
    max_depth_.store(depth, std::memory_order_relaxed);
  const Cookie cookie = desc.cookie_;
  if (stopped_) {
    // The worker is gone (the channel is being destroyed): complete at once, unrun.
    guard.unlock();
    complete(desc, {fail(Errc::Aborted, "{}: the channel is shutting down", name_),
                    Method::Offloaded, cookie, 0});
    return cookie;
  }
  pending_.push_back(std::move(desc));
  return cookie;
}

void Channel::issue_pending() {
  {
    const std::unique_lock guard = take(lock_);
    if (pending_.empty()) return;
    std::ranges::move(pending_, std::back_inserter(issued_));
    pending_.clear();
  }
  work_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) work_.notify_one();
}

DmaStatus Channel::status(Cookie cookie) const {
  const Cookie used = last_used_.load(std::memory_order_acquire);
  return cookie_status(cookie, last_complete_.load(std::memory_order_acquire), used);
}

Status Channel::sync_wait(Cookie cookie, std::chrono::nanoseconds timeout) {
  issue_pending();
  const Clock::time_point deadline = Clock::now() + timeout;
  for (unsigned spins = 0; status(cookie) != DmaStatus::Complete; ++spins) {
    if (Clock::now() >= deadline)
      return fail(Errc::Timeout, "{}: cookie {} not complete after {} ms", name_, cookie,
                  std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
    if (spins < 1024)
      cpu_relax();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  return {};
}

void Channel::terminate_all() {
  std::uint64_t through;
  {
    std::lock_guard guard(lock_);
    through = last_seq_;
    if (through > abort_through_.load(std::memory_order_relaxed))
      abort_through_.store(through, std::memory_order_release);
    std::ranges::move(pending_, std::back_inserter(issued_));
    pending_.clear();
  }
  work_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) work_.notify_one();
  if (std::this_thread::get_id() != worker_.get_id()) wait_completed(through);
}

void Channel::wait_completed(std::uint64_t seq) const {
  for (unsigned spins = 0; completed_seq_.load(std::memory_order_acquire) < seq; ++spins) {
    if (spins < 1024)
      cpu_relax();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

ChannelStats Channel::stats() const {
  ChannelStats s;
  s.descriptors = completed_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.aborted = aborted_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  s.sleeps = sleeps_.load(std::memory_order_relaxed);
  s.queue_depth = queue_depth();
  s.max_queue_depth = max_depth_.load(std::memory_order_relaxed);
  s.busy_ns = busy_ns_.load(std::memory_order_relaxed);
  return s;
}

void Channel::wait_for_work(std::uint32_t& seen) {
  const Clock::time_point spin_until = Clock::now() + config_.spin;
  for (unsigned spins = 0;; ++spins) {
    const std::uint32_t now = work_.load(std::memory_order_acquire);
    if (now != seen) {
      seen = now;
      return;
    }
    if (config_.wait == WaitMode::Poll || (spins & 63) != 0 || Clock::now() < spin_until) {
      cpu_relax();
      continue;
    }
    // Dekker with issue_pending: it bumps work_ then reads sleeping_; we set sleeping_ then read
    // work_ (inside wait), so one of us sees the other and no wake-up is lost.
    sleeping_.store(true, std::memory_order_seq_cst);
    sleeps_.fetch_add(1, std::memory_order_relaxed);
    work_.wait(seen, std::memory_order_seq_cst);
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

void Channel::run() {
  std::vector<Descriptor> batch;
  std::uint32_t seen = 0;  // work_ starts at 0: the first issue wakes the worker
  for (;;) {
    // The queue lock is taken only once work_ says something was issued, so a worker waiting for
    // work never contends with submitters (a contended mutex sleeps, and a sleeper on a loaded
    // machine wakes milliseconds later).
    if (!stop_.load(std::memory_order_acquire)) wait_for_work(seen);
    {
      const std::unique_lock guard = take(lock_);
      batch.swap(issued_);
      if (batch.empty() && stop_.load(std::memory_order_acquire)) {
        if (pending_.empty()) {
          stopped_ = true;
          return;
        }
        batch.swap(pending_);  // submitted by callbacks during shutdown: aborted below
      }
    }
    if (batch.empty()) continue;
    const Clock::time_point start = Clock::now();
    for (Descriptor& desc : batch) {
      Completion done{{}, Method::Offloaded, desc.cookie_, 0};
      if (desc.seq_ <= abort_through_.load(std::memory_order_acquire)) {
        done.status =
            fail(Errc::Aborted, "{}: cookie {} terminated before it ran", name_, desc.cookie_);
      } else {
        done.status = execute(desc);
        if (done.status && desc.op_ != Capability::Interrupt) done.bytes = desc.length_;
      }
      complete(desc, std::move(done));
    }
    batch.clear();
    batches_.fetch_add(1, std::memory_order_relaxed);
    busy_ns_.fetch_add(static_cast<std::uint64_t>((Clock::now() - start).count()),
                       std::memory_order_relaxed);
  }
}

Status Channel::execute(const Descriptor& desc) {
  if (desc.op_ == Capability::Interrupt) return {};
  dst_spans_.clear();
  src_spans_.clear();
  // Every range is translated (and permission-checked) before a byte moves: no partial copies.
  for (const BusSegment& seg : desc.destination()) {
    if (Status s = dma::translate_for_access(device_, seg.addr, seg.length, dma::Access::Write,
                                             dst_spans_);
        !s)
      return s;
  }
  if (desc.op_ == Capability::Memset) {
    for (const dma::AccessSpan& span : dst_spans_)
      std::memset(span.mem, std::to_integer<int>(desc.fill_), span.size);
    return {};
  }
  for (const BusSegment& seg : desc.source()) {
    if (Status s =
            dma::translate_for_access(device_, seg.addr, seg.length, dma::Access::Read, src_spans_);
        !s)
      return s;
  }
  if (spans_overlap(dst_spans_, src_spans_))
    return fail(Errc::InvalidArgument,
                "{}: cookie {}: source and destination reach the same memory", name_, desc.cookie_);
  copy_spans(dst_spans_, src_spans_);
  return {};
}

void Channel::complete(Descriptor& desc, Completion done) {
  if (!done.status)
    (done.status.error().code == Errc::Aborted ? aborted_ : errors_)
        .fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(done.bytes, std::memory_order_relaxed);
  if (desc.callback_ != nullptr) desc.callback_(desc.context_, done);
  last_complete_.store(desc.cookie_, std::memory_order_release);
  completed_seq_.store(desc.seq_, std::memory_order_release);
  completed_.fetch_add(1, std::memory_order_release);
}

}  // namespace dmakit::engine
