// SPDX-License-Identifier: Apache-2.0
// The NIC and its driver on every platform kind: checksummed frames both ways, the 32-bit
// descriptor refusal, and a NIC that writes past its buffers.
#include "dmakit/devices/nic.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <tuple>

#include "dmakit/devices/checksum.h"
#include "dmakit/devices/nic_driver.h"
#include "testing/platform_kinds.h"

namespace dmakit::devices {
namespace {

using testing::PlatformKind;
using testing::PlatformUnderTest;

// Free pages, per-CPU caches included, so that a driver's frees show wherever they went.
std::uint64_t free_pages(const machine::Machine& m) {
  std::uint64_t pages = 0;
  for (const machine::Zone* z : m.zones()) pages += z->free_pages() + z->cached_pages();
  return pages;
}

NicConfig nic_config(DescriptorFormat format) {
  NicConfig config;
  config.format = format;
  return config;
}

std::vector<std::byte> payload_of(std::size_t size, unsigned seed) {
  std::vector<std::byte> p(size);
  for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<std::byte>((i * 31 + seed * 7) & 0xff);
  return p;
}

using NicParam = std::tuple<PlatformKind, DescriptorFormat, RxStrategy>;

// A NIC with its driver on a platform; frames go out through transmit() and come back through the
// wire, so each packet crosses memory twice.
struct NicBench {
  NicBench(PlatformKind kind, DescriptorFormat format, RxStrategy strategy)
      : platform(kind),
        nic(platform.add_device(format == DescriptorFormat::Bits32 ? "nic32" : "nic64"),
            nic_config(format)) {
    NicDriverConfig config;
    config.rx_strategy = strategy;
    config.rx_entries = config.tx_entries = 8;
    opened = NicDriver::open(nic.device(), nic.registers(), config);
  }

  // Sends every payload out and back in, checking both sides; false on the first mismatch.
  ::testing::AssertionResult loop_back(const std::vector<std::vector<std::byte>>& payloads) {
    std::vector<std::vector<std::byte>> received;
    NicDriver& driver = **opened;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      if (Status s = driver.transmit(payloads[i]); !s)
        return ::testing::AssertionFailure() << s.error().to_string();
      nic.service();
      if (Result<std::size_t> r = driver.reap_transmitted(); !r || *r != 1)
        return ::testing::AssertionFailure() << "transmit " << i << " not reaped";
      for (Frame& f : nic.wire().take_sent()) {
        if (!frame_intact(f)) return ::testing::AssertionFailure() << "sent frame corrupt";
        nic.wire().arrive(std::move(f));
      }
      nic.service();
      const Result<std::size_t> got = driver.receive(
          [&](std::span<const std::byte> p) { received.emplace_back(p.begin(), p.end()); });
      if (!got) return ::testing::AssertionFailure() << got.error().to_string();
    }
    if (received != payloads) return ::testing::AssertionFailure() << "payloads differ";
    if (driver.stats().rx_checksum_errors != 0)
      return ::testing::AssertionFailure() << "checksum errors";
    return ::testing::AssertionSuccess();
  }

