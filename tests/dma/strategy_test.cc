// SPDX-License-Identifier: Apache-2.0
#include "dmakit/dma/strategy.h"

#include <gtest/gtest.h>

#include "dmakit/dma/device.h"
#include "dmakit/dma/device_config.h"
#include "dmakit/dma/platform.h"
#include "dmakit/iommu/iommu.h"
#include "dmakit/machine/machine.h"
#include "testing/bounce_machine.h"

namespace dmakit::dma {
namespace {

TEST(Strategy, NamesRoundTripInReportOrder) {
  ASSERT_EQ(all_strategies().size(), kStrategyNames.size());
  for (std::size_t i = 0; i < all_strategies().size(); ++i) {
    const Strategy s = all_strategies()[i];
    EXPECT_EQ(s, kStrategyNames[i].value);
    EXPECT_EQ(value_of(kStrategyNames, strategy_name(s)), s);
  }
  EXPECT_FALSE(value_of(kStrategyNames, "strict").has_value());
}

TEST(Strategy, PlacementPutsEachStrategysDevicesWhereItSays) {
  EXPECT_FALSE(placement_for(Strategy::Bounce).domain);
  EXPECT_FALSE(placement_for(Strategy::Bounce).force_bounce);
  EXPECT_FALSE(placement_for(Strategy::ForceBounce).domain);
  EXPECT_TRUE(placement_for(Strategy::ForceBounce).force_bounce);

  const auto strict = placement_for(Strategy::IommuStrict).domain;
  ASSERT_TRUE(strict);
  EXPECT_EQ(strict->kind, iommu::DomainKind::Dma);
  EXPECT_EQ(strict->policy, iommu::InvalidationPolicy::Strict);
  EXPECT_FALSE(strict->guest);

  const auto lazy = placement_for(Strategy::IommuLazy).domain;
  ASSERT_TRUE(lazy);
  EXPECT_EQ(lazy->kind, iommu::DomainKind::Dma);
  EXPECT_EQ(lazy->policy, iommu::InvalidationPolicy::Deferred);

  const auto identity = placement_for(Strategy::Passthrough).domain;
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->kind, iommu::DomainKind::Identity);

  const auto guest = placement_for(Strategy::Guest).domain;
  ASSERT_TRUE(guest);
  EXPECT_TRUE(guest->guest);
  EXPECT_EQ(guest->policy, iommu::InvalidationPolicy::Strict);

  for (const Strategy s : all_strategies())
    EXPECT_EQ(placement_for(s).domain.has_value(), uses_iommu(s)) << strategy_name(s);
}

TEST(Strategy, PlacedConfigAndPlacedDeviceAgree) {
  DeviceConfig c;
  c.name = "nic";
  const DeviceConfig strict = placed(c, Strategy::IommuStrict, "vtd0");
  ASSERT_TRUE(strict.iommu);
  EXPECT_EQ(strict.iommu->iommu, "vtd0");
  EXPECT_EQ(strict.iommu->domain.policy, iommu::InvalidationPolicy::Strict);
  EXPECT_FALSE(placed(c, Strategy::Bounce, "vtd0").iommu);
  EXPECT_EQ(placed(c, Strategy::ForceBounce, "vtd0").force_bounce, true);
  EXPECT_FALSE(placed(c, Strategy::Bounce, "vtd0").force_bounce.has_value());

  machine::Machine m(testing::bounce_machine_config());
  Platform platform(m);
  iommu::Iommu& unit = platform.add_iommu({});
  Device passthrough(platform, "pt");
  place(passthrough, Strategy::Passthrough, &unit);
  ASSERT_NE(passthrough.domain(), nullptr);
  EXPECT_EQ(passthrough.domain()->config().kind, iommu::DomainKind::Identity);
  Device bounced(platform, "fb");
  place(bounced, Strategy::ForceBounce, nullptr);
  EXPECT_EQ(bounced.domain(), nullptr);
  EXPECT_TRUE(bounced.force_bounce());
}

}  // namespace
}  // namespace dmakit::dma
