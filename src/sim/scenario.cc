// SPDX-License-Identifier: Apache-2.0
// Reading scenarios (sim layer). The machine, IOMMU and device sections go to their layers' own
// parsers; this file reads `scenario:`, `cost_model:` and `workloads:`, checks that the pieces fit
// together, and turns every error into one that names the file and line.
#include "dmakit/sim/scenario.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <ranges>
#include <set>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "dmakit/devices/checksum.h"
#include "dmakit/devices/storage_driver.h"
#include "dmakit/machine/config_yaml.h"
#include "dmakit/machine/memory_layout.h"
#include "dmakit/machine/page.h"

namespace dmakit::sim {
namespace {

using machine::yaml::bool_of;
using machine::yaml::choice_of;
using machine::yaml::printable;
using machine::yaml::reject_unknown_keys;
using machine::yaml::size_of;
using machine::yaml::unsigned_of;
using machine::yaml::whole_number_of;

// A workload's buffer is one alloc_pages_exact() allocation, at most a largest buddy block (Linux's
// MAX_ORDER): anything larger failed every I/O of every strategy at run time.
constexpr std::uint64_t kMaxBufferBytes = kPageSize << machine::kMaxOrder;

// The names of a list of choices, for "one of ..." in messages. (A plain loop: clang 14 cannot
// instantiate libstdc++ 12's views::transform.)
template <typename T, typename Name>
std::vector<std::string_view> names_of(std::span<const T> choices, Name name) {
  std::vector<std::string_view> names;
  for (const T& c : choices) names.push_back(std::invoke(name, c));
  return names;
}

// One step of a dotted path: a key, and an index when it names a list entry ("devices[2]").
struct PathStep {
  std::string key;
  std::optional<std::size_t> index;
};

std::vector<PathStep> steps_of(const std::string& path) {
  std::vector<PathStep> steps;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    PathStep step;
    if (const std::size_t open = part.find('['); open != std::string::npos) {
      std::size_t index = 0;
      const auto [end, ec] =
          std::from_chars(part.data() + open + 1, part.data() + part.size(), index);
      if (ec == std::errc() && end < part.data() + part.size() && *end == ']') step.index = index;
      part.resize(open);
    }
    step.key = std::move(part);
    steps.push_back(std::move(step));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return steps;
}

// The line (1-based) of the deepest node of `root` that `field` reaches: the key itself when it
// exists, else the mapping it is missing from.
int line_of(const YAML::Node& root, const std::string& field) {
  YAML::Node node = root;
  int line = 0;
  for (const PathStep& step : steps_of(field)) {
    if (!node.IsMap() || !node[step.key]) break;
    node = node[step.key];
    line = node.Mark().line + 1;
    if (!step.index) continue;
    if (!node.IsSequence() || *step.index >= node.size()) break;
    node = node[*step.index];
    line = node.Mark().line + 1;
  }
  return line;
}

std::uint64_t duration_of(const YAML::Node& node, const std::string& field) {
  const std::string text = node.IsScalar() ? node.Scalar() : std::string();
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const std::string unit(end, text.data() + text.size());
  const std::pair<const char*, std::uint64_t> units[] = {
      {"ns", 1}, {"us", 1'000}, {"ms", 1'000'000}, {"s", 1'000'000'000}};
  if (ec == std::errc() && value > 0)
    for (const auto& [name, scale] : units)
      if (unit == name && value <= UINT64_MAX / scale) return value * scale;
  throw ConfigError(field, fmt::format("expected a positive modeled duration such as 10ms, 500us, "
                                       "2s or 1000ns, got '{}'",
                                       text));
}

unsigned percent_of(const YAML::Node& node, const std::string& field) {
  const unsigned p = unsigned_of(node, field);
  if (p > 100) throw ConfigError(field, fmt::format("expected a percentage 0-100, got {}", p));
  return p;
}

std::uint64_t positive_of(const YAML::Node& node, const std::string& field) {
  const std::uint64_t v = size_of(node, field);
  if (v == 0) throw ConfigError(field, "expected a positive number");
  return v;
}

std::uint32_t buffer_bytes_of(const YAML::Node& node, const std::string& field) {
  return static_cast<std::uint32_t>(machine::yaml::size_in(
      node, field, 1, kMaxBufferBytes, "one physically contiguous buffer, a largest buddy block"));
}

// A positive count kept in 32 bits: a larger value is refused, never cut down (a packet weight of
// 2^32 would become 0, and a mix whose weights add up to 0 divides by zero when drawn from).
std::uint32_t positive32_of(const YAML::Node& node, const std::string& field) {
  const unsigned v = unsigned_of(node, field);
  if (v == 0) throw ConfigError(field, "expected a positive number");
  return v;
}

void parse_scenario_section(const YAML::Node& n, Scenario& s) {
  reject_unknown_keys(n, "scenario", {"name", "seed", "operations", "duration", "strategies"});
  if (n["name"]) s.name = n["name"].as<std::string>();
  if (n["seed"]) s.seed = whole_number_of(n["seed"], "scenario.seed");
  if (n["operations"]) s.operations = positive_of(n["operations"], "scenario.operations");
  if (n["duration"]) s.duration_ns = duration_of(n["duration"], "scenario.duration");
  if (const YAML::Node list = n["strategies"]) {
    if (!list.IsSequence() || list.size() == 0)
      throw ConfigError("scenario.strategies", "expected a list of strategies");
    s.strategies.clear();
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string field = fmt::format("scenario.strategies[{}]", i);
      const dma::Strategy st = choice_of(list[i], field, dma::kStrategyNames);
      if (std::ranges::find(s.strategies, st) != s.strategies.end())
        throw ConfigError(field, fmt::format("strategy '{}' is listed twice", list[i].Scalar()));
      s.strategies.push_back(st);
    }
  }
}

// `cost_model: NAME` or `cost_model: {preset: NAME, <any value>: N, ...}`.
void parse_cost_model(const YAML::Node& n, CostModel& cost) {
  const std::string field = "cost_model";
  const YAML::Node preset = n.IsScalar() ? n : n["preset"];
  if (preset) {
    const std::string name = preset.IsScalar() ? preset.Scalar() : "";
    const CostModel* found = find_cost_preset(name);
    if (found == nullptr) {
      throw ConfigError(n.IsScalar() ? field : field + ".preset",
                        fmt::format("unknown preset '{}' (one of {})", name,
                                    fmt::join(names_of(cost_presets(), &CostModel::name), ", ")));
    }
    cost = *found;
  }
  if (n.IsScalar()) return;
  std::vector<std::pair<std::string_view, std::uint64_t*>> values;
  for (const auto& [name, member] : iommu::kIommuCostKeys)
    values.emplace_back(name, &(cost.iommu.*member));
  for (const auto& [name, member] : kCostModelKeys) values.emplace_back(name, &(cost.*member));
  std::vector<std::string_view> known{"preset"};
  for (const auto& [name, value] : values) known.push_back(name);
  reject_unknown_keys(n, field, known);
  for (const auto& [name, value] : values) {
    const std::string key(name);
    if (n[key]) *value = size_of(n[key], field + "." + key);
  }
  if (cost.cpu_mhz == 0) throw ConfigError(field + ".cpu_mhz", "expected a positive clock rate");
  if (!preset)
    cost.name = "custom";
  else if (n.size() > 1)
    cost.name += "+overrides";
}

SizeMix sizes_of(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar() && n.Scalar() == "imix") return imix();
  SizeMix mix;
  if (n.IsSequence() && n.size() > 0) {
    for (std::size_t i = 0; i < n.size(); ++i)
      mix.sizes.emplace_back(positive32_of(n[i], fmt::format("{}[{}]", field, i)), 1);
    return mix;
  }
  if (n.IsMap() && n.size() > 0) {
    for (const auto& entry : n) {
      const std::string f = fmt::format("{}.{}", field, printable(entry.first.as<std::string>()));
      mix.sizes.emplace_back(positive32_of(entry.first, f), positive32_of(entry.second, f));
    }
    return mix;
  }
  throw ConfigError(field, "expected 'imix', a list of packet sizes, or a map of size: weight");
}

