// SPDX-License-Identifier: Apache-2.0
#include "dmakit/alloc/page_bitmap.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <vector>

namespace dmakit::alloc {
namespace {

TEST(PageBitmap, SetAndClearAcrossWordBoundaries) {
  PageBitmap b(200);
  b.set(60, 130);
  EXPECT_FALSE(b.test(59));
  EXPECT_TRUE(b.test(60));
  EXPECT_TRUE(b.test(129));
  EXPECT_FALSE(b.test(130));
  EXPECT_EQ(b.count(), 70u);
  b.clear(64, 128);
  EXPECT_EQ(b.count(), 6u);
}

TEST(PageBitmap, NextAndPrevFindTheNearestBit) {
  PageBitmap b(300);
  b.set(70, 71);
  b.set(250, 260);
  EXPECT_EQ(b.next_set(0, 300), 70u);
  EXPECT_EQ(b.next_set(71, 300), 250u);
  EXPECT_EQ(b.next_set(71, 200), 200u);  // none before the end
  EXPECT_EQ(b.next_clear(250, 300), 260u);
  EXPECT_EQ(b.prev_set(0, 250), 70u);
  EXPECT_EQ(b.prev_set(71, 250), PageBitmap::npos);
  EXPECT_EQ(b.prev_clear(250, 260), PageBitmap::npos);
  EXPECT_EQ(b.prev_clear(0, 260), 249u);
}

TEST(PageBitmap, FindsClearRunsUpwardsAndDownwards) {
  PageBitmap b(256);
  b.set(0, 10);
  b.set(20, 22);
  b.set(100, 256);
  EXPECT_EQ(b.find_clear_run(0, 256, 5), 10u);
  EXPECT_EQ(b.find_clear_run(0, 256, 11), 22u);
  EXPECT_EQ(b.find_clear_run(0, 256, 79), PageBitmap::npos);
  EXPECT_EQ(b.find_clear_run(0, 50, 30), PageBitmap::npos);
  EXPECT_EQ(b.find_clear_run_down(0, 256, 5), 95u);
  EXPECT_EQ(b.find_clear_run_down(0, 21, 5), 15u);
  EXPECT_EQ(b.find_clear_run_down(0, 256, 78), 22u);
  EXPECT_EQ(b.find_clear_run_down(30, 256, 78), PageBitmap::npos);
}

TEST(PageBitmap, CountsClearRunsAndTheLargest) {
  PageBitmap b(128);
  b.set(10, 20);
  b.set(50, 51);
  const PageBitmap::ClearRuns runs = b.clear_runs();
  EXPECT_EQ(runs.runs, 3u);
  EXPECT_EQ(runs.largest, 77u);
}

// The searches agree with a plain bit-by-bit model on random bitmaps.
RC_GTEST_PROP(PageBitmapProperty, SearchesMatchANaiveModel, ()) {
  const auto size = *rc::gen::inRange<std::size_t>(1, 400);
  const auto bits = *rc::gen::container<std::vector<bool>>(size, rc::gen::arbitrary<bool>());
  PageBitmap b(size);
  for (std::size_t i = 0; i < size; ++i) {
    if (bits[i]) b.set(i, i + 1);
  }
  const auto begin = *rc::gen::inRange<std::size_t>(0, size);
  const auto end = *rc::gen::inRange<std::size_t>(begin, size + 1);
  const auto n = *rc::gen::inRange<std::size_t>(1, 20);
  auto clear_at = [&](std::size_t i) {
    for (std::size_t k = i; k < i + n; ++k) {
      if (bits[k]) return false;
    }
    return true;
  };
  std::size_t up = PageBitmap::npos;
  std::size_t down = PageBitmap::npos;
  for (std::size_t i = begin; i + n <= end; ++i) {
    if (clear_at(i)) {
      if (up == PageBitmap::npos) up = i;
      down = i;
    }
  }
  RC_ASSERT(b.find_clear_run(begin, end, n) == up);
  RC_ASSERT(b.find_clear_run_down(begin, end, n) == down);
  std::size_t next = end;
  for (std::size_t i = begin; i < end; ++i) {
    if (bits[i]) {
      next = i;
      break;
    }
  }
  RC_ASSERT(b.next_set(begin, end) == next);
  std::size_t prev = PageBitmap::npos;
  for (std::size_t i = begin; i < end; ++i) {
    if (!bits[i]) prev = i;
  }
  RC_ASSERT(b.prev_clear(begin, end) == prev);
}

}  // namespace
}  // namespace dmakit::alloc
