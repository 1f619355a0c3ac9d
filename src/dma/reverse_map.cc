// SPDX-License-Identifier: Apache-2.0
// The reverse DMA-to-CPU hash table (dma layer; seed 004).
#include "dmakit/dma/reverse_map.h"

#include <algorithm>

namespace dmakit::dma {
namespace {

std::uint64_t first_page(DmaAddr dma) { return dma.value() >> kPageShift; }
std::uint64_t end_page(DmaAddr dma, std::uint64_t size) {
  return (dma.value() + size + kPageSize - 1) >> kPageShift;
}

}  // namespace

void DmaReverseMap::insert(DmaAddr dma, std::byte* cpu, std::uint64_t size) {
  const std::scoped_lock guard(lock_);
  for (std::uint64_t p = first_page(dma); p < end_page(dma, size); ++p)
    pages_[p].push_back({dma.value(), size, cpu});
}

Status DmaReverseMap::erase(DmaAddr dma, std::uint64_t size) {
  const auto same = [&](const Range& r) { return r.dma == dma.value() && r.size == size; };
  const std::scoped_lock guard(lock_);
  const auto it = pages_.find(first_page(dma));
  if (size == 0 || it == pages_.end() || std::none_of(it->second.begin(), it->second.end(), same))
    return fail(Errc::InvalidArgument, "no mapping of [{:#x}, +{:#x}) is recorded", dma.value(),
                size);
  for (std::uint64_t p = first_page(dma); p < end_page(dma, size); ++p) {
    auto& ranges = pages_[p];
    ranges.erase(std::find_if(ranges.begin(), ranges.end(), same));
    if (ranges.empty()) pages_.erase(p);
  }
  return {};
}

std::byte* DmaReverseMap::lookup(DmaAddr dma) const {
  const std::scoped_lock guard(lock_);
  const auto it = pages_.find(first_page(dma));
  if (it == pages_.end()) return nullptr;
  for (const Range& r : it->second) {
    if (dma.value() - r.dma < r.size) return r.cpu + (dma.value() - r.dma);
  }
  return nullptr;
}

}  // namespace dmakit::dma