PacketDirection direction_of(const YAML::Node& n, const std::string& field) {
  const std::string v = n.IsScalar() ? n.Scalar() : "";
  if (v == "receive") return PacketDirection::Receive;
  if (v == "transmit") return PacketDirection::Transmit;
  if (v == "both") return PacketDirection::Both;
  throw ConfigError(field, fmt::format("expected receive, transmit or both, got '{}'", v));
}

WorkloadConfig workload_of(const YAML::Node& n, const std::string& field) {
  reject_unknown_keys(n, field,
                      {"device", "operations", "packets", "block_io", "transfers", "copies"});
  WorkloadConfig w;
  if (!n["device"] || !n["device"].IsScalar())
    throw ConfigError(field + ".device", "every workload names the device it runs on");
  w.device = n["device"].Scalar();
  if (n["operations"]) w.operations = positive_of(n["operations"], field + ".operations");
  int kinds = 0;
  if (const YAML::Node p = n["packets"]) {
    const std::string f = field + ".packets";
    reject_unknown_keys(p, f, {"sizes", "direction", "batch"});
    PacketWorkload load;
    if (p["sizes"]) load.sizes = sizes_of(p["sizes"], f + ".sizes");
    if (p["direction"]) load.direction = direction_of(p["direction"], f + ".direction");
    if (p["batch"]) load.batch = positive32_of(p["batch"], f + ".batch");
    w.spec = load;
    ++kinds;
  }
  if (const YAML::Node b = n["block_io"]) {
    const std::string f = field + ".block_io";
    reject_unknown_keys(b, f, {"io_bytes", "read_percent", "queue_depth"});
    BlockWorkload load;
    if (b["io_bytes"]) load.io_bytes = buffer_bytes_of(b["io_bytes"], f + ".io_bytes");
    if (b["read_percent"]) load.read_percent = percent_of(b["read_percent"], f + ".read_percent");
    if (b["queue_depth"]) load.queue_depth = positive32_of(b["queue_depth"], f + ".queue_depth");
    w.spec = load;
    ++kinds;
  }
  if (const YAML::Node t = n["transfers"]) {
    const std::string f = field + ".transfers";
    reject_unknown_keys(t, f, {"bytes"});
    TransferWorkload load;
    if (t["bytes"]) load.bytes = buffer_bytes_of(t["bytes"], f + ".bytes");
    w.spec = load;
    ++kinds;
  }
  if (const YAML::Node c = n["copies"]) {
    const std::string f = field + ".copies";
    reject_unknown_keys(c, f, {"bytes"});
    CopyWorkload load;
    if (c["bytes"]) load.bytes = buffer_bytes_of(c["bytes"], f + ".bytes");
    w.spec = load;
    ++kinds;
  }
  if (kinds != 1)
    throw ConfigError(field, "expected exactly one of packets, block_io, transfers or copies");
  return w;
}

