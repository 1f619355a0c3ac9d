// SPDX-License-Identifier: Apache-2.0
// `dmakit layout`: what the simulated machine looks like, as text or JSON.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <bit>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "commands.h"
#include "dmakit/alloc/mask_allocator.h"
#include "dmakit/core/config_error.h"
#include "dmakit/debug/dma_debug.h"
#include "dmakit/devices/model_config.h"
#include "dmakit/dma/declared_memory.h"
#include "dmakit/dma/device.h"
#include "dmakit/dma/platform.h"
#include "dmakit/engine/engine_config.h"
#include "dmakit/machine/config_yaml.h"
#include "dmakit/machine/machine.h"
#include "dmakit/swiotlb/swiotlb.h"

namespace dmakit::cli {
namespace {

using machine::Machine;
using machine::Zone;
using machine::ZoneKind;

nlohmann::json range_json(PhysRange r) {
  return {{"start", r.start.value()}, {"end", r.end.value()}, {"size", r.size()}};
}

nlohmann::json zone_json(const Zone& zone) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const std::uint64_t count : zone.free_blocks()) blocks.push_back(count);
  nlohmann::json reserve = nlohmann::json::object();
  for (unsigned k = static_cast<unsigned>(zone.kind()) + 1; k < machine::kZoneKinds; ++k) {
    const auto kind = static_cast<ZoneKind>(k);
    reserve[std::string(machine::zone_kind_name(kind))] = zone.lowmem_reserve(kind);
  }
  nlohmann::json j = range_json(zone.span());
  j["kind"] = machine::zone_kind_name(zone.kind());
  j["present_pages"] = zone.present_pages();
  j["free_pages"] = zone.free_pages();
  j["cached_pages"] = zone.cached_pages();
  j["free_blocks_by_order"] = blocks;
  j["lowmem_reserve_pages"] = reserve;
  return j;
}

nlohmann::json mask_pool_json(const Machine& m, const alloc::MaskAllocator* mask) {
  if (mask == nullptr) return nullptr;
  const alloc::MaskAllocatorStats s = mask->stats();
  nlohmann::json j = range_json(s.pool);
  j["pages"] = s.pool_pages;
  j["used_pages"] = s.used_pages;
  j["largest_free_run_pages"] = s.largest_free_run;
  j["free_runs"] = s.free_runs;
  j["search"] = name_of(machine::kMaskPoolSearchNames, m.config().mask_pool_search);
  j["force"] = m.config().mask_pool_force;
  j["counters"] = {{"served_by_normal", s.served_by_normal},
                   {"normal_above_mask", s.normal_above_mask},
                   {"served_by_pool", s.served_by_pool},
                   {"wraps", s.wraps},
                   {"failures", s.failures},
                   {"waits", s.waits}};
  return j;
}

nlohmann::json swiotlb_json(const Machine& m, const swiotlb::Swiotlb* tlb) {
  if (tlb == nullptr) return nullptr;
  const swiotlb::SwiotlbStats s = tlb->stats();
  const machine::SwiotlbConfig& c = m.config().swiotlb;
  nlohmann::json j = range_json(s.pool);
  j["limit"] = c.limit;
  j["slot_bytes"] = swiotlb::kSlotSize;
  j["areas"] = s.areas;
  j["force"] = c.force;
  j["total_slots"] = s.total_slots;
  j["used_slots"] = s.used_slots;
  j["used_hiwater"] = s.used_hiwater;
  j["transient"] = {{"max_pools", c.transient_pools},
                    {"pool_bytes", c.transient_size},
                    {"active", s.transient_active},
                    {"taken", s.transient_taken}};
  j["counters"] = {{"mappings_bounced", s.mappings_bounced},
                   {"mappings_direct", s.mappings_direct},
                   {"bytes_to_device", s.bytes_to_device},
                   {"bytes_from_device", s.bytes_from_device},
                   {"failures", s.failures}};
  return j;
}

