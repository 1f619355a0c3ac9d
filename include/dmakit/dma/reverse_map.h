// SPDX-License-Identifier: Apache-2.0
// DmaReverseMap: a hash table from DMA page to CPU page (dma layer; seed 004: "you can maintain a
// hash table that maps DMA addresses back to kernel mappings"), for DMA ops that have no mapping of
// their own to invert.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"

namespace dmakit::dma {

/// Maps each 4 KiB DMA page of a live mapping to the CPU address of the same page, counting how
/// many live mappings cover it. Lookups are O(1). Thread-safe.
class DmaReverseMap {
 public:
  /// Records [dma, dma + size) as backed by [cpu, cpu + size); both must share their offset in the
  /// page (a mapping moves whole pages).
  void insert(DmaAddr dma, std::byte* cpu, std::uint64_t size);
  /// Forgets one mapping of [dma, dma + size). InvalidArgument, with nothing changed, when any page
  /// of it is not recorded.
  [[nodiscard]] Status erase(DmaAddr dma, std::uint64_t size);
  /// The CPU address behind `dma`, or null when no live mapping covers it.
  [[nodiscard]] std::byte* lookup(DmaAddr dma) const;

 private:
  struct Entry {
    std::byte* cpu_page;
    std::uint32_t mappings;
  };
  mutable std::mutex lock_;
  absl::flat_hash_map<std::uint64_t, Entry> pages_;  ///< DMA page number -> entry; guarded by lock_
};

}  // namespace dmakit::dma
