// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/graph/const_node.hpp
//
// A `Const` NodeDef holding a pipeline tensor, encoded lazily and streamed: its tensor bytes go
// from the tensor's byte source (a mapped shard, a concatenation, a cast) straight to the output,
// so a frozen graph never holds a second copy of the weights in memory.
//
// The encoding is the one TensorFlow's freezing produces (tensor_util.make_tensor_proto inside
// convert_variables_to_constants), byte for byte:
//
//   NodeDef      name (1), op (2) = "Const", device (4) when set, then attr (5) entries in key
//                order: "dtype" -> AttrValue{type (6)}, "value" -> AttrValue{tensor (8)}
//   TensorProto  dtype (1), tensor_shape (2) {dim (2) {size (1)}}, then the values:
//                - tensor_content (4), the raw little-endian bytes, when the tensor has more than
//                  one element and its dtype is one make_tensor_proto stores that way (every
//                  integer, floating-point and quantized type except uint16 and bool);
//                - otherwise the typed field: half_val (13: float16/bfloat16 bits), float_val (5),
//                  double_val (6), int_val (7: int32 and narrower, quantized, uint16), int64_val
//                  (10), uint32_val (16), uint64_val (17), bool_val (11), scomplex_val (9),
//                  dcomplex_val (12), float8_val (18), string_val (8: one field per element).
//                  Packed fields with no elements (an empty tensor) are left out.
//
// Sizes are known before any byte is written (a GraphDef's node field needs its length first):
// from metadata alone for tensor_content, floats, bools and complex values; by reading the values
// for the variable-length typed fields (varints of narrow integers or uint16, strings), which
// TensorFlow only uses for one-element tensors, uint16 and strings.
//
// Example:
//   graph::const_node c{.name = "dense/kernel", .value = t};   // t: a tfckpt::tensor
//   TFCKPT_ASSIGN_OR_RETURN(auto enc, graph::encode_const(c));
//   TFCKPT_RETURN_IF_ERROR(enc.stream(emit));                   // enc.size() bytes of NodeDef
#ifndef TFCKPT_GRAPH_CONST_NODE_HPP_
#define TFCKPT_GRAPH_CONST_NODE_HPP_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/codec/proto_writer.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt::graph {

/// A Const node to be: the node's name and device, and the tensor that becomes its value.
struct const_node {
  std::string name;
  std::string device{};  // NodeDef.device; empty leaves the field out
  tensor value{};        // dtype, shape and bytes; a non-OK value.status makes the node an error
};

/// A const_node's NodeDef encoding, ready to stream: size() is exact.
class encoded_const {
 public:
  /// Bytes of the NodeDef message (without a GraphDef field header).
  std::uint64_t size() const { return head_.size() + body_size_; }
  /// The tensor's payload bytes inside it (what stays in the source until streamed).
  std::uint64_t value_bytes() const { return body_size_; }

  /// Emits the NodeDef's bytes in order; the tensor's bytes come from its source as they stream.
  absl::Status stream(const byte_source::emit_fn& emit) const {
    TFCKPT_RETURN_IF_ERROR(emit(codec::as_bytes(head_)));
    return body_ ? body_(emit) : absl::OkStatus();
  }

 private:
  friend absl::StatusOr<encoded_const> encode_const(const const_node& node);
  std::string head_;  // everything before the value bytes
  std::uint64_t body_size_ = 0;
  byte_source::producer_fn body_;
};

