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
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tfckpt/codec/bundle_entry.hpp"

namespace tfckpt::codec {

/// OrderedCode's increasing unsigned number.
inline void put_ordered_num(std::string& out, std::uint64_t v) {
  const int n = v == 0 ? 0 : (64 - std::countl_zero(v) + 7) / 8;
  out.push_back(static_cast<char>(n));
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// OrderedCode's increasing string: escapes 0x00 and 0xff, then terminates with 00 01.
inline void put_ordered_string(std::string& out, std::string_view s) {
  for (char c : s) {
    out.push_back(c);
    if (c == '\0') out.push_back('\xff');
    else if (c == '\xff') out.push_back('\0');
  }
  out.push_back('\0');
  out.push_back('\x01');
}

/// OrderedCode's increasing signed number.
inline void put_ordered_signed_num(std::string& out, std::int64_t v) {
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

/// The table key under which the slice `extents` of tensor `name` is stored.
inline std::string encode_tensor_slice_key(std::string_view name, std::span<const slice_extent> extents) {
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

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_SLICE_KEY_HPP_
