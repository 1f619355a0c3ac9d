// SPDX-License-Identifier: Apache-2.0
// Channels on bus addresses: submission and issue, cookies, FIFO completion, waits, termination,
// refused input and IOMMU faults, with the bytes checked through the machine's memory.
#include "dmakit/engine/channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "dmakit/dma/mapping.h"
#include "dmakit/engine/dma_engine.h"
#include "dmakit/iommu/iommu.h"
#include "testing/bytes.h"
#include "testing/engine_machine.h"

namespace dmakit::engine {
namespace {

using testing::all_bytes;

// Records every completion a channel reports, in order.
struct Recorder {
  std::mutex lock;
  std::vector<Cookie> cookies;
  std::vector<Completion> completions;

  static void record(void* context, const Completion& done) {
    auto* r = static_cast<Recorder*>(context);
    std::lock_guard guard(r->lock);
    r->cookies.push_back(done.cookie);
    r->completions.push_back(done);
  }
  std::size_t count() {
    std::lock_guard guard(lock);
    return completions.size();
  }
};

Cookie submit_copy(Channel& ch, DmaAddr dst, DmaAddr src, std::uint64_t n, Recorder& r) {
  Result<Descriptor> d = ch.prep_memcpy(dst, src, n);
  EXPECT_TRUE(d.has_value()) << d.error().to_string();
  d->set_callback(&Recorder::record, &r);
  return ch.submit(std::move(*d));
}

TEST(Channel, NothingRunsBeforeIssuePending) {
  testing::EngineMachine m;
  Channel& ch = *m.start().channels().front();
  std::byte* src = m.buffer(4096, 0x5a);
  std::byte* dst = m.buffer(4096, 0);
  Recorder r;
  const Cookie c = submit_copy(ch, m.bus(dst), m.bus(src), 4096, r);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(ch.status(c), DmaStatus::InProgress);
  EXPECT_EQ(r.count(), 0U);
  EXPECT_TRUE(all_bytes(dst, 4096, std::byte{0}));
  ch.issue_pending();
  ASSERT_TRUE(ch.sync_wait(c).has_value());
  EXPECT_EQ(ch.status(c), DmaStatus::Complete);
  ASSERT_EQ(r.count(), 1U);
  EXPECT_TRUE(r.completions[0].status.has_value());
  EXPECT_EQ(r.completions[0].bytes, 4096U);
  EXPECT_EQ(r.completions[0].method, Method::Offloaded);
  EXPECT_TRUE(all_bytes(dst, 4096, std::byte{0x5a}));
}

TEST(Channel, CookiesIncreaseAndWrapBackToOne) {
  testing::EngineMachine m;
  EngineConfig config;
  config.channel.first_cookie = std::numeric_limits<Cookie>::max() - 2;
  Channel& ch = *m.start(config).channels().front();
  std::byte* src = m.buffer(64, 1);
  std::byte* dst = m.buffer(64);
  Recorder r;
  std::vector<Cookie> cookies;
  for (int i = 0; i < 6; ++i) cookies.push_back(submit_copy(ch, m.bus(dst), m.bus(src), 64, r));
  const Cookie max = std::numeric_limits<Cookie>::max();
  EXPECT_EQ(cookies, (std::vector<Cookie>{max - 2, max - 1, max, 1, 2, 3}));
  for (const Cookie c : cookies) EXPECT_EQ(ch.status(c), DmaStatus::InProgress);
  ASSERT_TRUE(ch.sync_wait(cookies.back()).has_value());
  for (const Cookie c : cookies) EXPECT_EQ(ch.status(c), DmaStatus::Complete);
  EXPECT_EQ(r.cookies, cookies);
  // A cookie not yet assigned is not reported as in flight.
  const Cookie next = submit_copy(ch, m.bus(dst), m.bus(src), 64, r);
  EXPECT_EQ(next, 4);
  EXPECT_EQ(ch.status(next), DmaStatus::InProgress);
  EXPECT_EQ(ch.status(3), DmaStatus::Complete);
  ch.issue_pending();
  EXPECT_TRUE(ch.sync_wait(next).has_value());
}

TEST(CookieStatus, FollowsTheWrap) {
  EXPECT_EQ(cookie_status(5, 5, 9), DmaStatus::Complete);
  EXPECT_EQ(cookie_status(6, 5, 9), DmaStatus::InProgress);
  EXPECT_EQ(cookie_status(10, 5, 9), DmaStatus::Complete);
  // In flight: (max - 1, max] and [1, 2] after the wrap.
  const Cookie max = std::numeric_limits<Cookie>::max();
  EXPECT_EQ(cookie_status(max, max - 1, 2), DmaStatus::InProgress);
  EXPECT_EQ(cookie_status(1, max - 1, 2), DmaStatus::InProgress);
  EXPECT_EQ(cookie_status(max - 1, max - 1, 2), DmaStatus::Complete);
  EXPECT_EQ(cookie_status(3, max - 1, 2), DmaStatus::Complete);
  EXPECT_EQ(next_cookie(max), kMinCookie);
}

TEST(Channel, CompletesInSubmitOrderAcrossBatches) {
  testing::EngineMachine m;
  Channel& ch = *m.start().channels().front();
  std::byte* src = m.buffer(8192, 7);
  std::byte* dst = m.buffer(8192);
  Recorder r;
  std::vector<Cookie> cookies;
  for (int batch = 0; batch < 20; ++batch) {
    for (int i = 0; i < 10; ++i) {
      const std::uint64_t n = 64 + static_cast<std::uint64_t>(i) * 800;
      cookies.push_back(submit_copy(ch, m.bus(dst), m.bus(src), n, r));
    }
    ch.issue_pending();
  }
  ASSERT_TRUE(ch.sync_wait(cookies.back()).has_value());
  EXPECT_EQ(r.cookies, cookies);
  for (const Completion& c : r.completions) EXPECT_TRUE(c.status.has_value());
  const ChannelStats s = ch.stats();
  EXPECT_EQ(s.descriptors, 200U);
  EXPECT_GE(s.max_queue_depth, 10U);
  EXPECT_EQ(s.queue_depth, 0U);
  EXPECT_GE(s.batches, 1U);
  EXPECT_LE(s.batches, 20U);
}

TEST(Channel, SyncWaitGivesUpOnAStuckChannel) {
  testing::EngineMachine m;
  Channel& ch = *m.start().channels().front();
  testing::ChannelGate gate;
  (void)gate.close(ch);
  Result<Descriptor> next = ch.prep_interrupt();
  ASSERT_TRUE(next.has_value());
  const Cookie c = ch.submit(std::move(*next));
  const Status waited = ch.sync_wait(c, std::chrono::milliseconds(30));
  ASSERT_FALSE(waited.has_value());
  EXPECT_EQ(waited.error().code, Errc::Timeout);
  gate.open = true;
  EXPECT_TRUE(ch.sync_wait(c).has_value());
}

TEST(Channel, TerminateAllAbortsWhatHasNotStarted) {
  testing::EngineMachine m;
  Channel& ch = *m.start().channels().front();
  std::byte* src = m.buffer(4096, 3);
  std::byte* dst = m.buffer(4096);
  testing::ChannelGate gate;
  (void)gate.close(ch);
  Recorder r;
  std::vector<Cookie> cookies;
  for (int i = 0; i < 5; ++i) cookies.push_back(submit_copy(ch, m.bus(dst), m.bus(src), 4096, r));
  ch.issue_pending();
  for (int i = 0; i < 3; ++i) cookies.push_back(submit_copy(ch, m.bus(dst), m.bus(src), 4096, r));
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    gate.open = true;
  });
  ch.terminate_all();  // waits for the gate and for the aborted ones
  opener.join();
  ASSERT_EQ(r.count(), 8U);
  EXPECT_EQ(r.cookies, cookies);
  for (const Completion& c : r.completions) {
    ASSERT_FALSE(c.status.has_value());
    EXPECT_EQ(c.status.error().code, Errc::Aborted);
    EXPECT_EQ(c.bytes, 0U);
  }
  EXPECT_TRUE(all_bytes(dst, 4096, std::byte{0}));
  EXPECT_EQ(ch.stats().aborted, 8U);
  // The channel works on afterwards.
  const Cookie after = submit_copy(ch, m.bus(dst), m.bus(src), 4096, r);
  ASSERT_TRUE(ch.sync_wait(after).has_value());
  EXPECT_TRUE(r.completions.back().status.has_value());
  EXPECT_TRUE(all_bytes(dst, 4096, std::byte{3}));
}

