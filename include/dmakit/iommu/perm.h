// SPDX-License-Identifier: Apache-2.0
// Perm: the access rights an I/O translation grants a device (iommu layer), as Linux's IOMMU_READ
// and IOMMU_WRITE prot bits (reference section 6.3).
#pragma once

#include <cstdint>

namespace dmakit::iommu {

/// A set of access rights. Read lets the device read memory (DMA to the device), Write lets it
/// write memory (DMA from the device).
enum class Perm : std::uint8_t {
  None = 0,
  Read = 1 << 0,
  Write = 1 << 1,
  ReadWrite = Read | Write,
};

constexpr Perm operator|(Perm a, Perm b) {
  return static_cast<Perm>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr Perm operator&(Perm a, Perm b) {
  return static_cast<Perm>(static_cast<std::uint8_t>(a) & static_cast<std::uint8_t>(b));
}

/// True when `granted` includes every right in `needed`.
constexpr bool allows(Perm granted, Perm needed) { return (granted & needed) == needed; }

}  // namespace dmakit::iommu
