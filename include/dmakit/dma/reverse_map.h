// SPDX-License-Identifier: Apache-2.0
// DmaReverseMap: a hash table from DMA page to CPU page (dma layer; seed 004: "you can maintain a
// hash table that maps DMA addresses back to kernel mappings"), for DMA ops that have no mapping of
// their own to invert.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"

namespace dmakit::dma {

/// Maps each 4 KiB DMA page of a live mapping to the mappings that touch it, each with its own CPU
/// address: bounce slots are 2 KiB, so two mappings of unrelated buffers may share a DMA page.
/// Lookups are O(1) for the usual one or two mappings per page. Thread-safe.
class DmaReverseMap {
 public:
  /// Records [dma, dma + size) as backed by [cpu, cpu + size).
  void insert(DmaAddr dma, std::byte* cpu, std::uint64_t size);
  /// Forgets the mapping recorded as [dma, dma + size). InvalidArgument, with nothing changed, when
  /// there is none.
  [[nodiscard]] Status erase(DmaAddr dma, std::uint64_t size);
  /// The CPU address behind `dma`, or null when no live mapping covers it.
  [[nodiscard]] std::byte* lookup(DmaAddr dma) const;

 private:
  struct Range {
    std::uint64_t dma;
    std::uint64_t size;
    std::byte* cpu;
  };
  mutable std::mutex lock_;
  /// DMA page number -> the mappings touching it; guarded by lock_.
  absl::flat_hash_map<std::uint64_t, absl::InlinedVector<Range, 1>> pages_;
};

}  // namespace dmakit::dma
