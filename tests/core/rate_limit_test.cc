// SPDX-License-Identifier: Apache-2.0
#include "dmakit/core/rate_limit.h"

#include <gtest/gtest.h>

#include <thread>

namespace dmakit {
namespace {

TEST(RateLimit, AllowsABurstThenCountsWhatItSuppressed) {
  RateLimit limit(3, std::chrono::milliseconds(50));
  std::uint64_t suppressed = 99;
  EXPECT_TRUE(limit.allow(&suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(limit.allow());
  EXPECT_TRUE(limit.allow());
  EXPECT_FALSE(limit.allow());
  EXPECT_FALSE(limit.allow());
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_TRUE(limit.allow(&suppressed));  // a new window
  EXPECT_EQ(suppressed, 2u);
}

}  // namespace
}  // namespace dmakit
