// SPDX-License-Identifier: Apache-2.0
// Scatter/gather lists (dma layer; seeds 000 and 002): what a driver hands to map_sg, and what the
// device gets back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dmakit/core/addr.h"
#include "dmakit/core/result.h"
#include "dmakit/machine/machine.h"

namespace dmakit::dma {

/// One entry: a piece of memory (page, offset, length) and, once mapped, a DMA segment. As in
/// Linux, map_sg writes DMA segment k into entry k, so the first nents() entries hold the segments
/// and the rest have dma_length 0.
struct ScatterEntry {
  machine::Page* page = nullptr;
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  DmaAddr dma_address{};
  std::uint32_t dma_length = 0;
};

/// A scatter/gather table (Linux's sg_table): `entries()` as built, `nents()` DMA segments after
/// map_sg. Entries live in one growable array, so a table of any length needs no chain links;
/// chain() appends another table's entries, as sg_chain() links arrays.
class SgTable {
 public:
  SgTable() = default;

  /// One entry per page piece of [cpu, cpu + size) of the machine's direct map. BadAddress for
  /// memory outside it (vmalloc memory included: its pages must be added one by one with add_page).
  [[nodiscard]] static Result<SgTable> from_buffer(const machine::Machine& m, const void* cpu,
                                                   std::uint64_t size);
  /// One entry per page, whole pages.
  [[nodiscard]] static SgTable from_pages(std::span<machine::Page* const> pages);

  void add(machine::Page* page, std::uint32_t offset, std::uint32_t length) {
    entries_.push_back({page, offset, length, {}, 0});
  }
  /// Appends `other`'s entries (sg_chain).
  void chain(SgTable&& other);

  [[nodiscard]] std::span<ScatterEntry> entries() { return entries_; }
  [[nodiscard]] std::span<const ScatterEntry> entries() const { return entries_; }
  [[nodiscard]] std::size_t orig_nents() const { return entries_.size(); }
  /// DMA segments after the last map_sg (0 before, and after a failed map).
  [[nodiscard]] std::size_t nents() const { return nents_; }
  void set_nents(std::size_t n) { nents_ = n; }
  /// Total bytes of the entries.
  [[nodiscard]] std::uint64_t length() const;

 private:
  std::vector<ScatterEntry> entries_;
  std::size_t nents_ = 0;
};

}  // namespace dmakit::dma