void print_swiotlb(const Machine& m, const swiotlb::Swiotlb* tlb) {
  if (tlb == nullptr) {
    fmt::print("\nbounce pool: none (mappings a device cannot reach fail)\n");
    return;
  }
  const swiotlb::SwiotlbStats s = tlb->stats();
  const machine::SwiotlbConfig& c = m.config().swiotlb;
  fmt::print("\nbounce pool (swiotlb): {} - {}, {} ({} slots of 2 KiB), {} area(s){}\n",
             format_addr(s.pool.start.value()), format_addr(s.pool.end.value()),
             format_size(s.pool.size()), s.total_slots, s.areas, c.force ? ", forced" : "");
  fmt::print("  used {} slots, high-water {}, transient pools {} of {} ({} each, {} taken)\n",
             s.used_slots, s.used_hiwater, s.transient_active, c.transient_pools,
             format_size(c.transient_size), s.transient_taken);
  fmt::print("  mappings bounced {}, direct {}, bytes to device {}, from device {}, failures {}\n",
             s.mappings_bounced, s.mappings_direct, s.bytes_to_device, s.bytes_from_device,
             s.failures);
}

// The devices attached to `domain`.
std::vector<std::string> devices_in(const dma::Platform& platform, const iommu::Domain* domain) {
  std::vector<std::string> names;
  for (const dma::Device* d : platform.devices()) {
    if (d->domain() == domain) names.push_back(d->name());
  }
  return names;
}

nlohmann::json costs_json(const iommu::IommuCosts& costs) {
  nlohmann::json j;
  for (const auto& [name, member] : iommu::kIommuCostKeys) j[std::string(name)] = costs.*member;
  return j;
}

nlohmann::json iommus_json(const dma::Platform& platform) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& unit : platform.iommus()) {
    nlohmann::json domains = nlohmann::json::array();
    for (const iommu::Domain* d : unit->domains()) {
      const iommu::DomainStats s = d->stats();
      domains.push_back({{"id", d->id()},
                         {"kind", iommu::domain_kind_name(d->config().kind)},
                         {"guest", d->config().guest},
                         {"policy", iommu::policy_name(d->config().policy)},
                         {"devices", devices_in(platform, d)},
                         {"page_table_bytes", s.page_table.table_bytes},
                         {"mapped_bytes", s.page_table.mapped_bytes},
                         {"live_iovas", s.iova.live_ranges}});
    }
    const iommu::IommuConfig& c = unit->config();
    out.push_back({{"name", unit->name()},
                   {"levels", c.page_table.levels},
                   {"iova_bits", c.page_table.iova_bits()},
                   {"iotlb_entries", c.iotlb.entries},
                   {"iotlb_ways", c.iotlb.ways},
                   {"faults", unit->faults().count()},
                   {"costs", costs_json(c.costs)},
                   {"domains", domains}});
  }
  return out;
}

void print_iommus(const dma::Platform& platform) {
  for (const auto& unit : platform.iommus()) {
    const iommu::IommuConfig& c = unit->config();
    fmt::print(
        "\niommu {}: {}-level page tables ({}-bit IOVA), IOTLB {} entries {}-way, {} faults\n",
        unit->name(), c.page_table.levels, c.page_table.iova_bits(), c.iotlb.entries, c.iotlb.ways,
        unit->faults().count());
    const iommu::IommuCosts& k = c.costs;
    fmt::print(
        "  cycles per event: IOVA {}, PTE write {}, invalidation {}, flush {}, trap {}; device: "
        "IOTLB hit {}, walk level {}\n",
        k.iova_alloc, k.pte_write, k.invalidation, k.flush, k.trap, k.iotlb_hit, k.walk_level);
    for (const iommu::Domain* d : unit->domains()) {
      const iommu::DomainStats s = d->stats();
      std::string names;
      for (const std::string& n : devices_in(platform, d)) names += (names.empty() ? "" : ", ") + n;
      fmt::print("  domain {} {}{} ({}): {}; page tables {}\n", d->id(),
                 iommu::domain_kind_name(d->config().kind), d->config().guest ? " guest" : "",
                 iommu::policy_name(d->config().policy), names.empty() ? "no devices" : names,
                 format_size(s.page_table.table_bytes));
    }
  }
}

