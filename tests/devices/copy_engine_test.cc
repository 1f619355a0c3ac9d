// SPDX-License-Identifier: Apache-2.0
// The copy engine as a device model: an engine named after its device, whose channels' work the
// model counts and prices.
#include "dmakit/devices/copy_engine.h"

#include <gtest/gtest.h>

#include "dmakit/core/config_error.h"
#include "dmakit/dma/mapping.h"
#include "testing/platform_kinds.h"

namespace dmakit::devices {
namespace {

using testing::PlatformKind;
using testing::PlatformUnderTest;

TEST(CopyEngine, CountsAndPricesWhatItsChannelsDid) {
  PlatformUnderTest platform(PlatformKind::IommuStrict);
  CopyEngineConfig config;
  config.engine.channels = 2;
  CopyEngine model(platform.add_device("ioat0"), config);
  ASSERT_EQ(model.engine().channels().size(), 2u);
  EXPECT_EQ(model.engine().name(), "ioat0");
  EXPECT_EQ(model.engine().channels()[1]->name(), "ioat0chan1");
  EXPECT_EQ(model.service(), 0u);

  // A copy on bus addresses of the engine's device, and one whose destination it may only read.
  dma::Device& dev = model.device();
  std::byte* src = platform.buffer(8192, std::byte{7});
  std::byte* dst = platform.buffer(8192);
  const DmaAddr s = dma::map_single(dev, src, 8192, Direction::ToDevice).value();
  const DmaAddr d = dma::map_single(dev, dst, 8192, Direction::FromDevice).value();
  const DmaAddr read_only = dma::map_single(dev, dst, 8192, Direction::ToDevice).value();
  engine::Channel& ch = *model.engine().channels()[0];
  const engine::Cookie ok = ch.submit(ch.prep_memcpy(d, s, 8192).value());
  const engine::Cookie refused = ch.submit(ch.prep_memcpy(read_only, s, 4096).value());
  ASSERT_TRUE(ch.sync_wait(ok));
  ASSERT_TRUE(ch.sync_wait(refused));
  EXPECT_EQ(dst[8191], std::byte{7});

  EXPECT_EQ(model.service(), 2u);
  const ModelCounters& c = model.counters();
  EXPECT_EQ(c.descriptors, 2u);
  EXPECT_EQ(c.bytes_written, 8192u);
  EXPECT_EQ(c.bytes_read, 8192u);
  EXPECT_EQ(c.faults, 1u);
  const ModelTiming& t = model.timing();
  EXPECT_EQ(c.cycles, 2 * t.cycles_per_descriptor + 2 * 8192 / t.burst_bytes * t.cycles_per_burst);
  EXPECT_EQ(model.service(), 0u);  // counted once
  for (const auto& [addr, dir] : {std::pair{s, Direction::ToDevice},
                                  {d, Direction::FromDevice},
                                  {read_only, Direction::ToDevice}})
    ASSERT_TRUE(dma::unmap_single(dev, addr, 8192, dir));
}

TEST(CopyEngine, RefusesAnEngineWithoutChannels) {
  PlatformUnderTest platform(PlatformKind::DirectLowRam);
  CopyEngineConfig config;
  config.engine.channels = 0;
  try {
    CopyEngine model(platform.add_device("ioat0"), config);
    ADD_FAILURE() << "an engine without channels was built";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "engines.ioat0.channels");
  }
}

}  // namespace
}  // namespace dmakit::devices
