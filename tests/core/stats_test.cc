// SPDX-License-Identifier: Apache-2.0
#include "dmakit/core/stats.h"

#include <gtest/gtest.h>

#include <barrier>
#include <thread>
#include <vector>

namespace dmakit {
namespace {

TEST(ThreadSlot, LiveThreadsHoldDistinctSlotsAndExitedOnesAreReused) {
  const unsigned mine = this_thread_slot();
  EXPECT_EQ(this_thread_slot(), mine);
  unsigned first = 0;
  std::thread([&] { first = this_thread_slot(); }).join();
  EXPECT_NE(first, mine);
  unsigned second = 0;
  std::thread([&] { second = this_thread_slot(); }).join();
  EXPECT_EQ(second, first);  // the first thread's slot came back when it exited
}

TEST(Counter, SumsAddsFromEveryThread) {
  Counter counter;
  std::thread a([&] {
    for (int i = 0; i < 1000; ++i) counter.add();
  });
  std::thread b([&] {
    for (int i = 0; i < 1000; ++i) counter.add(2);
  });
  a.join();
  b.join();
  EXPECT_EQ(counter.value(), 3000u);
}

TEST(Counter, StaysExactWithMoreLiveThreadsThanShards) {
  // Twenty threads alive at once: the ones beyond the shards share the overflow shard.
  constexpr int kThreads = 20;
  Counter counter;
  std::barrier all_alive(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      all_alive.arrive_and_wait();
      for (int i = 0; i < 500; ++i) counter.add();
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter.value(), 20u * 500u);
}

}  // namespace
}  // namespace dmakit