int mask_bits(std::uint64_t mask) { return mask == ~std::uint64_t{0} ? 64 : std::bit_width(mask); }

nlohmann::json threshold_json(const engine::EngineConfig& c) {
  return c.inline_threshold ? nlohmann::json(*c.inline_threshold) : nlohmann::json("auto");
}

using ModelConfigs = std::map<std::string, devices::ModelConfig>;

// A model's main settings under their configuration keys (configs/devices.yaml).
struct ModelSettingsJson {
  nlohmann::json operator()(const devices::NicSettings& s) const {
    return {{"descriptors", s.nic.format == devices::DescriptorFormat::Bits32 ? 32 : 64},
            {"rx_strategy", devices::rx_strategy_name(s.driver.rx_strategy)},
            {"rx_entries", s.driver.rx_entries},
            {"tx_entries", s.driver.tx_entries},
            {"buffer_bytes", s.driver.buffer_bytes}};
  }
  nlohmann::json operator()(const devices::StorageSettings& s) const {
    const devices::StorageLimits& l = s.controller.limits;
    return {{"max_segments", l.max_segments},
            {"max_segment_size", l.max_segment_size},
            {"segment_boundary", mask_bits(l.segment_boundary_mask)},
            {"max_sectors", l.max_sectors},
            {"address_bits", s.controller.address_bits},
            {"capacity", s.controller.capacity},
            {"queue_entries", s.driver.queue_entries}};
  }
  nlohmann::json operator()(const devices::LegacySettings& s) const {
    return {{"address_bits", s.device.address_bits}, {"max_transfer", s.device.max_transfer}};
  }
  nlohmann::json operator()(const devices::LocalMemorySettings& s) const {
    const devices::LocalMemoryConfig& c = s.controller;
    return {{"memory",
             {{"bus_addr", c.bus_addr.value()},
              {"device_addr", c.device_addr.value()},
              {"size", c.size}}},
            {"ring_entries", s.ring_entries}};
  }
  nlohmann::json operator()(const devices::CopyOnlySettings& s) const {
    return {{"copier", name_of(devices::kCopierKindNames, s.copier)},
            {"engine", s.copier == devices::CopierKind::Engine ? nlohmann::json(s.engine)
                                                               : nlohmann::json(nullptr)}};
  }
  nlohmann::json operator()(const devices::CopyEngineConfig& c) const {
    return {{"channels", c.engine.channels}, {"threshold", threshold_json(c.engine)}};
  }
};

nlohmann::json model_json(const ModelConfigs& models, const std::string& device) {
  const auto it = models.find(device);
  if (it == models.end()) return nullptr;
  nlohmann::json j = std::visit(ModelSettingsJson{}, it->second.settings);
  j["kind"] = devices::model_kind_name(it->second.kind());
  return j;
}

nlohmann::json devices_json(const dma::Platform& platform, const ModelConfigs& models) {
  nlohmann::json devices = nlohmann::json::array();
  for (const dma::Device* d : platform.devices()) {
    nlohmann::json j = {{"name", d->name()},
                        {"parent", d->parent() != nullptr ? nlohmann::json(d->parent()->name())
                                                          : nlohmann::json(nullptr)},
                        {"dma_mask", d->dma_mask()},
                        {"dma_mask_bits", mask_bits(d->dma_mask())},
                        {"coherent_dma_mask", d->coherent_dma_mask()},
                        {"bus_dma_limit", d->bus_dma_limit()},
                        {"bus_offset", d->bus_offset()},
                        {"node", d->numa_node()},
                        {"max_segment_size", d->max_segment_size()},
                        {"segment_boundary_mask", d->segment_boundary_mask()},
                        {"min_align_mask", d->min_align_mask()},
                        {"may_bounce", d->may_bounce()},
                        {"force_bounce", d->force_bounce()},
                        {"declared_memory", nullptr},
                        {"model", model_json(models, d->name())}};
    if (const dma::DeclaredMemory* mem = d->declared_memory()) {
      j["declared_memory"] = range_json(mem->region().range);
      j["declared_memory"]["device_addr"] = mem->device_addr().value();
      j["declared_memory"]["flags"] = dma::declare_flags_text(mem->flags());
      j["declared_memory"]["pages_in_use"] = mem->pages_in_use();
    }
    devices.push_back(j);
  }
  return devices;
}