TEST(Channel, RefusesBadInputAtPrepare) {
  testing::EngineMachine m(32);
  EngineConfig config;
  config.channel.max_transfer = 64 * kKiB;
  config.channel.capabilities = {Capability::Memcpy};
  Channel& ch = *m.start(config).channels().front();
  const DmaAddr a(1 * kMiB);
  const DmaAddr b(2 * kMiB);
  auto code = [](const Result<Descriptor>& r) {
    return r ? std::optional<Errc>() : r.error().code;
  };
  EXPECT_EQ(code(ch.prep_memcpy(a, b, 0)), Errc::InvalidArgument);
  EXPECT_EQ(code(ch.prep_memcpy(a, b, 64 * kKiB + 1)), Errc::InvalidArgument);
  EXPECT_EQ(code(ch.prep_memcpy(a, a + 100, 4096)), Errc::InvalidArgument);  // overlap
  EXPECT_EQ(code(ch.prep_memcpy(DmaAddr(4 * kGiB), b, 4096)), Errc::AboveMask);
  EXPECT_EQ(code(ch.prep_memcpy(a, DmaAddr(4 * kGiB - 100), 4096)), Errc::AboveMask);
  EXPECT_EQ(code(ch.prep_memset(a, std::byte{1}, 4096)), Errc::InvalidArgument);  // no capability
  EXPECT_EQ(
      code(ch.prep_sg(std::vector<BusSegment>{{a, 4096}}, std::vector<BusSegment>{{b, 4096}})),
      Errc::InvalidArgument);  // no capability
  EXPECT_TRUE(ch.prep_memcpy(a, b, 64 * kKiB).has_value());
  EXPECT_TRUE(ch.prep_interrupt().has_value());  // every channel signals
}

