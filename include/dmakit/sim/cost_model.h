// SPDX-License-Identifier: Apache-2.0
// CostModel: what each counted event of a scenario costs, in modeled cycles (sim layer; seed 000:
// "somebody needs to put some serious effort into measuring the performance impact of the IOMMU").
// Named presets carry published figures (docs/cost-model.md gives each source); every value can be
// overridden in a scenario's `cost_model:` section.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "dmakit/iommu/iommu_costs.h"

namespace dmakit::sim {

/// Cycles per event. The IOMMU's events are priced by `iommu`; copies per KiB so that sums stay
/// exact integers (the same scenario and seed give the same figures on every run).
struct CostModel {
  std::string name = "vtd";
  iommu::IommuCosts iommu;
  std::uint64_t bounce_copy_per_kib = 160;  ///< CPU: a swiotlb copy, the slot cold in the cache
  std::uint64_t bounce_slot = 270;          ///< CPU: a bounce slot search, release, per mapping
  std::uint64_t cpu_copy_per_kib = 22;      ///< CPU: a driver's memcpy of data hot in its cache
  std::uint64_t map_call = 20;              ///< CPU: a map or unmap call's own work (direct path)
  std::uint64_t cpu_mhz = 3000;             ///< converts cycles to modeled time
};

/// The keys of CostModel's own values in a scenario's `cost_model:` section and in reports; the
/// IOMMU's are iommu::kIommuCostKeys.
struct CostModelKey {
  std::string_view name;
  std::uint64_t CostModel::*member;
};
inline constexpr std::array<CostModelKey, 4> kCostModelKeys{{
    {"bounce_copy_per_kib", &CostModel::bounce_copy_per_kib},
    {"bounce_slot", &CostModel::bounce_slot},
    {"cpu_copy_per_kib", &CostModel::cpu_copy_per_kib},
    {"cpu_mhz", &CostModel::cpu_mhz},
}};

/// The presets, in the order `dmakit run --list-presets` shows them.
[[nodiscard]] std::span<const CostModel> cost_presets();
/// A preset by name, or null.
[[nodiscard]] const CostModel* find_cost_preset(std::string_view name);

/// Cycles for `bytes` copied at `per_kib` cycles per KiB, rounded up.
[[nodiscard]] constexpr std::uint64_t copy_cycles(std::uint64_t bytes, std::uint64_t per_kib) {
  return (bytes * per_kib + 1023) / 1024;
}

}  // namespace dmakit::sim
