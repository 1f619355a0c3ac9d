// SPDX-License-Identifier: Apache-2.0
// The best-method copy service: when it copies inline and when it offloads, what its callbacks and
// handles report, dependencies and fences, narrow engines reaching high memory through bounce
// buffers or an IOMMU, and shutdown with work in flight.
#include "dmakit/engine/async_tx.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "dmakit/iommu/iommu.h"
#include "testing/bytes.h"
#include "testing/engine_machine.h"

namespace dmakit::engine {
namespace {

using testing::all_bytes;

// Counts callbacks and keeps the last completion and the thread it ran on.
struct Done {
  std::atomic<int> calls{0};
  Completion last;
  std::thread::id thread;

  static void record(void* context, const Completion& c) {
    auto* d = static_cast<Done*>(context);
    d->last = c;
    d->thread = std::this_thread::get_id();
    d->calls.fetch_add(1, std::memory_order_release);
  }
};

// Appends a tag to a shared log when an operation completes.
struct Log {
  std::mutex lock;
  std::vector<int> order;
};
struct Tag {
  Log* log;
  int id;
  static void record(void* context, const Completion&) {
    auto* t = static_cast<Tag*>(context);
    std::lock_guard guard(t->log->lock);
    t->log->order.push_back(t->id);
  }
};

EngineConfig with_threshold(std::uint64_t threshold, unsigned channels = 1) {
  EngineConfig config;
  config.inline_threshold = threshold;
  config.channels = channels;
  return config;
}

TEST(AsyncTx, SmallCopiesRunInlineBeforeTheCallReturns) {
  testing::EngineMachine m;
  AsyncTx tx(m.start(with_threshold(4096)));
  std::byte* src = m.buffer(100, 0x61);
  std::byte* dst = m.buffer(100);
  Done done;
  const TxHandle h = tx.copy_async(dst, src, 100, &Done::record, &done);
  EXPECT_EQ(done.calls.load(), 1);
  EXPECT_EQ(done.thread, std::this_thread::get_id());
  EXPECT_TRUE(done.last.status.has_value());
  EXPECT_EQ(done.last.method, Method::Inline);
  EXPECT_EQ(done.last.bytes, 100U);
  EXPECT_TRUE(h.is_complete());
  ASSERT_NE(h.result(), nullptr);
  EXPECT_EQ(h.result()->method, Method::Inline);
  EXPECT_TRUE(all_bytes(dst, 100, std::byte{0x61}));
  EXPECT_EQ(tx.stats().inline_ops, 1U);
  EXPECT_EQ(tx.stats().offloaded_ops, 0U);
}

TEST(AsyncTx, DeferredCallbackOfAnInlineCopyRunsOnAChannel) {
  testing::EngineMachine m;
  AsyncTx tx(m.start(with_threshold(4096)));
  std::byte* src = m.buffer(100, 0x62);
  std::byte* dst = m.buffer(100);
  Done done;
  const TxHandle h = tx.copy_async(dst, src, 100, &Done::record, &done, {.defer_callback = true});
  ASSERT_TRUE(h.wait().has_value());
  EXPECT_EQ(done.calls.load(), 1);
  EXPECT_NE(done.thread, std::this_thread::get_id());
  EXPECT_EQ(done.last.method, Method::Inline);
  EXPECT_TRUE(all_bytes(dst, 100, std::byte{0x62}));
}

TEST(AsyncTx, CopiesAtOrAboveTheThresholdAreOffloaded) {
  testing::EngineMachine m;
  AsyncTx tx(m.start(with_threshold(4096)));
  std::byte* src = m.buffer(4096, 0x63);
  std::byte* dst = m.buffer(4096);
  Done done;
  const TxHandle h = tx.copy_async(dst, src, 4096, &Done::record, &done);
  ASSERT_TRUE(h.wait().has_value());
  EXPECT_EQ(done.calls.load(), 1);
  EXPECT_EQ(done.last.method, Method::Offloaded);
  EXPECT_GE(done.last.cookie, kMinCookie);
  EXPECT_TRUE(all_bytes(dst, 4096, std::byte{0x63}));
  EXPECT_EQ(tx.stats().offloaded_ops, 1U);
  EXPECT_EQ(tx.stats().offloaded_bytes, 4096U);
  EXPECT_EQ(m.engine->channels().front()->stats().bytes, 4096U);
}

// With polling channels and a CPU to spare, wait() polls as dma_sync_wait does: it still gives up
// after its timeout with a Timeout status, and still returns the status once the copy completes.
TEST(AsyncTx, PollingWaitTimesOutThenSeesTheCompletion) {
  testing::EngineMachine m;
  EngineConfig config = with_threshold(0);
  config.channel.wait = WaitMode::Poll;
  AsyncTx tx(m.start(config));
  testing::ChannelGate gate;
  (void)gate.close(*m.engine->channels().front());
  std::byte* src = m.buffer(4096, 0x64);
  std::byte* dst = m.buffer(4096);
  const TxHandle h = tx.copy_async(dst, src, 4096, nullptr, nullptr);
  const auto before = std::chrono::steady_clock::now();
  const Status waited = h.wait(std::chrono::milliseconds(20));
  ASSERT_FALSE(waited.has_value());
  EXPECT_EQ(waited.error().code, Errc::Timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(20));
  EXPECT_FALSE(h.is_complete());
  gate.open = true;
  ASSERT_TRUE(h.wait().has_value());
  EXPECT_TRUE(all_bytes(dst, 4096, std::byte{0x64}));
}

TEST(AsyncTx, CopiesBeyondMaxTransferGoInline) {
  testing::EngineMachine m;
  EngineConfig config = with_threshold(0);
  config.channel.max_transfer = 64 * kKiB;
  AsyncTx tx(m.start(config));
  std::byte* src = m.buffer(100 * kKiB, 0x64);
  std::byte* dst = m.buffer(100 * kKiB);
  Done done;
  ASSERT_TRUE(tx.copy_async(dst, src, 100 * kKiB, &Done::record, &done).wait().has_value());
  EXPECT_EQ(done.last.method, Method::Inline);
  EXPECT_TRUE(all_bytes(dst, 100 * kKiB, std::byte{0x64}));
}

TEST(AsyncTx, RefusesZeroLengthAndOverlapWithOneCallback) {
  testing::EngineMachine m;
  AsyncTx tx(m.start());
  std::byte* buf = m.buffer(8192, 0x65);
  for (const auto& [dst, src, n] : {std::tuple{buf + 100, buf, std::uint64_t{4096}},
                                    std::tuple{buf, buf + 4000, std::uint64_t{4096}},
                                    std::tuple{buf + 4096, buf, std::uint64_t{0}}}) {
    Done done;
    const TxHandle h = tx.copy_async(dst, src, n, &Done::record, &done);
    const Status s = h.wait();
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code, Errc::InvalidArgument);
    EXPECT_EQ(done.calls.load(), 1);
    EXPECT_FALSE(done.last.status.has_value());
  }
  Done done;
  ASSERT_FALSE(tx.memset_async(buf, std::byte{0}, 0, &Done::record, &done).wait());
  EXPECT_EQ(done.calls.load(), 1);
  EXPECT_TRUE(all_bytes(buf, 8192, std::byte{0x65}));
  EXPECT_EQ(tx.stats().refused, 4U);
}

TEST(AsyncTx, DependentStartsOnlyAfterItsDependency) {
  testing::EngineMachine m;
  AsyncTx tx(m.start(with_threshold(0, 2)));
  constexpr std::uint64_t kSize = 2 * kMiB;
  std::byte* x = m.buffer(kSize, 0x71);
  std::byte* y = m.buffer(kSize, 0);
  std::byte* z = m.buffer(kSize, 0);
  for (int round = 0; round < 20; ++round) {
    std::memset(y, 0, kSize);
    const TxHandle a = tx.copy_async(y, x, kSize, nullptr, nullptr);
    const TxHandle b = tx.copy_async(z, y, kSize, nullptr, nullptr, {.after = {&a, 1}});
    ASSERT_TRUE(b.wait().has_value());
    EXPECT_TRUE(a.is_complete());
    ASSERT_TRUE(all_bytes(z, kSize, std::byte{0x71}));
    std::memset(z, 0, kSize);
  }
}

TEST(AsyncTx, DiamondOfFourRunsInDependencyOrder) {
  testing::EngineMachine m;
  AsyncTx tx(m.start(with_threshold(0, 2)));
  for (int round = 0; round < 20; ++round) {
    Log log;
    Tag tags[4] = {{&log, 0}, {&log, 1}, {&log, 2}, {&log, 3}};
    std::byte* src = m.buffer(kMiB, round);
    std::byte* a_dst = m.buffer(kMiB);
    std::byte* b_dst = m.buffer(kMiB);
    std::byte* c_dst = m.buffer(kMiB);
    std::byte* d_dst = m.buffer(kMiB);
    const TxHandle a = tx.copy_async(a_dst, src, kMiB, &Tag::record, &tags[0]);
    const TxHandle b =
        tx.copy_async(b_dst, a_dst, kMiB, &Tag::record, &tags[1], {.after = {&a, 1}});
    const TxHandle c =
        tx.memset_async(c_dst, std::byte{0x5c}, kMiB, &Tag::record, &tags[2], {.after = {&a, 1}});
    const TxHandle bc[] = {b, c};
    const TxHandle d = tx.copy_async(d_dst, b_dst, kMiB, &Tag::record, &tags[3], {.after = bc});
    ASSERT_TRUE(d.wait().has_value());
    std::lock_guard guard(log.lock);
    ASSERT_EQ(log.order.size(), 4U);
    EXPECT_EQ(log.order.front(), 0);
    EXPECT_EQ(log.order.back(), 3);
    EXPECT_TRUE(all_bytes(d_dst, kMiB, static_cast<std::byte>(round)));
    EXPECT_TRUE(all_bytes(c_dst, kMiB, std::byte{0x5c}));
  }
}

TEST(AsyncTx, FailedDependencyAbortsTheDependent) {
  testing::EngineMachine m;
  AsyncTx tx(m.start());
  std::byte* buf = m.buffer(8192, 1);
  std::byte* dst = m.buffer(4096, 2);
  const TxHandle bad = tx.copy_async(buf + 1, buf, 4096, nullptr, nullptr);  // overlaps
  Done done;
  const TxHandle next = tx.copy_async(dst, buf, 4096, &Done::record, &done, {.after = {&bad, 1}});
  const Status s = next.wait();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::Aborted);
  EXPECT_EQ(done.calls.load(), 1);
  EXPECT_TRUE(all_bytes(dst, 4096, std::byte{2}));
}

