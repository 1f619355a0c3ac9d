// SPDX-License-Identifier: Apache-2.0
// A device's `model:` (devices layer): parsed per kind, checked with the models' own checks so
// that a bad value is refused at parse time with its key named, and built into the model.
#include "dmakit/devices/model_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <bit>
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

#include "dmakit/core/config_error.h"
#include "dmakit/core/mask.h"
#include "dmakit/core/units.h"
#include "dmakit/devices/checksum.h"
#include "dmakit/engine/engine_config.h"
#include "dmakit/machine/config_yaml.h"

namespace dmakit::devices {
namespace {

using machine::yaml::choice_of;
using machine::yaml::count_in;
using machine::yaml::reject_unknown_keys;
using machine::yaml::size_of;
using machine::yaml::unsigned_of;

// Ring and FIFO sizes: Intel's e1000e, igb and ixgbe drivers allow at most 4096 descriptors a ring
// (IXGBE_MAX_RXD), and a NIC's on-chip packet buffer holds a few thousand frames at most.
constexpr unsigned kMaxRingEntries = 4096;
constexpr std::string_view kRingWhy = "the most a real NIC's ring holds";
// NVMe's queue sizes are 16 bits (MQES): at most 65536 entries a queue.
constexpr unsigned kMaxQueueEntries = 65536;

unsigned ring_of(const YAML::Node& node, const std::string& field) {
  return count_in(node, field, 1, kMaxRingEntries, kRingWhy);
}

// Runs a model's own check of its config, naming the offending key under `field`.
template <class Check>
void check_under(const std::string& field, Check check) {
  try {
    check();
  } catch (const ConfigError& e) {
    throw e.under(field);
  }
}

static_assert(std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(ModelKind::Engine),
                                                        decltype(ModelConfig::settings)>,
                             CopyEngineConfig>,
              "ModelKind follows the order of ModelConfig's settings");

// Every kind may price its device time differently from the model's default.
void read_timing(const YAML::Node& model, const std::string& field, ModelTiming& timing) {
  const YAML::Node t = model["timing"];
  if (!t) return;
  const std::string f = field + ".timing";
  reject_unknown_keys(t, f, {"burst_bytes", "cycles_per_burst", "cycles_per_descriptor"});
  if (t["burst_bytes"]) timing.burst_bytes = size_of(t["burst_bytes"], f + ".burst_bytes");
  if (t["cycles_per_burst"])
    timing.cycles_per_burst = size_of(t["cycles_per_burst"], f + ".cycles_per_burst");
  if (t["cycles_per_descriptor"])
    timing.cycles_per_descriptor =
        size_of(t["cycles_per_descriptor"], f + ".cycles_per_descriptor");
  check_under(field, [&] { check_timing(timing); });
}

NicSettings nic_of(const YAML::Node& n, const std::string& field) {
  reject_unknown_keys(n, field,
                      {"kind", "timing", "descriptors", "wire_fifo", "rx_strategy", "rx_entries",
                       "tx_entries", "buffer_bytes"});
  NicSettings s;
  read_timing(n, field, s.nic.timing);
  if (n["descriptors"])
    s.nic.format = choice_of(n["descriptors"], field + ".descriptors", kDescriptorFormatNames);
  if (n["wire_fifo"]) s.nic.wire_fifo_frames = ring_of(n["wire_fifo"], field + ".wire_fifo");
  if (n["rx_strategy"])
    s.driver.rx_strategy = choice_of(n["rx_strategy"], field + ".rx_strategy", kRxStrategyNames);
  if (n["rx_entries"]) s.driver.rx_entries = ring_of(n["rx_entries"], field + ".rx_entries");
  if (n["tx_entries"]) s.driver.tx_entries = ring_of(n["tx_entries"], field + ".tx_entries");
  // A buffer holds the FCS and fits in a page (NicDriver::open).
  if (n["buffer_bytes"])
    s.driver.buffer_bytes =
        count_in(n["buffer_bytes"], field + ".buffer_bytes", static_cast<unsigned>(kFcsBytes) + 1,
                 static_cast<unsigned>(kPageSize));
  return s;
}

StorageSettings storage_of(const YAML::Node& n, const std::string& field) {
  reject_unknown_keys(n, field,
                      {"kind", "timing", "max_segments", "max_segment_size", "segment_boundary",
                       "max_sectors", "address_bits", "capacity", "queue_entries"});
  StorageSettings s;
  StorageConfig& c = s.controller;
  read_timing(n, field, c.timing);
  if (n["max_segments"])
    c.limits.max_segments = unsigned_of(n["max_segments"], field + ".max_segments");
  if (n["max_segment_size"])
    c.limits.max_segment_size = size_of(n["max_segment_size"], field + ".max_segment_size");
  // In bits, as a device's own segment_boundary key.
  if (n["segment_boundary"])
    c.limits.segment_boundary_mask =
        dma_bit_mask(count_in(n["segment_boundary"], field + ".segment_boundary", 12, 64));
  if (n["max_sectors"])
    c.limits.max_sectors = unsigned_of(n["max_sectors"], field + ".max_sectors");
  if (n["address_bits"]) c.address_bits = unsigned_of(n["address_bits"], field + ".address_bits");
  if (n["capacity"]) c.capacity = size_of(n["capacity"], field + ".capacity");
  if (n["queue_entries"])
    s.driver.queue_entries = count_in(n["queue_entries"], field + ".queue_entries", 1,
                                      kMaxQueueEntries, "NVMe's largest queue");
  check_under(field, [&] { check_config(c); });
  return s;
}

LegacySettings legacy_of(const YAML::Node& n, const std::string& field) {
  reject_unknown_keys(n, field, {"kind", "timing", "address_bits", "max_transfer"});
  LegacySettings s;
  read_timing(n, field, s.device.timing);
  if (n["address_bits"])
    s.device.address_bits = unsigned_of(n["address_bits"], field + ".address_bits");
  if (n["max_transfer"])
    s.device.max_transfer = count_in(n["max_transfer"], field + ".max_transfer", 1, 16 * kMiB,
                                     "a 24-bit count register");
  check_under(field, [&] { check_config(s.device); });
  return s;
}

LocalMemorySettings local_memory_of(const YAML::Node& n, const std::string& field) {
  reject_unknown_keys(n, field, {"kind", "timing", "memory", "ring_entries"});
  LocalMemorySettings s;
  LocalMemoryConfig& c = s.controller;
  read_timing(n, field, c.timing);
  if (const YAML::Node m = n["memory"]) {
    const std::string f = field + ".memory";
    reject_unknown_keys(m, f, {"bus_addr", "device_addr", "size"});
    if (m["bus_addr"]) c.bus_addr = PhysAddr(size_of(m["bus_addr"], f + ".bus_addr"));
    if (m["device_addr"]) c.device_addr = DmaAddr(size_of(m["device_addr"], f + ".device_addr"));
    if (m["size"]) c.size = size_of(m["size"], f + ".size");
  }
  if (n["ring_entries"]) s.ring_entries = ring_of(n["ring_entries"], field + ".ring_entries");
  check_under(field, [&] { check_config(c); });
  return s;
}

CopyOnlySettings copy_only_of(const YAML::Node& n, const std::string& field) {
  reject_unknown_keys(n, field, {"kind", "timing", "wire_fifo", "copier", "engine"});
  CopyOnlySettings s;
  read_timing(n, field, s.adapter.timing);
  if (n["wire_fifo"]) s.adapter.wire_fifo_frames = ring_of(n["wire_fifo"], field + ".wire_fifo");
  if (n["copier"]) s.copier = choice_of(n["copier"], field + ".copier", kCopierKindNames);
  const YAML::Node engine = n["engine"];
  if (s.copier == CopierKind::Cpu && engine)
    throw ConfigError(field + ".engine", "only with copier: engine");
  if (s.copier == CopierKind::Engine) {
    if (!engine || !engine.IsScalar())
      throw ConfigError(field + ".engine", "names the device whose engine copies (copier: engine)");
    s.engine = engine.Scalar();
  }
  return s;
}

CopyEngineConfig engine_of(const YAML::Node& n, const std::string& field) {
  CopyEngineConfig c;
  engine::parse_engine_settings(n, field, {"kind", "timing"}, c.engine);
  read_timing(n, field, c.timing);
  return c;
}

// Builds the model of the settings held.
struct ModelBuilder {
  dma::Device& dev;

