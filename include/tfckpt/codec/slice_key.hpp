// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/slice_key.hpp
//
// Keys of stored tensor slices (partitioned variables in V2 bundles, every tensor of a V1
// checkpoint): TensorFlow's EncodeTensorNameSlice, built from OrderedCode (spec/FORMAT.md §3.7).
//
//   key = NumInc(0) ++ Str(name) ++ NumInc(rank) ++ for each dim: SNumInc(start) ++ SNumInc(length)
//   NumInc(v)   one byte n = count of significant bytes of v (0..8), then those n bytes big-endian
//   Str(s)      0x00 -> 00 ff, 0xff -> ff 00, other bytes as they are, then the terminator 00 01
//   SNumInc(v)  order-preserving signed varint: one byte (0x80 ^ v) for -64 <= v < 64; otherwise
//               L = ceil((bitlen(v < 0 ? ~v : v) + 1) / 7) bytes of v big-endian, sign-extended,
//               with a length header XORed into the first two bytes
// A full dimension is encoded as start 0, length -1. Every slice key starts with 0x00, so slice
// entries sort before all ordinary names.
//
// Example:
//   std::string key = codec::encode_tensor_slice_key("w", {{0, 5}, {0, 4}});
//   // 00 77 00 01 01 02 80 85 80 84
#ifndef TFCKPT_CODEC_SLICE_KEY_HPP_
#define TFCKPT_CODEC_SLICE_KEY_HPP_

#include <bit>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/codec/bundle_entry.hpp"
#include "tfckpt/detail/config.hpp"

namespace tfckpt::codec {

/// OrderedCode's increasing unsigned number.
inline void put_ordered_num(std::string& out, std::uint64_t v) {
  const int n = v == 0 ? 0 : (64 - std::countl_zero(v) + 7) / 8;
  out.push_back(static_cast<char>(n));
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// OrderedCode's increasing string: escapes 0x00 and 0xff, then terminates with 00 01.
TFCKPT_DECL void put_ordered_string(std::string& out, std::string_view s);

/// OrderedCode's increasing signed number.
TFCKPT_DECL void put_ordered_signed_num(std::string& out, std::int64_t v);

/// The table key under which the slice `extents` of tensor `name` is stored.
TFCKPT_DECL std::string encode_tensor_slice_key(std::string_view name, std::span<const slice_extent> extents);

/// A SaveV2 `shape_and_slices` element (and SaveSliceInfoDef spec): the full shape, then the slice,
/// e.g. "10 4 0,5:-" = of a [10,4] tensor, rows 0..4 and every column.
struct shape_and_slice {
  std::vector<std::int64_t> full_shape;
  std::vector<slice_extent> extents;
};

/// Parses "d0 d1 ... dn-1 s0:s1:...:sn-1" where each si is "start,length" or "-" (the whole dim).
/// Errors: kInvalidArgument naming the spec.
TFCKPT_DECL absl::StatusOr<shape_and_slice> parse_shape_and_slice(std::string_view spec);

}  // namespace tfckpt::codec

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CODEC_SLICE_KEY)

namespace tfckpt::codec {

TFCKPT_DECL void put_ordered_string(std::string& out, std::string_view s) {
  for (char c : s) {
    out.push_back(c);
    if (c == '\0') out.push_back('\xff');
    else if (c == '\xff') out.push_back('\0');
  }
  out.push_back('\0');
  out.push_back('\x01');
}

TFCKPT_DECL void put_ordered_signed_num(std::string& out, std::int64_t v) {
  const std::uint64_t x = v < 0 ? ~static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  if (x < 64) {
    out.push_back(static_cast<char>(0x80 ^ (static_cast<std::uint64_t>(v) & 0xff)));
    return;
  }
  const int bitlen = 64 - std::countl_zero(x);
  const int len = (bitlen + 1 + 6) / 7;  // 2..10
  // Header bits per length (OrderedCode kLengthToHeaderBits): first byte, second byte.
  static constexpr std::uint8_t kHeader1[11] = {0, 0, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe, 0xff, 0xff, 0xff};
  static constexpr std::uint8_t kHeader2[11] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xc0};
  std::uint8_t buf[10];
  const std::uint8_t fill = v < 0 ? 0xff : 0x00;
  for (int i = 0; i < 10; ++i) {
    const int shift = 8 * (9 - i);
    buf[i] = shift >= 64 ? fill : static_cast<std::uint8_t>((static_cast<std::uint64_t>(v) >> shift) & 0xff);
  }
  std::uint8_t* p = buf + 10 - len;
  p[0] ^= kHeader1[len];
  p[1] ^= kHeader2[len];
  out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len));
}

TFCKPT_DECL std::string encode_tensor_slice_key(std::string_view name, std::span<const slice_extent> extents) {
  std::string out;
  out.reserve(name.size() + 4 + 4 * extents.size());
  put_ordered_num(out, 0);
  put_ordered_string(out, name);
  put_ordered_num(out, extents.size());
  for (const slice_extent& e : extents) {
    put_ordered_signed_num(out, e.full() ? 0 : e.start);
    put_ordered_signed_num(out, e.length);
  }
  return out;
}

TFCKPT_DECL absl::StatusOr<shape_and_slice> parse_shape_and_slice(std::string_view spec) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrFormat("bad shape-and-slice spec '%s': %s", spec, why));
  };
  const auto split = [](std::string_view s, char sep, bool skip_empty) {
    std::vector<std::string_view> out;
    for (std::size_t at = 0;;) {
      const std::size_t end = s.find(sep, at);
      const std::string_view piece = s.substr(at, end == std::string_view::npos ? end : end - at);
      if (!piece.empty() || !skip_empty) out.push_back(piece);
      if (end == std::string_view::npos) return out;
      at = end + 1;
    }
  };
  const auto number = [](std::string_view s, std::int64_t* v) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && end == s.data() + s.size();
  };
  const std::vector<std::string_view> parts = split(spec, ' ', true);
  if (parts.size() < 2) return bad("expected the full shape then the slice");
  shape_and_slice out;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    std::int64_t d = 0;
    if (!number(parts[i], &d) || d < 0) return bad("a dimension is not a non-negative integer");
    out.full_shape.push_back(d);
  }
  const std::vector<std::string_view> dims = split(parts.back(), ':', false);
  if (dims.size() != out.full_shape.size()) return bad("the slice's rank differs from the shape's");
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == "-") {
      out.extents.push_back({});
      continue;
    }
    const std::vector<std::string_view> sl = split(dims[i], ',', false);
    slice_extent e;
    if (sl.size() != 2 || !number(sl[0], &e.start) || !number(sl[1], &e.length) || e.start < 0 || e.length < 0 ||
        e.start > out.full_shape[i] || e.length > out.full_shape[i] - e.start)
      return bad(absl::StrFormat("dimension %d is not 'start,length' inside the shape", i));
    out.extents.push_back(e);
  }
  return out;
}

}  // namespace tfckpt::codec
#endif  // TFCKPT_COMPILE_CODEC_SLICE_KEY

#endif  // TFCKPT_CODEC_SLICE_KEY_HPP_