  PlatformUnderTest platform;
  Nic nic;
  Result<std::unique_ptr<NicDriver>> opened = nullptr;
};

class NicOnEveryPlatform : public ::testing::TestWithParam<NicParam> {};

TEST_P(NicOnEveryPlatform, MovesChecksummedFramesBothWays) {
  const auto [kind, format, strategy] = GetParam();
  NicBench bench(kind, format, strategy);
  ASSERT_TRUE(bench.opened) << bench.opened.error().to_string();
  std::vector<std::vector<std::byte>> payloads;
  for (unsigned i = 0; i < 20; ++i) payloads.push_back(payload_of(60 + i * 97 % 1400, i));
  EXPECT_TRUE(bench.loop_back(payloads));
  const ModelCounters& c = bench.nic.counters();
  EXPECT_EQ(c.faults, 0u);
  EXPECT_EQ(c.descriptors, 40u);
  EXPECT_GT(c.cycles, 0u);
  EXPECT_EQ(bench.nic.stats().frames_received, 20u);
  if (strategy == RxStrategy::RecycledPool)
    EXPECT_EQ((*bench.opened)->stats().maps, 8u + 20u);  // the ring once, then one per transmit
  else
    EXPECT_EQ((*bench.opened)->stats().maps, 8u + 20u + 20u);
}

std::string nic_param_name(const ::testing::TestParamInfo<NicParam>& info) {
  const auto [kind, format, strategy] = info.param;
  return std::string(testing::platform_kind_name(kind)) +
         (format == DescriptorFormat::Bits32 ? "_Desc32" : "_Desc64") +
         (strategy == RxStrategy::MapPerPacket ? "_MapPerPacket" : "_Recycled");
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, NicOnEveryPlatform,
    ::testing::Combine(::testing::ValuesIn(testing::kDataPathKinds),
                       ::testing::Values(DescriptorFormat::Bits32, DescriptorFormat::Bits64),
                       ::testing::Values(RxStrategy::MapPerPacket, RxStrategy::RecycledPool)),
    nic_param_name);

TEST(Nic, ThirtyTwoBitDescriptorsAreRefusedWhereNothingReachesHighMemory) {
  PlatformUnderTest platform(PlatformKind::DirectHighRam);
  Nic nic(platform.add_device("nic32"), nic_config(DescriptorFormat::Bits32));
  const std::uint64_t free_before = free_pages(platform.machine());
  const Result<std::unique_ptr<NicDriver>> driver =
      NicDriver::open(nic.device(), nic.registers(), {});
  ASSERT_FALSE(driver);
  EXPECT_EQ(driver.error().code, Errc::AboveMask);
  EXPECT_NE(driver.error().message.find("32-bit descriptors"), std::string::npos);
  EXPECT_EQ(free_pages(platform.machine()), free_before);  // rings and buffers all given back
  EXPECT_EQ(nic.registers().rx_entries, 0u);               // the NIC was never started
}

TEST(Nic, SixtyFourBitDescriptorsNeedNoHelpToReachHighMemory) {
  NicBench bench(PlatformKind::DirectHighRam, DescriptorFormat::Bits64, RxStrategy::MapPerPacket);
  ASSERT_TRUE(bench.opened);
  EXPECT_TRUE(bench.loop_back({payload_of(1000, 1), payload_of(64, 2)}));
}

TEST(Nic, IommuStopsANicWritingPastItsBufferAndTheDriverSeesTheFault) {
  NicBench bench(PlatformKind::IommuStrict, DescriptorFormat::Bits64, RxStrategy::MapPerPacket);
  ASSERT_TRUE(bench.opened);
  bench.nic.set_overrun_for_testing(64 * kPageSize);
  bench.nic.wire().arrive(seal_frame(payload_of(500, 3)));
  bench.nic.service();
  const Result<std::size_t> got = (*bench.opened)->receive([](std::span<const std::byte>) {
    ADD_FAILURE() << "a frame the NIC could not write was delivered";
  });
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::Fault);
  EXPECT_EQ((*bench.opened)->stats().rx_dma_errors, 1u);
  EXPECT_GE(bench.nic.counters().faults, 1u);
  const std::vector<iommu::Fault> faults = bench.platform.iommu()->faults().recorded();
  ASSERT_FALSE(faults.empty());
  EXPECT_EQ(faults[0].device, "nic64");
  EXPECT_TRUE(faults[0].write);
}

RC_GTEST_PROP(NicProperty, ImixSequencesArriveIntact, ()) {
  // One NIC per configuration for the whole property: a machine costs far more than a case.
  static std::map<NicParam, std::unique_ptr<NicBench>> benches;
  const auto kind = *rc::gen::element(PlatformKind::Bounce, PlatformKind::IommuStrict);
  const auto format = *rc::gen::element(DescriptorFormat::Bits32, DescriptorFormat::Bits64);
  const auto strategy = *rc::gen::element(RxStrategy::MapPerPacket, RxStrategy::RecycledPool);
  // IMIX: mostly 40-byte, some 576-byte and a few 1500-byte packets, and anything between.
  const auto sizes = *rc::gen::container<std::vector<std::size_t>>(
      *rc::gen::inRange<std::size_t>(1, 24),
      rc::gen::weightedOneOf<std::size_t>({{7, rc::gen::just<std::size_t>(40)},
                                           {4, rc::gen::just<std::size_t>(576)},
                                           {1, rc::gen::just<std::size_t>(1500)},
                                           {2, rc::gen::inRange<std::size_t>(1, 2044)}}));
  std::unique_ptr<NicBench>& bench = benches[{kind, format, strategy}];
  if (bench == nullptr) bench = std::make_unique<NicBench>(kind, format, strategy);
  RC_ASSERT(static_cast<bool>(bench->opened));
  std::vector<std::vector<std::byte>> payloads;
  for (std::size_t i = 0; i < sizes.size(); ++i)
    payloads.push_back(payload_of(sizes[i], static_cast<unsigned>(i)));
  RC_ASSERT(static_cast<bool>(bench->loop_back(payloads)));
}

}  // namespace
}  // namespace dmakit::devices