void print_devices(const dma::Platform& platform, const ModelConfigs& models) {
  if (platform.devices().empty()) return;
  fmt::print("\ndevices\n  {:<12} {:<10} {:>6} {:>9} {:>9} {:>14} {:>5}  {}\n", "name", "parent",
             "mask", "coherent", "bus limit", "bus offset", "node", "bounce");
  for (const dma::Device* d : platform.devices()) {
    fmt::print("  {:<12} {:<10} {:>4}b {:>8}b {:>8}b {:>#14x} {:>5}  {}\n", d->name(),
               d->parent() != nullptr ? d->parent()->name() : "-", mask_bits(d->dma_mask()),
               mask_bits(d->coherent_dma_mask()), mask_bits(d->bus_dma_limit()), d->bus_offset(),
               d->numa_node() < 0 ? std::string("any") : std::to_string(d->numa_node()),
               d->force_bounce() ? "always"
               : d->may_bounce() ? "when out of reach"
                                 : "never");
    if (const dma::DeclaredMemory* mem = d->declared_memory())
      fmt::print("    declared memory: bus {} - {} ({}), device address {}, {}\n",
                 format_addr(mem->region().range.start.value()),
                 format_addr(mem->region().range.end.value()), format_size(mem->size()),
                 format_addr(mem->device_addr().value()), dma::declare_flags_text(mem->flags()));
    if (const auto it = models.find(d->name()); it != models.end())
      fmt::print("    model {}\n", devices::describe_model(it->second));
  }
}

// What the configuration builds on the platform besides its devices: the engines of its `engines:`
// list and the devices' models, some of them engines too. Destroyed before the platform.
struct Configured {
  std::vector<std::unique_ptr<engine::DmaEngine>> listed_engines;
  ModelConfigs model_configs;
  std::vector<std::unique_ptr<devices::DeviceModel>> models;
  std::vector<const engine::DmaEngine*> engines;  ///< every engine, the listed ones first
};

using Engines = std::vector<const engine::DmaEngine*>;

std::string capabilities_text(engine::Capabilities caps) {
  std::string text;
  for (const engine::Capability c : {engine::Capability::Memcpy, engine::Capability::Memset,
                                     engine::Capability::Sg, engine::Capability::Interrupt}) {
    if (caps.has(c)) text += (text.empty() ? "" : ",") + std::string(engine::capability_name(c));
  }
  return text;
}

nlohmann::json engines_json(const Engines& engines) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : engines) {
    const engine::EngineConfig& c = e->config();
    nlohmann::json channels = nlohmann::json::array();
    for (const auto& ch : e->channels()) {
      const engine::ChannelStats s = ch->stats();
      channels.push_back({{"name", ch->name()},
                          {"descriptors", s.descriptors},
                          {"bytes", s.bytes},
                          {"errors", s.errors},
                          {"aborted", s.aborted},
                          {"queue_depth", s.queue_depth},
                          {"max_queue_depth", s.max_queue_depth},
                          {"batches", s.batches},
                          {"sleeps", s.sleeps},
                          {"busy_ns", s.busy_ns}});
    }
    const dma::Device& dev = e->device();
    out.push_back(
        {{"name", e->name()},
         {"device", dev.name()},
         {"dma_mask_bits", mask_bits(dev.dma_mask())},
         {"iommu_domain",
          dev.domain() != nullptr ? nlohmann::json(dev.domain()->id()) : nlohmann::json(nullptr)},
         {"capabilities", capabilities_text(c.channel.capabilities)},
         {"max_transfer", c.channel.max_transfer},
         {"inline_threshold", threshold_json(c)},
         {"queue_limit", c.queue_limit},
         {"wait", engine::wait_mode_name(c.channel.wait)},
         {"spin_us", std::chrono::duration_cast<std::chrono::microseconds>(c.channel.spin).count()},
         {"channels", channels}});
  }
  return out;
}

