// SPDX-License-Identifier: Apache-2.0
// The `devices:` section of a configuration file (dma layer).
#include "dmakit/dma/device_config.h"

#include <fmt/format.h>

#include "dmakit/core/config_error.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/machine/config_yaml.h"

namespace dmakit::dma {
namespace {

using machine::yaml::reject_unknown_keys;
using machine::yaml::size_of;
using machine::yaml::unsigned_of;

unsigned bits_of(const YAML::Node& node, const std::string& field) {
  const unsigned bits = unsigned_of(node, field);
  if (bits < 12 || bits > 64)
    throw ConfigError(field, fmt::format("{} bits: must be 12 to 64", bits));
  return bits;
}

unsigned flags_of(const YAML::Node& node, const std::string& field) {
  if (!node.IsSequence()) throw ConfigError(field, "expected a list such as [map, exclusive]");
  unsigned flags = 0;
  for (const auto& f : node) {
    const std::string name = f.as<std::string>();
    if (name == "map")
      flags |= kMemoryMap;
    else if (name == "io")
      flags |= kMemoryIo;
    else if (name == "includes-children")
      flags |= kMemoryIncludesChildren;
    else if (name == "exclusive")
      flags |= kMemoryExclusive;
    else
      throw ConfigError(field,
                        fmt::format("'{}' is not map, io, includes-children or exclusive", name));
  }
  return flags;
}

DeviceConfig device_of(const YAML::Node& d, const std::string& field) {
  reject_unknown_keys(d, field,
                      {"name", "parent", "dma_mask", "coherent_mask", "bus_dma_limit", "bus_offset",
                       "node", "max_segment_size", "segment_boundary", "min_align_mask",
                       "force_bounce", "declared_memory"});
  DeviceConfig c;
  if (!d["name"]) throw ConfigError(field + ".name", "every device needs a name");
  c.name = d["name"].as<std::string>();
  if (d["parent"]) c.parent = d["parent"].as<std::string>();
  if (d["dma_mask"]) c.dma_mask_bits = bits_of(d["dma_mask"], field + ".dma_mask");
  if (d["coherent_mask"])
    c.coherent_mask_bits = bits_of(d["coherent_mask"], field + ".coherent_mask");
  if (d["bus_dma_limit"])
    c.bus_dma_limit_bits = bits_of(d["bus_dma_limit"], field + ".bus_dma_limit");
  if (d["bus_offset"])
    c.bus_offset = machine::yaml::signed_of(d["bus_offset"], field + ".bus_offset");
  if (d["node"]) c.node = static_cast<int>(unsigned_of(d["node"], field + ".node"));
  if (d["max_segment_size"])
    c.max_segment_size = size_of(d["max_segment_size"], field + ".max_segment_size");
  if (d["segment_boundary"])
    c.segment_boundary_bits = bits_of(d["segment_boundary"], field + ".segment_boundary");
  if (d["min_align_mask"])
    c.min_align_mask = size_of(d["min_align_mask"], field + ".min_align_mask");
  if (d["force_bounce"])
    c.force_bounce = machine::yaml::bool_of(d["force_bounce"], field + ".force_bounce");
  if (const YAML::Node m = d["declared_memory"]) {
    const std::string mf = field + ".declared_memory";
    reject_unknown_keys(m, mf, {"bus_addr", "device_addr", "size", "flags"});
    if (!m["bus_addr"] || !m["size"] || !m["flags"])
      throw ConfigError(mf, "needs bus_addr, size and flags");
    DeclaredMemoryConfig mem;
    mem.bus_addr = PhysAddr(size_of(m["bus_addr"], mf + ".bus_addr"));
    mem.device_addr = DmaAddr(m["device_addr"] ? size_of(m["device_addr"], mf + ".device_addr")
                                               : mem.bus_addr.value());
    mem.size = size_of(m["size"], mf + ".size");
    mem.flags = flags_of(m["flags"], mf + ".flags");
    c.declared_memory = mem;
  }
  return c;
}

}  // namespace

std::vector<DeviceConfig> parse_device_configs(const std::string& yaml_text) {
  const YAML::Node root = machine::yaml::load(yaml_text);
  std::vector<DeviceConfig> devices;
  if (!root.IsMap() || !root["devices"]) return devices;
  const YAML::Node list = root["devices"];
  if (!list.IsSequence()) throw ConfigError("devices", "expected a list of devices");
  try {
    for (std::size_t i = 0; i < list.size(); ++i)
      devices.push_back(device_of(list[i], fmt::format("devices[{}]", i)));
  } catch (const YAML::Exception& e) {
    throw ConfigError("devices", fmt::format("malformed value: {}", e.what()));
  }
  return devices;
}

std::vector<DeviceConfig> load_device_configs(const std::string& path) {
  return parse_device_configs(machine::yaml::read_file(path));
}

}  // namespace dmakit::dma