namespace detail {

inline constexpr std::uint32_t kTensorContent = 4, kFloatVal = 5, kDoubleVal = 6, kIntVal = 7, kStringVal = 8,
                               kScomplexVal = 9, kInt64Val = 10, kBoolVal = 11, kDcomplexVal = 12, kHalfVal = 13,
                               kUint32Val = 16, kUint64Val = 17, kFloat8Val = 18;

// make_tensor_proto's _TENSOR_CONTENT_TYPES: these use tensor_content when there is more than one
// element. (uint16 and bool are not among them.)
constexpr bool uses_tensor_content(dtype t) {
  switch (t) {
    case dtype::float16: case dtype::float32: case dtype::float64: case dtype::bfloat16:
    case dtype::int8: case dtype::int16: case dtype::int32: case dtype::int64:
    case dtype::uint8: case dtype::uint32: case dtype::uint64:
    case dtype::qint8: case dtype::quint8: case dtype::qint16: case dtype::quint16: case dtype::qint32:
    case dtype::float8_e5m2: case dtype::float8_e4m3fn:
      return true;
    default:
      return false;
  }
}

// How the typed field of `t` is laid out: the field number, and for fixed-width packed fields the
// bytes per element on the wire (0: a varint per element, read from the values).
struct typed_field {
  std::uint32_t number = 0;
  std::size_t fixed_width = 0;
};
TFCKPT_DECL absl::StatusOr<typed_field> typed_field_for(dtype t);

// The varint wire value of element `p` of a varint-typed field (int_val sign-extends int32).
TFCKPT_DECL std::uint64_t typed_varint(dtype t, const std::byte* p);

// Reads a whole (small) source into memory.
TFCKPT_DECL absl::StatusOr<std::string> read_all(const byte_source& source);

// The value field(s) of a TensorProto: the header written before the bytes, how many bytes
// follow, and who produces them.
struct value_encoding {
  std::string header;
  std::uint64_t size = 0;
  byte_source::producer_fn body;
};

// bool_val carries 0 or 1 per element; stored bools are bytes whose non-zero values read as true.
TFCKPT_DECL byte_source::producer_fn normalized_bools(byte_source source);

TFCKPT_DECL absl::StatusOr<value_encoding> encode_values(const tensor& t, std::uint64_t n);

}  // namespace detail

/// Encodes `node` as TensorFlow's freezing would (see the file comment). Reads no tensor byte
/// unless the value needs a variable-length typed field (strings, uint16, one-element integers).
/// Errors: the value's own status; kInvalidArgument for a shape that does not match the byte
/// count; kUnimplemented for dtypes a Const cannot hold here (resource, variant, 4- and 2-bit
/// integers).
TFCKPT_DECL absl::StatusOr<encoded_const> encode_const(const const_node& node);

}  // namespace tfckpt::graph

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_GRAPH_CONST_NODE)

