// SPDX-License-Identifier: Apache-2.0
// The placement rule of each strategy (dma layer).
#include "dmakit/dma/strategy.h"

#include <array>

#include "dmakit/core/assert.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/device_config.h"
#include "dmakit/iommu/iommu.h"

namespace dmakit::dma {
namespace {

constexpr std::array<Strategy, kStrategyNames.size()> kAll = [] {
  std::array<Strategy, kStrategyNames.size()> all{};
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = kStrategyNames[i].value;
  return all;
}();

}  // namespace

std::span<const Strategy> all_strategies() { return kAll; }

Placement placement_for(Strategy strategy) {
  Placement p;
  p.force_bounce = strategy == Strategy::ForceBounce;
  if (!uses_iommu(strategy)) return p;
  iommu::DomainConfig domain;
  if (strategy == Strategy::Passthrough) domain.kind = iommu::DomainKind::Identity;
  if (strategy == Strategy::IommuStrict || strategy == Strategy::Guest)
    domain.policy = iommu::InvalidationPolicy::Strict;
  domain.guest = strategy == Strategy::Guest;
  p.domain = domain;
  return p;
}

DeviceConfig placed(DeviceConfig config, Strategy strategy, const std::string& iommu) {
  const Placement p = placement_for(strategy);
  if (p.force_bounce) config.force_bounce = true;
  if (p.domain) config.iommu = DeviceIommuConfig{.iommu = iommu, .domain = *p.domain, .share = {}};
  return config;
}

void place(Device& dev, Strategy strategy, iommu::Iommu* unit) {
  const Placement p = placement_for(strategy);
  if (p.force_bounce) dev.set_force_bounce(true);  // otherwise the bounce pool's setting holds
  if (!p.domain) return;
  DMAKIT_CHECK(unit != nullptr, "strategy {} places devices behind an IOMMU",
               strategy_name(strategy));
  dev.attach(&unit->create_domain(*p.domain));
}

}  // namespace dmakit::dma
