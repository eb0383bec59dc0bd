// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/varint.hpp
//
// Protobuf-style base-128 varints and a bounds-checked cursor over file bytes.
//
// A varint stores 7 bits per byte, least significant group first; the high bit says "more bytes
// follow". varint32 is at most 5 bytes, varint64 at most 10 (the tenth may carry only one bit).
// Overlong or truncated varints are rejected, never wrapped (spec/FORMAT.md §8.1).
//
// Two layers: raw decoders (`get_varint64(p, limit, &v)`, nullptr on failure, for hot loops) and
// `byte_reader`, which turns a failure into a Status naming the file, the absolute offset and the
// field being read.
//
// Example:
//   codec::byte_reader in(path, bytes, /*base_offset=*/0);
//   TFCKPT_ASSIGN_OR_RETURN(std::uint64_t n, in.varint64("entry count"));
#ifndef TFCKPT_CODEC_VARINT_HPP_
#define TFCKPT_CODEC_VARINT_HPP_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt::codec {

inline constexpr std::size_t kMaxVarint32Bytes = 5;
inline constexpr std::size_t kMaxVarint64Bytes = 10;

namespace detail {
inline const std::byte* get_varint64_loop(const std::byte* p, const std::byte* limit, std::uint64_t* v) {
  std::uint64_t result = 0;
  for (unsigned shift = 0; shift <= 63 && p < limit; shift += 7) {
    const auto b = static_cast<std::uint64_t>(*p++);
    if (shift == 63 && b > 1) return nullptr;  // the tenth byte may carry one bit only
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}
}  // namespace detail

/// Decodes a varint64 from [p, limit). Returns the byte after it, or nullptr when the varint is
/// truncated or longer than 10 bytes / 64 bits. Never reads at or past `limit`.
inline const std::byte* get_varint64(const std::byte* p, const std::byte* limit, std::uint64_t* v) {
  // Fast path, small enough to be inlined into the record decoders: one byte (a dtype, a shard, most
  // dimensions and sizes of an index record).
  if (p < limit && (static_cast<std::uint8_t>(*p) & 0x80) == 0) {
    *v = static_cast<std::uint8_t>(*p);
    return p + 1;
  }
  return detail::get_varint64_loop(p, limit, v);
}

/// As get_varint64, for values that must fit 32 bits (at most 5 bytes).
inline const std::byte* get_varint32(const std::byte* p, const std::byte* limit, std::uint32_t* v) {
  // Fast path: one-byte varints dominate block entry headers.
  if (p < limit && (static_cast<std::uint8_t>(*p) & 0x80) == 0) {
    *v = static_cast<std::uint8_t>(*p);
    return p + 1;
  }
  std::uint32_t result = 0;
  for (unsigned shift = 0; shift <= 28 && p < limit; shift += 7) {
    const auto b = static_cast<std::uint32_t>(*p++);
    if (shift == 28 && b > 0x0f) return nullptr;  // bits beyond 32
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

/// Appends the varint encoding of `v` to `out`; returns the number of bytes written.
inline std::size_t put_varint64(std::string& out, std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
    ++n;
  }
  out.push_back(static_cast<char>(v));
  return n;
}

/// Number of bytes put_varint64 writes for `v`.
constexpr std::size_t varint_length(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

/// A bounds-checked cursor over `bytes`, which start at absolute offset `base` of `file`. Every
/// failure is a kDataLoss status "<file> @<absolute offset>: truncated <what> ...".
class byte_reader {
 public:
  byte_reader(std::string_view file, std::span<const std::byte> bytes, std::uint64_t base)
      : file_(file), begin_(bytes.data()), p_(bytes.data()), limit_(bytes.data() + bytes.size()),
        base_(base) {}

  /// Absolute file offset of the next byte.
  std::uint64_t offset() const { return base_ + static_cast<std::uint64_t>(p_ - begin_); }
  std::size_t remaining() const { return static_cast<std::size_t>(limit_ - p_); }
  bool empty() const { return p_ == limit_; }
  std::string_view file() const { return file_; }

  absl::StatusOr<std::uint64_t> varint64(std::string_view what) {
    std::uint64_t v = 0;
    const std::byte* next = get_varint64(p_, limit_, &v);
    if (next == nullptr) return bad_varint(what);
    p_ = next;
    return v;
  }
  absl::StatusOr<std::uint32_t> varint32(std::string_view what) {
    std::uint32_t v = 0;
    const std::byte* next = get_varint32(p_, limit_, &v);
    if (next == nullptr) return bad_varint(what);
    p_ = next;
    return v;
  }
  absl::StatusOr<std::uint32_t> fixed32(std::string_view what) {
    if (remaining() < 4) return truncated(what, 4);
    const auto v = tfckpt::detail::load_le<std::uint32_t>(p_);
    p_ += 4;
    return v;
  }
  absl::StatusOr<std::uint64_t> fixed64(std::string_view what) {
    if (remaining() < 8) return truncated(what, 8);
    const auto v = tfckpt::detail::load_le<std::uint64_t>(p_);
    p_ += 8;
    return v;
  }
  /// The next `n` bytes, as a span into the underlying buffer.
  absl::StatusOr<std::span<const std::byte>> bytes(std::uint64_t n, std::string_view what) {
    if (n > remaining()) return truncated(what, n);
    std::span<const std::byte> out(p_, static_cast<std::size_t>(n));
    p_ += n;
    return out;
  }
  absl::Status skip(std::uint64_t n, std::string_view what) { return bytes(n, what).status(); }

 private:
  absl::Status bad_varint(std::string_view what) const {
    return data_loss(file_, offset(), "truncated or overlong varint in %s", what);
  }
  absl::Status truncated(std::string_view what, std::uint64_t need) const {
    return data_loss(file_, offset(), "truncated %s: need %d bytes, %d left", what, need,
                     remaining());
  }

  std::string_view file_;
  const std::byte* begin_;
  const std::byte* p_;
  const std::byte* limit_;
  std::uint64_t base_;
};

/// Views the bytes of a string as std::byte (no copy).
inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
/// Views bytes as characters (no copy).
inline std::string_view as_chars(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_VARINT_HPP_
