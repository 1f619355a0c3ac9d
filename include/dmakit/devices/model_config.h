// SPDX-License-Identifier: Apache-2.0
// TEMPORARY shim until the devices layer's model configuration lands.
#pragma once

#include <map>
#include <string>

#include "dmakit/devices/legacy_device.h"
#include "dmakit/devices/nic.h"
#include "dmakit/devices/nic_driver.h"
#include "dmakit/devices/storage_controller.h"
#include "dmakit/devices/storage_driver.h"

namespace dmakit::devices {

enum class ModelKind : std::uint8_t { Nic, Storage, Legacy, LocalMemory, CopyOnly, Engine };
const char* model_kind_name(ModelKind kind);

struct ModelConfig {
  ModelKind kind = ModelKind::Nic;
  NicConfig nic;
  NicDriverConfig nic_driver;
  StorageConfig storage;
  StorageDriverConfig storage_driver;
  LegacyConfig legacy;
};

std::string describe_model(const ModelConfig& m);
std::map<std::string, ModelConfig> parse_model_configs(const std::string& yaml_text);

}  // namespace dmakit::devices
