// SPDX-License-Identifier: Apache-2.0
// Narrow legacy devices and their driver: 24-bit ISA-style and 31-bit "PCI" transfers on every
// platform kind.
#include "dmakit/devices/legacy_device.h"

#include <gtest/gtest.h>

#include <cstring>
#include <tuple>

#include "dmakit/devices/legacy_driver.h"
#include "testing/platform_kinds.h"

namespace dmakit::devices {
namespace {

using testing::PlatformKind;
using testing::PlatformUnderTest;

LegacyConfig legacy_config(unsigned bits) {
  LegacyConfig c;
  c.address_bits = bits;
  return c;
}

// Transfers `size` bytes through the device and back.
Status round_trip(PlatformUnderTest& platform, LegacyDevice& device, LegacyDriver& driver,
                  std::uint32_t size) {
  std::byte* out = platform.buffer(size);
  std::byte* in = platform.buffer(size);
  for (std::uint32_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>(i * 7);
  for (const auto& [mode, buf] :
       {std::pair{LegacyMode::MemoryToDevice, out}, std::pair{LegacyMode::DeviceToMemory, in}}) {
    if (Status s = driver.start(mode, buf, size); !s) return s;
    device.service();
    if (Status s = driver.finish(); !s) return s;
  }
  if (std::memcmp(in, out, size) != 0) return fail(Errc::Fault, "data differs");
  return {};
}

using LegacyParam = std::tuple<PlatformKind, unsigned>;
class LegacyOnEveryPlatform : public ::testing::TestWithParam<LegacyParam> {};

TEST_P(LegacyOnEveryPlatform, MovesChecksummedBuffersThroughItsNarrowWindow) {
  const auto [kind, bits] = GetParam();
  PlatformUnderTest platform(kind);
  LegacyDevice device(platform.add_device("legacy"), legacy_config(bits));
  Result<std::unique_ptr<LegacyDriver>> driver =
      LegacyDriver::open(device.device(), device.registers());
  ASSERT_TRUE(driver) << driver.error().to_string();
  EXPECT_EQ(device.device().dma_mask(), dma_bit_mask(bits));
  const Status s = round_trip(platform, device, **driver, 40000);
  if (kind == PlatformKind::DirectLowRam && bits == 24) {
    // 2 GiB of RAM and nothing to bounce or remap: buffers above 16 MiB are out of reach.
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::AboveMask);
    return;
  }
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(device.counters().faults, 0u);
  EXPECT_EQ(device.counters().bytes_read, 40000u);
  EXPECT_EQ(device.counters().bytes_written, 40000u);
  EXPECT_EQ(device.medium_bytes(), 0u);
}

std::string legacy_param_name(const ::testing::TestParamInfo<LegacyParam>& param) {
  return std::string(testing::platform_kind_name(std::get<0>(param.param))) + "_" +
         std::to_string(std::get<1>(param.param)) + "bit";
}

INSTANTIATE_TEST_SUITE_P(Kinds, LegacyOnEveryPlatform,
                         ::testing::Combine(::testing::ValuesIn(testing::kDataPathKinds),
                                            ::testing::Values(24u, 31u)),
                         legacy_param_name);

TEST(LegacyDevice, PricesTransfersInNarrowBursts) {
  PlatformUnderTest platform(PlatformKind::DirectLowRam);
  LegacyDevice device(platform.add_device("isa"), legacy_config(31));
  auto driver = LegacyDriver::open(device.device(), device.registers());
  ASSERT_TRUE(driver);
  std::byte* buf = platform.buffer(1000, std::byte{1});
  ASSERT_TRUE((*driver)->start(LegacyMode::MemoryToDevice, buf, 1000));
  EXPECT_EQ((*driver)->finish().error().code, Errc::Busy);  // the device has not run it yet
  device.service();
  ASSERT_TRUE((*driver)->finish());
  const ModelTiming& t = device.timing();
  EXPECT_EQ(device.counters().bursts, 1000 / t.burst_bytes);
  EXPECT_EQ(device.cycles(), 1000 / t.burst_bytes * t.cycles_per_burst + t.cycles_per_descriptor);
}

TEST(LegacyDevice, ReportsAnUnderrunWhenItsMediumRunsDry) {
  PlatformUnderTest platform(PlatformKind::Bounce);
  LegacyDevice device(platform.add_device("tape"), legacy_config(24));
  auto driver = LegacyDriver::open(device.device(), device.registers());
  ASSERT_TRUE(driver);
  ASSERT_TRUE((*driver)->start(LegacyMode::DeviceToMemory, platform.buffer(512), 512));
  device.service();
  EXPECT_EQ((*driver)->finish().error().code, Errc::NoMemory);
}

}  // namespace
}  // namespace dmakit::devices
