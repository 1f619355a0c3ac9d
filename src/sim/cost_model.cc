// SPDX-License-Identifier: Apache-2.0
// The cost-model presets (sim layer). Sources: docs/cost-model.md and
// ../shared/reference/peers.md (N-numbers below).
#include "dmakit/sim/cost_model.h"

#include <array>

namespace dmakit::sim {
namespace {

// An SMMUv3 whose invalidations wait `sync_cycles` for their CMD_SYNC (N21: 240 ns with the
// command queue on the local node, 550 ns on a remote one, at 3 GHz).
CostModel smmuv3(const char* name, std::uint64_t sync_cycles) {
  CostModel m;
  m.name = name;
  m.iommu.invalidation = sync_cycles;
  m.iommu.flush = sync_cycles;
  return m;
}

// vtd: VT-d's ~2,100-cycle synchronous invalidation (N3) and the defaults of iommu::IommuCosts;
// copies at this machine's measured memcpy rates (N27 hot, N28 DRAM-bound).
const std::array<CostModel, 3> kPresets = {
    CostModel{},
    smmuv3("smmuv3-local", 720),
    smmuv3("smmuv3-remote", 1650),
};

}  // namespace

std::span<const CostModel> cost_presets() { return kPresets; }

const CostModel* find_cost_preset(std::string_view name) {
  for (const CostModel& m : kPresets)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace dmakit::sim
