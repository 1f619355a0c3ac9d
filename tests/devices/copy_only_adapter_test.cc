// SPDX-License-Identifier: Apache-2.0
// The copy-only adapter (seed 004): an upper layer maps buffers and hands DMA addresses down; the
// driver finds the CPU addresses by reverse lookup and copies, on every platform kind.
#include "dmakit/devices/copy_only_adapter.h"

#include <gtest/gtest.h>

#include <cstring>

#include "dmakit/devices/checksum.h"
#include "dmakit/devices/copy_only_driver.h"
#include "dmakit/dma/mapping.h"
#include "testing/platform_kinds.h"

namespace dmakit::devices {
namespace {

using testing::PlatformKind;
using testing::PlatformUnderTest;

class CopyOnlyOnEveryPlatform : public ::testing::TestWithParam<PlatformKind> {};

TEST_P(CopyOnlyOnEveryPlatform, CopiesThroughReverseLookupOfUpperLayerAddresses) {
  PlatformUnderTest platform(GetParam());
  CopyOnlyAdapter adapter(platform.add_device("ipath0"), {});
  CpuCopier copier;
  Result<std::unique_ptr<CopyOnlyDriver>> opened =
      CopyOnlyDriver::open(adapter.device(), adapter.registers(), copier);
  ASSERT_TRUE(opened);
  CopyOnlyDriver& driver = **opened;
  dma::Device& dev = adapter.device();
  // The upper layer's buffers, mapped on the adapter's device: a send spanning pages, a receive.
  const std::uint32_t size = 3000;
  std::byte* tx = platform.buffer(kPageSize + size) + kPageSize - 1000;
  std::byte* rx = platform.buffer(size);
  for (std::uint32_t i = 0; i < size; ++i) tx[i] = static_cast<std::byte>(i * 11);
  const Result<DmaAddr> tx_dma = dma::map_single(dev, tx, size, Direction::ToDevice);
  const Result<DmaAddr> rx_dma = dma::map_single(dev, rx, size, Direction::FromDevice);
  ASSERT_TRUE(tx_dma && rx_dma);
  driver.post_receive(*rx_dma, size);
  ASSERT_TRUE(driver.send(*tx_dma, size));
  adapter.service();
  std::vector<Frame> sent = adapter.wire().take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(frame_intact(sent[0]));
  adapter.wire().arrive(std::move(sent[0]));
  adapter.service();
  const Result<std::vector<ReceiveCompletion>> done = driver.poll();
  ASSERT_TRUE(done) << done.error().to_string();
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ((*done)[0].addr, *rx_dma);
  EXPECT_EQ((*done)[0].length, size);
  ASSERT_TRUE(dma::unmap_single(dev, *tx_dma, size, Direction::ToDevice));
  ASSERT_TRUE(dma::unmap_single(dev, *rx_dma, size, Direction::FromDevice));
  EXPECT_EQ(std::memcmp(rx, tx, size), 0);
  EXPECT_EQ(copier.bytes(), 2u * size);
  EXPECT_EQ(adapter.counters().bytes_read, size + kFcsBytes);
}

INSTANTIATE_TEST_SUITE_P(Kinds, CopyOnlyOnEveryPlatform,
                         ::testing::ValuesIn(testing::kDataPathKinds), testing::PlatformKindName());

TEST(CopyOnlyAdapter, RefusesAnAddressNoLiveMappingCovers) {
  PlatformUnderTest platform(PlatformKind::IommuStrict);
  CopyOnlyAdapter adapter(platform.add_device("ipath0"), {});
  CpuCopier copier;
  auto driver = CopyOnlyDriver::open(adapter.device(), adapter.registers(), copier);
  ASSERT_TRUE(driver);
  std::byte* buf = platform.buffer(100);
  const DmaAddr dma = dma::map_single(adapter.device(), buf, 100, Direction::ToDevice).value();
  ASSERT_TRUE(dma::unmap_single(adapter.device(), dma, 100, Direction::ToDevice));
  EXPECT_EQ((*driver)->send(dma, 100).error().code, Errc::BadAddress);
}

TEST(CopyOnlyAdapter, DropsAFrameThatFailsItsChecksum) {
  PlatformUnderTest platform(PlatformKind::DirectLowRam);
  CopyOnlyAdapter adapter(platform.add_device("ipath0"), {});
  CpuCopier copier;
  auto driver = CopyOnlyDriver::open(adapter.device(), adapter.registers(), copier);
  ASSERT_TRUE(driver);
  std::byte* rx = platform.buffer(64);
  const DmaAddr dma = dma::map_single(adapter.device(), rx, 64, Direction::FromDevice).value();
  (*driver)->post_receive(dma, 64);
  Frame bad = seal_frame(std::vector<std::byte>(32, std::byte{5}));
  bad[3] ^= std::byte{1};
  adapter.wire().arrive(std::move(bad));
  adapter.service();
  const auto done = (*driver)->poll();
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->empty());
  EXPECT_EQ((*driver)->stats().checksum_errors, 1u);
  ASSERT_TRUE(dma::unmap_single(adapter.device(), dma, 64, Direction::FromDevice));
}

}  // namespace
}  // namespace dmakit::devices
