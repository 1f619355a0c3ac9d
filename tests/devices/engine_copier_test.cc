// SPDX-License-Identifier: Apache-2.0
// The copy engine as the copy-only driver's Copier (seed 002 under seed 004's driver): frames cross
// memory through the engine on every platform kind, an access the engine's IOMMU refuses is the
// driver's error, and copies the engine cannot take go inline, counted.
#include "dmakit/devices/engine_copier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <tuple>

#include "dmakit/core/mask.h"
#include "dmakit/devices/checksum.h"
#include "dmakit/devices/copy_engine.h"
#include "dmakit/devices/copy_only_driver.h"
#include "dmakit/dma/mapping.h"
#include "dmakit/dma/mapping_observer.h"
#include "testing/platform_kinds.h"

namespace dmakit::devices {
namespace {

using testing::PlatformKind;
using testing::PlatformUnderTest;

CopyEngineConfig engine_config(std::uint64_t inline_threshold) {
  CopyEngineConfig c;
  c.engine.channels = 2;
  c.engine.inline_threshold = inline_threshold;
  return c;
}

// The copy-only adapter with its driver, whose copies a copy engine of `engine_bits` address lines
// makes: a device of its own on the same platform (in a domain of its own where there is an IOMMU).
struct CopyOnlyWithEngine {
  CopyOnlyWithEngine(PlatformKind kind, unsigned engine_bits, std::uint64_t inline_threshold = 0)
      : platform(kind),
        adapter(platform.add_device("ipath0"), {}),
        engine_device(with_mask(platform.add_device("ioat0"), engine_bits)),
        engine(engine_device, engine_config(inline_threshold)),
        copier(engine.engine()),
        opened(CopyOnlyDriver::open(adapter.device(), adapter.registers(), copier)) {}

  static dma::Device& with_mask(dma::Device& dev, unsigned bits) {
    EXPECT_TRUE(dev.set_dma_mask_and_coherent(dma_bit_mask(bits)).has_value());
    return dev;
  }

  // The upper layer's buffer of `size` bytes at `offset` into a fresh region, mapped on the
  // adapter.
  std::pair<std::byte*, DmaAddr> map(std::uint64_t offset, std::uint32_t size, Direction dir) {
    std::byte* cpu = platform.buffer(offset + size) + offset;
    const Result<DmaAddr> dma = dma::map_single(adapter.device(), cpu, size, dir);
    EXPECT_TRUE(dma.has_value());
    return {cpu, dma.value_or(DmaAddr{})};
  }

  // Sends `size` patterned bytes that straddle a page, loops the frame back and receives it.
  ::testing::AssertionResult loop_back(std::uint32_t size, unsigned seed) {
    CopyOnlyDriver& driver = **opened;
    const auto [tx, tx_dma] = map(kPageSize - 1000, size, Direction::ToDevice);
    const auto [rx, rx_dma] = map(0, size, Direction::FromDevice);
    for (std::uint32_t i = 0; i < size; ++i) tx[i] = static_cast<std::byte>(i * 13 + seed);
    driver.post_receive(rx_dma, size);
    if (Status s = driver.send(tx_dma, size); !s)
      return ::testing::AssertionFailure() << "send: " << s.error().to_string();
    adapter.service();
    std::vector<Frame> sent = adapter.wire().take_sent();
    if (sent.size() != 1 || !frame_intact(sent[0]))
      return ::testing::AssertionFailure() << "no intact frame on the wire";
    adapter.wire().arrive(std::move(sent[0]));
    adapter.service();
    const Result<std::vector<ReceiveCompletion>> done = driver.poll();
    if (!done) return ::testing::AssertionFailure() << "poll: " << done.error().to_string();
    if (done->size() != 1 || (*done)[0].length != size)
      return ::testing::AssertionFailure() << "no completion of " << size << " bytes";
    if (!dma::unmap_single(adapter.device(), tx_dma, size, Direction::ToDevice) ||
        !dma::unmap_single(adapter.device(), rx_dma, size, Direction::FromDevice))
      return ::testing::AssertionFailure() << "unmap failed";
    if (std::memcmp(rx, tx, size) != 0) return ::testing::AssertionFailure() << "payload differs";
    return ::testing::AssertionSuccess();
  }

  // Waits for the channels to count what they completed: a channel counts a descriptor once its
  // callback has returned, just after the copier's wait for it has ended.
  void settle() {
    for (const auto& ch : engine.engine().channels()) {
      while (ch->queue_depth() != 0) std::this_thread::yield();
    }
  }

