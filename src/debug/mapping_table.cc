// SPDX-License-Identifier: Apache-2.0
// The checker's tables (debug layer, private; design at the top of mapping_table.h).
#include "debug/mapping_table.h"

#include <algorithm>

#include "dmakit/dma/device.h"

namespace dmakit::debug::detail {

MappingRecord Entry::record() const {
  return {device->name(), kind, phys,     dma,
          size,           dir,  sg_count, device_owns.load(std::memory_order_relaxed),
          mapped_at};
}

void MappingTable::insert(std::unique_ptr<Entry> entry) {
  const Key key = key_of(entry->device, entry->dma);
  std::uint64_t longest = longest_.load(std::memory_order_relaxed);
  while (entry->size > longest &&
         !longest_.compare_exchange_weak(longest, entry->size, std::memory_order_relaxed)) {
  }
  Shard& shard = shard_of(key);
  const std::lock_guard lock(shard.lock);
  shard.buckets[key].push_back(std::move(entry));
  live_.fetch_add(1, std::memory_order_relaxed);
}

std::unique_ptr<Entry> MappingTable::take_best_fit(const Entry& ref) {
  const Key key = key_of(ref.device, ref.dma);
  Shard& shard = shard_of(key);
  const std::lock_guard lock(shard.lock);
  const auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) return nullptr;
  Bucket& bucket = it->second;
  int best_score = -1;
  std::size_t best = 0;
  for (std::size_t i = 0; i < bucket.size(); ++i) {
    const Entry& e = *bucket[i];
    if (e.dma != ref.dma) continue;
    const bool same_cpu =
        e.kind == dma::MappingKind::Coherent ? e.cpu == ref.cpu : e.phys == ref.phys;
    const int score = (e.size == ref.size) + (e.kind == ref.kind) + (e.dir == ref.dir) +
                      (e.sg_count == ref.sg_count) + same_cpu;
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  if (best_score < 0) return nullptr;
  std::unique_ptr<Entry> taken = std::move(bucket[best]);
  bucket.erase(bucket.begin() + static_cast<std::ptrdiff_t>(best));
  if (bucket.empty()) shard.buckets.erase(it);
  live_.fetch_sub(1, std::memory_order_relaxed);
  return taken;
}

void MappingTable::mark_checked(const dma::Device* dev, DmaAddr addr) {
  const Key key = key_of(dev, addr);
  Shard& shard = shard_of(key);
  const std::lock_guard lock(shard.lock);
  const auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) return;
  // Several mappings may share the address (one page mapped twice); one check covers one map.
  for (const std::unique_ptr<Entry>& e : it->second) {
    if (e->dma == addr && !e->error_checked) {
      e->error_checked = true;
      return;
    }
  }
}

std::vector<std::unique_ptr<Entry>> MappingTable::take_all(const dma::Device* dev) {
  std::vector<std::unique_ptr<Entry>> taken;
  for (Shard& shard : shards_) {
    const std::lock_guard lock(shard.lock);
    for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
      if (it->first.first != dev) {
        ++it;
        continue;
      }
      for (std::unique_ptr<Entry>& e : it->second) taken.push_back(std::move(e));
      shard.buckets.erase(it++);
    }
  }
  live_.fetch_sub(taken.size(), std::memory_order_relaxed);
  return taken;
}

std::vector<MappingRecord> MappingTable::records(const dma::Device* dev) const {
  std::vector<MappingRecord> out;
  for (const Shard& shard : shards_) {
    const std::lock_guard lock(shard.lock);
    for (const auto& [key, bucket] : shard.buckets) {
      if (key.first != dev) continue;
      for (const std::unique_ptr<Entry>& e : bucket) out.push_back(e->record());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const MappingRecord& a, const MappingRecord& b) { return a.dma < b.dma; });
  return out;
}

void PhysIndex::insert(Entry* entry) {
  const std::lock_guard lock(lock_);
  by_start_.emplace(entry->phys.value(), entry);
  longest_ = std::max(longest_, entry->size);
}

void PhysIndex::erase(const Entry* entry) {
  const std::lock_guard lock(lock_);
  auto [it, end] = by_start_.equal_range(entry->phys.value());
  for (; it != end; ++it) {
    if (it->second == entry) {
      by_start_.erase(it);
      return;
    }
  }
}

}  // namespace dmakit::debug::detail