TEST(AsyncTx, FenceOrdersEverythingAfterItBehindEverythingBefore) {
  testing::EngineMachine m;
  AsyncTx tx(m.start(with_threshold(0, 2)));
  Log log;
  std::vector<Tag> tags;
  tags.reserve(12);
  for (int i = 0; i < 12; ++i) tags.push_back({&log, i});
  std::byte* src = m.buffer(512 * kKiB, 5);
  std::vector<std::byte*> dsts;
  for (int i = 0; i < 12; ++i) dsts.push_back(m.buffer(512 * kKiB));
  for (int i = 0; i < 6; ++i) (void)tx.copy_async(dsts[i], src, 512 * kKiB, &Tag::record, &tags[i]);
  const TxHandle f = tx.fence();
  TxHandle last;
  for (int i = 6; i < 12; ++i)
    last = tx.copy_async(dsts[i], src, 4096 * (i - 5), &Tag::record, &tags[i]);
  ASSERT_TRUE(f.wait().has_value());
  ASSERT_TRUE(last.wait().has_value());
  ASSERT_TRUE(tx.fence().wait().has_value());
  std::lock_guard guard(log.lock);
  ASSERT_EQ(log.order.size(), 12U);
  for (int i = 0; i < 6; ++i) EXPECT_LT(log.order[i], 6) << "position " << i;
}