void print_engines(const Engines& engines) {
  for (const auto& e : engines) {
    const engine::EngineConfig& c = e->config();
    const dma::Device& dev = e->device();
    const std::string threshold =
        c.inline_threshold ? format_size(*c.inline_threshold) : std::string("auto (measured)");
    fmt::print(
        "\nengine {}: device {} ({}-bit{}), {} channel(s): {}; max transfer {}, inline below {}, "
        "queue limit {}, idle channels {}\n",
        e->name(), dev.name(), mask_bits(dev.dma_mask()),
        dev.domain() != nullptr ? fmt::format(", IOMMU domain {}", dev.domain()->id()) : "",
        e->channels().size(), capabilities_text(c.channel.capabilities),
        format_size(c.channel.max_transfer), threshold, c.queue_limit,
        engine::wait_mode_name(c.channel.wait));
    for (const auto& ch : e->channels()) {
      const engine::ChannelStats s = ch->stats();
      fmt::print("  {:<12} descriptors {}, bytes {}, errors {}, aborted {}, queue {} (max {})\n",
                 ch->name(), s.descriptors, s.bytes, s.errors, s.aborted, s.queue_depth,
                 s.max_queue_depth);
    }
  }
}

// Whether the platform has the misuse checker, and how it reports.
nlohmann::json dma_debug_json(const dma::Platform& platform) {
  const debug::DmaDebug* checker = debug::DmaDebug::of(platform);
  if (checker == nullptr) return {{"enabled", false}};
  const debug::DmaDebugConfig& c = checker->config();
  static constexpr std::array<const char*, 3> kActions = {"count", "log", "abort"};
  return {{"enabled", true},
          {"action", kActions[static_cast<std::size_t>(c.action)]},
          {"loud_per_class", c.loud_per_class},
          {"devices", c.devices},
          {"stack_depth", c.stack_depth},
          {"check_mapping_error", c.check_mapping_error}};
}

void print_dma_debug(const dma::Platform& platform) {
  const nlohmann::json j = dma_debug_json(platform);
  if (!j["enabled"].get<bool>()) {
    fmt::print("\ndma debug: off\n");
    return;
  }
  const auto devices = j["devices"].get<std::vector<std::string>>();
  fmt::print(
      "\ndma debug: on, action {}, first {} of each class in full, {} stack frames, "
      "mapping_error() {}, devices: {}\n",
      j["action"].get<std::string>(), j["loud_per_class"].get<unsigned>(),
      j["stack_depth"].get<int>(),
      j["check_mapping_error"].get<bool>() ? "required" : "not required",
      devices.empty() ? std::string("all") : fmt::format("{}", fmt::join(devices, ", ")));
}