TEST(Channel, RefusesSgListsOfDifferentLengthsOrEmptySegments) {
  testing::EngineMachine m;
  Channel& ch = *m.start().channels().front();
  const std::vector<BusSegment> two = {{DmaAddr(kMiB), 4096}, {DmaAddr(3 * kMiB), 4096}};
  EXPECT_FALSE(ch.prep_sg(two, std::vector<BusSegment>{{DmaAddr(5 * kMiB), 4096}}));
  EXPECT_FALSE(ch.prep_sg(two, {}));
  EXPECT_FALSE(ch.prep_sg(std::vector<BusSegment>{{DmaAddr(kMiB), 4096}, {DmaAddr(9 * kMiB), 0}},
                          std::vector<BusSegment>{{DmaAddr(5 * kMiB), 4096}}));
  // The second source segment lies inside the first destination one.
  EXPECT_FALSE(ch.prep_sg(
      two, std::vector<BusSegment>{{DmaAddr(5 * kMiB), 4096}, {DmaAddr(kMiB + 8), 4096}}));
}

TEST(Channel, MemsetAndScatterGatherMoveTheRightBytes) {
  testing::EngineMachine m;
  Channel& ch = *m.start().channels().front();
  std::byte* fill = m.buffer(10000, 0);
  Recorder r;
  Result<Descriptor> set = ch.prep_memset(m.bus(fill) + 5, std::byte{0xee}, 9000);
  ASSERT_TRUE(set.has_value());
  set->set_callback(&Recorder::record, &r);
  ASSERT_TRUE(ch.sync_wait(ch.submit(std::move(*set))).has_value());
  EXPECT_TRUE(all_bytes(fill, 5, std::byte{0}));
  EXPECT_TRUE(all_bytes(fill + 5, 9000, std::byte{0xee}));
  EXPECT_TRUE(all_bytes(fill + 9005, 995, std::byte{0}));

  std::byte* a = m.buffer(3000, 1);
  std::byte* b = m.buffer(5000, 2);
  std::byte* x = m.buffer(6000, 0);
  std::byte* y = m.buffer(2000, 0);
  Result<Descriptor> sg = ch.prep_sg(std::vector<BusSegment>{{m.bus(x), 6000}, {m.bus(y), 2000}},
                                     std::vector<BusSegment>{{m.bus(a), 3000}, {m.bus(b), 5000}});
  ASSERT_TRUE(sg.has_value());
  ASSERT_TRUE(ch.sync_wait(ch.submit(std::move(*sg))).has_value());
  EXPECT_TRUE(all_bytes(x, 3000, std::byte{1}));
  EXPECT_TRUE(all_bytes(x + 3000, 3000, std::byte{2}));
  EXPECT_TRUE(all_bytes(y, 2000, std::byte{2}));
}

