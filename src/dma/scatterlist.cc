// SPDX-License-Identifier: Apache-2.0
// Building scatter/gather tables (dma layer).
#include "dmakit/dma/scatterlist.h"

#include <algorithm>
#include <iterator>

namespace dmakit::dma {

Result<SgTable> SgTable::from_buffer(const machine::Machine& m, const void* cpu,
                                     std::uint64_t size) {
  if (size == 0) return fail(Errc::InvalidArgument, "scatterlist of 0 bytes");
  const Result<PhysAddr> start = m.virt_to_phys(cpu);
  if (!start) return std::unexpected(start.error());
  if (!m.memory().is_ram(*start, size))
    return fail(Errc::BadAddress, "buffer {} of {} bytes runs out of RAM", cpu, size);
  SgTable table;
  std::uint64_t phys = start->value();
  std::uint64_t left = size;
  while (left != 0) {
    const std::uint64_t in_page = std::min(left, kPageSize - phys % kPageSize);
    table.add(m.memory().pfn_to_page(phys / kPageSize),
              static_cast<std::uint32_t>(phys % kPageSize), static_cast<std::uint32_t>(in_page));
    phys += in_page;
    left -= in_page;
  }
  return table;
}

SgTable SgTable::from_pages(std::span<machine::Page* const> pages) {
  SgTable table;
  for (machine::Page* page : pages) table.add(page, 0, static_cast<std::uint32_t>(kPageSize));
  return table;
}

void SgTable::chain(SgTable&& other) {
  entries_.insert(entries_.end(), std::make_move_iterator(other.entries_.begin()),
                  std::make_move_iterator(other.entries_.end()));
  other.entries_.clear();
  nents_ = 0;
}

std::uint64_t SgTable::length() const {
  std::uint64_t total = 0;
  for (const ScatterEntry& e : entries_) total += e.length;
  return total;
}

}  // namespace dmakit::dma
