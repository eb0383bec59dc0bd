// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/float16.hpp
//
// The two 16-bit floating-point element types of TensorFlow checkpoints, as plain storage types:
// `float16` (IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits; DT_HALF) and `bfloat16`
// (the upper half of a float32: 1 sign, 8 exponent, 7 mantissa bits; DT_BFLOAT16). Each holds its
// 16 bits exactly as stored, so a tensor's bytes can be viewed as an array of them.
//
// Conversions: to float exactly (NaN payloads kept); from float rounded to nearest, ties to even,
// overflow to ±inf; a NaN becomes the quiet NaN 0x7e00 (float16) / 0x7fc0 (bfloat16) with its sign.
// These are the results of Eigen::half / Eigen::bfloat16 (whose layout is the same: std::bit_cast
// converts), which tensor/eigen.hpp keeps usable as element types.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto h, entry.values<tfckpt::float16>());
//   float first = static_cast<float>(h[0]);
//   tfckpt::bfloat16 b(0.1f);   // 0x3dcd
#ifndef TFCKPT_TENSOR_FLOAT16_HPP_
#define TFCKPT_TENSOR_FLOAT16_HPP_

#include <bit>
#include <cstdint>

namespace tfckpt {

namespace detail {

constexpr std::uint16_t float_to_float16_bits(float value) {
  const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((f >> 16) & 0x8000u);
  const std::uint32_t a = f & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;             // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;            // >= 65520: rounds to inf
  if (a < 0x38800000u) {                                  // below 2^-14: subnormal or zero
    if (a < 0x33000000u) return sign;                     // below half the smallest subnormal
    // The mantissa with its implicit bit, shifted so that the result's unit is 2^-24.
    const std::uint32_t mantissa = (a & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(a >> 23);    // 14..24 for exponents 2^-15..2^-25
    const std::uint32_t kept = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1);
    const std::uint32_t half_way = 1u << (shift - 1);
    const std::uint32_t rounded = kept + (rest > half_way || (rest == half_way && (kept & 1u)) ? 1u : 0u);
    return sign | static_cast<std::uint16_t>(rounded);
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even;
  // a carry out of the mantissa correctly bumps the exponent (up to inf).
  const std::uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return sign | static_cast<std::uint16_t>((rounded - (std::uint32_t{112} << 23)) >> 13);
}

constexpr float float16_bits_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return std::bit_cast<float>(sign);
  // Subnormal: normalise (m * 2^-24 with m < 2^10).
  std::uint32_t e = 113;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    --e;
  }
  return std::bit_cast<float>(sign | (e << 23) | ((mantissa & 0x3ffu) << 13));
}

constexpr std::uint16_t float_to_bfloat16_bits(float value) {
  const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
  if ((f & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>(((f >> 16) & 0x8000u) | 0x7fc0u);  // NaN
  return static_cast<std::uint16_t>((f + 0x7fffu + ((f >> 16) & 1u)) >> 16);
}

}  // namespace detail

/// IEEE 754 binary16 (TensorFlow's float16 / DT_HALF), stored as its 16 bits.
struct float16 {
  std::uint16_t bits = 0;

  constexpr float16() = default;
  /// Rounded to nearest, ties to even.
  constexpr explicit float16(float value) : bits(detail::float_to_float16_bits(value)) {}
  static constexpr float16 from_bits(std::uint16_t b) {
    float16 h;
    h.bits = b;
    return h;
  }
  /// Exact.
  constexpr explicit operator float() const { return detail::float16_bits_to_float(bits); }
  constexpr explicit operator double() const { return detail::float16_bits_to_float(bits); }

  /// Compared as numbers: NaN equals nothing, -0 equals +0.
  friend constexpr bool operator==(float16 a, float16 b) { return static_cast<float>(a) == static_cast<float>(b); }
};

/// bfloat16 (the upper 16 bits of a float32; DT_BFLOAT16), stored as its 16 bits.
struct bfloat16 {
  std::uint16_t bits = 0;

  constexpr bfloat16() = default;
  /// Rounded to nearest, ties to even.
  constexpr explicit bfloat16(float value) : bits(detail::float_to_bfloat16_bits(value)) {}
  static constexpr bfloat16 from_bits(std::uint16_t b) {
    bfloat16 h;
    h.bits = b;
    return h;
  }
  /// Exact.
  constexpr explicit operator float() const { return std::bit_cast<float>(std::uint32_t{bits} << 16); }
  constexpr explicit operator double() const { return static_cast<float>(*this); }

  /// Compared as numbers: NaN equals nothing, -0 equals +0.
  friend constexpr bool operator==(bfloat16 a, bfloat16 b) { return static_cast<float>(a) == static_cast<float>(b); }
};

static_assert(sizeof(float16) == 2 && alignof(float16) == 2);
static_assert(sizeof(bfloat16) == 2 && alignof(bfloat16) == 2);

}  // namespace tfckpt

#endif  // TFCKPT_TENSOR_FLOAT16_HPP_
