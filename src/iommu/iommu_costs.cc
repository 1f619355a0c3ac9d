// SPDX-License-Identifier: Apache-2.0
// The modeled cost of an IOMMU's counted events (iommu layer).
#include "dmakit/iommu/iommu_costs.h"

#include "dmakit/iommu/domain.h"
#include "dmakit/iommu/iommu.h"

namespace dmakit::iommu {

IommuCostBreakdown modeled_cost(const IommuCosts& costs, const IommuStats& iommu,
                                std::span<const DomainStats> domains) {
  IommuCostBreakdown cost;
  for (const DomainStats& d : domains) {
    cost.iova += d.iova.allocations * costs.iova_alloc;
    cost.page_table += d.page_table.entries_written * costs.pte_write;
    cost.invalidation += d.invalidations * costs.invalidation + d.flushes * costs.flush;
    cost.traps += d.traps * costs.trap;
  }
  cost.iotlb = iommu.iotlb.hits * costs.iotlb_hit;
  cost.walks = iommu.walk_levels * costs.walk_level;
  return cost;
}

}  // namespace dmakit::iommu
