// SPDX-License-Identifier: Apache-2.0
// RateLimit: at most `burst` events per interval (core layer), as Linux's ratelimit state lets a
// failing path warn without flooding the log (dev_warn_ratelimited: 10 per 5 s).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace dmakit {

/// Says whether an event may be reported now, and how many were suppressed since the last report.
/// Thread-safe; meant for failure paths, so one lock is fine.
class RateLimit {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimit(unsigned burst = 10, Clock::duration interval = std::chrono::seconds(5))
      : burst_(burst), interval_(interval) {}

  /// True when the caller may report this event. `suppressed`, when true is returned, receives the
  /// number of events refused since the previous one allowed.
  bool allow(std::uint64_t* suppressed = nullptr) {
    const std::scoped_lock guard(lock_);
    const Clock::time_point now = Clock::now();
    if (printed_ == 0 || now - window_start_ >= interval_) {
      window_start_ = now;
      printed_ = 0;
    }
    if (printed_ >= burst_) {
      ++missed_;
      return false;
    }
    ++printed_;
    if (suppressed != nullptr) *suppressed = missed_;
    missed_ = 0;
    return true;
  }

 private:
  const unsigned burst_;
  const Clock::duration interval_;
  std::mutex lock_;
  Clock::time_point window_start_;  ///< guarded by lock_
  unsigned printed_ = 0;            ///< guarded by lock_: reports in this window
  std::uint64_t missed_ = 0;        ///< guarded by lock_
};

}  // namespace dmakit
