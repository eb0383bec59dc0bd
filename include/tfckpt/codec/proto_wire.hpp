// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/proto_wire.hpp
//
// A minimal protobuf wire-format field reader for the small messages on hot paths (one
// BundleEntryProto per tensor, decoded at open without heap allocation). Larger messages (graphs,
// state files) go through the generated classes in tfckpt/proto instead.
//
// Wire format: each field is a varint tag (field_number << 3 | wire_type) followed by
//   0 varint | 1 fixed64 | 2 varint length + bytes | 5 fixed32   (3/4, groups, are rejected)
//
// Example:
//   codec::proto_reader in(file, value_bytes, value_offset, "bundle entry");
//   while (!in.done()) {
//     TFCKPT_ASSIGN_OR_RETURN(auto field, in.next());
//     if (field.number == 1) dtype = field.as_int32();
//   }
#ifndef TFCKPT_CODEC_PROTO_WIRE_HPP_
#define TFCKPT_CODEC_PROTO_WIRE_HPP_

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "tfckpt/codec/varint.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt::codec {

enum class wire_type : std::uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

/// One decoded field. For varint/fixed fields `value` holds the number; for length-delimited fields
/// `bytes` views the payload.
struct proto_field {
  std::uint32_t number = 0;
  wire_type type = wire_type::varint;
  std::uint64_t value = 0;
  std::span<const std::byte> bytes;
  std::uint64_t offset = 0;  // absolute file offset of the tag

  std::int64_t as_int64() const { return static_cast<std::int64_t>(value); }
  // int32 fields are sign-extended to 64 bits on the wire; truncation restores them.
  std::int32_t as_int32() const { return static_cast<std::int32_t>(static_cast<std::uint32_t>(value)); }
  /// True when an int32 field's wire value really fits 32 bits (as sign-extended int64).
  bool fits_int32() const {
    const auto v = as_int64();
    return v >= INT32_MIN && v <= INT32_MAX;
  }
};

/// Iterates the fields of one message in `bytes` (which start at absolute `offset` of `file`).
/// `what` names the message in errors.
class proto_reader {
 public:
  proto_reader(std::string_view file, std::span<const std::byte> bytes, std::uint64_t offset,
               std::string_view what)
      : in_(file, bytes, offset), what_(what) {}

  bool done() const { return in_.empty(); }

  absl::StatusOr<proto_field> next() {
    proto_field f;
    f.offset = in_.offset();
    std::uint64_t tag = 0;
    {
      TFCKPT_ASSIGN_OR_RETURN(tag, in_.varint64(what_));
    }
    f.number = static_cast<std::uint32_t>(tag >> 3);
    const auto type = static_cast<std::uint8_t>(tag & 7);
    if (f.number == 0 || tag >> 3 > 0x1fffffff)
      return data_loss(in_.file(), f.offset, "bad field tag %d in %s", tag, what_);
    switch (type) {
      case 0: {
        f.type = wire_type::varint;
        TFCKPT_ASSIGN_OR_RETURN(f.value, in_.varint64(what_));
        break;
      }
      case 1: {
        f.type = wire_type::fixed64;
        TFCKPT_ASSIGN_OR_RETURN(f.value, in_.fixed64(what_));
        break;
      }
      case 2: {
        f.type = wire_type::length_delimited;
        TFCKPT_ASSIGN_OR_RETURN(const std::uint64_t n, in_.varint64(what_));
        TFCKPT_ASSIGN_OR_RETURN(f.bytes, in_.bytes(n, what_));
        break;
      }
      case 5: {
        f.type = wire_type::fixed32;
        TFCKPT_ASSIGN_OR_RETURN(f.value, in_.fixed32(what_));
        break;
      }
      default:
        return data_loss(in_.file(), f.offset, "unsupported wire type %d for field %d in %s", type, f.number,
                         what_);
    }
    return f;
  }

  /// A kDataLoss status for a field of the wrong wire type.
  absl::Status wrong_type(const proto_field& f) const {
    return data_loss(in_.file(), f.offset, "field %d of %s has wire type %d", f.number, what_,
                     static_cast<int>(f.type));
  }
  std::string_view file() const { return in_.file(); }
  /// Absolute file offset of a length-delimited field's payload.
  std::uint64_t payload_offset(const proto_field& f, std::span<const std::byte> message,
                               std::uint64_t message_offset) const {
    return message_offset + static_cast<std::uint64_t>(f.bytes.data() - message.data());
  }

 private:
  byte_reader in_;
  std::string_view what_;
};

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_PROTO_WIRE_HPP_
