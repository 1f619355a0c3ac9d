// SPDX-License-Identifier: Apache-2.0
// Strategy: how a platform makes memory reachable for its devices, the thing a scenario compares
// (sim layer; seeds 000 and 002, and Linux's iommu.strict / iommu.passthrough / swiotlb=force).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace dmakit::sim {

enum class Strategy : std::uint8_t {
  Bounce,       ///< no IOMMU: direct mapping, swiotlb for what a device cannot reach
  ForceBounce,  ///< no IOMMU, every streaming mapping bounces ("shadow buffers", N15)
  IommuStrict,  ///< a DMA domain per device, invalidated on every unmap
  IommuLazy,    ///< the same with deferred invalidation (Linux's default flush queue)
  Passthrough,  ///< identity domains; narrow devices bounce as without an IOMMU
  Guest,        ///< strict DMA domains in a virtual machine: each map or unmap call traps
};

/// Every strategy, in report order.
[[nodiscard]] std::span<const Strategy> all_strategies();
/// The configuration's name ("iommu-strict").
[[nodiscard]] std::string_view strategy_name(Strategy strategy);
[[nodiscard]] std::optional<Strategy> strategy_of(std::string_view name);
[[nodiscard]] constexpr bool uses_iommu(Strategy s) {
  return s == Strategy::IommuStrict || s == Strategy::IommuLazy || s == Strategy::Passthrough ||
         s == Strategy::Guest;
}

}  // namespace dmakit::sim