TEST(AsyncTx, ThirtyTwoBitEngineCopiesHighMemoryThroughBounceBuffers) {
  testing::EngineMachine m(32);
  AsyncTx tx(m.start());
  constexpr std::uint64_t kSize = 200 * kKiB;  // within one bounce mapping (256 KiB)
  std::byte* src = m.buffer(kSize, 0x7a, 40 * kGiB);
  std::byte* dst = m.buffer(kSize, 0, 40 * kGiB + kMiB);
  const std::uint64_t bounced = m.platform.swiotlb()->stats().mappings_bounced;
  Done done;
  ASSERT_TRUE(tx.copy_async(dst, src, kSize, &Done::record, &done).wait().has_value());
  EXPECT_EQ(done.last.method, Method::Offloaded);
  EXPECT_TRUE(all_bytes(dst, kSize, std::byte{0x7a}));
  EXPECT_EQ(m.platform.swiotlb()->stats().mappings_bounced, bounced + 2);
  EXPECT_EQ(m.platform.swiotlb()->stats().used_slots, 0U);  // unmapped on completion
}

TEST(AsyncTx, ThirtyTwoBitEngineCopiesHighMemoryThroughAnIommu) {
  testing::EngineMachine m(32);
  iommu::Iommu unit(m.machine, {});
  m.device.attach(&unit.create_domain({.policy = iommu::InvalidationPolicy::Strict}));
  AsyncTx tx(m.start());
  constexpr std::uint64_t kSize = 3 * kMiB + 123;
  std::byte* src = m.buffer(kSize, 0x7b, 40 * kGiB + 17);
  std::byte* dst = m.buffer(kSize, 0, 48 * kGiB + 5);
  Done done;
  ASSERT_TRUE(tx.copy_async(dst, src, kSize, &Done::record, &done).wait().has_value());
  EXPECT_EQ(done.last.method, Method::Offloaded);
  EXPECT_TRUE(all_bytes(dst, kSize, std::byte{0x7b}));
  EXPECT_GT(unit.stats().translations, 0U);
  EXPECT_EQ(unit.faults().count(), 0U);
  EXPECT_EQ(m.platform.swiotlb()->stats().mappings_bounced, 0U);
}

