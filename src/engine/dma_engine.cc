// SPDX-License-Identifier: Apache-2.0
// A software copy engine: a device and its channels (engine layer; seed 002).
#include "dmakit/engine/dma_engine.h"

#include <fmt/format.h>

#include "dmakit/core/config_error.h"

namespace dmakit::engine {

std::string_view capability_name(Capability cap) {
  switch (cap) {
    case Capability::Memcpy:
      return "memcpy";
    case Capability::Memset:
      return "memset";
    case Capability::Sg:
      return "sg";
    case Capability::Interrupt:
      return "interrupt";
  }
  return "unknown";
}

void check_engine_config(const EngineConfig& config) {
  if (config.channels == 0 || config.channels > 64)
    throw ConfigError("channels", fmt::format("{}: must be 1 to 64", config.channels));
  if (config.channel.max_transfer == 0)
    throw ConfigError("max_transfer", "must be at least 1 byte");
  // Intel's I/OAT rings hold at most 2^16 descriptors (IOAT_MAX_ORDER).
  if (config.queue_limit == 0) throw ConfigError("queue_limit", "must be at least 1");
  if (config.queue_limit > 65536)
    throw ConfigError("queue_limit", fmt::format("{}: must be 1 to 65536 (the largest I/OAT ring)",
                                                 config.queue_limit));
}

namespace {

EngineConfig checked(EngineConfig config) {
  try {
    check_engine_config(config);
  } catch (const ConfigError& e) {
    throw e.under(fmt::format("engines.{}", config.name));
  }
  // Every channel can signal a completion in its order: deferred inline callbacks rely on it.
  config.channel.capabilities.set(Capability::Interrupt);
  return config;
}

}  // namespace

DmaEngine::DmaEngine(dma::Device& device, EngineConfig config)
    : device_(device), config_(checked(std::move(config))) {
  for (unsigned i = 0; i < config_.channels; ++i)
    channels_.push_back(std::make_unique<Channel>(device_, fmt::format("{}chan{}", config_.name, i),
                                                  config_.channel));
}

DmaEngine::~DmaEngine() = default;

Result<Channel*> DmaEngine::request_channel(Capability cap) const {
  Channel* best = nullptr;
  for (const auto& ch : channels_) {
    if (ch->has(cap) && (best == nullptr || ch->queue_depth() < best->queue_depth()))
      best = ch.get();
  }
  if (best == nullptr)
    return fail(Errc::NoDevice, "{}: no channel with the {} capability", name(),
                capability_name(cap));
  return best;
}

void DmaEngine::terminate_all() {
  for (const auto& ch : channels_) ch->terminate_all();
}

}  // namespace dmakit::engine
