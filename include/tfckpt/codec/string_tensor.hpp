// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/string_tensor.hpp
//
// The on-disk form of a DT_STRING tensor of N elements (spec/FORMAT.md §3.5):
//
//   varint64 len[0] ... varint64 len[N-1]
//   fixed32  length_crc = mask(C_len)      C_len: crc32c over each length as a 4-byte little-endian
//                                           uint32 (8-byte uint64 above 0xFFFFFFFF), not the varints
//   bytes    elem[0] ++ ... ++ elem[N-1]
//
// The entry's stored crc32c continues the same running CRC: mask(extend(extend(C_len, the 4 raw
// length_crc bytes), all element bytes)). Elements are arbitrary bytes, not necessarily UTF-8.
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
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt::codec {

struct decoded_strings {
  std::vector<std::string_view> elements;  // views into the decoded bytes
  std::uint32_t crc32c = 0;                // unmasked CRC of the whole payload, TensorFlow's way
};

namespace detail {
inline std::uint32_t extend_with_length(std::uint32_t crc, std::uint64_t len) {
  std::byte buf[8];
  if (len <= 0xffffffffu) {
    tfckpt::detail::store_le(buf, static_cast<std::uint32_t>(len));
    return crc32c_extend(crc, buf, 4);
  }
  tfckpt::detail::store_le(buf, len);
  return crc32c_extend(crc, buf, 8);
}
}  // namespace detail

/// Decodes `bytes`, the payload of string tensor `key` found at absolute `offset` of `file`, holding
/// `n` elements. Checks the lengths against the payload and the masked length checksum; returns
/// the elements and the payload CRC (compare it with the entry's stored crc32c to verify).
inline absl::StatusOr<decoded_strings> decode_string_tensor(std::string_view file, std::string_view key,
                                                            std::uint64_t offset, std::span<const std::byte> bytes,
                                                            std::uint64_t n) {
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
    length_crc = detail::extend_with_length(length_crc, len);
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
  const auto stored = tfckpt::detail::load_le<std::uint32_t>(p);
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

/// The on-disk form of `elements` (the layout above).
inline std::string encode_string_tensor(std::span<const std::string_view> elements) {
  std::string out;
  std::uint32_t length_crc = 0;
  for (std::string_view s : elements) {
    put_varint64(out, s.size());
    length_crc = detail::extend_with_length(length_crc, s.size());
  }
  char masked[4];
  tfckpt::detail::store_le(reinterpret_cast<std::byte*>(masked), crc32c_mask(length_crc));
  out.append(masked, 4);
  for (std::string_view s : elements) out.append(s);
  return out;
}

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_STRING_TENSOR_HPP_
