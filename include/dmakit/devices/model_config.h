// SPDX-License-Identifier: Apache-2.0
// ModelConfig: what a device of a configuration file's `devices:` list is, from its `model:` key
// (devices layer): the model's kind, its settings and its driver's, each key documented in
// configs/devices.yaml; and the model built from it on the device.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "dmakit/core/name_table.h"
#include "dmakit/devices/copy_engine.h"
#include "dmakit/devices/copy_only_adapter.h"
#include "dmakit/devices/device_model.h"
#include "dmakit/devices/legacy_device.h"
#include "dmakit/devices/local_memory_device.h"
#include "dmakit/devices/nic.h"
#include "dmakit/devices/nic_driver.h"
#include "dmakit/devices/storage_controller.h"
#include "dmakit/devices/storage_driver.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace dmakit::devices {

/// The models, in the order of ModelConfig's settings.
enum class ModelKind : std::uint8_t { Nic, Storage, Legacy, LocalMemory, CopyOnly, Engine };

/// The kinds by their names in configuration, as their models' kind() gives them.
inline constexpr NameTable<ModelKind, 6> kModelKindNames = {{
    {ModelKind::Nic, "nic"},
    {ModelKind::Storage, "storage"},
    {ModelKind::Legacy, "legacy"},
    {ModelKind::LocalMemory, "local-memory"},
    {ModelKind::CopyOnly, "copy-only"},
    {ModelKind::Engine, "engine"},
}};
[[nodiscard]] constexpr std::string_view model_kind_name(ModelKind kind) {
  return name_of(kModelKindNames, kind);
}

/// What moves the copy-only driver's bytes.
enum class CopierKind : std::uint8_t {
  Cpu,     ///< CpuCopier
  Engine,  ///< EngineCopier over the engine of another device
};

inline constexpr NameTable<CopierKind, 2> kCopierKindNames = {{
    {CopierKind::Cpu, "cpu"},
    {CopierKind::Engine, "engine"},
}};

struct NicSettings {
  NicConfig nic;
  NicDriverConfig driver;
};

struct StorageSettings {
  StorageConfig controller;
  StorageDriverConfig driver;
};

/// The legacy driver has no settings of its own.
struct LegacySettings {
  LegacyConfig device;
};

struct LocalMemorySettings {
  LocalMemoryConfig controller;
  std::uint32_t ring_entries = 64;  ///< the driver's ring of copy descriptors in on-board memory
};

struct CopyOnlySettings {
  CopyOnlyConfig adapter;
  CopierKind copier = CopierKind::Cpu;
  std::string engine;  ///< with CopierKind::Engine: the device whose model is the engine
};

/// One device's model and its driver's settings; the alternative held is the kind.
struct ModelConfig {
  std::variant<NicSettings, StorageSettings, LegacySettings, LocalMemorySettings, CopyOnlySettings,
               CopyEngineConfig>
      settings;

  [[nodiscard]] ModelKind kind() const { return static_cast<ModelKind>(settings.index()); }
};

/// The model the mapping `node` (a device's `model:`) describes: its `kind` and that kind's keys,
/// defaults for the keys left out. Throws ConfigError naming the key under `field`
/// ("devices[2].model.descriptors") and what it expects, for a missing kind, an unknown key, a
/// value of the wrong type, a name that is none of the choices, and a number out of range.
[[nodiscard]] ModelConfig parse_model_config(const YAML::Node& node, const std::string& field);

/// The models of the `devices:` list of a YAML document, by device name; devices without a
/// `model:` have none. Throws as parse_model_config(), and ConfigError naming the key for a device
/// without a name and for a copy-only device whose engine names no device with an engine model.
[[nodiscard]] std::map<std::string, ModelConfig> parse_model_configs(const std::string& yaml_text);
[[nodiscard]] std::map<std::string, ModelConfig> load_model_configs(const std::string& path);

/// The model `config` describes, on `dev`, which must outlive it. Throws ConfigError as the model's
/// constructor does. Drivers are opened by whoever runs the device, with the config's settings.
[[nodiscard]] std::unique_ptr<DeviceModel> create_model(dma::Device& dev,
                                                        const ModelConfig& config);

/// The kind and main settings in a line ("nic: 32-bit descriptors, recycled-pool receive, ...").
[[nodiscard]] std::string describe_model(const ModelConfig& config);

}  // namespace dmakit::devices
