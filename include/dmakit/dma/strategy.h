// SPDX-License-Identifier: Apache-2.0
// Strategy: how a platform makes memory reachable for its devices (dma layer; seeds 000 and 002,
// and Linux's iommu.strict / iommu.passthrough / swiotlb=force), and the one rule for where each
// strategy puts a device. The scenario runner compares strategies; the C API's machines, the
// benchmarks and the tests' platforms place their devices by the same rule.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dmakit/core/name_table.h"
#include "dmakit/iommu/domain.h"

namespace dmakit::iommu {
class Iommu;
}  // namespace dmakit::iommu

namespace dmakit::dma {

class Device;
struct DeviceConfig;

enum class Strategy : std::uint8_t {
  Bounce,       ///< no IOMMU: direct mapping, swiotlb for what a device cannot reach
  ForceBounce,  ///< no IOMMU, every streaming mapping bounces ("shadow buffers", N15)
  IommuStrict,  ///< a DMA domain per device, invalidated on every unmap
  IommuLazy,    ///< the same with deferred invalidation (Linux's default flush queue)
  Passthrough,  ///< identity domains; narrow devices bounce as without an IOMMU
  Guest,        ///< strict DMA domains in a virtual machine: each map or unmap call traps
};

/// Every strategy by its configuration name, in report order.
inline constexpr NameTable<Strategy, 6> kStrategyNames = {{
    {Strategy::Bounce, "bounce"},
    {Strategy::ForceBounce, "force-bounce"},
    {Strategy::IommuStrict, "iommu-strict"},
    {Strategy::IommuLazy, "iommu-lazy"},
    {Strategy::Passthrough, "passthrough"},
    {Strategy::Guest, "guest"},
}};

/// Every strategy, in report order.
[[nodiscard]] std::span<const Strategy> all_strategies();
/// The configuration's name ("iommu-strict").
[[nodiscard]] constexpr std::string_view strategy_name(Strategy strategy) {
  return name_of(kStrategyNames, strategy);
}

/// Where a strategy puts a device.
struct Placement {
  /// The domain of its own the device gets behind the IOMMU; none: it is not behind one.
  std::optional<iommu::DomainConfig> domain;
  /// Every streaming mapping bounces, whatever the device can reach.
  bool force_bounce = false;
};

/// The one placement rule: a DMA domain, strict or deferred, for the IOMMU strategies, an identity
/// domain for passthrough, a strict domain whose calls trap for a guest, and no IOMMU otherwise.
[[nodiscard]] Placement placement_for(Strategy strategy);
[[nodiscard]] constexpr bool uses_iommu(Strategy strategy) {
  return strategy != Strategy::Bounce && strategy != Strategy::ForceBounce;
}

/// `config` as `strategy` places it, behind the IOMMU named `iommu` where the strategy uses one.
[[nodiscard]] DeviceConfig placed(DeviceConfig config, Strategy strategy, const std::string& iommu);
/// Places a live device: attaches it to a new domain of `unit` (which must be non-null when the
/// strategy uses an IOMMU) and sets its bounce forcing.
void place(Device& dev, Strategy strategy, iommu::Iommu* unit);

}  // namespace dmakit::dma
