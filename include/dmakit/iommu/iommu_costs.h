// SPDX-License-Identifier: Apache-2.0
// IommuCosts: what each IOMMU event costs on one type of IOMMU, in modeled cycles (iommu layer;
// seed 000 asks for the IOMMU's cost measured, seed 004 for several slightly different types).
// Cost is modeled apart from the simulator's own time: these figures are multiplied by the event
// counters the domains and the IOMMU keep, never slept or spun.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace dmakit::iommu {

struct DomainStats;
struct IommuStats;

/// Cycles per event for one IOMMU type; every figure can be set per IOMMU in the configuration.
/// CPU cycles are spent by the thread that maps or unmaps; device cycles delay the device's access
/// and add to device time. docs/cost-model.md gives each default's source.
struct IommuCosts {
  std::uint64_t iova_alloc = 130;     ///< CPU: an IOVA range allocated (and later freed)
  std::uint64_t pte_write = 40;       ///< CPU: a page-table entry written or cleared
  std::uint64_t invalidation = 2100;  ///< CPU: a page-selective invalidation and its wait
  std::uint64_t flush = 2100;         ///< CPU: a domain-wide flush of queued invalidations
  std::uint64_t trap = 1500;          ///< CPU: a hypervisor trap of a guest domain's call
  std::uint64_t iotlb_hit = 3;        ///< device: a translation the IOTLB served
  std::uint64_t walk_level = 250;     ///< device: a table entry a page walk read from memory
};

/// Each cost's key in configuration and reports, for every parser and printer that names them.
struct IommuCostKey {
  std::string_view name;
  std::uint64_t IommuCosts::*member;
};
inline constexpr std::array<IommuCostKey, 7> kIommuCostKeys{{
    {"iova_alloc", &IommuCosts::iova_alloc},
    {"pte_write", &IommuCosts::pte_write},
    {"invalidation", &IommuCosts::invalidation},
    {"flush", &IommuCosts::flush},
    {"trap", &IommuCosts::trap},
    {"iotlb_hit", &IommuCosts::iotlb_hit},
    {"walk_level", &IommuCosts::walk_level},
}};

/// Modeled cycles by cause.
struct IommuCostBreakdown {
  std::uint64_t iova = 0;          ///< CPU: IOVA allocations
  std::uint64_t page_table = 0;    ///< CPU: page-table entries written
  std::uint64_t invalidation = 0;  ///< CPU: page-selective invalidations and domain flushes
  std::uint64_t traps = 0;         ///< CPU: hypervisor traps
  std::uint64_t iotlb = 0;         ///< device: IOTLB hits
  std::uint64_t walks = 0;         ///< device: page-walk reads

  [[nodiscard]] std::uint64_t cpu() const { return iova + page_table + invalidation + traps; }
  [[nodiscard]] std::uint64_t device() const { return iotlb + walks; }
};

/// The cost of what `iommu` and `domains` counted, at `costs`.
[[nodiscard]] IommuCostBreakdown modeled_cost(const IommuCosts& costs, const IommuStats& iommu,
                                              std::span<const DomainStats> domains);

}  // namespace dmakit::iommu
