// SPDX-License-Identifier: Apache-2.0
// CopyEngine: the engine layer's DMA engine as a device model (devices layer; seed 002): a device
// with its own masks and IOMMU domain whose channels copy for other models' drivers, through an
// EngineCopier (engine_copier.h).
#pragma once

#include <cstdint>

#include "dmakit/devices/device_model.h"
#include "dmakit/engine/dma_engine.h"

namespace dmakit::devices {

struct CopyEngineConfig {
  /// The engine's channels and offload settings; its name and device are the model's device's.
  engine::EngineConfig engine;
  ModelTiming timing;
};

/// The model. Its channels run on worker threads of their own from construction on, translating
/// their accesses themselves; service() takes what they did into the model's counters. The model
/// object itself is not thread-safe (one thread calls service()), the engine is.
class CopyEngine final : public DeviceModel {
 public:
  /// Starts the engine on `dev`. Throws what check_timing() and check_engine_config() do.
  CopyEngine(dma::Device& dev, const CopyEngineConfig& config);

  [[nodiscard]] std::string_view kind() const override { return "engine"; }
  /// Counts the descriptors the channels completed since the last call, the bytes they wrote, as
  /// many read (a channel counts only what it writes; a copy reads as much, a fill nothing, which
  /// this overcounts) and the accesses refused; returns the descriptors. A channel counts a
  /// descriptor just after its callback has returned.
  std::size_t service() override;

  [[nodiscard]] engine::DmaEngine& engine() { return engine_; }

 private:
  engine::DmaEngine engine_;
  engine::ChannelStats counted_;  ///< the channels' totals at the last service()
};

}  // namespace dmakit::devices