  PlatformUnderTest platform;
  CopyOnlyAdapter adapter;
  dma::Device& engine_device;
  CopyEngine engine;
  EngineCopier copier;
  Result<std::unique_ptr<CopyOnlyDriver>> opened;
};

using EngineParam = std::tuple<PlatformKind, unsigned>;
class EngineCopierOnEveryPlatform : public ::testing::TestWithParam<EngineParam> {};

TEST_P(EngineCopierOnEveryPlatform, CopyOnlyDriverMovesChecksummedFramesThroughTheEngine) {
  const auto [kind, bits] = GetParam();
  CopyOnlyWithEngine bench(kind, bits);
  ASSERT_TRUE(bench.opened) << bench.opened.error().to_string();
  const std::uint64_t bounced_before =
      bench.platform.platform().swiotlb() != nullptr
          ? bench.platform.platform().swiotlb()->stats().mappings_bounced
          : 0;
  // The sends start 1000 bytes before a page boundary: two copies each, then one per receive.
  EXPECT_TRUE(bench.loop_back(3000, 1));
  EXPECT_TRUE(bench.loop_back(1500, 2));

  const EngineCopierStats s = bench.copier.stats();
  EXPECT_EQ(s.copies, 2u * 3);
  EXPECT_EQ(s.bytes, 2u * (3000 + 1500));
  EXPECT_EQ(s.offloaded, s.copies);  // no threshold, and the engine reaches everything here
  EXPECT_EQ(s.offloaded_bytes, s.bytes);
  EXPECT_EQ(s.inline_copies + s.fallbacks + s.failures, 0u);
  // The engine did them: its channels wrote every byte, and its model counts them.
  bench.settle();
  EXPECT_EQ(bench.engine.service(), s.offloaded);
  EXPECT_EQ(bench.engine.counters().bytes_written, s.offloaded_bytes);
  EXPECT_EQ(bench.engine.counters().faults, 0u);
  EXPECT_EQ(bench.engine.service(), 0u);
  if (kind == PlatformKind::Bounce && bits == 32) {
    // The upper layer's buffers lie above 4 GiB: the engine's mappings of them bounced.
    EXPECT_GE(bench.platform.platform().swiotlb()->stats().mappings_bounced,
              bounced_before + s.offloaded);
  }
  EXPECT_EQ((*bench.opened)->stats().sent, 2u);
  EXPECT_EQ((*bench.opened)->stats().received, 2u);
}

std::string engine_param_name(const ::testing::TestParamInfo<EngineParam>& info) {
  return std::string(testing::platform_kind_name(std::get<0>(info.param))) + "_Engine" +
         std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Kinds, EngineCopierOnEveryPlatform,
                         ::testing::Combine(::testing::ValuesIn(testing::kDataPathKinds),
                                            ::testing::Values(32u, 64u)),
                         engine_param_name);

// Moves a device into an empty domain of its IOMMU just before a chosen bus access, and back before
// its next unmap: the IOMMU refuses that access, as it refuses a device whose domain changed under
// its driver, and the mappings are still undone where they were made.
class DomainSwitch final : public dma::MappingObserver {
 public:
  DomainSwitch(dma::Device& dev, iommu::Domain& empty)
      : dev_(dev), own_(dev.domain()), empty_(empty) {
    dev_.set_observer(this);
  }
  ~DomainSwitch() override { dev_.set_observer(nullptr); }

  /// The device's accesses after the next `allowed` go to the empty domain.
  void refuse_after(unsigned allowed) { countdown_ = allowed + 1; }

  void on_device_access(const dma::Device&, DmaAddr, std::uint64_t, bool) override {
    if (countdown_ != 0 && --countdown_ == 0) dev_.attach(&empty_);
  }
  void on_unmap(const dma::MappingEvent&) override {
    if (dev_.domain() != own_) dev_.attach(own_);
  }

 private:
  dma::Device& dev_;
  iommu::Domain* own_;
  iommu::Domain& empty_;
  std::atomic<unsigned> countdown_{0};
};

class EngineCopierIommu : public ::testing::TestWithParam<PlatformKind> {};

TEST_P(EngineCopierIommu, AnAccessTheIommuRefusesIsTheDriversErrorNeverAPartialFrame) {
  CopyOnlyWithEngine bench(GetParam(), 32);
  ASSERT_TRUE(bench.opened);
  CopyOnlyDriver& driver = **bench.opened;
  iommu::Iommu& unit = *bench.platform.iommu();
  DomainSwitch refusal(bench.engine_device, unit.create_domain({}));
  const std::uint64_t faults = unit.faults().count();

  // The send's first copy goes through (its destination written, its source read); the second's
  // destination is refused.
  const auto [tx, tx_dma] = bench.map(kPageSize - 1000, 3000, Direction::ToDevice);
  std::memset(tx, 0x5a, 3000);
  refusal.refuse_after(2);
  const Status sent = driver.send(tx_dma, 3000);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, Errc::Fault);
  EXPECT_FALSE(bench.adapter.registers().send_doorbell);
  bench.adapter.service();
  EXPECT_TRUE(bench.adapter.wire().take_sent().empty());  // half a frame never leaves
  EXPECT_EQ(driver.stats().sent, 0u);
  EXPECT_GT(unit.faults().count(), faults);

