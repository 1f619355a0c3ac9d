// SPDX-License-Identifier: Apache-2.0
// The `machine:` section of a configuration file, in YAML (machine layer). configs/machine.yaml
// documents every key; this parser rejects anything it does not know, naming the key.
#include "dmakit/machine/machine_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <string_view>

#include "dmakit/core/config_error.h"
#include "dmakit/machine/config_yaml.h"
#include "dmakit/machine/memory_layout.h"

namespace dmakit::machine {
namespace {

using yaml::bool_of;
using yaml::reject_unknown_keys;
using yaml::size_of;
using yaml::unsigned_of;

// A zone limit: a size, or `none` / `false` for a machine without that zone.
std::optional<std::uint64_t> zone_limit_of(const YAML::Node& node, const std::string& field) {
  if (node.IsScalar() && (node.Scalar() == "none" || node.Scalar() == "false")) return std::nullopt;
  return size_of(node, field);
}

PhysRange range_of(const YAML::Node& node, const std::string& field) {
  reject_unknown_keys(node, field, {"name", "start", "end"});
  if (!node["start"] || !node["end"]) throw ConfigError(field, "needs both start and end");
  return {PhysAddr(size_of(node["start"], field + ".start")),
          PhysAddr(size_of(node["end"], field + ".end"))};
}

void apply(const YAML::Node& m, MachineConfig& config) {
  reject_unknown_keys(m, "machine",
                      {"ram", "holes", "nodes", "zones", "lowmem_reserve_ratio", "mask_pool",
                       "swiotlb", "page_cache", "vmalloc"});
  if (m["ram"]) config.ram_size = size_of(m["ram"], "machine.ram");
  if (const YAML::Node holes = m["holes"]) {
    if (!holes.IsSequence()) throw ConfigError("machine.holes", "expected a list of holes");
    config.holes.clear();
    for (std::size_t i = 0; i < holes.size(); ++i) {
      const std::string field = fmt::format("machine.holes[{}]", i);
      const PhysRange range = range_of(holes[i], field);
      const std::string name = holes[i]["name"] ? holes[i]["name"].as<std::string>() : "hole";
      config.holes.push_back({name, range});
    }
  }
  if (const YAML::Node nodes = m["nodes"]) {
    if (nodes.IsSequence()) {
      config.node_ranges.clear();
      for (std::size_t i = 0; i < nodes.size(); ++i)
        config.node_ranges.push_back(range_of(nodes[i], fmt::format("machine.nodes[{}]", i)));
    } else {
      config.node_count = unsigned_of(nodes, "machine.nodes");
    }
  }
  if (const YAML::Node zones = m["zones"]) {
    reject_unknown_keys(zones, "machine.zones", {"dma", "dma32"});
    if (zones["dma"]) config.zone_dma_limit = zone_limit_of(zones["dma"], "machine.zones.dma");
    if (zones["dma32"])
      config.zone_dma32_limit = zone_limit_of(zones["dma32"], "machine.zones.dma32");
  }
  if (const YAML::Node ratio = m["lowmem_reserve_ratio"]) {
    reject_unknown_keys(ratio, "machine.lowmem_reserve_ratio", {"dma", "dma32"});
    if (ratio["dma"])
      config.lowmem_reserve_ratio[0] =
          unsigned_of(ratio["dma"], "machine.lowmem_reserve_ratio.dma");
    if (ratio["dma32"])
      config.lowmem_reserve_ratio[1] =
          unsigned_of(ratio["dma32"], "machine.lowmem_reserve_ratio.dma32");
  }
  if (const YAML::Node cache = m["page_cache"]) {
    reject_unknown_keys(cache, "machine.page_cache", {"shards", "batch", "high"});
    if (cache["shards"])
      config.page_cache_shards = unsigned_of(cache["shards"], "machine.page_cache.shards");
    if (cache["batch"])
      config.page_cache_batch = unsigned_of(cache["batch"], "machine.page_cache.batch");
    if (cache["high"])
      config.page_cache_high = unsigned_of(cache["high"], "machine.page_cache.high");
  }
  if (const YAML::Node pool = m["mask_pool"]) {
    reject_unknown_keys(pool, "machine.mask_pool", {"size", "force", "search", "wait_timeout_ms"});
    if (pool["size"]) config.mask_pool_size = size_of(pool["size"], "machine.mask_pool.size");
    if (pool["force"]) config.mask_pool_force = bool_of(pool["force"], "machine.mask_pool.force");
    if (const YAML::Node search = pool["search"])
      config.mask_pool_search =
          yaml::choice_of(search, "machine.mask_pool.search", kMaskPoolSearchNames);
    // A blocked allocation holds its run up for this long: a minute at most, so that no value
    // can make a run hang for days.
    if (pool["wait_timeout_ms"])
      config.mask_pool_wait_timeout = std::chrono::milliseconds(
          yaml::count_in(pool["wait_timeout_ms"], "machine.mask_pool.wait_timeout_ms", 0, 60'000));
  }
  if (const YAML::Node tlb = m["swiotlb"]) {
    reject_unknown_keys(tlb, "machine.swiotlb",
                        {"size", "limit", "areas", "force", "transient_pools", "transient_size"});
    SwiotlbConfig& s = config.swiotlb;
    if (tlb["size"]) s.size = size_of(tlb["size"], "machine.swiotlb.size");
    if (tlb["limit"]) s.limit = size_of(tlb["limit"], "machine.swiotlb.limit");
    if (tlb["areas"]) s.areas = unsigned_of(tlb["areas"], "machine.swiotlb.areas");
    if (tlb["force"]) s.force = bool_of(tlb["force"], "machine.swiotlb.force");
    if (tlb["transient_pools"])
      s.transient_pools = unsigned_of(tlb["transient_pools"], "machine.swiotlb.transient_pools");
    if (tlb["transient_size"])
      s.transient_size = size_of(tlb["transient_size"], "machine.swiotlb.transient_size");
  }
  if (m["vmalloc"]) config.vmalloc_size = size_of(m["vmalloc"], "machine.vmalloc");
}

}  // namespace

MachineConfig parse_machine_config(const std::string& yaml_text) {
  const YAML::Node root = yaml::load(yaml_text);
  MachineConfig config;
  if (!root.IsMap() || !root["machine"])
    throw ConfigError("machine", "the configuration has no 'machine:' section");
  try {
    apply(root["machine"], config);
  } catch (const YAML::Exception& e) {
    throw ConfigError("machine", fmt::format("malformed value: {}", e.what()));
  }
  // Every limit of the layout (RAM size, holes, nodes, pools) at parse time, before a machine is
  // built: planning allocates nothing.
  (void)MemoryLayout::plan(config);
  return config;
}

MachineConfig load_machine_config(const std::string& path) {
  return parse_machine_config(yaml::read_file(path));
}

}  // namespace dmakit::machine
