// SPDX-License-Identifier: Apache-2.0
// The checker's tables (debug layer, private): live mappings by device and bus address in a
// sharded hash table, and the streaming ones by physical address for CPU accesses and cacheline
// overlaps.
//
// MappingTable follows Linux's dma-debug hash (reference section 4.1): a mapping lives in the
// bucket of its first bus address, 8 KiB of bus space per bucket, and a lookup of a range that
// starts inside a mapping walks back bucket by bucket, as far as the longest mapping seen reaches.
// Buckets are spread over 64 shards, each a mutex and an abseil flat_hash_map, so two threads
// rarely meet and hundreds of thousands of live mappings cost one probe per lookup.
//
// PhysIndex keeps streaming mappings ordered by physical start under one lock. A query for
// [start, end) looks back from end as far as the longest mapping it holds reaches, which stays a
// few entries for the page-sized mappings drivers make.
#pragma once

#include <absl/container/btree_map.h>
#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dmakit/debug/call_stack.h"
#include "dmakit/debug/report.h"
#include "dmakit/dma/mapping_observer.h"

namespace dmakit::debug::detail {

/// One live mapping. Everything but `device_owns` and `error_checked` is fixed at map time;
/// `error_checked` is guarded by the owning shard's lock, `device_owns` is atomic because CPU
/// accesses read it under the PhysIndex lock instead.
struct Entry {
  const dma::Device* device;
  dma::MappingKind kind;
  Direction dir;
  PhysAddr phys;
  DmaAddr dma;
  std::uint64_t size;
  const void* cpu;  ///< coherent: the CPU address handed out
  std::uint32_t sg_count;
  bool error_checked;
  std::atomic<bool> device_owns{true};
  CallStack mapped_at;

  [[nodiscard]] bool contains(DmaAddr addr) const {
    return addr >= dma && addr.value() - dma.value() < size;
  }
  [[nodiscard]] MappingRecord record() const;
};

/// Live mappings by (device, bus address). Thread-safe; no lock is held while a caller's function
/// runs except where a member says so.
class MappingTable {
 public:
  void insert(std::unique_ptr<Entry> entry);

  /// Removes and returns the best fit for an unmap (score: size, kind, direction, sg count and CPU
  /// address equal to `ref`'s; ties go to the oldest), or null when the device has no mapping at
  /// that bus address.
  [[nodiscard]] std::unique_ptr<Entry> take_best_fit(const Entry& ref);

  /// Runs `visit(Entry&)` under its shard's lock on the mapping of `dev` whose range holds `addr`,
  /// preferring one that also holds addr + size - 1. Returns whether one was found.
  template <typename Visit>
  bool visit_containing(const dma::Device* dev, DmaAddr addr, std::uint64_t size, Visit visit);

  /// Marks the oldest unchecked mapping of `dev` at exactly `addr` as checked.
  void mark_checked(const dma::Device* dev, DmaAddr addr);

  /// Removes and returns every mapping of `dev`, oldest first within a bucket.
  [[nodiscard]] std::vector<std::unique_ptr<Entry>> take_all(const dma::Device* dev);
  /// Snapshots every mapping of `dev`.
  [[nodiscard]] std::vector<MappingRecord> records(const dma::Device* dev) const;

  [[nodiscard]] std::size_t size() const { return live_.load(std::memory_order_relaxed); }

 private:
  static constexpr unsigned kShards = 64;
  static constexpr unsigned kBucketShift = 13;

  using Key = std::pair<const dma::Device*, std::uint64_t>;
  using Bucket = absl::InlinedVector<std::unique_ptr<Entry>, 2>;
  struct alignas(64) Shard {
    mutable std::mutex lock;
    absl::flat_hash_map<Key, Bucket> buckets;
  };

  [[nodiscard]] static Key key_of(const dma::Device* dev, DmaAddr addr) {
    return {dev, addr.value() >> kBucketShift};
  }
  [[nodiscard]] Shard& shard_of(const Key& key) {
    return shards_[absl::Hash<Key>{}(key) % kShards];
  }

  std::array<Shard, kShards> shards_;
  std::atomic<std::uint64_t> longest_{0};  ///< the longest mapping ever inserted
  std::atomic<std::size_t> live_{0};
};

template <typename Visit>
bool MappingTable::visit_containing(const dma::Device* dev, DmaAddr addr, std::uint64_t size,
                                    Visit visit) {
  const std::uint64_t reach = longest_.load(std::memory_order_relaxed);
  const std::uint64_t first = addr.value() >> kBucketShift;
  const std::uint64_t lowest = addr.value() >= reach ? (addr.value() - reach) >> kBucketShift : 0;
  for (std::uint64_t b = first + 1; b-- > lowest;) {
    const Key key{dev, b};
    Shard& shard = shard_of(key);
    const std::lock_guard lock(shard.lock);
    const auto it = shard.buckets.find(key);
    if (it == shard.buckets.end()) continue;
    Entry* found = nullptr;
    for (const std::unique_ptr<Entry>& e : it->second) {
      if (!e->contains(addr)) continue;
      if (found == nullptr) found = e.get();
      if (e->contains(addr + (size - 1))) {
        found = e.get();
        break;
      }
    }
    if (found != nullptr) {
      visit(*found);
      return true;
    }
  }
  return false;
}

/// Streaming mappings by physical address. Thread-safe (one lock).
class PhysIndex {
 public:
  void insert(Entry* entry);
  void erase(const Entry* entry);

  /// Runs `visit(const Entry&)` under the lock on every mapping overlapping [start, end).
  template <typename Visit>
  void for_each_overlapping(std::uint64_t start, std::uint64_t end, Visit visit) const;

 private:
  mutable std::mutex lock_;
  absl::btree_multimap<std::uint64_t, Entry*> by_start_;  ///< guarded by lock_
  std::uint64_t longest_ = 0;                             ///< guarded by lock_
};

template <typename Visit>
void PhysIndex::for_each_overlapping(std::uint64_t start, std::uint64_t end, Visit visit) const {
  const std::lock_guard lock(lock_);
  const std::uint64_t from = start >= longest_ ? start - longest_ : 0;
  for (auto it = by_start_.lower_bound(from); it != by_start_.end() && it->first < end; ++it) {
    const Entry& e = *it->second;
    if (e.phys.value() + e.size > start) visit(e);
  }
}

}  // namespace dmakit::debug::detail
