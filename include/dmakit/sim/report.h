// SPDX-License-Identifier: Apache-2.0
// Reports of a scenario run (sim layer): a table for people, versioned JSON and CSV for programs.
// docs/scenarios.md explains every column and field.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dmakit/sim/results.h"

namespace dmakit::sim {

/// The JSON schema's name and version; it changes when a field changes meaning or goes away.
inline constexpr const char* kRunSchema = "dmakit.run/1";

/// The readable comparison: per device, a row per strategy, cycles per I/O by cause.
[[nodiscard]] std::string format_table(const RunResult& run);
/// Every figure of the run. The "simulator" member holds the host-time figures; everything else
/// depends only on the scenario and its seed.
[[nodiscard]] nlohmann::json to_json(const RunResult& run);
/// A header line and a row per strategy and device.
[[nodiscard]] std::string format_csv(const RunResult& run);

}  // namespace dmakit::sim
