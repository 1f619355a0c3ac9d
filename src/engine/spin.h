// SPDX-License-Identifier: Apache-2.0
// Waiting without sleeping, for the engine's short critical sections (engine layer, private). On a
// loaded machine a thread that sleeps on a contended lock wakes milliseconds later, so locks held
// for a few instructions are taken after a short spin.
#pragma once

#include <mutex>
#include <thread>

namespace dmakit::engine::detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

/// Takes `lock`, trying for a while before blocking.
[[nodiscard]] inline std::unique_lock<std::mutex> take(std::mutex& lock) {
  for (int i = 0; i < 128; ++i) {
    if (lock.try_lock()) return std::unique_lock<std::mutex>(lock, std::adopt_lock);
    cpu_relax();
  }
  return std::unique_lock<std::mutex>(lock);
}

}  // namespace dmakit::engine::detail
