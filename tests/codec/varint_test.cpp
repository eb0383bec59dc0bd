// SPDX-License-Identifier: Apache-2.0
#include "tfckpt/codec/varint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "testing/status_matchers.hpp"

namespace varint_test {

namespace {
using ::testing::HasSubstr;
using tfckpt::codec::as_bytes;
using tfckpt_testing::StatusIs;

TEST(Varint, RoundTripsEdgeValues) {
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> values = {0, 1, 127, 128, 300, 16383, 16384, 0xffffffffu, 1ull << 35, UINT64_MAX};
  for (int i = 0; i < 1000; ++i) values.push_back(rng() >> (rng() % 64));
  for (std::uint64_t v : values) {
    std::string s;
    const std::size_t n = tfckpt::codec::put_varint64(s, v);
    EXPECT_EQ(n, s.size());
    EXPECT_EQ(n, tfckpt::codec::varint_length(v));
    std::uint64_t out = 0;
    const auto b = as_bytes(s);
    EXPECT_EQ(tfckpt::codec::get_varint64(b.data(), b.data() + b.size(), &out), b.data() + b.size());
    EXPECT_EQ(out, v);
    // Every truncation fails.
    for (std::size_t k = 0; k < b.size(); ++k)
      EXPECT_EQ(tfckpt::codec::get_varint64(b.data(), b.data() + k, &out), nullptr);
  }
}

TEST(Varint, RejectsOverlongEncodings) {
  const std::string eleven = std::string(10, '\x80') + '\x01';  // ten continuation bytes: too long
  std::uint64_t v = 0;
  auto b = as_bytes(eleven);  // a view: the string must outlive it
  EXPECT_EQ(tfckpt::codec::get_varint64(b.data(), b.data() + b.size(), &v), nullptr);
  const std::string tenth_too_big = std::string(9, '\xff') + '\x02';  // the 10th byte may carry one bit
  b = as_bytes(tenth_too_big);
  EXPECT_EQ(tfckpt::codec::get_varint64(b.data(), b.data() + b.size(), &v), nullptr);
  std::uint32_t w = 0;
  const std::string too_big32 = "\xff\xff\xff\xff\x10";  // bit 32 set
  b = as_bytes(too_big32);
  EXPECT_EQ(tfckpt::codec::get_varint32(b.data(), b.data() + b.size(), &w), nullptr);
  const std::string max32 = "\xff\xff\xff\xff\x0f";
  b = as_bytes(max32);
  EXPECT_NE(tfckpt::codec::get_varint32(b.data(), b.data() + b.size(), &w), nullptr);
  EXPECT_EQ(w, 0xffffffffu);
}

TEST(ByteReader, ErrorsNameFileOffsetAndField) {
  const std::string bytes = "\x05\x01\x02";
  tfckpt::codec::byte_reader in("t.index", as_bytes(bytes), 1000);
  ASSERT_OK_AND_ASSIGN(auto n, in.varint64("count"));
  EXPECT_EQ(n, 5u);
  EXPECT_EQ(in.offset(), 1001u);
  EXPECT_THAT(in.fixed32("magic"), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @1001: truncated magic")));
  ASSERT_OK_AND_ASSIGN(auto two, in.bytes(2, "payload"));
  EXPECT_EQ(two.size(), 2u);
  EXPECT_TRUE(in.empty());
  EXPECT_THAT(in.varint32("length"), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("@1003")));
}
}  // namespace

}  // namespace varint_test
