// TEMPORARY shim
#include <yaml-cpp/yaml.h>

#include "dmakit/core/config_error.h"
#include "dmakit/devices/model_config.h"
#include "dmakit/machine/config_yaml.h"
namespace dmakit::devices {
std::string_view model_kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::Nic:
      return "nic";
    case ModelKind::Storage:
      return "storage";
    default:
      return "legacy";
  }
}
std::string describe_model(const ModelConfig& m) {
  if (auto* n = std::get_if<NicSettings>(&m.settings))
    return std::string("nic, ") + descriptor_format_name(n->nic.format) + " descriptors, " +
           rx_strategy_name(n->driver.rx_strategy);
  if (auto* l = std::get_if<LegacySettings>(&m.settings))
    return "legacy, " + std::to_string(l->device.address_bits) + "-bit";
  return "storage";
}
std::map<std::string, ModelConfig> parse_model_configs(const std::string& text) {
  std::map<std::string, ModelConfig> out;
  machine::yaml::for_each_listed(text, "devices", "devices",
                                 [&](const YAML::Node& n, const std::string& f) {
                                   if (!n["model"]) return;
                                   const YAML::Node m = n["model"];
                                   ModelConfig c;
                                   std::string kind = m["kind"].as<std::string>();
                                   if (kind == "nic") {
                                     NicSettings s;
                                     if (m["descriptors"] && m["descriptors"].as<int>() == 32)
                                       s.nic.format = DescriptorFormat::Bits32;
                                     c.settings = s;
                                   } else if (kind == "storage")
                                     c.settings = StorageSettings{};
                                   else if (kind == "legacy") {
                                     LegacySettings l;
                                     if (m["address_bits"])
                                       l.device.address_bits = m["address_bits"].as<unsigned>();
                                     c.settings = l;
                                   } else
                                     throw ConfigError(f + ".model.kind", "bad kind");
                                   out[n["name"].as<std::string>()] = c;
                                 });
  return out;
}
}  // namespace dmakit::devices
