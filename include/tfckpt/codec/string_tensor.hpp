// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/string_tensor.hpp
//
// The on-disk form of a DT_STRING tensor of N elements (spec/FORMAT.md §3.5):
//
//   varint64 len[0] ... varint64 len[N-1]
//   fixed32  length_crc = mask(C_len)      C_len: crc32c over each length as a 4-byte uint32 (8-byte
//                                           uint64 above 0xFFFFFFFF), not the varints
//   bytes    elem[0] ++ ... ++ elem[N-1]
//
// The entry's stored crc32c continues the same running CRC: mask(extend(extend(C_len, the 4 raw
// length_crc bytes), all element bytes)). Elements are arbitrary bytes, not necessarily UTF-8.
// The fixed-width lengths C_len covers and length_crc itself are in the bundle's byte order (§3.9):
// the same strings stored big-endian differ from little-endian in those 4 bytes and in the CRC.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto s, codec::decode_string_tensor(file, key, offset, bytes, n));
//   for (std::string_view v : s.elements) ...
#ifndef TFCKPT_CODEC_STRING_TENSOR_HPP_
#define TFCKPT_CODEC_STRING_TENSOR_HPP_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/varint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_order.hpp"

namespace tfckpt::codec {

struct decoded_strings {
  std::vector<std::string_view> elements;  // views into the decoded bytes
  std::uint32_t crc32c = 0;                // unmasked CRC of the whole payload, TensorFlow's way
};

namespace detail {
template <class U>
void store_in_order(std::byte* p, U v, byte_order order) {
  tfckpt::detail::store_le(p, order == byte_order::big ? tfckpt::detail::byte_swap(v) : v);
}
template <class U>
U load_in_order(const std::byte* p, byte_order order) {
  const U v = tfckpt::detail::load_le<U>(p);
  return order == byte_order::big ? tfckpt::detail::byte_swap(v) : v;
}
TFCKPT_DECL std::uint32_t extend_with_length(std::uint32_t crc, std::uint64_t len, byte_order order);
}  // namespace detail

/// Decodes `bytes`, the payload of string tensor `key` found at absolute `offset` of `file`, holding
/// `n` elements. Checks the lengths against the payload and the masked length checksum; returns
/// the elements and the payload CRC (compare it with the entry's stored crc32c to verify).
/// `order` is the bundle's byte order (its header says which).
TFCKPT_DECL absl::StatusOr<decoded_strings> decode_string_tensor(std::string_view file, std::string_view key,
                                                                 std::uint64_t offset, std::span<const std::byte> bytes,
                                                                 std::uint64_t n, byte_order order = byte_order::little);

/// The on-disk form of `elements` (the layout above) in a bundle of byte order `order`.
TFCKPT_DECL std::string encode_string_tensor(std::span<const std::string_view> elements,
                                             byte_order order = byte_order::little);

/// Rewrites `payload`, a string tensor of `n` elements stored in byte order `from` (checked as
/// decode_string_tensor checks it), into its form for order `to`: only the 4 length-checksum bytes
/// change. Returns the payload CRC in order `to`.
TFCKPT_DECL absl::StatusOr<std::uint32_t> convert_string_tensor(std::string_view file, std::string_view key,
                                                                std::uint64_t offset, std::span<std::byte> payload,
                                                                std::uint64_t n, byte_order from, byte_order to);

}  // namespace tfckpt::codec

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CODEC_STRING_TENSOR)

namespace tfckpt::codec::detail {

TFCKPT_DECL std::uint32_t extend_with_length(std::uint32_t crc, std::uint64_t len, byte_order order) {
  std::byte buf[8];
  if (len <= 0xffffffffu) {
    store_in_order(buf, static_cast<std::uint32_t>(len), order);
    return crc32c_extend(crc, buf, 4);
  }
  store_in_order(buf, len, order);
  return crc32c_extend(crc, buf, 8);
}
}  // namespace tfckpt::codec::detail