// The workload section each model kind takes, or null for a kind no workload drives yet.
const char* workload_key_for(devices::ModelKind kind) {
  switch (kind) {
    case devices::ModelKind::Nic:
      return "packets";
    case devices::ModelKind::Storage:
      return "block_io";
    case devices::ModelKind::Legacy:
      return "transfers";
    case devices::ModelKind::Engine:
      return "copies";
    default:
      return nullptr;
  }
}

// The section that holds each alternative of WorkloadConfig::spec, in its order.
constexpr std::array<const char*, 4> kWorkloadKeys = {"packets", "block_io", "transfers", "copies"};
static_assert(std::variant_size_v<decltype(WorkloadConfig::spec)> == kWorkloadKeys.size());

const char* workload_key_of(const WorkloadConfig& w) { return kWorkloadKeys[w.spec.index()]; }

// The host memory a strategy's run may hold in workload buffers, over all its devices: with a
// machine's page metadata (at most 1 GiB, MachineConfig::kMaxRam) it keeps six strategies run at
// once well inside a 24 GiB host (docs/limits.md).
constexpr std::uint64_t kMaxWorkloadBytes = kGiB;

// What the model of the device under load can take: each limit the workload would otherwise meet
// at run time, where every I/O of every strategy fails and the run still exits 0. Returns the bytes
// of buffers the workload keeps, in simulated RAM or on the host.
std::uint64_t check_fits_model(const WorkloadConfig& w, const devices::ModelConfig& model,
                               const machine::MachineConfig& machine, const std::string& field) {
  const std::string f = field + "." + workload_key_of(w);
  if (const auto* load = std::get_if<PacketWorkload>(&w.spec)) {
    const auto& nic = std::get<devices::NicSettings>(model.settings);
    const std::uint32_t payload =
        nic.driver.buffer_bytes - static_cast<std::uint32_t>(devices::kFcsBytes);
    for (const auto& [size, weight] : load->sizes.sizes)
      if (size > payload)
        throw ConfigError(f + ".sizes",
                          fmt::format("{}-byte packets exceed the {}-byte payload of the model's "
                                      "{}-byte buffers (buffer_bytes, FCS included)",
                                      size, payload, nic.driver.buffer_bytes));
    // A batch arrives on the wire before the driver runs, and is queued for transmit at once.
    if (load->direction != PacketDirection::Transmit && load->batch > nic.nic.wire_fifo_frames)
      throw ConfigError(f + ".batch", fmt::format("{} packets overflow the {}-frame wire_fifo",
                                                  load->batch, nic.nic.wire_fifo_frames));
    if (load->direction != PacketDirection::Receive && load->batch > nic.driver.tx_entries)
      throw ConfigError(f + ".batch",
                        fmt::format("{} packets overflow the {}-entry tx_entries ring", load->batch,
                                    nic.driver.tx_entries));
    // A batch's payloads and frames, and the rings' buffers.
    return std::uint64_t{2} * load->batch * payload +
           std::uint64_t{nic.driver.buffer_bytes} * (nic.driver.rx_entries + nic.driver.tx_entries);
  }
  if (const auto* block = std::get_if<BlockWorkload>(&w.spec)) {
    const auto& disk = std::get<devices::StorageSettings>(model.settings);
    if (block->io_bytes % devices::kSectorSize != 0 || block->io_bytes > disk.controller.capacity)
      throw ConfigError(
          f + ".io_bytes",
          fmt::format("{}: must be a multiple of {} within the model's {}-byte disk",
                      block->io_bytes, devices::kSectorSize, disk.controller.capacity));
    // Each I/O in flight has its own buffer in the machine's RAM, and on the host once written.
    if (block->queue_depth > std::min(machine.ram_size, kMaxWorkloadBytes) / block->io_bytes)
      throw ConfigError(f + ".queue_depth",
                        fmt::format("{} buffers of {} exceed the machine's {} of RAM or the {} "
                                    "a run's buffers may take",
                                    block->queue_depth, format_size(block->io_bytes),
                                    format_size(machine.ram_size), format_size(kMaxWorkloadBytes)));
    // Every command the driver cuts an I/O into takes a queue entry.
    const std::uint64_t commands = devices::commands_for(disk.controller.limits, block->io_bytes);
    if (commands > disk.driver.queue_entries / block->queue_depth)
      throw ConfigError(
          f + ".queue_depth",
          fmt::format("{} I/Os of {} commands each overflow the model's {} queue_entries",
                      block->queue_depth, commands, disk.driver.queue_entries));
    return block->queue_depth * block->io_bytes;
  }
  if (const auto* transfer = std::get_if<TransferWorkload>(&w.spec)) {
    const auto& legacy = std::get<devices::LegacySettings>(model.settings);
    if (transfer->bytes > legacy.device.max_transfer)
      throw ConfigError(f + ".bytes", fmt::format("{}: more than the device's {}-byte max_transfer",
                                                  transfer->bytes, legacy.device.max_transfer));
    return std::uint64_t{2} * transfer->bytes;  // written and read back
  }
  return std::uint64_t{2} * std::get<CopyWorkload>(w.spec).bytes;  // source and destination
}

