// SPDX-License-Identifier: Apache-2.0
// Channel: one queue of a DMA engine and the worker that serves it (engine layer; seed 002's "copy
// operation ... using the best method available", Linux's struct dma_chan). The software engine
// runs each channel on a thread of its own that moves the bytes: the CPU as the engine.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "dmakit/core/result.h"
#include "dmakit/core/stats.h"
#include "dmakit/dma/bus_access.h"
#include "dmakit/engine/cookie.h"
#include "dmakit/engine/descriptor.h"

namespace dmakit::dma {
class Device;
}  // namespace dmakit::dma

namespace dmakit::engine {

/// How long Channel::sync_wait waits by default: dma_sync_wait gives up after 5 s.
inline constexpr std::chrono::nanoseconds kSyncWaitTimeout = std::chrono::seconds(5);

/// What a channel's worker does when its queue is empty.
enum class WaitMode : std::uint8_t {
  Block,  ///< spin for ChannelConfig::spin, then sleep on a futex until work is issued
  Poll,   ///< keep polling (lowest latency; takes a CPU while idle)
};

[[nodiscard]] constexpr std::string_view wait_mode_name(WaitMode m) {
  return m == WaitMode::Block ? "block" : "poll";
}

struct ChannelConfig {
  Capabilities capabilities = Capabilities::all();
  std::uint64_t max_transfer = std::uint64_t{16} << 20;  ///< bytes per descriptor at most
  WaitMode wait = WaitMode::Block;
  /// How long a blocking worker keeps polling after its queue empties, so a stream of small
  /// descriptors is served without a wake-up each.
  std::chrono::nanoseconds spin = std::chrono::microseconds(50);
  Cookie first_cookie = kMinCookie;  ///< the first cookie assigned (tests start near the wrap)
};

/// A snapshot of a channel's counters.
struct ChannelStats {
  std::uint64_t descriptors = 0;  ///< completed, whatever the outcome
  std::uint64_t bytes = 0;        ///< written to destinations
  std::uint64_t errors = 0;       ///< completed with a fault
  std::uint64_t aborted = 0;      ///< completed unrun (terminate, shutdown)
  std::uint64_t batches = 0;      ///< times the worker took the issued queue
  std::uint64_t sleeps = 0;       ///< times the idle worker slept on the futex (Block mode)
  std::uint64_t queue_depth = 0;  ///< submitted and not completed now
  std::uint64_t max_queue_depth = 0;
  std::uint64_t busy_ns = 0;  ///< time the worker spent moving bytes and completing
};

/// A channel of an engine device. Prepare descriptors on bus addresses the engine's device may use
/// (mapped for it by the DMA API), submit them (a cookie each; nothing runs yet), issue pending to
/// start them; the worker runs them in submission order, batching what was issued together, and
/// calls each callback in that order. Every access goes through the device's translation
/// (dma::translate_for_access): a descriptor that any access of would fault is completed with the
/// fault and writes nothing.
///
/// Thread-safe: any thread may prepare, submit, issue and wait. Destroying the channel aborts what
/// has not started and waits for the worker; the device must outlive it.
class Channel {
 public:
  /// Starts the worker. `name` is for reports ("dma0chan1").
  Channel(dma::Device& device, std::string name, ChannelConfig config);
  ~Channel();

  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] dma::Device& device() const { return device_; }
  [[nodiscard]] const ChannelConfig& config() const { return config_; }
  [[nodiscard]] bool has(Capability cap) const { return config_.capabilities.has(cap); }

