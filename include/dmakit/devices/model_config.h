// SPDX-License-Identifier: Apache-2.0
// TEMPORARY shim until the devices layer's model configuration lands.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "dmakit/devices/legacy_device.h"
#include "dmakit/devices/nic.h"
#include "dmakit/devices/nic_driver.h"
#include "dmakit/devices/storage_controller.h"
#include "dmakit/devices/storage_driver.h"

namespace dmakit::devices {

enum class ModelKind : std::uint8_t { Nic, Storage, Legacy };
std::string_view model_kind_name(ModelKind kind);
struct NicSettings {
  NicConfig nic;
  NicDriverConfig driver;
};
struct StorageSettings {
  StorageConfig controller;
  StorageDriverConfig driver;
};
struct LegacySettings {
  LegacyConfig device;
};
struct ModelConfig {
  std::variant<NicSettings, StorageSettings, LegacySettings> settings;
  [[nodiscard]] ModelKind kind() const { return static_cast<ModelKind>(settings.index()); }
};

std::string describe_model(const ModelConfig& m);
std::map<std::string, ModelConfig> parse_model_configs(const std::string& yaml_text);

}  // namespace dmakit::devices
