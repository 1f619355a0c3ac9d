// SPDX-License-Identifier: Apache-2.0
// Which of an object's per-thread shards the calling thread uses (core layer). Kernel code picks
// per-CPU data by CPU number; this picks by the order in which threads first used the object, so
// that threads taking turns on a fresh object (a simulated run's driver thread and its engine's
// worker) get the same shards on every run, whatever threads the process ran before.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dmakit/core/stats.h"

namespace dmakit {

/// Thread-safe. Threads whose slot (this_thread_slot()) is past the table share shards by slot.
class ThreadShards {
 public:
  static constexpr unsigned kTrackedSlots = 128;

  explicit ThreadShards(unsigned shards) : shards_(shards) {}

  /// The calling thread's shard, in [0, shards): the first thread to ask gets 0, the next 1, and
  /// so on around. One relaxed load once assigned.
  [[nodiscard]] unsigned of_this_thread() {
    const unsigned slot = this_thread_slot();
    if (slot >= kTrackedSlots) [[unlikely]]
      return slot % shards_;
    std::atomic<std::uint32_t>& entry = by_slot_[slot];
    const std::uint32_t known = entry.load(std::memory_order_relaxed);
    if (known != 0) [[likely]]
      return known - 1;
    // A slot belongs to one live thread, so no other thread assigns this entry concurrently; a
    // later thread reusing the slot keeps its predecessor's shard.
    const std::uint32_t shard = next_.fetch_add(1, std::memory_order_relaxed) % shards_;
    entry.store(shard + 1, std::memory_order_relaxed);
    return shard;
  }

 private:
  const unsigned shards_;
  std::atomic<std::uint32_t> next_{0};
  std::array<std::atomic<std::uint32_t>, kTrackedSlots> by_slot_{};  ///< shard + 1; 0: none yet
};

}  // namespace dmakit