Scenario parse(const YAML::Node& root, const std::string& text) {
  if (!root.IsMap()) throw ConfigError("scenario", "expected a mapping of sections");
  machine::yaml::reject_duplicate_keys(root);
  reject_unknown_keys(root, "",
                      {"scenario", "cost_model", "machine", "iommus", "devices", "workloads"});
  Scenario s;
  s.strategies.assign(dma::all_strategies().begin(), dma::all_strategies().end());
  if (const YAML::Node n = root["scenario"]) parse_scenario_section(n, s);
  if (const YAML::Node n = root["cost_model"]) parse_cost_model(n, s.cost);
  s.machine = machine::parse_machine_config(text);

  const std::vector<iommu::IommuConfig> iommus = dma::parse_iommu_configs(text);
  if (iommus.size() > 1)
    throw ConfigError("iommus[1]", "a scenario compares strategies on one IOMMU type");
  if (!iommus.empty()) {
    if (root["iommus"][0]["costs"])
      throw ConfigError("iommus[0].costs", "a scenario prices the IOMMU in its cost_model section");
    s.iommu = iommus.front();
  }
  s.iommu.costs = s.cost.iommu;

  s.devices = dma::parse_device_configs(text);
  for (std::size_t i = 0; i < s.devices.size(); ++i)
    if (s.devices[i].iommu)
      throw ConfigError(fmt::format("devices[{}].iommu", i),
                        "the strategies decide where a scenario's devices sit");
  dma::check_device_nodes(s.devices, machine::MemoryLayout::plan(s.machine).nodes.size());
  s.models = devices::parse_model_configs(text);
  // A run's figures must not depend on the host: an engine left to calibrate its inline threshold
  // on the host gets a fixed one instead.
  for (auto& [name, model] : s.models)
    if (auto* engine = std::get_if<devices::CopyEngineConfig>(&model.settings);
        engine && !engine->engine.inline_threshold)
      engine->engine.inline_threshold = kScenarioEngineThreshold;

  const YAML::Node list = root["workloads"];
  if (!list || !list.IsSequence() || list.size() == 0)
    throw ConfigError("workloads", "expected a list of workloads, one per device under load");
  std::set<std::string> loaded;
  std::uint64_t buffer_bytes = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string field = fmt::format("workloads[{}]", i);
    WorkloadConfig w = workload_of(list[i], field);
    const auto model = s.models.find(w.device);
    if (model == s.models.end())
      throw ConfigError(field + ".device",
                        fmt::format("'{}' is not a device with a model", w.device));
    const char* wanted = workload_key_for(model->second.kind());
    if (wanted == nullptr || std::string_view(wanted) != workload_key_of(w))
      throw ConfigError(field, fmt::format("'{}' has a model of kind {}, which takes {}", w.device,
                                           devices::model_kind_name(model->second.kind()),
                                           wanted == nullptr ? "no workload yet" : wanted));
    if (!loaded.insert(w.device).second)
      throw ConfigError(field + ".device", fmt::format("'{}' already has a workload", w.device));
    buffer_bytes += check_fits_model(w, model->second, s.machine, field);
    if (buffer_bytes > kMaxWorkloadBytes)
      throw ConfigError(field,
                        fmt::format("its buffers bring the workloads' to {}, more than the "
                                    "{} a strategy's run may hold (docs/limits.md)",
                                    format_size(buffer_bytes), format_size(kMaxWorkloadBytes)));
    s.workloads.push_back(std::move(w));
  }
  return s;
}

}  // namespace