namespace tfckpt::graph::detail {

TFCKPT_DECL absl::StatusOr<typed_field> typed_field_for(dtype t) {
  switch (t) {
    case dtype::float32: return typed_field{kFloatVal, 4};
    case dtype::float64: return typed_field{kDoubleVal, 8};
    case dtype::complex64: return typed_field{kScomplexVal, 8};
    case dtype::complex128: return typed_field{kDcomplexVal, 16};
    case dtype::boolean: return typed_field{kBoolVal, 1};
    case dtype::float8_e5m2: case dtype::float8_e4m3fn: case dtype::float8_e4m3fnuz:
    case dtype::float8_e4m3b11fnuz: case dtype::float8_e5m2fnuz: case dtype::float4_e2m1fn:
      return typed_field{kFloat8Val, 1};
    case dtype::float16: case dtype::bfloat16: return typed_field{kHalfVal, 0};
    case dtype::int8: case dtype::int16: case dtype::int32: case dtype::uint8: case dtype::uint16:
    case dtype::qint8: case dtype::quint8: case dtype::qint16: case dtype::quint16: case dtype::qint32:
      return typed_field{kIntVal, 0};
    case dtype::int64: return typed_field{kInt64Val, 0};
    case dtype::uint32: return typed_field{kUint32Val, 0};
    case dtype::uint64: return typed_field{kUint64Val, 0};
    default:
      return absl::UnimplementedError(absl::StrFormat("a %s tensor cannot be a Const value", dtype_name(t)));
  }
}

TFCKPT_DECL std::uint64_t typed_varint(dtype t, const std::byte* p) {
  using tfckpt::detail::load_le;
  switch (t) {
    case dtype::int8: case dtype::qint8:
      return codec::int32_wire_value(static_cast<std::int8_t>(p[0]));
    case dtype::uint8: case dtype::quint8: return static_cast<std::uint8_t>(p[0]);
    case dtype::int16: case dtype::qint16:
      return codec::int32_wire_value(static_cast<std::int16_t>(load_le<std::uint16_t>(p)));
    case dtype::uint16: case dtype::quint16: case dtype::float16: case dtype::bfloat16:
      return load_le<std::uint16_t>(p);
    case dtype::int32: case dtype::qint32:
      return codec::int32_wire_value(static_cast<std::int32_t>(load_le<std::uint32_t>(p)));
    case dtype::uint32: return load_le<std::uint32_t>(p);
    default: return load_le<std::uint64_t>(p);  // int64, uint64
  }
}

TFCKPT_DECL absl::StatusOr<std::string> read_all(const byte_source& source) {
  std::string out;
  out.reserve(static_cast<std::size_t>(source.size()));
  TFCKPT_RETURN_IF_ERROR(source.stream([&](std::span<const std::byte> chunk) {
    out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    return absl::OkStatus();
  }));
  return out;
}

TFCKPT_DECL byte_source::producer_fn normalized_bools(byte_source source) {
  return [source = std::move(source)](const byte_source::emit_fn& emit) {
    std::vector<std::byte> out;
    return source.stream([&](std::span<const std::byte> chunk) {
      out.resize(chunk.size());
      for (std::size_t i = 0; i < chunk.size(); ++i) out[i] = chunk[i] != std::byte{0} ? std::byte{1} : std::byte{0};
      return emit(out);
    });
  };
}

TFCKPT_DECL absl::StatusOr<value_encoding> encode_values(const tensor& t, std::uint64_t n) {
  value_encoding v;
  if (t.dtype == dtype::string) {
    TFCKPT_ASSIGN_OR_RETURN(std::string payload, read_all(t.source));
    auto strings = codec::decode_string_tensor(t.origins.empty() ? "" : t.origins.front().checkpoint, t.name,
                                               0, codec::as_bytes(payload), n);
    if (!strings.ok())
      return absl::DataLossError(absl::StrFormat("tensor '%s': not a valid string tensor: %s", printable_key(t.name),
                                                 strings.status().message()));
    auto fields = std::make_shared<std::string>();
    for (std::string_view s : strings->elements) codec::put_string_field(*fields, kStringVal, s);
    v.size = fields->size();
    v.body = [fields](const byte_source::emit_fn& emit) { return emit(codec::as_bytes(*fields)); };
    return v;
  }
  if (n > 1 && uses_tensor_content(t.dtype)) {
    codec::put_length_delimited_header(v.header, kTensorContent, t.size());
    v.size = t.size();
    v.body = [source = t.source](const byte_source::emit_fn& emit) { return source.stream(emit); };
    return v;
  }
  if (n == 0) return v;  // an empty packed field is left out
  TFCKPT_ASSIGN_OR_RETURN(const typed_field field, typed_field_for(t.dtype));
  if (field.fixed_width != 0) {
    // The wire holds the stored little-endian bytes (bools normalised to 0/1): streamed as they are.
    codec::put_length_delimited_header(v.header, field.number, t.size());
    v.size = t.size();
    v.body = t.dtype == dtype::boolean
                 ? normalized_bools(t.source)
                 : byte_source::producer_fn([source = t.source](const byte_source::emit_fn& emit) { return source.stream(emit); });
    return v;
  }
  // A varint per element: the encoded length depends on the values, so they are read now.
  TFCKPT_ASSIGN_OR_RETURN(const std::string raw, read_all(t.source));
  const std::size_t width = element_size(t.dtype);
  auto packed = std::make_shared<std::string>();
  for (std::size_t at = 0; at + width <= raw.size(); at += width)
    codec::put_varint64(*packed, typed_varint(t.dtype, reinterpret_cast<const std::byte*>(raw.data()) + at));
  codec::put_length_delimited_header(v.header, field.number, packed->size());
  v.size = packed->size();
  v.body = [packed](const byte_source::emit_fn& emit) { return emit(codec::as_bytes(*packed)); };
  return v;
}
}  // namespace tfckpt::graph::detail

