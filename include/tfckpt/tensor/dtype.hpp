// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/dtype.hpp
//
// TensorFlow's DataType enum (tensorflow/core/framework/types.proto; spec/FORMAT.md §6.1): the
// numbers as stored in files, TensorFlow's user-facing names (`float32`, `bfloat16`, ...), the
// bytes each element takes in a bundle, and the C++ element type of each numeric dtype.
//
// Example:
//   tfckpt::dtype t = entry.dtype();
//   std::printf("%s, %zu bytes per element\n", dtype_name(t).data(), element_size(t));
//   static_assert(tfckpt::dtype_of<float> == tfckpt::dtype::float32);
#ifndef TFCKPT_TENSOR_DTYPE_HPP_
#define TFCKPT_TENSOR_DTYPE_HPP_

#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "tfckpt/tensor/float16.hpp"

namespace tfckpt {

/// TensorFlow DataType, with TensorFlow's numbers. Reference types (value + 100) never occur in
/// checkpoints and are not listed.
enum class dtype : std::int32_t {
  invalid = 0,
  float32 = 1,
  float64 = 2,
  int32 = 3,
  uint8 = 4,
  int16 = 5,
  int8 = 6,
  string = 7,
  complex64 = 8,
  int64 = 9,
  boolean = 10,
  qint8 = 11,
  quint8 = 12,
  qint32 = 13,
  bfloat16 = 14,
  qint16 = 15,
  quint16 = 16,
  uint16 = 17,
  complex128 = 18,
  float16 = 19,
  resource = 20,
  variant = 21,
  uint32 = 22,
  uint64 = 23,
  float8_e5m2 = 24,
  float8_e4m3fn = 25,
  float8_e4m3fnuz = 26,
  float8_e4m3b11fnuz = 27,
  float8_e5m2fnuz = 28,
  int4 = 29,
  uint4 = 30,
  int2 = 31,
  uint2 = 32,
  float4_e2m1fn = 33,
};

/// The largest DataType number this library knows.
inline constexpr std::int32_t kMaxDtype = 33;

namespace detail {
struct dtype_info {
  std::string_view name;      // TensorFlow's user-facing name (tf.dtypes.DType.name)
  std::string_view enum_name; // the types.proto enumerator
  std::size_t size;           // bytes per element in a bundle; 0 = variable-length or not stored
};
// Indexed by DataType number. Sizes from spec/FORMAT.md §6.1; the 4-bit and 2-bit integer types and
// float4 take one byte per element in TensorFlow's memory and in bundles.
inline constexpr dtype_info kDtypeInfo[kMaxDtype + 1] = {
    {"invalid", "DT_INVALID", 0},
    {"float32", "DT_FLOAT", 4},
    {"float64", "DT_DOUBLE", 8},
    {"int32", "DT_INT32", 4},
    {"uint8", "DT_UINT8", 1},
    {"int16", "DT_INT16", 2},
    {"int8", "DT_INT8", 1},
    {"string", "DT_STRING", 0},
    {"complex64", "DT_COMPLEX64", 8},
    {"int64", "DT_INT64", 8},
    {"bool", "DT_BOOL", 1},
    {"qint8", "DT_QINT8", 1},
    {"quint8", "DT_QUINT8", 1},
    {"qint32", "DT_QINT32", 4},
    {"bfloat16", "DT_BFLOAT16", 2},
    {"qint16", "DT_QINT16", 2},
    {"quint16", "DT_QUINT16", 2},
    {"uint16", "DT_UINT16", 2},
    {"complex128", "DT_COMPLEX128", 16},
    {"float16", "DT_HALF", 2},
    {"resource", "DT_RESOURCE", 0},
    {"variant", "DT_VARIANT", 0},
    {"uint32", "DT_UINT32", 4},
    {"uint64", "DT_UINT64", 8},
    {"float8_e5m2", "DT_FLOAT8_E5M2", 1},
    {"float8_e4m3fn", "DT_FLOAT8_E4M3FN", 1},
    {"float8_e4m3fnuz", "DT_FLOAT8_E4M3FNUZ", 1},
    {"float8_e4m3b11fnuz", "DT_FLOAT8_E4M3B11FNUZ", 1},
    {"float8_e5m2fnuz", "DT_FLOAT8_E5M2FNUZ", 1},
    {"int4", "DT_INT4", 1},
    {"uint4", "DT_UINT4", 1},
    {"int2", "DT_INT2", 1},
    {"uint2", "DT_UINT2", 1},
    {"float4_e2m1fn", "DT_FLOAT4_E2M1FN", 1},
};
}  // namespace detail

/// True for the DataType numbers 1..33 (a value that can describe a stored tensor or a graph type).
constexpr bool is_known_dtype(std::int32_t value) { return value >= 1 && value <= kMaxDtype; }

/// TensorFlow's name: "float32", "float16", "bfloat16", "bool", "string", ... ("invalid" for 0
/// and "unknown" for numbers this library does not know).
constexpr std::string_view dtype_name(dtype t) {
  const auto v = static_cast<std::int32_t>(t);
  return v >= 0 && v <= kMaxDtype ? detail::kDtypeInfo[v].name : std::string_view("unknown");
}

/// The types.proto enumerator, e.g. "DT_FLOAT".
constexpr std::string_view dtype_enum_name(dtype t) {
  const auto v = static_cast<std::int32_t>(t);
  return v >= 0 && v <= kMaxDtype ? detail::kDtypeInfo[v].enum_name : std::string_view("DT_UNKNOWN");
}

/// Bytes per element in a bundle's data file; 0 for string, variant, resource and invalid.
constexpr std::size_t element_size(dtype t) {
  const auto v = static_cast<std::int32_t>(t);
  return v >= 0 && v <= kMaxDtype ? detail::kDtypeInfo[v].size : 0;
}

/// True when every element has the same byte size (all dtypes but string, variant, resource).
constexpr bool is_fixed_size(dtype t) { return element_size(t) != 0; }

/// Parses a name as dtype_name prints it, or a types.proto enumerator ("DT_FLOAT"), or the
/// aliases TensorFlow also accepts ("float", "double", "half").
constexpr std::optional<dtype> dtype_from_name(std::string_view name) {
  for (std::int32_t v = 1; v <= kMaxDtype; ++v) {
    if (name == detail::kDtypeInfo[v].name || name == detail::kDtypeInfo[v].enum_name)
      return static_cast<dtype>(v);
  }
  if (name == "float") return dtype::float32;
  if (name == "double") return dtype::float64;
  if (name == "half") return dtype::float16;
  return std::nullopt;
}

namespace detail {
template <class T>
struct dtype_of_impl;  // undefined: T has no TensorFlow dtype
template <dtype D>
struct dtype_impl {
  static constexpr dtype value = D;
};
template <> struct dtype_of_impl<float> : dtype_impl<dtype::float32> {};
template <> struct dtype_of_impl<double> : dtype_impl<dtype::float64> {};
template <> struct dtype_of_impl<std::int32_t> : dtype_impl<dtype::int32> {};
template <> struct dtype_of_impl<std::uint8_t> : dtype_impl<dtype::uint8> {};
template <> struct dtype_of_impl<std::int16_t> : dtype_impl<dtype::int16> {};
template <> struct dtype_of_impl<std::int8_t> : dtype_impl<dtype::int8> {};
template <> struct dtype_of_impl<std::complex<float>> : dtype_impl<dtype::complex64> {};
template <> struct dtype_of_impl<std::int64_t> : dtype_impl<dtype::int64> {};
template <> struct dtype_of_impl<bool> : dtype_impl<dtype::boolean> {};
template <> struct dtype_of_impl<bfloat16> : dtype_impl<dtype::bfloat16> {};
template <> struct dtype_of_impl<std::uint16_t> : dtype_impl<dtype::uint16> {};
template <> struct dtype_of_impl<std::complex<double>> : dtype_impl<dtype::complex128> {};
template <> struct dtype_of_impl<float16> : dtype_impl<dtype::float16> {};
template <> struct dtype_of_impl<std::uint32_t> : dtype_impl<dtype::uint32> {};
template <> struct dtype_of_impl<std::uint64_t> : dtype_impl<dtype::uint64> {};
}  // namespace detail

/// The dtype of a C++ element type: float, double, the fixed-width integers, bool,
/// std::complex<float/double>, tfckpt::float16 and tfckpt::bfloat16 (tensor/eigen.hpp adds Eigen::half
/// and Eigen::bfloat16).
template <class T>
inline constexpr dtype dtype_of = detail::dtype_of_impl<std::remove_cv_t<T>>::value;

/// True when T is the C++ element type that `t` stores. Quantized types read as their storage
/// integer (qint8 as int8, quint8 as uint8, qint16 as int16, quint16 as uint16, qint32 as int32),
/// and the one-byte float8/int4 families as uint8, since C++ has no type of their own.
template <class T>
constexpr bool element_type_matches(dtype t) {
  using U = std::remove_cv_t<T>;
  if constexpr (requires { detail::dtype_of_impl<U>::value; }) {
    if (t == dtype_of<U>) return true;
  }
  switch (t) {
    case dtype::qint8: return std::is_same_v<U, std::int8_t>;
    case dtype::quint8: return std::is_same_v<U, std::uint8_t>;
    case dtype::qint16: return std::is_same_v<U, std::int16_t>;
    case dtype::quint16: return std::is_same_v<U, std::uint16_t>;
    case dtype::qint32: return std::is_same_v<U, std::int32_t>;
    case dtype::float8_e5m2:
    case dtype::float8_e4m3fn:
    case dtype::float8_e4m3fnuz:
    case dtype::float8_e4m3b11fnuz:
    case dtype::float8_e5m2fnuz:
    case dtype::int4:
    case dtype::uint4:
    case dtype::int2:
    case dtype::uint2:
    case dtype::float4_e2m1fn: return std::is_same_v<U, std::uint8_t>;
    default: return false;
  }
}

/// Calls f(std::type_identity<T>{}) with T the C++ element type that stores `t` (quantized dtypes as
/// their storage integers) and returns true; returns false, calling nothing, for dtypes without one
/// (string, variant, resource, the float8/int4/int2/float4 families).
///
/// Example:
///   visit_element_type(entry.dtype(), [&]<class T>(std::type_identity<T>) { sum<T>(entry); });
template <class F>
constexpr bool visit_element_type(dtype t, F&& f) {
  switch (t) {
    case dtype::float32: f(std::type_identity<float>{}); return true;
    case dtype::float64: f(std::type_identity<double>{}); return true;
    case dtype::float16: f(std::type_identity<float16>{}); return true;
    case dtype::bfloat16: f(std::type_identity<bfloat16>{}); return true;
    case dtype::int8:
    case dtype::qint8: f(std::type_identity<std::int8_t>{}); return true;
    case dtype::int16:
    case dtype::qint16: f(std::type_identity<std::int16_t>{}); return true;
    case dtype::int32:
    case dtype::qint32: f(std::type_identity<std::int32_t>{}); return true;
    case dtype::int64: f(std::type_identity<std::int64_t>{}); return true;
    case dtype::uint8:
    case dtype::quint8: f(std::type_identity<std::uint8_t>{}); return true;
    case dtype::uint16:
    case dtype::quint16: f(std::type_identity<std::uint16_t>{}); return true;
    case dtype::uint32: f(std::type_identity<std::uint32_t>{}); return true;
    case dtype::uint64: f(std::type_identity<std::uint64_t>{}); return true;
    case dtype::boolean: f(std::type_identity<bool>{}); return true;
    case dtype::complex64: f(std::type_identity<std::complex<float>>{}); return true;
    case dtype::complex128: f(std::type_identity<std::complex<double>>{}); return true;
    default: return false;
  }
}

}  // namespace tfckpt

#endif  // TFCKPT_TENSOR_DTYPE_HPP_