TEST(AsyncTx, FallsBackInlineWhenTheEngineCannotReachTheBuffers) {
  testing::EngineMachine m(32, /*bounce=*/0);  // no bounce pool, no IOMMU
  AsyncTx tx(m.start());
  std::byte* src = m.buffer(64 * kKiB, 0x7c, 40 * kGiB);
  std::byte* dst = m.buffer(64 * kKiB, 0, 40 * kGiB + kMiB);
  Done done;
  ASSERT_TRUE(tx.copy_async(dst, src, 64 * kKiB, &Done::record, &done).wait().has_value());
  EXPECT_EQ(done.last.method, Method::Inline);
  EXPECT_TRUE(all_bytes(dst, 64 * kKiB, std::byte{0x7c}));
  EXPECT_EQ(tx.stats().fallbacks, 1U);
}

TEST(AsyncTx, CopiesInlineWhenEveryChannelIsFull) {
  testing::EngineMachine m;
  EngineConfig config = with_threshold(0);
  config.queue_limit = 1;
  AsyncTx tx(m.start(config));
  Channel& ch = *m.engine->channels().front();
  testing::ChannelGate gate;
  const Cookie held = gate.close(ch);
  std::byte* src = m.buffer(4096, 0x7d);
  std::byte* dst = m.buffer(4096);
  Done done;
  (void)tx.copy_async(dst, src, 4096, &Done::record, &done);
  EXPECT_EQ(done.calls.load(), 1);
  EXPECT_EQ(done.last.method, Method::Inline);
  gate.open = true;
  EXPECT_TRUE(ch.sync_wait(held).has_value());
}

