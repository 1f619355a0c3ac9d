// SPDX-License-Identifier: Apache-2.0
// Shards go to threads in the order they first use the object, not by their process-wide slot.
#include "dmakit/core/thread_shards.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace dmakit {
namespace {

unsigned shard_on_new_thread(ThreadShards& shards) {
  unsigned shard = ~0u;
  std::thread([&] { shard = shards.of_this_thread(); }).join();
  return shard;
}

TEST(ThreadShards, ThreadsGetShardsInTheOrderTheyFirstAsk) {
  // Threads holding low slots that never touch the object must not shift the assignment.
  std::atomic<bool> release{false};
  std::atomic<int> holding{0};
  std::vector<std::jthread> bystanders;
  for (int i = 0; i < 4; ++i)
    bystanders.emplace_back([&] {
      (void)this_thread_slot();
      ++holding;
      while (!release.load()) std::this_thread::yield();
    });
  while (holding.load() < 4) std::this_thread::yield();

  ThreadShards shards(3);
  std::atomic<unsigned> first{~0u};
  // A thread that asks first keeps its shard while it lives, however many ask after it.
  std::jthread holder([&] {
    first = shards.of_this_thread();
    while (!release.load()) std::this_thread::yield();
    EXPECT_EQ(shards.of_this_thread(), first.load());
  });
  while (first.load() == ~0u) std::this_thread::yield();
  EXPECT_EQ(first.load(), 0U);
  EXPECT_EQ(shards.of_this_thread(), 1U);
  EXPECT_EQ(shards.of_this_thread(), 1U);
  EXPECT_EQ(shard_on_new_thread(shards), shard_on_new_thread(shards))
      << "a thread reusing a slot keeps its predecessor's shard";
  release = true;
}

TEST(ThreadShards, EachObjectCountsFromZero) {
  (void)this_thread_slot();  // else the new thread's slot, given back, would become this thread's
  ThreadShards a(4);
  ThreadShards b(4);
  (void)shard_on_new_thread(a);
  EXPECT_EQ(a.of_this_thread(), 1U);
  EXPECT_EQ(b.of_this_thread(), 0U);
}

TEST(ThreadShards, WrapsAroundItsShards) {
  ThreadShards one(1);
  EXPECT_EQ(shard_on_new_thread(one), 0U);
  EXPECT_EQ(one.of_this_thread(), 0U);
  ThreadShards two(2);
  std::vector<unsigned> got;
  std::vector<std::jthread> threads;
  std::atomic<int> asked{0};
  std::atomic<bool> release{false};
  std::mutex lock;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      const unsigned s = two.of_this_thread();
      {
        std::scoped_lock guard(lock);
        got.push_back(s);
      }
      ++asked;
      while (!release.load()) std::this_thread::yield();
    });
  }
  while (asked.load() < 4) std::this_thread::yield();
  release = true;
  threads.clear();
  std::ranges::sort(got);
  EXPECT_EQ(got, (std::vector<unsigned>{0, 0, 1, 1}));
}

}  // namespace
}  // namespace dmakit