  // A receive whose only copy is refused completes nothing.
  const auto [rx, rx_dma] = bench.map(0, 200, Direction::FromDevice);
  std::memset(rx, 0x11, 200);
  driver.post_receive(rx_dma, 200);
  bench.adapter.wire().arrive(seal_frame(std::vector<std::byte>(200, std::byte{0x22})));
  bench.adapter.service();
  refusal.refuse_after(0);
  const Result<std::vector<ReceiveCompletion>> polled = driver.poll();
  ASSERT_FALSE(polled);
  EXPECT_EQ(polled.error().code, Errc::Fault);
  EXPECT_EQ(rx[0], std::byte{0x11});  // the refused copy wrote nothing
  EXPECT_EQ(driver.stats().received, 0u);

  const EngineCopierStats s = bench.copier.stats();
  EXPECT_EQ(s.copies, 1u);
  EXPECT_EQ(s.failures, 2u);
  bench.engine.service();
  EXPECT_EQ(bench.engine.counters().faults, 2u);
  // The driver and the engine go on working: the buffer stays posted for the next frame, and the
  // failed copies left nothing mapped for the engine.
  bench.adapter.wire().arrive(seal_frame(std::vector<std::byte>(200, std::byte{0x33})));
  bench.adapter.service();
  const Result<std::vector<ReceiveCompletion>> next = driver.poll();
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(next->size(), 1u);
  EXPECT_EQ(rx[199], std::byte{0x33});
  ASSERT_TRUE(dma::unmap_single(bench.adapter.device(), tx_dma, 3000, Direction::ToDevice));
  ASSERT_TRUE(dma::unmap_single(bench.adapter.device(), rx_dma, 200, Direction::FromDevice));
  EXPECT_TRUE(bench.loop_back(3000, 3));
  EXPECT_EQ(bench.engine_device.domain()->stats().page_table.mapped_bytes, 0u);
}

INSTANTIATE_TEST_SUITE_P(Kinds, EngineCopierIommu,
                         ::testing::Values(PlatformKind::IommuStrict, PlatformKind::IommuDeferred),
                         testing::PlatformKindName());

TEST(EngineCopier, CopiesInlineWhatTheEngineCannotReachAndCountsIt) {
  // 64 GiB and neither IOMMU nor bounce pool: a 32-bit engine cannot map the buffers above 4 GiB.
  CopyOnlyWithEngine bench(PlatformKind::DirectHighRam, 32);
  ASSERT_TRUE(bench.opened);
  EXPECT_TRUE(bench.loop_back(3000, 4));
  const EngineCopierStats s = bench.copier.stats();
  EXPECT_EQ(s.copies, 3u);
  EXPECT_EQ(s.inline_copies, 3u);
  EXPECT_EQ(s.inline_bytes, 6000u);
  EXPECT_EQ(s.fallbacks, 3u);
  EXPECT_EQ(s.offloaded + s.failures, 0u);
  EXPECT_EQ(bench.engine.service(), 0u);
}

TEST(EngineCopier, CopiesInlineWhatIsShorterThanTheThreshold) {
  CopyOnlyWithEngine bench(PlatformKind::IommuStrict, 32, /*inline_threshold=*/1200);
  ASSERT_TRUE(bench.opened);
  EXPECT_TRUE(bench.loop_back(3000, 5));  // a send of 1000 and 2000 bytes, a receive of 3000
  const EngineCopierStats s = bench.copier.stats();
  EXPECT_EQ(s.inline_copies, 1u);
  EXPECT_EQ(s.inline_bytes, 1000u);
  EXPECT_EQ(s.offloaded, 2u);
  EXPECT_EQ(s.offloaded_bytes, 5000u);
  EXPECT_EQ(s.fallbacks, 0u);
  ASSERT_TRUE(bench.copier.copy(nullptr, nullptr, 0));  // nothing to move, as memcpy
  EXPECT_EQ(bench.copier.stats().copies, 3u);
}

}  // namespace
}  // namespace dmakit::devices