namespace tfckpt::graph {

TFCKPT_DECL absl::StatusOr<encoded_const> encode_const(const const_node& node) {
  const tensor& t = node.value;
  if (!t.status.ok()) return t.status;
  const auto n = checked_num_elements(t.shape);
  if (!n) return absl::InvalidArgumentError(absl::StrFormat("Const '%s': bad shape %s", printable_key(node.name), shape_string(t.shape)));
  if (t.dtype != dtype::string) {
    if (!is_fixed_size(t.dtype) || t.dtype == dtype::int4 || t.dtype == dtype::uint4 || t.dtype == dtype::int2 ||
        t.dtype == dtype::uint2)
      return absl::UnimplementedError(absl::StrFormat("Const '%s': a %s tensor cannot be a Const value here",
                                                      printable_key(node.name), dtype_name(t.dtype)));
    if (static_cast<std::uint64_t>(*n) * element_size(t.dtype) != t.size())
      return absl::InvalidArgumentError(absl::StrFormat("Const '%s': %s %s does not match its %d bytes",
                                                        printable_key(node.name), dtype_name(t.dtype),
                                                        shape_string(t.shape), t.size()));
  }
  auto values = detail::encode_values(t, static_cast<std::uint64_t>(*n));
  if (!values.ok()) return values.status();

  // TensorProto: dtype, tensor_shape, then the values.
  std::string shape;
  for (std::int64_t d : t.shape) {
    std::string dim;
    if (d != 0) codec::put_varint_field(dim, 1, static_cast<std::uint64_t>(d));
    codec::put_string_field(shape, 2, dim);
  }
  std::string tensor_head;
  codec::put_varint_field(tensor_head, 1, static_cast<std::uint64_t>(t.dtype));
  codec::put_string_field(tensor_head, 2, shape);
  tensor_head += values->header;
  const std::uint64_t tensor_size = tensor_head.size() + values->size;
  const std::uint64_t attr_value_size = codec::length_delimited_size(8, tensor_size);
  const std::uint64_t value_entry_size =
      codec::length_delimited_size(1, 5) + codec::length_delimited_size(2, attr_value_size);

  encoded_const out;
  std::string& h = out.head_;
  codec::put_string_field(h, 1, node.name);
  codec::put_string_field(h, 2, "Const");
  if (!node.device.empty()) codec::put_string_field(h, 4, node.device);
  std::string dtype_attr;
  codec::put_varint_field(dtype_attr, 6, static_cast<std::uint64_t>(t.dtype));
  std::string dtype_entry;
  codec::put_string_field(dtype_entry, 1, "dtype");
  codec::put_string_field(dtype_entry, 2, dtype_attr);
  codec::put_string_field(h, 5, dtype_entry);
  codec::put_length_delimited_header(h, 5, value_entry_size);
  codec::put_string_field(h, 1, "value");
  codec::put_length_delimited_header(h, 2, attr_value_size);
  codec::put_length_delimited_header(h, 8, tensor_size);
  h += tensor_head;
  out.body_size_ = values->size;
  out.body_ = std::move(values->body);
  return out;
}

}  // namespace tfckpt::graph
#endif  // TFCKPT_COMPILE_GRAPH_CONST_NODE

#endif  // TFCKPT_GRAPH_CONST_NODE_HPP_
