// SPDX-License-Identifier: Apache-2.0
// Gfp: allocation flags of the page allocator (machine layer), after Linux's gfp_t: which zones a
// request may use, where it prefers its memory, and whether it must be zeroed.
#pragma once

#include <cstdint>

namespace dmakit::machine {

/// A set of allocation flags. With neither Dma nor Dma32 a request may use every zone (GFP_KERNEL).
class Gfp {
 public:
  enum Bit : std::uint32_t {
    kDma = 1u << 0,       ///< highest allowed zone is ZONE_DMA (GFP_DMA)
    kDma32 = 1u << 1,     ///< highest allowed zone is ZONE_DMA32 (GFP_DMA32)
    kZero = 1u << 2,      ///< fill the memory with zeroes (__GFP_ZERO)
    kThisNode = 1u << 3,  ///< only the preferred node, no fallback (__GFP_THISNODE)
    kWait = 1u << 4,      ///< may block until memory is freed (__GFP_WAIT); never in atomic context
    kNoWarn = 1u << 5,    ///< do not report a failure (__GFP_NOWARN)
  };

  constexpr Gfp() = default;
  constexpr Gfp(Bit bit) : bits_(bit) {}  // NOLINT: a single flag is a Gfp

  [[nodiscard]] constexpr bool has(Bit bit) const { return (bits_ & bit) != 0; }
  [[nodiscard]] constexpr std::uint32_t bits() const { return bits_; }
  constexpr Gfp operator|(Gfp other) const { return from_bits(bits_ | other.bits_); }
  constexpr Gfp without(Bit bit) const {
    return from_bits(bits_ & ~static_cast<std::uint32_t>(bit));
  }
  constexpr bool operator==(const Gfp&) const = default;

 private:
  static constexpr Gfp from_bits(std::uint32_t bits) {
    Gfp gfp;
    gfp.bits_ = bits;
    return gfp;
  }
  std::uint32_t bits_ = 0;
};

inline constexpr Gfp kGfpKernel{};
inline constexpr Gfp kGfpDma{Gfp::kDma};
inline constexpr Gfp kGfpDma32{Gfp::kDma32};
inline constexpr Gfp kGfpZero{Gfp::kZero};
inline constexpr Gfp kGfpThisNode{Gfp::kThisNode};
inline constexpr Gfp kGfpWait{Gfp::kWait};
inline constexpr Gfp kGfpNoWarn{Gfp::kNoWarn};

constexpr Gfp operator|(Gfp::Bit a, Gfp::Bit b) { return Gfp(a) | Gfp(b); }

}  // namespace dmakit::machine
