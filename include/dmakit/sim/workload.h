// SPDX-License-Identifier: Apache-2.0
// Workloads: the I/O a scenario puts through each device model and its driver (sim layer; seed
// 000's "various peripherals"): packet streams for a NIC, block I/O for a storage controller, bulk
// transfers for a legacy device, offloaded copies for a copy engine (seed 002). A workload moves
// real, checked bytes; the runner prices what the platform counted while it did.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "dmakit/core/result.h"
#include "dmakit/devices/device_model.h"
#include "dmakit/devices/model_config.h"
#include "dmakit/dma/device.h"

namespace dmakit::sim {

/// Sizes drawn with weights: {{64, 7}, {576, 4}, {1500, 1}} is the standard IMIX.
struct SizeMix {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> sizes;  ///< (bytes, weight)
};
[[nodiscard]] SizeMix imix();

enum class PacketDirection : std::uint8_t { Receive, Transmit, Both };

/// A packet stream for a NIC: each step moves `batch` packets (a NAPI poll's budget).
struct PacketWorkload {
  SizeMix sizes = imix();
  PacketDirection direction = PacketDirection::Receive;
  std::uint32_t batch = 32;
};

/// Block I/O for a storage controller: `queue_depth` I/Os kept in flight, each `io_bytes` at a
/// random sector-aligned place, reads `read_percent` of the time.
struct BlockWorkload {
  std::uint64_t io_bytes = 64 * 1024;
  unsigned read_percent = 70;
  unsigned queue_depth = 8;
};

/// Bulk transfers for a legacy device: a write of `bytes` to its medium, then a read back.
struct TransferWorkload {
  std::uint32_t bytes = 4096;
};

/// Copies offloaded to a copy engine (seed 002): each I/O fills a source buffer with fresh data,
/// copies `bytes` of it to a destination through an EngineCopier, waits, and compares.
struct CopyWorkload {
  std::uint32_t bytes = 64 * 1024;
};

/// The inline threshold a scenario's engine gets when its configuration leaves it to calibration
/// (parse_scenario), so that which copies go inline does not depend on the host.
inline constexpr std::uint64_t kScenarioEngineThreshold = 8 * 1024;

struct WorkloadConfig {
  std::string device;            ///< a device of the scenario with a model
  std::uint64_t operations = 0;  ///< I/Os to run; 0: the scenario's default
  std::variant<PacketWorkload, BlockWorkload, TransferWorkload, CopyWorkload> spec;
};

/// What one step did.
struct StepResult {
  std::uint64_t ios = 0;             ///< packets, block I/Os, transfers or copies completed
  std::uint64_t bytes = 0;           ///< payload bytes they moved
  std::uint64_t cpu_copy_bytes = 0;  ///< bytes the driver copied with the CPU
  std::uint64_t errors = 0;          ///< I/Os that failed (fault, checksum, refused mapping)
  std::string first_error;           ///< why the first of them failed

  void fail(std::uint64_t failed, std::string_view why) {
    if (errors == 0) first_error = why;
    errors += failed;
  }
};

/// A device model, its driver and the load put on them. Not thread-safe.
class Workload {
 public:
  virtual ~Workload() = default;
  /// Runs one batch of I/Os to completion. Failures are counted in the result, never thrown.
  virtual StepResult step() = 0;
  [[nodiscard]] virtual const devices::DeviceModel& model() const = 0;
};

/// Builds the model `model` describes on `dev`, opens its driver and prepares `config`'s load,
/// with data from a generator seeded by `seed`. Errors: the driver's refusal to open (a 32-bit
/// NIC where nothing can give it low addresses), or InvalidArgument when `config` does not suit
/// the model's kind.
[[nodiscard]] Result<std::unique_ptr<Workload>> make_workload(dma::Device& dev,
                                                              const devices::ModelConfig& model,
                                                              const WorkloadConfig& config,
                                                              std::uint64_t seed);

}  // namespace dmakit::sim