TEST(Channel, PollingWorkerCompletesWithoutAWakeUp) {
  testing::EngineMachine m;
  EngineConfig config;
  config.channel.wait = WaitMode::Poll;
  Channel& ch = *m.start(config).channels().front();
  std::byte* src = m.buffer(256, 9);
  std::byte* dst = m.buffer(256);
  Recorder r;
  for (int i = 0; i < 50; ++i) {
    const Cookie c = submit_copy(ch, m.bus(dst), m.bus(src), 256, r);
    ASSERT_TRUE(ch.sync_wait(c).has_value());
  }
  EXPECT_EQ(r.count(), 50U);
  EXPECT_TRUE(all_bytes(dst, 256, std::byte{9}));
}

TEST(Channel, ShutdownWithWorkInFlightCompletesEveryDescriptorOnce) {
  struct Tally {
    std::atomic<int> calls{0};
    std::atomic<bool> failed_other_than_abort{false};
  };
  std::vector<Tally> tallies(100);
  {
    testing::EngineMachine m;
    EngineConfig config;
    config.channels = 2;
    DmaEngine& engine = m.start(config);
    std::byte* src = m.buffer(256 * kKiB, 4);
    // One destination per channel: the two workers run at once.
    std::byte* dst[2] = {m.buffer(256 * kKiB), m.buffer(256 * kKiB)};
    for (std::size_t i = 0; i < tallies.size(); ++i) {
      Channel& ch = *engine.channels()[i % 2];
      Result<Descriptor> d = ch.prep_memcpy(m.bus(dst[i % 2]), m.bus(src), 256 * kKiB);
      ASSERT_TRUE(d.has_value());
      d->set_callback(
          [](void* context, const Completion& done) {
            auto* t = static_cast<Tally*>(context);
            t->calls.fetch_add(1);
            if (!done.status && done.status.error().code != Errc::Aborted)
              t->failed_other_than_abort = true;
          },
          &tallies[i]);
      (void)ch.submit(std::move(*d));
      if (i % 3 == 0) ch.issue_pending();  // the rest stays pending
    }
    m.engine.reset();  // with work queued, issued and running
  }
  for (const Tally& t : tallies) {
    EXPECT_EQ(t.calls.load(), 1);
    EXPECT_FALSE(t.failed_other_than_abort.load());
  }
}