  /// A copy of `length` bytes from bus address `src` to `dst`. InvalidArgument for a zero length,
  /// a length beyond max_transfer, ranges that overlap, or a channel without Memcpy; AboveMask when
  /// either range lies beyond the device's reach. IOMMU permissions are checked when it runs.
  [[nodiscard]] Result<Descriptor> prep_memcpy(DmaAddr dst, DmaAddr src, std::uint64_t length);
  /// Fills `length` bytes at `dst` with `value`; errors as prep_memcpy.
  [[nodiscard]] Result<Descriptor> prep_memset(DmaAddr dst, std::byte value, std::uint64_t length);
  /// Copies the bytes of `src`, in order, to those of `dst`. InvalidArgument, besides as
  /// prep_memcpy, for an empty list, an empty segment, or lists of different total lengths.
  [[nodiscard]] Result<Descriptor> prep_sg(std::span<const BusSegment> dst,
                                           std::span<const BusSegment> src);
  /// A descriptor that moves nothing: its callback runs in the channel's order.
  [[nodiscard]] Result<Descriptor> prep_interrupt();

  /// Queues `desc` as pending and returns its cookie: positive, one more than the last, wrapping
  /// back to 1 (dma_cookie_assign). Nothing runs before issue_pending.
  Cookie submit(Descriptor&& desc);
  /// Hands everything submitted so far to the worker (dma_async_issue_pending).
  void issue_pending();

  /// Whether the descriptor with `cookie` has completed (its callback has returned).
  [[nodiscard]] DmaStatus status(Cookie cookie) const;
  /// Issues pending work and waits for `cookie` to complete. Timeout after `timeout` (as
  /// dma_sync_wait, 5 s by default). Must not be called from this channel's callbacks.
  [[nodiscard]] Status sync_wait(Cookie cookie,
                                 std::chrono::nanoseconds timeout = kSyncWaitTimeout);
  /// Completes every descriptor submitted and not yet started with Aborted, in order, and waits
  /// for them and for the one running (dmaengine_terminate_sync), except when called from one of
  /// this channel's callbacks, where it cannot wait for itself.
  void terminate_all();

  /// Descriptors submitted and not yet completed.
  [[nodiscard]] std::uint64_t queue_depth() const {
    // Acquire: a caller that sees a descriptor counted as completed sees all it did.
    return submitted_.load(std::memory_order_relaxed) - completed_.load(std::memory_order_acquire);
  }
  [[nodiscard]] ChannelStats stats() const;

 private:
  [[nodiscard]] Status check_reach(const char* what, DmaAddr addr, std::uint64_t length) const;
  [[nodiscard]] Status check_length(Capability op, std::uint64_t length) const;
  [[nodiscard]] Result<Descriptor> prep_copy(Capability op, std::span<const BusSegment> dst,
                                             std::span<const BusSegment> src);
  void run();
  void wait_for_work(std::uint32_t& seen);
  [[nodiscard]] Status execute(const Descriptor& desc);
  void complete(Descriptor& desc, Completion done);
  void wait_completed(std::uint64_t seq) const;

  dma::Device& device_;
  const std::string name_;
  const ChannelConfig config_;

  mutable std::mutex lock_;
  Cookie last_cookie_;               ///< guarded by lock_
  std::uint64_t last_seq_ = 0;       ///< guarded by lock_
  std::vector<Descriptor> pending_;  ///< submitted, not issued; guarded by lock_
  std::vector<Descriptor> issued_;   ///< issued, not taken by the worker; guarded by lock_
  bool stopped_ = false;             ///< the worker has exited; guarded by lock_

  std::atomic<Cookie> last_used_;      ///< the last cookie assigned
  std::atomic<Cookie> last_complete_;  ///< the last cookie completed
  std::atomic<std::uint64_t> completed_seq_{0};
  std::atomic<std::uint64_t> abort_through_{0};  ///< descriptors up to this seq complete unrun
  std::atomic<std::uint32_t> work_{0};  ///< bumped at every issue and at stop (a futex word)
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_{false};

  std::atomic<std::uint64_t> submitted_{0};
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> max_depth_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> aborted_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> sleeps_{0};
  std::atomic<std::uint64_t> busy_ns_{0};

  std::vector<dma::AccessSpan> dst_spans_;  ///< the worker's, reused per descriptor
  std::vector<dma::AccessSpan> src_spans_;
  std::thread worker_;
};

}  // namespace dmakit::engine
