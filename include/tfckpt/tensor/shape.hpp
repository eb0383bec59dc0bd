// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/shape.hpp
//
// Tensor shapes as spans of dimension sizes (row-major, outermost first), with checked arithmetic:
// sizes come from files, so an element count that overflows is an error, not a wrap.
//
// Example:
//   std::optional<std::int64_t> n = tfckpt::checked_num_elements(entry.shape());
//   std::string s = tfckpt::shape_string(entry.shape());   // "[784,10]", "[]" for a scalar
#ifndef TFCKPT_TENSOR_SHAPE_HPP_
#define TFCKPT_TENSOR_SHAPE_HPP_

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "tfckpt/detail/config.hpp"

namespace tfckpt {

/// A borrowed shape: dimension sizes, outermost first. A scalar has no dimensions.
using shape_view = std::span<const std::int64_t>;

/// The number of elements, or nullopt when a dimension is negative or the product exceeds int64.
inline std::optional<std::int64_t> checked_num_elements(shape_view dims) {
  std::int64_t n = 1;
  for (std::int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return n;
}

/// `a * b` for non-negative operands, or nullopt on int64 overflow.
inline std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// "[d0,d1,...]"; "[]" for a scalar.
TFCKPT_DECL std::string shape_string(shape_view dims);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_TENSOR_SHAPE)

namespace tfckpt {

TFCKPT_DECL std::string shape_string(shape_view dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(dims[i]);
  }
  s += ']';
  return s;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_TENSOR_SHAPE

#endif  // TFCKPT_TENSOR_SHAPE_HPP_
