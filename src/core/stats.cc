// SPDX-License-Identifier: Apache-2.0
// Thread slots for sharded structures (core layer).
//
// A slot is the smallest number no live thread holds, returned when its thread exits. With no more
// live threads than shards, every thread gets a shard of its own, as every CPU has its own per-CPU
// data in the kernel; a plain ever-growing thread counter would make two live threads collide
// whenever their numbers met modulo the shard count.
#include "dmakit/core/stats.h"

#include <mutex>
#include <vector>

namespace dmakit {
namespace {

class SlotRegistry {
 public:
  unsigned acquire() {
    const std::scoped_lock guard(lock_);
    for (unsigned i = 0; i < used_.size(); ++i) {
      if (!used_[i]) {
        used_[i] = true;
        return i;
      }
    }
    used_.push_back(true);
    return static_cast<unsigned>(used_.size() - 1);
  }
  void release(unsigned slot) {
    const std::scoped_lock guard(lock_);
    used_[slot] = false;
  }

 private:
  std::mutex lock_;
  std::vector<bool> used_;
};

// Never destroyed: threads may release their slot during static destruction.
SlotRegistry& registry() {
  static SlotRegistry* const r = new SlotRegistry;
  return *r;
}

struct ThreadSlot {
  ThreadSlot() : value(registry().acquire()) {}
  ~ThreadSlot() {
    detail::thread_slot_plus_one = 0;
    registry().release(value);
  }
  ThreadSlot(const ThreadSlot&) = delete;
  ThreadSlot& operator=(const ThreadSlot&) = delete;
  const unsigned value;
};

}  // namespace

unsigned detail::acquire_thread_slot() {
  // The object holds the slot and gives it back when the thread exits.
  thread_local const ThreadSlot slot;
  thread_slot_plus_one = slot.value + 1;
  return slot.value;
}

}  // namespace dmakit