nlohmann::json layout_json(const dma::Platform& platform, const Configured& configured) {
  const Machine& m = platform.machine();
  nlohmann::json ram = nlohmann::json::array();
  for (const PhysRange& r : m.layout().ram) ram.push_back(range_json(r));
  nlohmann::json holes = nlohmann::json::array();
  for (const machine::MemoryHole& h : m.layout().holes) {
    nlohmann::json j = range_json(h.range);
    j["name"] = h.name;
    holes.push_back(j);
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const machine::NumaNode& node : m.nodes()) {
    nlohmann::json zones = nlohmann::json::array();
    for (const Zone* zone : node.zones) {
      if (zone != nullptr) zones.push_back(zone_json(*zone));
    }
    nlohmann::json j = range_json(node.span);
    j["id"] = node.id;
    j["present_pages"] = node.present_pages;
    j["zones"] = zones;
    nodes.push_back(j);
  }
  return {{"machine",
           {{"ram_bytes", m.ram_size()},
            {"page_size", kPageSize},
            {"max_order", machine::kMaxOrder},
            {"ram", ram},
            {"holes", holes},
            {"nodes", nodes},
            {"mask_pool", mask_pool_json(m, platform.mask_allocator())},
            {"swiotlb", swiotlb_json(m, platform.swiotlb())},
            {"iommus", iommus_json(platform)},
            {"devices", devices_json(platform, configured.model_configs)},
            {"engines", engines_json(configured.engines)},
            {"dma_debug", dma_debug_json(platform)},
            {"vmalloc", {{"window_bytes", m.config().vmalloc_size}}}}}};
}

void print_mask_pool(const Machine& m, const alloc::MaskAllocator* mask) {
  if (mask == nullptr) {
    fmt::print("\nmask pool: none (ZONE_DMA serves GFP_DMA)\n");
    return;
  }
  const alloc::MaskAllocatorStats s = mask->stats();
  fmt::print("\nmask pool: {} - {}, {} ({} pages), {} search{}\n",
             format_addr(s.pool.start.value()), format_addr(s.pool.end.value()),
             format_size(s.pool.size()), s.pool_pages,
             name_of(machine::kMaskPoolSearchNames, m.config().mask_pool_search),
             m.config().mask_pool_force ? ", forced" : "");
  fmt::print("  used {} pages, {} free runs, largest {} pages\n", s.used_pages, s.free_runs,
             s.largest_free_run);
  fmt::print(
      "  served by normal allocator {}, normal result above mask {}, served by pool {}, wraps {}, "
      "failures {}, waits {}\n",
      s.served_by_normal, s.normal_above_mask, s.served_by_pool, s.wraps, s.failures, s.waits);
}

void print_layout(const dma::Platform& platform, const Configured& configured) {
  const Machine& m = platform.machine();
  const auto& layout = m.layout();
  fmt::print("machine: {} of RAM, {} node(s), {} pages\n\n", format_size(m.ram_size()),
             m.nodes().size(), format_size(kPageSize));

  fmt::print("physical memory map\n");
  std::size_t hole = 0;
  for (const PhysRange& r : layout.ram) {
    for (; hole < layout.holes.size() && layout.holes[hole].range.start < r.start; ++hole) {
      const auto& h = layout.holes[hole];
      fmt::print("  {} - {}  hole  {:>9}  {}\n", format_addr(h.range.start.value()),
                 format_addr(h.range.end.value()), format_size(h.range.size()), h.name);
    }
    fmt::print("  {} - {}  RAM   {:>9}\n", format_addr(r.start.value()), format_addr(r.end.value()),
               format_size(r.size()));
  }
  for (; hole < layout.holes.size(); ++hole) {
    const auto& h = layout.holes[hole];
    fmt::print("  {} - {}  hole  {:>9}  {} (above RAM)\n", format_addr(h.range.start.value()),
               format_addr(h.range.end.value()), format_size(h.range.size()), h.name);
  }

  for (const machine::NumaNode& node : m.nodes()) {
    fmt::print("\nnode {}: {} - {}, {} of RAM\n", node.id, format_addr(node.span.start.value()),
               format_addr(node.span.end.value()), format_size(node.present_pages * kPageSize));
    fmt::print("  {:<7} {:<39} {:>10} {:>10} {:>10}\n", "zone", "span", "present", "free",
               "cached");
    for (const Zone* zone : node.zones) {
      if (zone == nullptr) continue;
      fmt::print("  {:<7} {} - {} {:>10} {:>10} {:>10}\n", machine::zone_kind_name(zone->kind()),
                 format_addr(zone->span().start.value()), format_addr(zone->span().end.value()),
                 zone->present_pages(), zone->free_pages(), zone->cached_pages());
    }
    fmt::print("  free blocks by order (0..{}):\n", machine::kMaxOrder);
    for (const Zone* zone : node.zones) {
      if (zone == nullptr) continue;
      fmt::print("  {:<7}", machine::zone_kind_name(zone->kind()));
      for (const std::uint64_t count : zone->free_blocks()) fmt::print(" {:>6}", count);
      fmt::print("\n");
    }
  }
  print_mask_pool(m, platform.mask_allocator());
  print_swiotlb(m, platform.swiotlb());
  print_iommus(platform);
  print_devices(platform, configured.model_configs);
  print_engines(configured.engines);
  print_dma_debug(platform);
  fmt::print("\nvmalloc area: {} window\n", format_size(m.config().vmalloc_size));
}

