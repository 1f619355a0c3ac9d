// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for a whole run (sim layer and everything under it): whatever the scenario
// text, parsing it and running it under each of its strategies either completes or throws
// ConfigError naming what it refused. The parser target (scenario_fuzz.cc) stops at parsing; every
// defect past it (a machine, IOMMU or model that cannot hold what the configuration asks, a driver
// or model misbehaving) shows only here. Any other exception, a crash, a sanitizer report, a
// timeout or RSS over libFuzzer's -rss_limit_mb is a finding; scripts/fuzz.sh builds and runs
// this, and each finding fixed becomes a case in tests/sim/fuzz_regression_test.cc.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "dmakit/core/config_error.h"
#include "dmakit/sim/runner.h"
#include "dmakit/sim/scenario.h"

namespace {

using dmakit::sim::BlockWorkload;
using dmakit::sim::CopyWorkload;
using dmakit::sim::PacketWorkload;
using dmakit::sim::Scenario;
using dmakit::sim::TransferWorkload;

// The run's length, capped so that one input runs in well under a second: a few hundred I/Os over
// all workloads and strategies, none larger than kMaxBytes. Values above a cap are cut down to it
// (a bad one below it, such as io_bytes 513, still reaches the run); what the machine, its IOMMU
// and its models are asked to hold is left as the input says.
constexpr std::uint64_t kMaxOperations = 16;
constexpr std::uint32_t kMaxInFlight = 32;  // packets a batch, block I/Os queued
constexpr std::uint32_t kMaxBytes = 256 * 1024;

void cap_run_length(Scenario& s) {
  s.operations = std::min(s.operations, kMaxOperations);
  for (dmakit::sim::WorkloadConfig& w : s.workloads) {
    w.operations = std::min(w.operations == 0 ? s.operations : w.operations, kMaxOperations);
    if (auto* p = std::get_if<PacketWorkload>(&w.spec)) {
      p->batch = std::min(p->batch, kMaxInFlight);
      for (auto& [bytes, weight] : p->sizes.sizes) bytes = std::min(bytes, kMaxBytes);
    } else if (auto* b = std::get_if<BlockWorkload>(&w.spec)) {
      b->queue_depth = std::min<unsigned>(b->queue_depth, kMaxInFlight);
      b->io_bytes = std::min<std::uint64_t>(b->io_bytes, kMaxBytes);
    } else if (auto* t = std::get_if<TransferWorkload>(&w.spec)) {
      t->bytes = std::min(t->bytes, kMaxBytes);
    } else if (auto* c = std::get_if<CopyWorkload>(&w.spec)) {
      c->bytes = std::min(c->bytes, kMaxBytes);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    Scenario scenario = dmakit::sim::parse_scenario(text, "<fuzz>");
    cap_run_length(scenario);
    (void)dmakit::sim::run_scenario(scenario);
  } catch (const dmakit::ConfigError&) {
    // Refused with the field named: what bad configuration gets, at parse time or when a
    // strategy's platform is built.
  }
  return 0;
}
