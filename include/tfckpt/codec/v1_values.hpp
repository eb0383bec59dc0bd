// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/v1_values.hpp
//
// The values of one slice of a V1 checkpoint (spec/FORMAT.md §4): a TensorProto with only its typed
// field set (decoded by codec/v1_record.hpp), turned into the bytes a V2 bundle would store for the same elements (little-endian;
// strings in the bundle's string layout, see string_tensor.hpp).
//
//   float_val float | double_val double | int_val int32, uint8, int8, int16, uint16, qint8, quint8,
//   qint16, quint16, qint32 | int64_val int64 | uint32_val / uint64_val | bool_val bool |
//   scomplex_val / dcomplex_val complex (interleaved real, imag) | half_val float16, bfloat16 (bits)
//   | string_val string | tensor_content any fixed-size dtype (accepted too)
//
// A slice must hold exactly its element count of values: V1 writers store every element.
#ifndef TFCKPT_CODEC_V1_VALUES_HPP_
#define TFCKPT_CODEC_V1_VALUES_HPP_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/codec/v1_record.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/dtype.hpp"

namespace tfckpt::codec {

namespace detail {
template <class Out, class Field>
void append_le(std::string& out, const Field& values) {
  const std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(values.size()) * sizeof(Out));
  std::size_t i = 0;
  for (const auto& v : values) tfckpt::detail::store_le(reinterpret_cast<std::byte*>(out.data() + at + sizeof(Out) * i++), static_cast<Out>(v));
}
}  // namespace detail

/// Appends the `count` elements of `t` (a V1 slice's values, of dtype `type`) to `out` as stored
/// bundle bytes. Errors (kDataLoss, naming `file`, `offset` and `key`): a value count other than
/// `count`, a dtype V1 cannot hold.
TFCKPT_DECL absl::Status append_v1_values(const v1_values& t, dtype type, std::uint64_t count,
                                          std::string_view file, std::uint64_t offset, std::string_view key, std::string& out);

}  // namespace tfckpt::codec

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CODEC_V1_VALUES)

namespace tfckpt::codec {

TFCKPT_DECL absl::Status append_v1_values(const v1_values& t, dtype type, std::uint64_t count,
                                          std::string_view file, std::uint64_t offset, std::string_view key, std::string& out) {
  const auto check = [&](std::uint64_t have, std::uint64_t per_element = 1) -> absl::Status {
    if (have == count * per_element) return absl::OkStatus();
    return with_key(data_loss(file, offset, "the slice holds %d values for %d elements of %s", have / per_element, count,
                              dtype_name(type)),
                    key);
  };
  if (!t.tensor_content.empty() && is_fixed_size(type)) {
    TFCKPT_RETURN_IF_ERROR(check(t.tensor_content.size(), element_size(type)));
    out += t.tensor_content;
    return absl::OkStatus();
  }
  switch (type) {
    case dtype::float32:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.float_val.size())));
      detail::append_le<float>(out, t.float_val);
      return absl::OkStatus();
    case dtype::float64:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.double_val.size())));
      detail::append_le<double>(out, t.double_val);
      return absl::OkStatus();
    case dtype::int32: case dtype::qint32:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.int_val.size())));
      detail::append_le<std::int32_t>(out, t.int_val);
      return absl::OkStatus();
    case dtype::int16: case dtype::qint16:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.int_val.size())));
      detail::append_le<std::int16_t>(out, t.int_val);
      return absl::OkStatus();
    case dtype::uint16: case dtype::quint16:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.int_val.size())));
      detail::append_le<std::uint16_t>(out, t.int_val);
      return absl::OkStatus();
    case dtype::int8: case dtype::qint8:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.int_val.size())));
      detail::append_le<std::int8_t>(out, t.int_val);
      return absl::OkStatus();
    case dtype::uint8: case dtype::quint8:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.int_val.size())));
      detail::append_le<std::uint8_t>(out, t.int_val);
      return absl::OkStatus();
    case dtype::int64:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.int64_val.size())));
      detail::append_le<std::int64_t>(out, t.int64_val);
      return absl::OkStatus();
    case dtype::uint32:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.uint32_val.size())));
      detail::append_le<std::uint32_t>(out, t.uint32_val);
      return absl::OkStatus();
    case dtype::uint64:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.uint64_val.size())));
      detail::append_le<std::uint64_t>(out, t.uint64_val);
      return absl::OkStatus();
    case dtype::boolean:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.bool_val.size())));
      for (bool b : t.bool_val) out.push_back(b ? '\1' : '\0');
      return absl::OkStatus();
    case dtype::float16: case dtype::bfloat16:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.half_val.size())));
      detail::append_le<std::uint16_t>(out, t.half_val);
      return absl::OkStatus();
    case dtype::complex64:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.scomplex_val.size()), 2));
      detail::append_le<float>(out, t.scomplex_val);
      return absl::OkStatus();
    case dtype::complex128:
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.dcomplex_val.size()), 2));
      detail::append_le<double>(out, t.dcomplex_val);
      return absl::OkStatus();
    case dtype::string: {
      TFCKPT_RETURN_IF_ERROR(check(static_cast<std::uint64_t>(t.string_val.size())));
      std::vector<std::string_view> elements(t.string_val.begin(), t.string_val.end());
      out += encode_string_tensor(elements);
      return absl::OkStatus();
    }
    default:
      return with_key(data_loss(file, offset, "a V1 slice of dtype %s cannot be read", dtype_name(type)), key);
  }
}

}  // namespace tfckpt::codec
#endif  // TFCKPT_COMPILE_CODEC_V1_VALUES

#endif  // TFCKPT_CODEC_V1_VALUES_HPP_
