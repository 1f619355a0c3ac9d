// SPDX-License-Identifier: Apache-2.0
// Strategy names (sim layer).
#include "dmakit/sim/strategy.h"

#include <array>
#include <utility>

namespace dmakit::sim {
namespace {

constexpr std::array<std::pair<Strategy, std::string_view>, 6> kNames = {{
    {Strategy::Bounce, "bounce"},
    {Strategy::ForceBounce, "force-bounce"},
    {Strategy::IommuStrict, "iommu-strict"},
    {Strategy::IommuLazy, "iommu-lazy"},
    {Strategy::Passthrough, "passthrough"},
    {Strategy::Guest, "guest"},
}};
constexpr std::array<Strategy, 6> kAll = {Strategy::Bounce,      Strategy::ForceBounce,
                                          Strategy::IommuStrict, Strategy::IommuLazy,
                                          Strategy::Passthrough, Strategy::Guest};

}  // namespace

std::span<const Strategy> all_strategies() { return kAll; }

std::string_view strategy_name(Strategy strategy) {
  for (const auto& [s, name] : kNames)
    if (s == strategy) return name;
  return "?";
}

std::optional<Strategy> strategy_of(std::string_view name) {
  for (const auto& [s, n] : kNames)
    if (n == name) return s;
  return std::nullopt;
}

}  // namespace dmakit::sim
