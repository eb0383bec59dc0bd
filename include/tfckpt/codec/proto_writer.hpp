// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/proto_writer.hpp
//
// Protobuf wire-format writing for messages we stream instead of building (a Const node whose
// tensor_content comes straight from a mapped shard; a GraphDef written node by node). The reading
// side is codec/proto_wire.hpp; whole small messages still go through the generated classes.
//
// A length-delimited field is its tag, the varint length, then the payload, so a streamed message
// needs its payload's size before the first payload byte: callers compute sizes first
// (length_delimited_size) and then write headers (put_length_delimited_header) ahead of the bytes.
//
// Example:
//   std::string out;
//   codec::put_string_field(out, 1, "weights");              // NodeDef.name
//   codec::put_length_delimited_header(out, 4, content.size());  // then stream `content` itself
#ifndef TFCKPT_CODEC_PROTO_WRITER_HPP_
#define TFCKPT_CODEC_PROTO_WRITER_HPP_

#include <cstdint>
#include <string>
#include <string_view>

#include "tfckpt/codec/proto_wire.hpp"
#include "tfckpt/codec/varint.hpp"

namespace tfckpt::codec {

constexpr std::uint64_t field_tag(std::uint32_t number, wire_type type) {
  return (std::uint64_t{number} << 3) | static_cast<std::uint64_t>(type);
}

/// Bytes taken by a length-delimited field `number` with a payload of `payload` bytes.
constexpr std::uint64_t length_delimited_size(std::uint32_t number, std::uint64_t payload) {
  return varint_length(field_tag(number, wire_type::length_delimited)) + varint_length(payload) + payload;
}

/// Bytes taken by a varint field `number` holding `value`.
constexpr std::uint64_t varint_field_size(std::uint32_t number, std::uint64_t value) {
  return varint_length(field_tag(number, wire_type::varint)) + varint_length(value);
}

inline void put_length_delimited_header(std::string& out, std::uint32_t number, std::uint64_t payload) {
  put_varint64(out, field_tag(number, wire_type::length_delimited));
  put_varint64(out, payload);
}

inline void put_string_field(std::string& out, std::uint32_t number, std::string_view bytes) {
  put_length_delimited_header(out, number, bytes.size());
  out.append(bytes);
}

inline void put_varint_field(std::string& out, std::uint32_t number, std::uint64_t value) {
  put_varint64(out, field_tag(number, wire_type::varint));
  put_varint64(out, value);
}

inline void put_fixed32_field(std::string& out, std::uint32_t number, std::uint32_t value) {
  put_varint64(out, field_tag(number, wire_type::fixed32));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xffu));  // little-endian
}

/// An int32 or enum value as protobuf encodes it: negative values sign-extend to ten bytes.
constexpr std::uint64_t int32_wire_value(std::int32_t v) {
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
}

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_PROTO_WRITER_HPP_
