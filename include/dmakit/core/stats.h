// SPDX-License-Identifier: Apache-2.0
// Statistics counters that threads bump without sharing a cache line (core layer), as Linux keeps
// its vm event counters per CPU and sums them only when someone reads them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace dmakit {

namespace detail {
/// The calling thread's slot plus one, 0 until it has one: constant-initialised, so reading it is
/// one thread-pointer-relative load with no initialisation guard.
inline thread_local unsigned thread_slot_plus_one = 0;
unsigned acquire_thread_slot();
}  // namespace detail

/// A small number fixed for the life of the calling thread: the lowest one no other live thread
/// holds. Sharded structures pick their shard with it, as kernel code picks per-CPU data by CPU
/// number.
inline unsigned this_thread_slot() {
  const unsigned cached = detail::thread_slot_plus_one;
  return cached != 0 ? cached - 1 : detail::acquire_thread_slot();
}

/// An event counter. add() touches only the calling thread's shard; value() sums all shards and may
/// miss increments that race with it. Counters are statistics, never used to make decisions.
///
/// A thread whose slot has a shard of its own is that shard's only writer (slots are unique among
/// live threads), so it adds with a plain load and store, no locked instruction; threads beyond the
/// shards share one overflow shard and add atomically.
class Counter {
 public:
  void add(std::uint64_t n = 1) {
    const unsigned slot = this_thread_slot();
    if (slot < kShards) [[likely]] {
      std::atomic<std::uint64_t>& v = shards_[slot].value;
      v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      shards_[kShards].value.fetch_add(n, std::memory_order_relaxed);
    }
  }
  [[nodiscard]] std::uint64_t value() const {
    std::uint64_t total = 0;
    for (const Shard& s : shards_) total += s.value.load(std::memory_order_relaxed);
    return total;
  }

 private:
  static constexpr unsigned kShards = 16;
  struct alignas(64) Shard {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Shard, kShards + 1> shards_;  ///< the last one is the overflow shard
};

}  // namespace dmakit
