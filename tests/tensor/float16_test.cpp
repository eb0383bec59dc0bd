// SPDX-License-Identifier: Apache-2.0
// tfckpt::float16 / tfckpt::bfloat16 against Eigen::half / Eigen::bfloat16 (an independent
// implementation of the same conversions): every one of the 65,536 bit patterns to float, and float
// to 16 bits for a dense sample of all floats plus every value next to a rounding boundary.
#include "tfckpt/tensor/float16.hpp"

#include <gtest/gtest.h>

#include <Eigen/Core>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace float16_test {

namespace {

using tfckpt::bfloat16;
using tfckpt::float16;

std::uint32_t float_bits(float f) { return std::bit_cast<std::uint32_t>(f); }

// Both conversions of one float agree with Eigen's; returns false (after reporting) when not.
bool same_as_eigen(float f) {
  const auto h = float16(f).bits;
  const auto eh = std::bit_cast<std::uint16_t>(Eigen::half(f));
  const auto b = bfloat16(f).bits;
  const auto eb = std::bit_cast<std::uint16_t>(Eigen::bfloat16(f));
  EXPECT_EQ(h, eh) << "float16 of " << f << " (0x" << std::hex << float_bits(f) << ")";
  EXPECT_EQ(b, eb) << "bfloat16 of " << f << " (0x" << std::hex << float_bits(f) << ")";
  return h == eh && b == eb;
}

TEST(Float16Types, EveryBitPatternWidensLikeEigen) {
  for (std::uint32_t i = 0; i <= 0xffff; ++i) {
    const auto bits = static_cast<std::uint16_t>(i);
    const float ours_h = static_cast<float>(float16::from_bits(bits));
    const float eigen_h = static_cast<float>(std::bit_cast<Eigen::half>(bits));
    ASSERT_EQ(float_bits(ours_h), float_bits(eigen_h)) << "float16 0x" << std::hex << i;
    const float ours_b = static_cast<float>(bfloat16::from_bits(bits));
    const float eigen_b = static_cast<float>(std::bit_cast<Eigen::bfloat16>(bits));
    ASSERT_EQ(float_bits(ours_b), float_bits(eigen_b)) << "bfloat16 0x" << std::hex << i;
  }
}

TEST(Float16Types, EveryBitPatternRoundTrips) {
  for (std::uint32_t i = 0; i <= 0xffff; ++i) {
    const auto bits = static_cast<std::uint16_t>(i);
    const bool h_nan = (bits & 0x7c00) == 0x7c00 && (bits & 0x3ff) != 0;
    if (!h_nan) {
      ASSERT_EQ(float16(static_cast<float>(float16::from_bits(bits))).bits, bits) << std::hex << i;
    }
    const bool b_nan = (bits & 0x7f80) == 0x7f80 && (bits & 0x7f) != 0;
    if (!b_nan) {
      ASSERT_EQ(bfloat16(static_cast<float>(bfloat16::from_bits(bits))).bits, bits) << std::hex << i;
    }
  }
}

// Every 16-bit value, the exact midpoints to its neighbours (the ties) and the floats one ulp on
// either side of them: where a wrong rounding rule shows.
TEST(Float16Types, RoundingBoundariesLikeEigen) {
  for (std::uint32_t i = 0; i <= 0xffff; ++i) {
    for (const float base : {static_cast<float>(float16::from_bits(static_cast<std::uint16_t>(i))),
                             static_cast<float>(bfloat16::from_bits(static_cast<std::uint16_t>(i)))}) {
      if (!std::isfinite(base)) continue;
      const float next = std::nextafter(base, std::numeric_limits<float>::infinity());
      for (const float x : {base, std::nextafter(base, 0.0f), next}) ASSERT_TRUE(same_as_eigen(x));
    }
  }
  for (std::uint32_t i = 0; i < 0xffff; ++i) {
    const auto lo = static_cast<std::uint16_t>(i);
    const auto hi = static_cast<std::uint16_t>(i + 1);
    // Neighbours of the same sign: the tie between them is exactly representable as a float.
    for (const auto& [a, b] : {std::pair{static_cast<double>(static_cast<float>(float16::from_bits(lo))),
                                         static_cast<double>(static_cast<float>(float16::from_bits(hi)))},
                               std::pair{static_cast<double>(static_cast<float>(bfloat16::from_bits(lo))),
                                         static_cast<double>(static_cast<float>(bfloat16::from_bits(hi)))}}) {
      if (!std::isfinite(a) || !std::isfinite(b) || (lo & 0x7fff) == 0x7fff) continue;
      const auto tie = static_cast<float>((a + b) / 2);
      ASSERT_EQ(static_cast<double>(tie), (a + b) / 2);
      for (const float x : {tie, std::nextafter(tie, 0.0f), std::nextafter(tie, std::numeric_limits<float>::infinity())})
        ASSERT_TRUE(same_as_eigen(x));
    }
  }
}

// A dense sample of all 2^32 float bit patterns (NaNs of both signs, subnormals, overflow).
TEST(Float16Types, SampledFloatsNarrowLikeEigen) {
  constexpr std::uint64_t kStep = 251;  // prime: ~17 million samples hitting every exponent and low bits
  for (std::uint64_t i = 0; i <= 0xffffffffu; i += kStep) {
    const float f = std::bit_cast<float>(static_cast<std::uint32_t>(i));
    if (!same_as_eigen(f)) FAIL() << "first difference at 0x" << std::hex << i;
  }
  for (const float f : {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, -65520.0f, 1e-8f, 2.9802322e-8f, 5.9604645e-8f,
                        std::numeric_limits<float>::max(), std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                        -std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min()})
    ASSERT_TRUE(same_as_eigen(f));
}

TEST(Float16Types, KnownValues) {
  static_assert(float16(1.0f).bits == 0x3c00);
  static_assert(float16(65504.0f).bits == 0x7bff);
  static_assert(float16(65520.0f).bits == 0x7c00);
  static_assert(float16(-2.0f).bits == 0xc000);
  static_assert(float16(5.9604645e-8f).bits == 0x0001);
  static_assert(bfloat16(1.0f).bits == 0x3f80);
  static_assert(bfloat16(0.1f).bits == 0x3dcd);
  static_assert(static_cast<float>(float16::from_bits(0x3555)) == 0.333251953125f);
  EXPECT_EQ(float16(0.0f), float16(-0.0f));
  const float16 nan(std::numeric_limits<float>::quiet_NaN());
  EXPECT_FALSE(nan == nan);
  EXPECT_EQ(nan.bits, 0x7e00);
  EXPECT_EQ(bfloat16(-std::numeric_limits<float>::quiet_NaN()).bits, 0xffc0);
}

}  // namespace

}  // namespace float16_test