  std::unique_ptr<DeviceModel> operator()(const NicSettings& s) const {
    return std::make_unique<Nic>(dev, s.nic);
  }
  std::unique_ptr<DeviceModel> operator()(const StorageSettings& s) const {
    return std::make_unique<StorageController>(dev, s.controller);
  }
  std::unique_ptr<DeviceModel> operator()(const LegacySettings& s) const {
    return std::make_unique<LegacyDevice>(dev, s.device);
  }
  std::unique_ptr<DeviceModel> operator()(const LocalMemorySettings& s) const {
    return std::make_unique<LocalMemoryController>(dev, s.controller);
  }
  std::unique_ptr<DeviceModel> operator()(const CopyOnlySettings& s) const {
    return std::make_unique<CopyOnlyAdapter>(dev, s.adapter);
  }
  std::unique_ptr<DeviceModel> operator()(const CopyEngineConfig& c) const {
    return std::make_unique<CopyEngine>(dev, c);
  }
};

// Says what the settings held make of the device, after its kind.
struct ModelDescription {
  std::string operator()(const NicSettings& s) const {
    return fmt::format("{}-bit descriptors, {} receive, {} receive and {} transmit entries of {}",
                       name_of(kDescriptorFormatNames, s.nic.format),
                       rx_strategy_name(s.driver.rx_strategy), s.driver.rx_entries,
                       s.driver.tx_entries, format_size(s.driver.buffer_bytes));
  }
  std::string operator()(const StorageSettings& s) const {
    const StorageLimits& l = s.controller.limits;
    return fmt::format(
        "{} disk, {}-bit addresses, up to {} segments of {} within {}-bit boundaries and {} "
        "sectors a command, {} queue entries",
        format_size(s.controller.capacity), s.controller.address_bits, l.max_segments,
        format_size(l.max_segment_size), std::bit_width(l.segment_boundary_mask), l.max_sectors,
        s.driver.queue_entries);
  }
  std::string operator()(const LegacySettings& s) const {
    return fmt::format("{} address lines, transfers up to {}", s.device.address_bits,
                       format_size(s.device.max_transfer));
  }
  std::string operator()(const LocalMemorySettings& s) const {
    const LocalMemoryConfig& c = s.controller;
    return fmt::format("{} on board at bus {} (device address {}), a ring of {} copy descriptors",
                       format_size(c.size), format_addr(c.bus_addr.value()),
                       format_addr(c.device_addr.value()), s.ring_entries);
  }
  std::string operator()(const CopyOnlySettings& s) const {
    if (s.copier == CopierKind::Engine) return fmt::format("copies by the engine of {}", s.engine);
    return "copies by the CPU";
  }
  std::string operator()(const CopyEngineConfig& c) const {
    const engine::EngineConfig& e = c.engine;
    return fmt::format("{} channel(s), transfers up to {}, inline below {}, queue limit {}",
                       e.channels, format_size(e.channel.max_transfer),
                       e.inline_threshold ? format_size(*e.inline_threshold) : "auto",
                       e.queue_limit);
  }
};

}  // namespace

ModelConfig parse_model_config(const YAML::Node& node, const std::string& field) {
  if (!node.IsMap()) throw ConfigError(field, "expected a mapping such as {kind: nic}");
  if (!node["kind"])
    throw ConfigError(field + ".kind", "names the model: " + names_text(kModelKindNames));
  switch (choice_of(node["kind"], field + ".kind", kModelKindNames)) {
    case ModelKind::Nic:
      return {nic_of(node, field)};
    case ModelKind::Storage:
      return {storage_of(node, field)};
    case ModelKind::Legacy:
      return {legacy_of(node, field)};
    case ModelKind::LocalMemory:
      return {local_memory_of(node, field)};
    case ModelKind::CopyOnly:
      return {copy_only_of(node, field)};
    case ModelKind::Engine:
      break;
  }
  return {engine_of(node, field)};
}

std::map<std::string, ModelConfig> parse_model_configs(const std::string& yaml_text) {
  std::map<std::string, ModelConfig> models;
  std::vector<std::pair<std::string, std::string>> engine_users;  // field, engine device
  machine::yaml::for_each_listed(
      yaml_text, "devices", "devices", [&](const YAML::Node& d, const std::string& field) {
        const YAML::Node model = d.IsMap() ? d["model"] : YAML::Node();
        if (!model) return;
        if (!d["name"] || !d["name"].IsScalar() || d["name"].Scalar().empty())
          throw ConfigError(field + ".name", "every device needs a name");
        const std::string name = d["name"].Scalar();
        ModelConfig config = parse_model_config(model, field + ".model");
        if (const auto* c = std::get_if<CopyOnlySettings>(&config.settings);
            c != nullptr && c->copier == CopierKind::Engine)
          engine_users.emplace_back(field + ".model.engine", c->engine);
        if (!models.emplace(name, std::move(config)).second)
          throw ConfigError(field + ".name", fmt::format("'{}' is listed twice", name));
      });
  for (const auto& [field, engine] : engine_users) {
    const auto it = models.find(engine);
    if (it == models.end() || it->second.kind() != ModelKind::Engine)
      throw ConfigError(field, fmt::format("'{}' is no device with an engine model", engine));
  }
  return models;
}

std::map<std::string, ModelConfig> load_model_configs(const std::string& path) {
  return parse_model_configs(machine::yaml::read_file(path));
}

std::unique_ptr<DeviceModel> create_model(dma::Device& dev, const ModelConfig& config) {
  return std::visit(ModelBuilder{dev}, config.settings);
}

std::string describe_model(const ModelConfig& config) {
  return fmt::format("{}: {}", model_kind_name(config.kind()),
                     std::visit(ModelDescription{}, config.settings));
}

}  // namespace dmakit::devices
