// SPDX-License-Identifier: Apache-2.0
#include "dmakit/core/units.h"

#include <gtest/gtest.h>

namespace dmakit {
namespace {

TEST(ParseSize, AcceptsBinaryUnitsInEverySpelling) {
  EXPECT_EQ(parse_size("8GiB").value(), 8 * kGiB);
  EXPECT_EQ(parse_size("16 MiB").value(), 16 * kMiB);
  EXPECT_EQ(parse_size("4K").value(), 4 * kKiB);
  EXPECT_EQ(parse_size("4kb").value(), 4 * kKiB);
  EXPECT_EQ(parse_size("2T").value(), 2 * kTiB);
  EXPECT_EQ(parse_size("4096").value(), 4096u);
  EXPECT_EQ(parse_size("4096B").value(), 4096u);
  EXPECT_EQ(parse_size(" 0x100000 ").value(), kMiB);
}

TEST(ParseSize, RejectsUnknownUnitsNamingThem) {
  const auto r = parse_size("8 GB2");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
  EXPECT_NE(r.error().message.find("GB2"), std::string::npos);
}

TEST(ParseSize, RejectsMissingNumberAndOverflow) {
  EXPECT_FALSE(parse_size("GiB"));
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("-1"));
  EXPECT_FALSE(parse_size("99999999999999999999"));
  EXPECT_FALSE(parse_size("17179869184GiB"));  // 2^34 GiB = 2^64 bytes
  EXPECT_FALSE(parse_size("0x10K"));
}

TEST(FormatSize, UsesTheLargestExactUnit) {
  EXPECT_EQ(format_size(3 * kGiB), "3 GiB");
  EXPECT_EQ(format_size(640 * kKiB), "640 KiB");
  EXPECT_EQ(format_size(kGiB + kMiB), "1025 MiB");
  EXPECT_EQ(format_size(4097), "4097 B");
  EXPECT_EQ(format_size(0), "0 B");
}

TEST(FormatAddr, IsZeroPaddedHex) { EXPECT_EQ(format_addr(4 * kGiB), "0x0000000100000000"); }

}  // namespace
}  // namespace dmakit