// The reason comes from reason(), never from what() past the field: what() is a C string, which a
// NUL byte in a key cuts short (found by tests/fuzz/scenario_fuzz.cc).
ScenarioError::ScenarioError(std::string source, int line, const ConfigError& error)
    : ConfigError(line > 0 ? fmt::format("{}:{}: {}", source, line, error.field())
                           : fmt::format("{}: {}", source, error.field()),
                  error.reason()),
      source_(std::move(source)),
      line_(line) {}

Scenario parse_scenario(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ScenarioError(source, e.mark.line + 1, ConfigError("yaml", e.msg));
  }
  try {
    return parse(root, yaml_text);
  } catch (const ScenarioError&) {
    throw;
  } catch (const ConfigError& e) {
    throw ScenarioError(source, line_of(root, e.field()), e);
  } catch (const YAML::Exception& e) {
    throw ScenarioError(source, e.mark.line + 1, ConfigError("value", e.msg));
  }
}

Scenario load_scenario(const std::string& path) {
  std::string text;
  try {
    text = machine::yaml::read_file(path);
  } catch (const ConfigError& e) {
    throw ScenarioError(path, 0, e);
  }
  return parse_scenario(text, path);
}

std::string override_key(const std::string& yaml_text, const std::string& source,
                         const std::string& key, const std::string& value) {
  YAML::Node root;
  YAML::Node parsed;
  try {
    root = YAML::Load(yaml_text);
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw ScenarioError(source, e.mark.line + 1, ConfigError(key, e.msg));
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  // Walk with fresh node handles: yaml-cpp's operator= on a held node would rebind, not assign.
  std::vector<YAML::Node> path{root};
  const std::vector<PathStep> steps = steps_of(key);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const PathStep& step = steps[i];
    YAML::Node parent = path.back();
    if (step.key.empty() || !(parent.IsMap() || parent.IsNull()))
      throw ScenarioError(source, 0, ConfigError(key, "expected a dotted path of mapping keys"));
    const bool last = i + 1 == steps.size();
    if (!step.index) {
      if (last)
        parent[step.key] = parsed;
      else if (!parent[step.key])
        parent[step.key] = YAML::Node(YAML::NodeType::Map);
      path.push_back(parent[step.key]);
      continue;
    }
    YAML::Node list = parent[step.key];
    if (!list.IsSequence() || *step.index >= list.size())
      throw ScenarioError(
          source, 0, ConfigError(key, fmt::format("'{}' has no entry {}", step.key, *step.index)));
    if (last) list[*step.index] = parsed;
    path.push_back(list[*step.index]);
  }
  YAML::Emitter out;
  out << root;
  return out.c_str();
}

}  // namespace dmakit::sim
