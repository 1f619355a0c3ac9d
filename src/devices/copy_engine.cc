// SPDX-License-Identifier: Apache-2.0
// The copy engine model (devices layer).
#include "dmakit/devices/copy_engine.h"

#include "dmakit/dma/device.h"

namespace dmakit::devices {
namespace {

engine::EngineConfig on_device(engine::EngineConfig config, const dma::Device& dev) {
  config.name = dev.name();
  config.device = dev.name();
  return config;
}

}  // namespace

CopyEngine::CopyEngine(dma::Device& dev, const CopyEngineConfig& config)
    : DeviceModel(dev, config.timing), engine_(dev, on_device(config.engine, dev)) {}

std::size_t CopyEngine::service() {
  engine::ChannelStats now;
  for (const auto& ch : engine_.channels()) {
    const engine::ChannelStats s = ch->stats();
    now.descriptors += s.descriptors;
    now.bytes += s.bytes;
    now.errors += s.errors;
  }
  const std::uint64_t descriptors = now.descriptors - counted_.descriptors;
  const std::uint64_t bytes = now.bytes - counted_.bytes;
  count_descriptor(descriptors);
  count_local(bytes, bytes);
  count_faults(now.errors - counted_.errors);
  counted_ = now;
  return descriptors;
}

}  // namespace dmakit::devices
