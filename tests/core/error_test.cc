// SPDX-License-Identifier: Apache-2.0
#include "dmakit/core/error.h"

#include <gtest/gtest.h>

#include "dmakit/core/result.h"

namespace dmakit {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return fail(Errc::InvalidArgument, "{} is odd", x);
  return x / 2;
}

TEST(Result, CarriesTheValueOrAFormattedError) {
  EXPECT_EQ(half(8).value(), 4);
  const Result<int> r = half(7);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
  EXPECT_EQ(r.error().to_string(), "invalid-argument: 7 is odd");
}

TEST(Errc, NamesAreStableAndDistinct) {
  EXPECT_EQ(errc_name(Errc::NoMemory), "no-memory");
  EXPECT_EQ(errc_name(Errc::AboveMask), "above-mask");
  EXPECT_EQ(errc_name(Errc::BadAddress), "bad-address");
  EXPECT_NE(errc_name(Errc::Fault), errc_name(Errc::Busy));
  EXPECT_EQ(errc_name(Errc::Aborted), "aborted");
  EXPECT_EQ(errc_name(Errc::Timeout), "timeout");
  EXPECT_EQ(errc_name(Errc::NoDevice), "no-device");
}

}  // namespace
}  // namespace dmakit
