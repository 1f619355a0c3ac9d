// SPDX-License-Identifier: Apache-2.0
// DMA address masks (core layer). A mask is the highest address a device can generate; it is always
// of the form 2^n - 1 (seed 003: "holes in the mask would make no sense").
#pragma once

#include <cstdint>

namespace dmakit {

/// The mask of a device that drives `bits` address lines, as Linux's DMA_BIT_MASK(n). `bits` >= 64
/// gives the all-ones mask.
constexpr std::uint64_t dma_bit_mask(unsigned bits) {
  return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
}

/// True for masks of the form 2^n - 1, n >= 1.
constexpr bool is_contiguous_mask(std::uint64_t mask) {
  return mask != 0 && (mask & (mask + 1)) == 0;
}

/// True when the whole block [addr, addr + size) lies at or below `mask`; checks the last byte.
constexpr bool fits_under_mask(std::uint64_t addr, std::uint64_t size, std::uint64_t mask) {
  return size != 0 && addr <= mask && size - 1 <= mask - addr;
}

}  // namespace dmakit
