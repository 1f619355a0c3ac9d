// SPDX-License-Identifier: Apache-2.0
// A device's `model:` key: every kind with its keys and its defaults, each class of bad input
// refused with its field named, and configs/devices.yaml built model by model on its machine.
#include "dmakit/devices/model_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "dmakit/core/config_error.h"
#include "dmakit/core/mask.h"
#include "dmakit/dma/device_config.h"
#include "dmakit/dma/platform.h"
#include "dmakit/machine/machine.h"
#include "dmakit/machine/machine_config.h"

namespace dmakit::devices {
namespace {

ModelConfig model_of(const std::string& flow) {
  return parse_model_config(YAML::Load(flow), "model");
}

TEST(ModelConfig, ParsesEveryKindWithItsKeys) {
  const std::map<std::string, ModelConfig> models = parse_model_configs(R"(
devices:
  - name: nic32
    model: {kind: nic, descriptors: 32, wire_fifo: 16, rx_strategy: recycled-pool, rx_entries: 128,
            tx_entries: 32, buffer_bytes: 1536,
            timing: {burst_bytes: 128, cycles_per_burst: 20, cycles_per_descriptor: 90}}
  - name: raid0
    model: {kind: storage, max_segments: 8, max_segment_size: 4KiB, segment_boundary: 16,
            max_sectors: 64, address_bits: 32, capacity: 1MiB, queue_entries: 4}
  - name: isa
    model: {kind: legacy, address_bits: 24, max_transfer: 32KiB}
  - name: copy0
    model: {kind: local-memory, memory: {bus_addr: 0xd0100000, device_addr: 0x1000, size: 128KiB},
            ring_entries: 16}
  - name: ioat0
    model: {kind: engine, channels: 2, capabilities: [memcpy], max_transfer: 1MiB, threshold: 2KiB,
            queue_limit: 8, wait: poll, spin: 5}
  - name: ipath0
    model: {kind: copy-only, wire_fifo: 8, copier: engine, engine: ioat0}
  - name: plain               # no model
)");
  ASSERT_EQ(models.size(), 6u);

  const auto& nic = std::get<NicSettings>(models.at("nic32").settings);
  EXPECT_EQ(models.at("nic32").kind(), ModelKind::Nic);
  EXPECT_EQ(nic.nic.format, DescriptorFormat::Bits32);
  EXPECT_EQ(nic.nic.wire_fifo_frames, 16u);
  EXPECT_EQ(nic.driver.rx_strategy, RxStrategy::RecycledPool);
  EXPECT_EQ(nic.driver.rx_entries, 128u);
  EXPECT_EQ(nic.driver.tx_entries, 32u);
  EXPECT_EQ(nic.driver.buffer_bytes, 1536u);
  EXPECT_EQ(nic.nic.timing.burst_bytes, 128u);
  EXPECT_EQ(nic.nic.timing.cycles_per_burst, 20u);
  EXPECT_EQ(nic.nic.timing.cycles_per_descriptor, 90u);

  const auto& storage = std::get<StorageSettings>(models.at("raid0").settings);
  EXPECT_EQ(storage.controller.limits.max_segments, 8u);
  EXPECT_EQ(storage.controller.limits.max_segment_size, 4 * kKiB);
  EXPECT_EQ(storage.controller.limits.segment_boundary_mask, 0xffffu);
  EXPECT_EQ(storage.controller.limits.max_sectors, 64u);
  EXPECT_EQ(storage.controller.address_bits, 32u);
  EXPECT_EQ(storage.controller.capacity, kMiB);
  EXPECT_EQ(storage.driver.queue_entries, 4u);

  const auto& legacy = std::get<LegacySettings>(models.at("isa").settings);
  EXPECT_EQ(legacy.device.address_bits, 24u);
  EXPECT_EQ(legacy.device.max_transfer, 32 * kKiB);

  const auto& local = std::get<LocalMemorySettings>(models.at("copy0").settings);
  EXPECT_EQ(local.controller.bus_addr, PhysAddr(0xd0100000));
  EXPECT_EQ(local.controller.device_addr, DmaAddr(0x1000));
  EXPECT_EQ(local.controller.size, 128 * kKiB);
  EXPECT_EQ(local.ring_entries, 16u);

  const auto& engine = std::get<CopyEngineConfig>(models.at("ioat0").settings).engine;
  EXPECT_EQ(engine.channels, 2u);
  EXPECT_TRUE(engine.channel.capabilities.has(engine::Capability::Memcpy));
  EXPECT_FALSE(engine.channel.capabilities.has(engine::Capability::Sg));
  EXPECT_EQ(engine.channel.max_transfer, kMiB);
  EXPECT_EQ(engine.inline_threshold, 2 * kKiB);
  EXPECT_EQ(engine.queue_limit, 8u);
  EXPECT_EQ(engine.channel.wait, engine::WaitMode::Poll);
  EXPECT_EQ(engine.channel.spin, std::chrono::microseconds(5));

  const auto& copy_only = std::get<CopyOnlySettings>(models.at("ipath0").settings);
  EXPECT_EQ(copy_only.adapter.wire_fifo_frames, 8u);
  EXPECT_EQ(copy_only.copier, CopierKind::Engine);
  EXPECT_EQ(copy_only.engine, "ioat0");

  EXPECT_EQ(describe_model(models.at("nic32")),
            "nic: 32-bit descriptors, recycled-pool receive, 128 receive and 32 transmit entries "
            "of 1536 B");
  EXPECT_EQ(describe_model(models.at("ipath0")), "copy-only: copies by the engine of ioat0");
}

TEST(ModelConfig, LeavesTheModelsDefaultsForKeysLeftOut) {
  const auto nic = std::get<NicSettings>(model_of("{kind: nic}").settings);
  EXPECT_EQ(nic.nic.format, NicConfig{}.format);
  EXPECT_EQ(nic.nic.wire_fifo_frames, NicConfig{}.wire_fifo_frames);
  EXPECT_EQ(nic.driver.rx_strategy, NicDriverConfig{}.rx_strategy);
  EXPECT_EQ(nic.driver.rx_entries, NicDriverConfig{}.rx_entries);
  EXPECT_EQ(nic.driver.buffer_bytes, NicDriverConfig{}.buffer_bytes);
  EXPECT_EQ(nic.nic.timing.burst_bytes, ModelTiming{}.burst_bytes);

  const auto storage = std::get<StorageSettings>(model_of("{kind: storage}").settings);
  EXPECT_EQ(storage.controller.limits.max_segments, StorageLimits{}.max_segments);
  EXPECT_EQ(storage.controller.limits.segment_boundary_mask, StorageLimits{}.segment_boundary_mask);
  EXPECT_EQ(storage.controller.capacity, StorageConfig{}.capacity);
  EXPECT_EQ(storage.driver.queue_entries, StorageDriverConfig{}.queue_entries);

  // A legacy device keeps its narrow bus's timing unless told otherwise.
  const auto legacy = std::get<LegacySettings>(model_of("{kind: legacy}").settings);
  EXPECT_EQ(legacy.device.address_bits, LegacyConfig{}.address_bits);
  EXPECT_EQ(legacy.device.timing.burst_bytes, LegacyConfig{}.timing.burst_bytes);
  const auto wider =
      std::get<LegacySettings>(model_of("{kind: legacy, timing: {cycles_per_burst: 4}}").settings);
  EXPECT_EQ(wider.device.timing.burst_bytes, LegacyConfig{}.timing.burst_bytes);
  EXPECT_EQ(wider.device.timing.cycles_per_burst, 4u);

  const auto local = std::get<LocalMemorySettings>(model_of("{kind: local-memory}").settings);
  EXPECT_EQ(local.controller.bus_addr, LocalMemoryConfig{}.bus_addr);
  EXPECT_EQ(local.controller.size, LocalMemoryConfig{}.size);
  EXPECT_EQ(local.ring_entries, LocalMemorySettings{}.ring_entries);

  const auto copy_only = std::get<CopyOnlySettings>(model_of("{kind: copy-only}").settings);
  EXPECT_EQ(copy_only.copier, CopierKind::Cpu);
  EXPECT_TRUE(copy_only.engine.empty());

  const auto engine = std::get<CopyEngineConfig>(model_of("{kind: engine}").settings).engine;
  EXPECT_EQ(engine.channels, engine::EngineConfig{}.channels);
  EXPECT_FALSE(engine.inline_threshold.has_value());  // measured
  EXPECT_EQ(engine.queue_limit, engine::EngineConfig{}.queue_limit);
}

struct BadInput {
  const char* model;
  const char* field;   // what the error names
  const char* reason;  // part of what it says was expected
};

TEST(ModelConfig, RefusesBadInputNamingTheField) {
  const BadInput cases[] = {
      // the kind
      {"nic", "devices[0].model", "mapping"},
      {"{descriptors: 32}", "devices[0].model.kind", "nic, storage, legacy"},
      {"{kind: modem}", "devices[0].model.kind", "'modem' is not nic"},
      {"{kind: [nic]}", "devices[0].model.kind", "expected nic"},
      // unknown keys, a key of another kind among them
      {"{kind: nic, descriptor: 32}", "devices[0].model.descriptor", "unknown key"},
      {"{kind: legacy, capacity: 1MiB}", "devices[0].model.capacity", "unknown key"},
      {"{kind: engine, rings: 2}", "devices[0].model.rings", "unknown key"},
      {"{kind: local-memory, memory: {start: 0}}", "devices[0].model.memory.start", "unknown key"},
      {"{kind: nic, timing: {bursts: 2}}", "devices[0].model.timing.bursts", "unknown key"},
      // wrong types
      {"{kind: nic, rx_entries: [1]}", "devices[0].model.rx_entries", "expected a size"},
      {"{kind: storage, capacity: big}", "devices[0].model.capacity", ""},
      {"{kind: local-memory, memory: 64KiB}", "devices[0].model.memory", "mapping"},
      {"{kind: nic, timing: 5}", "devices[0].model.timing", "mapping"},
      {"{kind: engine, channels: two}", "devices[0].model.channels", ""},
      // names that are none of the choices
      {"{kind: nic, descriptors: 48}", "devices[0].model.descriptors", "'48' is not 32 or 64"},
      {"{kind: nic, rx_strategy: ring}", "devices[0].model.rx_strategy",
       "map-per-packet or recycled-pool"},
      {"{kind: copy-only, copier: dma}", "devices[0].model.copier", "'dma' is not cpu or engine"},
      {"{kind: engine, wait: sleep}", "devices[0].model.wait", "block or poll"},
      // out of range
      {"{kind: nic, buffer_bytes: 8KiB}", "devices[0].model.buffer_bytes", "must be 5 to 4096"},
      {"{kind: nic, rx_entries: 0}", "devices[0].model.rx_entries", "must be 1 to 4096"},
      {"{kind: nic, wire_fifo: 0}", "devices[0].model.wire_fifo", "must be 1 to 4096"},
      {"{kind: storage, max_segments: 70000}", "devices[0].model.max_segments", "1 to 65535"},
      {"{kind: storage, max_segment_size: 1000}", "devices[0].model.max_segment_size",
       "multiple of 512"},
      {"{kind: storage, segment_boundary: 8}", "devices[0].model.segment_boundary", "12 to 64"},
      {"{kind: storage, queue_entries: 0}", "devices[0].model.queue_entries", "must be 1 to 65536"},
      {"{kind: legacy, address_bits: 65}", "devices[0].model.address_bits", "12 to 64"},
      {"{kind: legacy, max_transfer: 0}", "devices[0].model.max_transfer", "must be 1 to"},
      {"{kind: local-memory, memory: {size: 1000}}", "devices[0].model.memory.size",
       "whole number of pages"},
      {"{kind: local-memory, ring_entries: 0}", "devices[0].model.ring_entries",
       "must be 1 to 4096"},
      {"{kind: engine, channels: 65}", "devices[0].model.channels", "1 to 64"},
      {"{kind: engine, queue_limit: 0}", "devices[0].model.queue_limit", "at least 1"},
      {"{kind: legacy, timing: {burst_bytes: 0}}", "devices[0].model.timing.burst_bytes",
       "at least 1 byte"},
      // the copier's engine
      {"{kind: copy-only, copier: engine}", "devices[0].model.engine", "names the device"},
      {"{kind: copy-only, engine: ioat0}", "devices[0].model.engine", "only with copier: engine"},
      {"{kind: copy-only, copier: engine, engine: nosuch}", "devices[0].model.engine",
       "'nosuch' is no device with an engine model"},
  };
  for (const BadInput& c : cases) {
    const std::string yaml = std::string("devices:\n  - name: dev0\n    model: ") + c.model + "\n";
    try {
      (void)parse_model_configs(yaml);
      ADD_FAILURE() << c.model << ": accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.field(), c.field) << c.model << ": " << e.what();
      EXPECT_NE(e.reason().find(c.reason), std::string::npos) << c.model << ": " << e.what();
    }
  }
}

TEST(ModelConfig, RefusesAModelOfADeviceWithoutANameOrListedTwice) {
  auto field_of = [](const std::string& yaml) -> std::string {
    try {
      (void)parse_model_configs(yaml);
    } catch (const ConfigError& e) {
      return e.field();
    }
    return "";
  };
  EXPECT_EQ(field_of("devices:\n  - model: {kind: nic}\n"), "devices[0].name");
  EXPECT_EQ(field_of("devices:\n  - {name: a, model: {kind: nic}}\n"
                     "  - {name: a, model: {kind: legacy}}\n"),
            "devices[1].name");
  // A copy-only device may name an engine listed after it, but not one that is no engine.
  EXPECT_EQ(
      field_of("devices:\n  - {name: a, model: {kind: copy-only, copier: engine, engine: b}}\n"
               "  - {name: b, model: {kind: engine, threshold: 0}}\n"),
      "");
  EXPECT_EQ(
      field_of("devices:\n  - {name: a, model: {kind: copy-only, copier: engine, engine: b}}\n"
               "  - {name: b, model: {kind: nic}}\n"),
      "devices[0].model.engine");
}

TEST(ModelConfig, TheDmaLayerLeavesTheModelKeyToTheDevicesLayer) {
  const std::vector<dma::DeviceConfig> devices =
      dma::parse_device_configs("devices:\n  - {name: nic0, dma_mask: 64, model: {kind: nic}}\n");
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].name, "nic0");
}

