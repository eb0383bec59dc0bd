// SPDX-License-Identifier: Apache-2.0
// The streaming byte swap: units split across chunks of any size, pieces larger than its buffer,
// and a payload that ends inside a unit.
#include "tfckpt/tensor/byte_order.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "testing/status_matchers.hpp"

namespace byte_order_test {

namespace {
using ::testing::HasSubstr;
using tfckpt::dtype;
using tfckpt_testing::StatusIs;

std::string swapped_by_hand(std::string bytes, std::size_t unit) {
  for (std::size_t i = 0; i + unit <= bytes.size(); i += unit) std::reverse(bytes.begin() + i, bytes.begin() + i + unit);
  return bytes;
}

// Feeds `input` to a converter in chunks whose sizes cycle through `chunk_sizes`.
std::string convert(dtype t, const std::string& input, const std::vector<std::size_t>& chunk_sizes, absl::Status* end) {
  std::string out;
  tfckpt::byte_order_converter c(t, [&](std::span<const std::byte> piece) {
    EXPECT_LE(piece.size(), tfckpt::byte_order_converter::kPiece);
    out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    return absl::OkStatus();
  });
  std::size_t at = 0;
  for (std::size_t k = 0; at < input.size(); ++k) {
    const std::size_t n = std::min(chunk_sizes[k % chunk_sizes.size()], input.size() - at);
    EXPECT_OK(c(std::as_bytes(std::span(input.data() + at, n))));
    at += n;
  }
  *end = c.finish();
  return out;
}

TEST(ByteOrderConverter, SwapWidths) {
  EXPECT_EQ(tfckpt::swap_width(dtype::float32), 4u);
  EXPECT_EQ(tfckpt::swap_width(dtype::bfloat16), 2u);
  EXPECT_EQ(tfckpt::swap_width(dtype::int64), 8u);
  EXPECT_EQ(tfckpt::swap_width(dtype::complex64), 4u);
  EXPECT_EQ(tfckpt::swap_width(dtype::complex128), 8u);
  EXPECT_EQ(tfckpt::swap_width(dtype::boolean), 1u);
  EXPECT_EQ(tfckpt::swap_width(dtype::float8_e4m3fn), 1u);
  EXPECT_EQ(tfckpt::swap_width(dtype::string), 0u);
  EXPECT_TRUE(tfckpt::needs_byte_swap(dtype::string, tfckpt::byte_order::big, tfckpt::byte_order::little));
  EXPECT_FALSE(tfckpt::needs_byte_swap(dtype::uint8, tfckpt::byte_order::big, tfckpt::byte_order::little));
  EXPECT_FALSE(tfckpt::needs_byte_swap(dtype::float32, tfckpt::byte_order::big, tfckpt::byte_order::big));
}

TEST(ByteOrderConverter, SwapCopyEveryLengthAndWidth) {
  // Lengths around the 16-byte vector blocks, copied and in place.
  std::mt19937 rng(3);
  for (const std::size_t width : {2u, 4u, 8u}) {
    for (std::size_t n = 0; n <= 80; n += width) {
      std::string src(n, '\0');
      for (char& c : src) c = static_cast<char>(rng());
      std::string dst(n, '\0');
      tfckpt::swap_copy(std::as_bytes(std::span(src)), reinterpret_cast<std::byte*>(dst.data()), width);
      EXPECT_EQ(dst, swapped_by_hand(src, width)) << "width " << width << " length " << n;
      tfckpt::swap_in_place(std::as_writable_bytes(std::span(dst)), width);
      EXPECT_EQ(dst, src) << "width " << width << " length " << n;
    }
  }
}

TEST(ByteOrderConverter, UnitsSplitAcrossChunksOfAnySize) {
  std::mt19937 rng(11);
  std::string input(3 * 1000 * 8, '\0');
  for (char& c : input) c = static_cast<char>(rng());
  for (const dtype t : {dtype::float16, dtype::float32, dtype::float64, dtype::complex64, dtype::complex128, dtype::uint8}) {
    for (const auto& sizes : std::vector<std::vector<std::size_t>>{{1}, {3}, {5, 1, 7}, {24, 40, 8}, {4096}, {input.size()}}) {
      absl::Status end;
      const std::string out = convert(t, input, sizes, &end);
      EXPECT_OK(end);
      EXPECT_EQ(out, swapped_by_hand(input, tfckpt::swap_width(t))) << tfckpt::dtype_name(t) << " chunk " << sizes[0];
    }
  }
}

TEST(ByteOrderConverter, PayloadsLargerThanItsBuffer) {
  std::string input(tfckpt::byte_order_converter::kPiece * 2 + 24, '\0');
  std::mt19937 rng(5);
  for (char& c : input) c = static_cast<char>(rng());
  absl::Status end;
  EXPECT_EQ(convert(dtype::float64, input, {input.size()}, &end), swapped_by_hand(input, 8));
  EXPECT_OK(end);
  EXPECT_EQ(convert(dtype::int32, input, {tfckpt::byte_order_converter::kPiece - 3}, &end), swapped_by_hand(input, 4));
  EXPECT_OK(end);
}

TEST(ByteOrderConverter, PayloadEndingInsideAUnitIsReported) {
  absl::Status end;
  convert(dtype::int32, std::string(10, 'x'), {3}, &end);
  EXPECT_THAT(end, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a whole number of 4-byte units")));
}

}  // namespace

}  // namespace byte_order_test