// Builds the engines and the models the configuration `yaml` gives the platform's devices.
Configured configure(dma::Platform& platform, const std::string& yaml) {
  Configured c;
  const std::vector<engine::EngineConfig> listed = engine::parse_engine_configs(yaml);
  c.listed_engines = engine::create_engines(platform, listed);
  for (const auto& e : c.listed_engines) c.engines.push_back(e.get());
  c.model_configs = devices::parse_model_configs(yaml);
  for (dma::Device* d : platform.devices()) {
    const auto it = c.model_configs.find(d->name());
    if (it == c.model_configs.end()) continue;
    for (std::size_t i = 0; i < listed.size(); ++i) {
      if (it->second.kind() == devices::ModelKind::Engine && listed[i].device == d->name())
        throw ConfigError(fmt::format("engines[{}].device", i),
                          fmt::format("'{}' is an engine already, by its model", d->name()));
    }
    c.models.push_back(devices::create_model(*d, it->second));
    if (auto* e = dynamic_cast<devices::CopyEngine*>(c.models.back().get()))
      c.engines.push_back(&e->engine());
  }
  return c;
}

}  // namespace

void add_layout_command(CLI::App& app) {
  struct Options {
    std::string config;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("layout", "print the machine: memory map, nodes, zones, free pages");
  cmd->add_option("--config", options->config,
                  fmt::format("YAML file (at most {} MiB) with a 'machine:' section and optionally "
                              "'iommus:', 'devices:' (with their models), 'engines:' and "
                              "'dma_debug:'",
                              machine::yaml::kMaxConfigBytes >> 20))
      ->check(CLI::ExistingFile.description(""))
      ->type_name("FILE");
  cmd->add_flag("--json", options->json, "print one JSON object instead of text");
  cmd->callback([options] {
    const std::string yaml =
        options->config.empty() ? "" : machine::yaml::read_file(options->config);
    // The sections this command draws, and a scenario's own (it shows a scenario's machine):
    // anything else is a typo that would go unnoticed.
    if (!options->config.empty())
      machine::yaml::reject_unknown_keys(machine::yaml::load(yaml), "",
                                         {"machine", "iommus", "devices", "engines", "dma_debug",
                                          "scenario", "cost_model", "workloads"});
    const machine::MachineConfig config =
        options->config.empty() ? machine::MachineConfig{} : machine::parse_machine_config(yaml);
    Machine m(config);
    dma::Platform platform(m);
    Configured configured;
    if (!options->config.empty()) {
      for (const iommu::IommuConfig& c : dma::parse_iommu_configs(yaml)) platform.add_iommu(c);
      platform.add_devices(dma::parse_device_configs(yaml));
      (void)debug::DmaDebug::attach_if_enabled(platform, debug::parse_dma_debug_config(yaml));
      configured = configure(platform, yaml);
    }
    if (options->json)
      fmt::print("{}\n", layout_json(platform, configured).dump(2));
    else
      print_layout(platform, configured);
  });
}

}  // namespace dmakit::cli