TEST(ModelConfig, EveryModelOfConfigsDevicesYamlBuildsOnItsMachine) {
  const std::string path = std::string(DMAKIT_SOURCE_DIR) + "/configs/devices.yaml";
  machine::Machine m(machine::load_machine_config(path));
  dma::Platform platform(m);
  for (const iommu::IommuConfig& c : dma::load_iommu_configs(path)) platform.add_iommu(c);
  platform.add_devices(dma::load_device_configs(path));
  const std::map<std::string, ModelConfig> models = load_model_configs(path);
  EXPECT_EQ(models.size(), platform.devices().size());  // every device has a model
  std::set<ModelKind> kinds;
  for (const auto& [name, config] : models) {
    dma::Device* dev = platform.find_device(name);
    ASSERT_NE(dev, nullptr) << name;
    const std::unique_ptr<DeviceModel> model = create_model(*dev, config);
    EXPECT_EQ(model->kind(), model_kind_name(config.kind())) << name;
    EXPECT_EQ(&model->device(), dev);
    EXPECT_EQ(describe_model(config).rfind(std::string(model->kind()) + ": ", 0), 0u);
    kinds.insert(config.kind());
  }
  EXPECT_EQ(kinds.size(), 6u) << "configs/devices.yaml shows every kind of model";
}

}  // namespace
}  // namespace dmakit::devices
