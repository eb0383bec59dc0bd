// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/safetensors_header.hpp
//
// What the safetensors writer (sinks/safetensors.hpp) and reader (sources/safetensors.hpp) share:
// the header size cap and the dtype names. The layout of the file is spelled out in
// sinks/safetensors.hpp.
#ifndef TFCKPT_CODEC_SAFETENSORS_HEADER_HPP_
#define TFCKPT_CODEC_SAFETENSORS_HEADER_HPP_

#include <cstdint>
#include <optional>
#include <string_view>

#include "tfckpt/tensor/dtype.hpp"

namespace tfckpt::codec {

/// Readers refuse headers larger than this (safetensors' MAX_HEADER_SIZE).
inline constexpr std::uint64_t kSafetensorsMaxHeader = 100'000'000;

/// The header key that holds the file's string-to-string metadata instead of a tensor.
inline constexpr std::string_view kSafetensorsMetadataKey = "__metadata__";

/// The safetensors dtype string of `t` ("F32", "BF16", "BOOL", ...), or nullopt when it has none.
constexpr std::optional<std::string_view> safetensors_dtype(dtype t) {
  switch (t) {
    case dtype::boolean: return "BOOL";
    case dtype::uint8: return "U8";
    case dtype::int8: return "I8";
    case dtype::int16: return "I16";
    case dtype::uint16: return "U16";
    case dtype::float16: return "F16";
    case dtype::bfloat16: return "BF16";
    case dtype::int32: return "I32";
    case dtype::uint32: return "U32";
    case dtype::float32: return "F32";
    case dtype::float64: return "F64";
    case dtype::int64: return "I64";
    case dtype::uint64: return "U64";
    case dtype::float8_e5m2: return "F8_E5M2";
    case dtype::float8_e4m3fn: return "F8_E4M3";
    default: return std::nullopt;
  }
}

/// The dtype a safetensors dtype string names, or nullopt for one TensorFlow has no dtype for.
constexpr std::optional<dtype> dtype_from_safetensors(std::string_view name) {
  for (std::int32_t v = 1; v <= kMaxDtype; ++v)
    if (safetensors_dtype(static_cast<dtype>(v)) == name) return static_cast<dtype>(v);
  return std::nullopt;
}

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_SAFETENSORS_HEADER_HPP_