TEST(AsyncTx, MemsetAndScatterGatherCopiesOffload) {
  testing::EngineMachine m;
  AsyncTx tx(m.start());
  std::byte* a = m.buffer(3 * kPageSize, 0x21);
  std::byte* b = m.buffer(3 * kPageSize, 0);
  Result<dma::SgTable> src = dma::SgTable::from_buffer(m.machine, a + 100, 2 * kPageSize);
  Result<dma::SgTable> dst = dma::SgTable::from_buffer(m.machine, b + 7, 2 * kPageSize);
  ASSERT_TRUE(src && dst);
  Done sg;
  ASSERT_TRUE(tx.copy_sg_async(*dst, *src, &Done::record, &sg).wait().has_value());
  EXPECT_EQ(sg.last.method, Method::Offloaded);
  EXPECT_EQ(sg.last.bytes, 2 * kPageSize);
  EXPECT_TRUE(all_bytes(b, 7, std::byte{0}));
  EXPECT_TRUE(all_bytes(b + 7, 2 * kPageSize, std::byte{0x21}));
  EXPECT_TRUE(all_bytes(b + 7 + 2 * kPageSize, kPageSize - 7, std::byte{0}));
  Done set;
  ASSERT_TRUE(tx.memset_async(b, std::byte{0x99}, 5000, &Done::record, &set).wait().has_value());
  EXPECT_EQ(set.last.method, Method::Offloaded);
  EXPECT_TRUE(all_bytes(b, 5000, std::byte{0x99}));
}

TEST(AsyncTx, DestructionWaitsForWorkInFlight) {
  testing::EngineMachine m;
  DmaEngine& engine = m.start(with_threshold(0, 2));
  std::vector<std::byte*> dsts;
  std::byte* src = m.buffer(kMiB, 0x31);
  for (int i = 0; i < 32; ++i) dsts.push_back(m.buffer(kMiB));
  std::vector<Done> done(32);
  {
    AsyncTx tx(engine);
    TxHandle prev;
    for (std::size_t i = 0; i < 32; ++i) {
      TxOptions options;
      if (i % 4 == 3) options.after = {&prev, 1};
      prev = tx.copy_async(dsts[i], src, kMiB, &Done::record, &done[i], options);
    }
  }
  for (std::size_t i = 0; i < 32; ++i) {
    EXPECT_EQ(done[i].calls.load(), 1);
    EXPECT_TRUE(done[i].last.status.has_value());
    EXPECT_TRUE(all_bytes(dsts[i], kMiB, std::byte{0x31}));
  }
}

TEST(AsyncTx, TerminatedChannelAbortsOffloadedWorkAndUnmaps) {
  testing::EngineMachine m(32);
  AsyncTx tx(m.start());
  testing::ChannelGate gate;
  (void)gate.close(*m.engine->channels().front());
  std::byte* src = m.buffer(8192, 0x41, 40 * kGiB);
  std::byte* dst = m.buffer(8192, 0x42, 40 * kGiB + kMiB);
  Done done;
  const TxHandle h = tx.copy_async(dst, src, 8192, &Done::record, &done);
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    gate.open = true;
  });
  m.engine->terminate_all();
  opener.join();
  const Status s = h.wait();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::Aborted);
  EXPECT_EQ(done.calls.load(), 1);
  EXPECT_TRUE(all_bytes(dst, 8192, std::byte{0x42}));
  EXPECT_EQ(m.platform.swiotlb()->stats().used_slots, 0U);
}

TEST(AsyncTx, MeasuredThresholdIsCachedAndBounded) {
  testing::EngineMachine m;
  EngineConfig config;
  DmaEngine engine(m.device, config);  // no threshold configured: measured
  AsyncTx first(engine);
  AsyncTx second(engine);
  EXPECT_GE(first.inline_threshold(), 256U);
  EXPECT_LE(first.inline_threshold(), kMiB);
  EXPECT_EQ(first.inline_threshold(), second.inline_threshold());
}

}  // namespace
}  // namespace dmakit::engine
