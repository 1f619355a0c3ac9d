// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the scenario parser (sim layer, and the machine, dma and devices parsers it
// calls): whatever the text, sim::parse_scenario returns a scenario or throws ConfigError naming
// what it refused. Any other exception, a crash or a sanitizer report is a finding; each one fixed
// becomes a case in tests/sim/scenario_test.cc. scripts/fuzz.sh builds and runs this.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dmakit/core/config_error.h"
#include "dmakit/sim/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)dmakit::sim::parse_scenario(text, "<fuzz>");
  } catch (const dmakit::ConfigError&) {
    // Refused with the field named: what a parser does with bad input.
  }
  return 0;
}
