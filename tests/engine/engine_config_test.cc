// SPDX-License-Identifier: Apache-2.0
// The `engines:` section: every key, the errors that name the field, and engines built on the
// devices they name.
#include "dmakit/engine/engine_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "dmakit/core/config_error.h"
#include "dmakit/dma/device.h"
#include "testing/small_machine.h"

namespace dmakit::engine {
namespace {

// The field a ConfigError thrown by `setup` names, or "" when nothing is thrown.
template <class Setup>
std::string error_field(Setup setup) {
  try {
    setup();
  } catch (const ConfigError& e) {
    return e.field();
  }
  return "";
}

std::string field_of(const std::string& yaml) {
  return error_field([&] { (void)parse_engine_configs(yaml); });
}

TEST(EngineConfig, ParsesEveryKey) {
  const std::vector<EngineConfig> c = parse_engine_configs(R"(
engines:
  - name: ioat0
    device: copy0
    channels: 4
    capabilities: [memcpy, sg]
    max_transfer: 1MiB
    threshold: 2KiB
    queue_limit: 16
    wait: poll
    spin: 10
  - name: ioat1
    device: copy1
    threshold: auto
)");
  ASSERT_EQ(c.size(), 2U);
  EXPECT_EQ(c[0].name, "ioat0");
  EXPECT_EQ(c[0].device, "copy0");
  EXPECT_EQ(c[0].channels, 4U);
  EXPECT_TRUE(c[0].channel.capabilities.has(Capability::Sg));
  EXPECT_FALSE(c[0].channel.capabilities.has(Capability::Memset));
  EXPECT_EQ(c[0].channel.max_transfer, kMiB);
  EXPECT_EQ(c[0].inline_threshold, 2 * kKiB);
  EXPECT_EQ(c[0].queue_limit, 16U);
  EXPECT_EQ(c[0].channel.wait, WaitMode::Poll);
  EXPECT_EQ(c[0].channel.spin, std::chrono::microseconds(10));
  EXPECT_FALSE(c[1].inline_threshold.has_value());
  EXPECT_EQ(c[1].channels, 1U);
  EXPECT_TRUE(parse_engine_configs("machine: {ram: 1GiB}\n").empty());
}

TEST(EngineConfig, ErrorsNameTheField) {
  EXPECT_EQ(field_of("engines: [{name: a, device: d, colour: red}]"), "engines[0].colour");
  EXPECT_EQ(field_of("engines: [{device: d}]"), "engines[0].name");
  EXPECT_EQ(field_of("engines: [{name: a}]"), "engines[0].device");
  EXPECT_EQ(field_of("engines: [{name: a, device: d, wait: nap}]"), "engines[0].wait");
  EXPECT_EQ(field_of("engines: [{name: a, device: d, capabilities: [xor]}]"),
            "engines[0].capabilities");
  EXPECT_EQ(field_of("engines: [{name: a, device: d, threshold: lots}]"), "engines[0].threshold");
  EXPECT_EQ(field_of("engines: {name: a}"), "engines");
}

TEST(EngineConfig, BuildsEnginesOnTheDevicesTheyName) {
  machine::Machine m(testing::small_machine_config());
  dma::Platform platform(m);
  platform.add_devices(dma::parse_device_configs(R"(
devices:
  - {name: copy0, dma_mask: 32}
  - {name: copy1, dma_mask: 64}
)"));
  const auto engines = create_engines(platform, parse_engine_configs(R"(
engines:
  - {name: e0, device: copy0, channels: 2, threshold: 0}
  - {name: e1, device: copy1, threshold: 0}
)"));
  ASSERT_EQ(engines.size(), 2U);
  EXPECT_EQ(&engines[0]->device(), platform.find_device("copy0"));
  EXPECT_EQ(engines[0]->channels().size(), 2U);
  EXPECT_EQ(engines[0]->channels()[1]->name(), "e0chan1");
  EXPECT_TRUE(engines[1]->request_channel(Capability::Memset).has_value());

  auto field = [&](const std::string& yaml) {
    return error_field([&] { (void)create_engines(platform, parse_engine_configs(yaml)); });
  };
  EXPECT_EQ(field("engines: [{name: e, device: nosuch}]"), "engines[0].device");
  EXPECT_EQ(field("engines: [{name: e, device: copy0}, {name: f, device: copy0}]"),
            "engines[1].device");
  EXPECT_EQ(field("engines: [{name: e, device: copy0}, {name: e, device: copy1}]"),
            "engines[1].name");
  EXPECT_EQ(field("engines: [{name: e, device: copy0, channels: 0}]"), "engines[0].channels");
  EngineConfig no_channels;
  no_channels.name = "e";
  no_channels.channels = 0;
  EXPECT_EQ(error_field([&] { DmaEngine e(*platform.find_device("copy0"), no_channels); }),
            "engines.e.channels");
}

TEST(EngineConfig, ReadsAnEnginesSettingsWhereAnotherSectionDescribesIt) {
  EngineConfig c;
  parse_engine_settings(YAML::Load("{kind: engine, channels: 3, threshold: 1KiB, wait: poll}"),
                        "devices[1].model", {"kind"}, c);
  EXPECT_EQ(c.channels, 3U);
  EXPECT_EQ(c.inline_threshold, kKiB);
  EXPECT_EQ(c.channel.wait, WaitMode::Poll);
  auto field = [](const std::string& flow) {
    return error_field([&] {
      EngineConfig ignored;
      parse_engine_settings(YAML::Load(flow), "devices[1].model", {"kind"}, ignored);
    });
  };
  EXPECT_EQ(field("{kind: engine, name: e}"), "devices[1].model.name");  // the caller's to name
  EXPECT_EQ(field("{kind: engine, channels: 0}"), "devices[1].model.channels");
  EXPECT_EQ(field("{kind: engine, max_transfer: 0}"), "devices[1].model.max_transfer");
  EXPECT_EQ(field("{kind: engine, wait: [poll]}"), "devices[1].model.wait");
}

TEST(DmaEngine, RequestsTheLeastBusyChannelWithTheCapability) {
  machine::Machine m(testing::small_machine_config());
  dma::Platform platform(m);
  dma::Device dev(platform, "copy");
  EngineConfig config;
  config.channels = 2;
  config.channel.capabilities = {Capability::Memcpy};
  DmaEngine engine(dev, config);
  const Result<Channel*> none = engine.request_channel(Capability::Sg);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, Errc::NoDevice);
  Channel* first = engine.request_channel(Capability::Memcpy).value();
  (void)first->submit(first->prep_interrupt().value());  // pending: one in its queue
  Channel* second = engine.request_channel(Capability::Memcpy).value();
  EXPECT_NE(first, second);
  EXPECT_TRUE(first->sync_wait(1).has_value());
}

}  // namespace
}  // namespace dmakit::engine
