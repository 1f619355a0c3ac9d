// SPDX-License-Identifier: Apache-2.0
// The reverse DMA-to-CPU hash table (dma layer; seed 004).
#include "dmakit/dma/reverse_map.h"

namespace dmakit::dma {
namespace {

std::uint64_t first_page(DmaAddr dma) { return dma.value() >> kPageShift; }
std::uint64_t end_page(DmaAddr dma, std::uint64_t size) {
  return (dma.value() + size + kPageSize - 1) >> kPageShift;
}

}  // namespace

void DmaReverseMap::insert(DmaAddr dma, std::byte* cpu, std::uint64_t size) {
  std::byte* cpu_page = cpu - dma.value() % kPageSize;
  const std::scoped_lock guard(lock_);
  for (std::uint64_t p = first_page(dma); p < end_page(dma, size); ++p, cpu_page += kPageSize) {
    auto [it, fresh] = pages_.try_emplace(p, Entry{cpu_page, 0});
    ++it->second.mappings;
  }
}

Status DmaReverseMap::erase(DmaAddr dma, std::uint64_t size) {
  const std::scoped_lock guard(lock_);
  for (std::uint64_t p = first_page(dma); p < end_page(dma, size); ++p) {
    if (!pages_.contains(p))
      return fail(Errc::InvalidArgument, "DMA page {:#x} of [{:#x}, +{:#x}) is not mapped",
                  p << kPageShift, dma.value(), size);
  }
  for (std::uint64_t p = first_page(dma); p < end_page(dma, size); ++p) {
    auto it = pages_.find(p);
    if (--it->second.mappings == 0) pages_.erase(it);
  }
  return {};
}

std::byte* DmaReverseMap::lookup(DmaAddr dma) const {
  const std::scoped_lock guard(lock_);
  auto it = pages_.find(first_page(dma));
  return it == pages_.end() ? nullptr : it->second.cpu_page + dma.value() % kPageSize;
}

}  // namespace dmakit::dma
