// TEMPORARY shim
#include <yaml-cpp/yaml.h>

#include "dmakit/core/config_error.h"
#include "dmakit/devices/model_config.h"
#include "dmakit/machine/config_yaml.h"
namespace dmakit::devices {
const char* model_kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::Nic:
      return "nic";
    case ModelKind::Storage:
      return "storage";
    case ModelKind::Legacy:
      return "legacy";
    default:
      return "other";
  }
}
std::string describe_model(const ModelConfig& m) {
  if (m.kind == ModelKind::Nic)
    return std::string("nic, ") + descriptor_format_name(m.nic.format) + " descriptors, " +
           rx_strategy_name(m.nic_driver.rx_strategy);
  if (m.kind == ModelKind::Legacy)
    return "legacy, " + std::to_string(m.legacy.address_bits) + "-bit";
  return model_kind_name(m.kind);
}
std::map<std::string, ModelConfig> parse_model_configs(const std::string& text) {
  std::map<std::string, ModelConfig> out;
  machine::yaml::for_each_listed(
      text, "devices", "devices", [&](const YAML::Node& n, const std::string& f) {
        if (!n["model"]) return;
        const YAML::Node m = n["model"];
        ModelConfig c;
        std::string kind = m["kind"].as<std::string>();
        if (kind == "nic") {
          c.kind = ModelKind::Nic;
          if (m["descriptors"] && m["descriptors"].as<int>() == 32)
            c.nic.format = DescriptorFormat::Bits32;
          if (m["rx_strategy"] && m["rx_strategy"].as<std::string>() == "recycled-pool")
            c.nic_driver.rx_strategy = RxStrategy::RecycledPool;
        } else if (kind == "storage")
          c.kind = ModelKind::Storage;
        else if (kind == "legacy") {
          c.kind = ModelKind::Legacy;
          if (m["address_bits"]) c.legacy.address_bits = m["address_bits"].as<unsigned>();
        } else
          throw ConfigError(f + ".model.kind", "bad kind");
        out[n["name"].as<std::string>()] = c;
      });
  return out;
}
}  // namespace dmakit::devices