namespace tfckpt::codec {

TFCKPT_DECL absl::StatusOr<decoded_strings> decode_string_tensor(std::string_view file, std::string_view key,
                                                                 std::uint64_t offset, std::span<const std::byte> bytes,
                                                                 std::uint64_t n, byte_order order) {
  auto fail = [&](std::uint64_t at, std::string_view what) {
    return with_key(data_loss(file, offset + at, "%s", what), key);
  };
  // Every length takes at least one byte: check before reserving anything sized by `n`.
  if (n > bytes.size() || bytes.size() - n < 4)
    return fail(0, absl::StrFormat("string tensor of %d elements cannot fit in %d bytes", n, bytes.size()));
  decoded_strings out;
  out.elements.reserve(static_cast<std::size_t>(n));
  const std::byte* p = bytes.data();
  const std::byte* const limit = bytes.data() + bytes.size();
  std::uint32_t length_crc = 0;
  std::uint64_t total = 0;
  std::vector<std::uint64_t> lengths;
  lengths.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t len = 0;
    const std::byte* next = get_varint64(p, limit, &len);
    if (next == nullptr)
      return fail(static_cast<std::uint64_t>(p - bytes.data()), absl::StrFormat("bad length of string element %d", i));
    p = next;
    length_crc = detail::extend_with_length(length_crc, len, order);
    if (len > bytes.size() || total > bytes.size() - len)
      return fail(static_cast<std::uint64_t>(p - bytes.data()),
                  absl::StrFormat("string element %d of %d bytes runs past the tensor's %d bytes", i, len, bytes.size()));
    total += len;
    lengths.push_back(len);
  }
  const auto crc_at = static_cast<std::uint64_t>(p - bytes.data());
  if (static_cast<std::uint64_t>(limit - p) < 4 || static_cast<std::uint64_t>(limit - p) - 4 < total)
    return fail(crc_at, absl::StrFormat("string lengths (%d bytes in all) run past the tensor's %d bytes", total,
                                        bytes.size()));
  const auto stored = detail::load_in_order<std::uint32_t>(p, order);
  if (crc32c_unmask(stored) != length_crc)
    return fail(crc_at, absl::StrFormat("string length checksum mismatch: stored 0x%08x, computed 0x%08x",
                                        crc32c_unmask(stored), length_crc));
  std::uint32_t crc = crc32c_extend(length_crc, p, 4);
  p += 4;
  crc = crc32c_extend(crc, p, static_cast<std::size_t>(total));
  for (std::uint64_t len : lengths) {
    out.elements.emplace_back(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len));
    p += len;
  }
  if (p != limit)
    return fail(static_cast<std::uint64_t>(p - bytes.data()),
                absl::StrFormat("%d trailing bytes after the last string element", limit - p));
  out.crc32c = crc;
  return out;
}

TFCKPT_DECL std::string encode_string_tensor(std::span<const std::string_view> elements,
                                             byte_order order) {
  std::string out;
  std::uint32_t length_crc = 0;
  for (std::string_view s : elements) {
    put_varint64(out, s.size());
    length_crc = detail::extend_with_length(length_crc, s.size(), order);
  }
  char masked[4];
  detail::store_in_order(reinterpret_cast<std::byte*>(masked), crc32c_mask(length_crc), order);
  out.append(masked, 4);
  for (std::string_view s : elements) out.append(s);
  return out;
}

TFCKPT_DECL absl::StatusOr<std::uint32_t> convert_string_tensor(std::string_view file, std::string_view key,
                                                                std::uint64_t offset, std::span<std::byte> payload,
                                                                std::uint64_t n, byte_order from, byte_order to) {
  TFCKPT_ASSIGN_OR_RETURN(const decoded_strings s, decode_string_tensor(file, key, offset, payload, n, from));
  if (from == to) return s.crc32c;
  std::uint32_t length_crc = 0;
  for (std::string_view e : s.elements) length_crc = detail::extend_with_length(length_crc, e.size(), to);
  // The elements follow the checksum directly; it ends where the first element's bytes begin.
  const std::size_t elements_bytes = [&] {
    std::size_t total = 0;
    for (std::string_view e : s.elements) total += e.size();
    return total;
  }();
  std::byte* const at = payload.data() + payload.size() - elements_bytes - 4;
  detail::store_in_order(at, crc32c_mask(length_crc), to);
  std::uint32_t crc = crc32c_extend(length_crc, at, 4);
  return crc32c_extend(crc, at + 4, elements_bytes);
}

}  // namespace tfckpt::codec
#endif  // TFCKPT_COMPILE_CODEC_STRING_TENSOR

#endif  // TFCKPT_CODEC_STRING_TENSOR_HPP_
