// SPDX-License-Identifier: Apache-2.0
// DmaEngine: a copy engine on the simulated machine (engine layer; seed 002): a DMA device with
// its own masks, behind an IOMMU or not, and its channels. Linux's struct dma_device.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dmakit/core/result.h"
#include "dmakit/engine/channel.h"

namespace dmakit::dma {
class Device;
}  // namespace dmakit::dma

namespace dmakit::engine {

/// An engine as a configuration file's `engines:` list describes it (configs/engines.yaml).
struct EngineConfig {
  std::string name = "dma0";
  std::string device;  ///< the platform device the engine is (its masks, its IOMMU domain)
  unsigned channels = 1;
  ChannelConfig channel;  ///< every channel's settings
  /// Copies shorter than this go inline (AsyncTx); nullopt: measured on the host at start-up.
  std::optional<std::uint64_t> inline_threshold;
  /// Descriptors a channel may hold before AsyncTx stops offloading to it ("can take it now").
  unsigned queue_limit = 64;
};

/// Throws ConfigError naming the key ("channels") for settings no engine can have: no channels,
/// more than 64, a max_transfer of 0 or a queue_limit of 0.
void check_engine_config(const EngineConfig& config);

/// An engine and its channels. The engine's bus accesses are those of `device`, which must outlive
/// it. Channels are shared (dma_find_channel), never handed out exclusively. Thread-safe.
class DmaEngine {
 public:
  /// Starts one worker per channel. Throws what check_engine_config() does, the key placed under
  /// "engines.<name>".
  DmaEngine(dma::Device& device, EngineConfig config);
  /// Aborts what has not started, waits for what runs, and stops the workers.
  ~DmaEngine();

  DmaEngine(const DmaEngine&) = delete;
  DmaEngine& operator=(const DmaEngine&) = delete;

  [[nodiscard]] const std::string& name() const { return config_.name; }
  [[nodiscard]] dma::Device& device() const { return device_; }
  [[nodiscard]] const EngineConfig& config() const { return config_; }
  [[nodiscard]] std::span<const std::unique_ptr<Channel>> channels() const { return channels_; }

  /// The channel with `cap` holding the fewest descriptors (dma_request_chan_by_mask); NoDevice
  /// when no channel has it.
  [[nodiscard]] Result<Channel*> request_channel(Capability cap) const;

  /// terminate_all on every channel.
  void terminate_all();

 private:
  dma::Device& device_;
  const EngineConfig config_;
  std::vector<std::unique_ptr<Channel>> channels_;
};

}  // namespace dmakit::engine
