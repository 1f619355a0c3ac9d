// SPDX-License-Identifier: Apache-2.0
// The `devices:` section of a configuration file (dma layer).
#include "dmakit/dma/device_config.h"

#include <fmt/format.h>

#include <string_view>
#include <vector>

#include "dmakit/core/config_error.h"
#include "dmakit/core/mask.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/iommu/iotlb.h"
#include "dmakit/machine/config_yaml.h"
#include "dmakit/machine/machine_config.h"
#include "dmakit/swiotlb/bounce_pool.h"

namespace dmakit::dma {
namespace {

using machine::yaml::choice_of;
using machine::yaml::count_in;
using machine::yaml::reject_unknown_keys;
using machine::yaml::size_in;
using machine::yaml::size_of;
using machine::yaml::unsigned_of;

// A device's `iommu.domain`: a kind of domain, or a DMA domain in a guest.
enum class DomainChoice : std::uint8_t { Dma, Guest, Identity };
constexpr NameTable<DomainChoice, 4> kDomainChoices = {{
    {DomainChoice::Dma, "dma"},
    {DomainChoice::Guest, "guest"},
    {DomainChoice::Identity, "identity"},
    {DomainChoice::Identity, "passthrough"},
}};

unsigned bits_of(const YAML::Node& node, const std::string& field) {
  const unsigned bits = unsigned_of(node, field);
  if (bits < 12 || bits > 64)
    throw ConfigError(field, fmt::format("{} bits: must be 12 to 64", bits));
  return bits;
}

unsigned flags_of(const YAML::Node& node, const std::string& field) {
  if (!node.IsSequence()) throw ConfigError(field, "expected a list such as [map, exclusive]");
  unsigned flags = 0;
  for (std::size_t i = 0; i < node.size(); ++i)
    flags |= choice_of(node[i], fmt::format("{}[{}]", field, i), kDeclareFlagNames);
  return flags;
}

DeviceConfig device_of(const YAML::Node& d, const std::string& field) {
  // `model` is what the device does, the devices layer's to read (devices/model_config.h).
  reject_unknown_keys(d, field,
                      {"name", "parent", "dma_mask", "coherent_mask", "bus_dma_limit", "bus_offset",
                       "node", "max_segment_size", "segment_boundary", "min_align_mask",
                       "force_bounce", "declared_memory", "iommu", "model"});
  DeviceConfig c;
  if (!d["name"] || !d["name"].IsScalar() || d["name"].Scalar().empty())
    throw ConfigError(field + ".name", "every device needs a name");
  c.name = d["name"].Scalar();
  if (d["parent"]) c.parent = d["parent"].as<std::string>();
  if (d["dma_mask"]) c.dma_mask_bits = bits_of(d["dma_mask"], field + ".dma_mask");
  if (d["coherent_mask"])
    c.coherent_mask_bits = bits_of(d["coherent_mask"], field + ".coherent_mask");
  if (d["bus_dma_limit"])
    c.bus_dma_limit_bits = bits_of(d["bus_dma_limit"], field + ".bus_dma_limit");
  if (d["bus_offset"])
    c.bus_offset = machine::yaml::signed_of(d["bus_offset"], field + ".bus_offset");
  // The machine's own node count is checked where the machine is known (sim::parse_scenario).
  if (d["node"])
    c.node = static_cast<int>(
        count_in(d["node"], field + ".node", 0, machine::MachineConfig::kMaxNodes - 1));
  if (d["max_segment_size"])
    c.max_segment_size = size_of(d["max_segment_size"], field + ".max_segment_size");
  if (d["segment_boundary"])
    c.segment_boundary_bits = bits_of(d["segment_boundary"], field + ".segment_boundary");
  if (d["min_align_mask"]) {
    // A bounce keeps the address bits under the mask, so the mask takes its own size out of a
    // 256 KiB bounce run (IO_TLB_SEGSIZE slots); above half of it, little or nothing is left to map
    // (Linux drivers use at most a page: NVMe's 4 KiB - 1).
    const std::string f = field + ".min_align_mask";
    c.min_align_mask = size_in(d["min_align_mask"], f, 0, swiotlb::kMaxRunBytes / 2 - 1,
                               "half a 256 KiB bounce run");
    if (c.min_align_mask != 0 && !is_contiguous_mask(c.min_align_mask))
      throw ConfigError(f, fmt::format("{:#x} is not of the form 2^n - 1", c.min_align_mask));
  }
  if (d["force_bounce"])
    c.force_bounce = machine::yaml::bool_of(d["force_bounce"], field + ".force_bounce");
  if (const YAML::Node io = d["iommu"]) {
    const std::string f = field + ".iommu";
    reject_unknown_keys(io, f, {"name", "domain", "policy", "share"});
    DeviceIommuConfig c_io;
    if (!io["name"]) throw ConfigError(f + ".name", "names the IOMMU the device sits behind");
    c_io.iommu = io["name"].as<std::string>();
    if (io["share"]) c_io.share = io["share"].as<std::string>();
    if (const YAML::Node kind = io["domain"]) {
      switch (choice_of(kind, f + ".domain", kDomainChoices)) {
        case DomainChoice::Dma:
          c_io.domain.kind = iommu::DomainKind::Dma;
          break;
        case DomainChoice::Guest:
          c_io.domain.guest = true;
          break;
        case DomainChoice::Identity:
          c_io.domain.kind = iommu::DomainKind::Identity;
          break;
      }
    }
    if (const YAML::Node policy = io["policy"])
      c_io.domain.policy = choice_of(policy, f + ".policy", iommu::kPolicyNames);
    c.iommu = c_io;
  }
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

// Cycles per IOMMU event: every key optional, the type's default otherwise.
void parse_iommu_costs(const YAML::Node& n, const std::string& field, iommu::IommuCosts& costs) {
  std::vector<std::string_view> known;
  for (const iommu::IommuCostKey& k : iommu::kIommuCostKeys) known.push_back(k.name);
  reject_unknown_keys(n, field, known);
  for (const auto& [name, member] : iommu::kIommuCostKeys) {
    const std::string key(name);
    if (n[key]) costs.*member = size_of(n[key], field + "." + key);
  }
}

iommu::IommuConfig iommu_of(const YAML::Node& n, const std::string& field) {
  reject_unknown_keys(n, field, {"name", "levels", "large_pages", "iotlb", "costs"});
  iommu::IommuConfig c;
  if (!n["name"]) throw ConfigError(field + ".name", "every IOMMU needs a name");
  c.name = n["name"].as<std::string>();
  if (n["levels"])
    c.page_table.levels =
        count_in(n["levels"], field + ".levels", 1, 5, "x86-64 and Arm translate with 4 or 5");
  if (n["large_pages"] && !machine::yaml::bool_of(n["large_pages"], field + ".large_pages"))
    c.page_table.page_sizes = kPageSize;
  if (const YAML::Node tlb = n["iotlb"]) {
    reject_unknown_keys(tlb, field + ".iotlb", {"entries", "ways"});
    if (tlb["entries"]) c.iotlb.entries = unsigned_of(tlb["entries"], field + ".iotlb.entries");
    if (tlb["ways"]) c.iotlb.ways = unsigned_of(tlb["ways"], field + ".iotlb.ways");
    try {
      iommu::check_config(c.iotlb);
    } catch (const ConfigError& e) {
      throw e.under(field);
    }
  }
  if (const YAML::Node costs = n["costs"]) parse_iommu_costs(costs, field + ".costs", c.costs);
  return c;
}

// A device that shares another's domain gets that domain as it is: a domain setting of its own that
// differs would be silently ignored, so it is refused, naming both devices.
void check_shared_domain(const std::vector<DeviceConfig>& devices, std::size_t i,
                         const YAML::Node& io, const std::string& field) {
  const DeviceIommuConfig& mine = *devices[i].iommu;
  for (std::size_t j = 0; j < i; ++j) {
    if (devices[j].name != mine.share || !devices[j].iommu) continue;
    const iommu::DomainConfig& theirs = devices[j].iommu->domain;
    if (io["policy"] && mine.domain.policy != theirs.policy)
      throw ConfigError(
          field + ".iommu.policy",
          fmt::format("'{}' conflicts with the '{}' policy of '{}' (devices[{}]), "
                      "whose domain '{}' shares",
                      iommu::policy_name(mine.domain.policy), iommu::policy_name(theirs.policy),
                      mine.share, j, devices[i].name));
    if (io["domain"] && (mine.domain.kind != theirs.kind || mine.domain.guest != theirs.guest))
      throw ConfigError(field + ".iommu.domain",
                        fmt::format("'{}' conflicts with the domain of '{}' (devices[{}]), which "
                                    "'{}' shares",
                                    io["domain"].Scalar(), mine.share, j, devices[i].name));
  }
}

}  // namespace

std::vector<DeviceConfig> parse_device_configs(const std::string& yaml_text) {
  std::vector<DeviceConfig> devices;
  machine::yaml::for_each_listed(
      yaml_text, "devices", "devices", [&](const YAML::Node& n, const std::string& field) {
        devices.push_back(device_of(n, field));
        if (devices.back().iommu && !devices.back().iommu->share.empty())
          check_shared_domain(devices, devices.size() - 1, n["iommu"], field);
      });
  return devices;
}

void check_device_nodes(const std::vector<DeviceConfig>& devices, std::size_t nodes) {
  for (std::size_t i = 0; i < devices.size(); ++i) {
    if (devices[i].node >= 0 && static_cast<std::size_t>(devices[i].node) >= nodes)
      throw ConfigError(fmt::format("devices[{}].node", i),
                        fmt::format("{}: the machine has {} node(s), 0 to {}", devices[i].node,
                                    nodes, nodes - 1));
  }
}

std::vector<DeviceConfig> load_device_configs(const std::string& path) {
  return parse_device_configs(machine::yaml::read_file(path));
}

std::vector<iommu::IommuConfig> parse_iommu_configs(const std::string& yaml_text) {
  std::vector<iommu::IommuConfig> iommus;
  machine::yaml::for_each_listed(
      yaml_text, "iommus", "IOMMUs",
      [&](const YAML::Node& n, const std::string& field) { iommus.push_back(iommu_of(n, field)); });
  return iommus;
}

std::vector<iommu::IommuConfig> load_iommu_configs(const std::string& path) {
  return parse_iommu_configs(machine::yaml::read_file(path));
}

}  // namespace dmakit::dma