class ChannelIommuTest : public ::testing::Test {
 protected:
  ChannelIommuTest() : iommu_(m_.machine, {}) {
    domain_ = &iommu_.create_domain({.policy = iommu::InvalidationPolicy::Strict});
    m_.device.attach(domain_);
    m_.start();
  }
  Channel& channel() { return *m_.engine->channels().front(); }

  testing::EngineMachine m_{32};
  iommu::Iommu iommu_;
  iommu::Domain* domain_;
};

TEST_F(ChannelIommuTest, ReadOnlyDestinationFaultsAndNothingIsWritten) {
  std::byte* src = m_.buffer(8192, 0x11, 40 * kGiB);
  std::byte* dst = m_.buffer(8192, 0x22, 40 * kGiB + kMiB);
  const Result<DmaAddr> s = dma::map_single(m_.device, src, 8192, Direction::ToDevice);
  const Result<DmaAddr> d = dma::map_single(m_.device, dst, 8192, Direction::ToDevice);
  ASSERT_TRUE(s && d);
  Recorder r;
  const std::uint64_t faults = iommu_.faults().count();
  const Cookie c = submit_copy(channel(), *d, *s, 8192, r);
  ASSERT_TRUE(channel().sync_wait(c).has_value());
  ASSERT_EQ(r.count(), 1U);
  ASSERT_FALSE(r.completions[0].status.has_value());
  EXPECT_EQ(r.completions[0].status.error().code, Errc::Fault);
  EXPECT_EQ(r.completions[0].bytes, 0U);
  EXPECT_TRUE(all_bytes(dst, 8192, std::byte{0x22}));
  EXPECT_GT(iommu_.faults().count(), faults);
  EXPECT_EQ(channel().stats().errors, 1U);
  ASSERT_TRUE(dma::unmap_single(m_.device, *s, 8192, Direction::ToDevice));
  ASSERT_TRUE(dma::unmap_single(m_.device, *d, 8192, Direction::ToDevice));
}

TEST_F(ChannelIommuTest, PartlyUnmappedDestinationFaultsBeforeAnyByteMoves) {
  std::byte* src = m_.buffer(3 * kPageSize, 0x33, 40 * kGiB);
  std::byte* dst = m_.buffer(3 * kPageSize, 0x44, 40 * kGiB + kMiB);
  // Only the first two pages of the destination are mapped, below a page that was mapped and
  // unmapped at the top of the IOVA space (allocated top-down): the third faults.
  const Result<DmaAddr> gone = dma::map_single(m_.device, src, kPageSize, Direction::ToDevice);
  ASSERT_TRUE(gone && dma::unmap_single(m_.device, *gone, kPageSize, Direction::ToDevice));
  const Result<DmaAddr> d = dma::map_single(m_.device, dst, 2 * kPageSize, Direction::FromDevice);
  const Result<DmaAddr> s = dma::map_single(m_.device, src, 3 * kPageSize, Direction::ToDevice);
  ASSERT_TRUE(s && d);
  ASSERT_LE(*d + 3 * kPageSize, *gone + kPageSize);  // within the device's reach, unmapped
  Recorder r;
  const Cookie c = submit_copy(channel(), *d, *s, 3 * kPageSize, r);
  ASSERT_TRUE(channel().sync_wait(c).has_value());
  ASSERT_EQ(r.count(), 1U);
  ASSERT_FALSE(r.completions[0].status.has_value());
  EXPECT_EQ(r.completions[0].status.error().code, Errc::Fault);
  EXPECT_TRUE(all_bytes(dst, 3 * kPageSize, std::byte{0x44}));
  ASSERT_TRUE(dma::unmap_single(m_.device, *s, 3 * kPageSize, Direction::ToDevice));
  ASSERT_TRUE(dma::unmap_single(m_.device, *d, 2 * kPageSize, Direction::FromDevice));
}

}  // namespace
}  // namespace dmakit::engine
