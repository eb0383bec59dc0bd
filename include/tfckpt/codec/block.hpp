// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/block.hpp
//
// One SSTable block: the prefix-compressed entries and restart array of LevelDB's table format,
// which TensorFlow's `.index` files (and V1 checkpoints) use unchanged (spec/FORMAT.md §2.2).
//
// Block contents:
//   entry*              shared:varint32 non_shared:varint32 value_length:varint32
//                       key_suffix[non_shared] value[value_length]
//                       key = previous_key[0:shared] ++ key_suffix
//   restart[R]          fixed32 each: offset of an entry whose `shared` is 0
//   R                   fixed32, >= 1 (an empty block is 00000000 01000000)
//
// `block_view::parse` checks the restart array; `for_each` walks every entry in order and checks
// that each one lies inside the block, shares no more than the previous key has, and that every
// restart offset lands on an entry that shares nothing. A block that passes cannot make a later walk
// fail.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto block, codec::block_view::parse(file, contents, where));
//   TFCKPT_RETURN_IF_ERROR(block.for_each([](std::string_view key, auto value, std::uint64_t at) {
//     return absl::OkStatus();
//   }));
#ifndef TFCKPT_CODEC_BLOCK_HPP_
#define TFCKPT_CODEC_BLOCK_HPP_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tfckpt/codec/varint.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt::codec {

/// Where a block's bytes came from, for error messages. For an uncompressed block the contents
/// start at `file_offset`; for a decompressed one, positions are inside the decompressed bytes and
/// messages give the block's file offset plus the position.
struct block_location {
  std::string_view file;
  std::uint64_t file_offset = 0;
  bool decompressed = false;

  template <class... Args>
  absl::Status error(std::uint64_t pos, const absl::FormatSpec<Args...>& fmt,
                     const Args&... args) const {
    if (!decompressed) return data_loss(file, file_offset + pos, fmt, args...);
    return data_loss(file, file_offset, "%s (at byte %d of the decompressed block)",
                     absl::StrFormat(fmt, args...), pos);
  }
};

/// The key being rebuilt while walking entries. Passing the same cursor to the walks of consecutive
/// blocks extends the strictly-increasing check across block boundaries.
struct block_cursor {
  std::string key;       // the last key seen
  bool has_key = false;  // false before the first entry of the walk
};

/// A parsed, bounds-checked view of one block's contents (trailer already removed).
class block_view {
 public:
  /// Checks the restart array: R >= 1, the array fits, offsets are increasing and inside the
  /// entry area, and the first is 0 whenever there are entries.
  static absl::StatusOr<block_view> parse(std::span<const std::byte> contents, block_location where) {
    const std::size_t n = contents.size();
    if (n < 4) return where.error(0, "block of %d bytes has no restart count", n);
    const auto num_restarts = tfckpt::detail::load_le<std::uint32_t>(contents.data() + n - 4);
    const std::uint64_t max_restarts = (n - 4) / 4;
    if (num_restarts == 0 || num_restarts > max_restarts)
      return where.error(n - 4, "bad restart count %d for a block of %d bytes", num_restarts, n);
    const std::size_t restarts_at = n - 4 - std::size_t{num_restarts} * 4;
    block_view b(contents, where, restarts_at, num_restarts);
    std::uint32_t prev = 0;
    for (std::uint32_t i = 0; i < num_restarts; ++i) {
      const std::uint32_t r = b.restart(i);
      const bool ok = (i == 0) ? (r == 0) : (r > prev && r < restarts_at);
      if (!ok)
        return where.error(restarts_at + 4 * i, "restart %d points at %d (entries end at %d)", i,
                           r, restarts_at);
      prev = r;
    }
    if (restarts_at == 0 && num_restarts != 1)
      return where.error(n - 4, "empty block with %d restarts", num_restarts);
    return b;
  }

  std::uint32_t num_restarts() const { return num_restarts_; }
  std::uint32_t restart(std::uint32_t i) const {
    return tfckpt::detail::load_le<std::uint32_t>(contents_.data() + restarts_at_ + 4 * std::size_t{i});
  }
  /// Bytes of the entry area (before the restart array).
  std::size_t entries_size() const { return restarts_at_; }
  bool empty() const { return restarts_at_ == 0; }

  /// Calls fn(std::string_view key, std::span<const std::byte> value, std::uint64_t position) for
  /// every entry in order; `position` is the entry's offset inside the block. The key view is valid
  /// only during the call. Checks that keys strictly increase (bytewise), continuing from `cursor`'s
  /// last key when one is given. Stops at the first non-OK status, from the block or from `fn`.
  template <class Fn>
  absl::Status for_each(Fn&& fn, block_cursor* cursor = nullptr) const {
    block_cursor local;
    block_cursor& c = cursor != nullptr ? *cursor : local;
    std::string& key = c.key;
    const std::byte* const base = contents_.data();
    const std::byte* p = base;
    const std::byte* const limit = base + restarts_at_;
    std::uint32_t next_restart = 0;
    while (p < limit) {
      const auto pos = static_cast<std::uint64_t>(p - base);
      std::uint32_t shared = 0, non_shared = 0, value_length = 0;
      const std::byte* q = p;
      // Fast path: all three lengths fit one byte each (nearly always true).
      if (limit - q >= 3 && ((static_cast<std::uint8_t>(q[0]) | static_cast<std::uint8_t>(q[1]) |
                              static_cast<std::uint8_t>(q[2])) & 0x80) == 0) {
        shared = static_cast<std::uint8_t>(q[0]);
        non_shared = static_cast<std::uint8_t>(q[1]);
        value_length = static_cast<std::uint8_t>(q[2]);
        q += 3;
      } else if ((q = get_varint32(q, limit, &shared)) == nullptr ||
                 (q = get_varint32(q, limit, &non_shared)) == nullptr ||
                 (q = get_varint32(q, limit, &value_length)) == nullptr) {
        return where_.error(pos, "truncated entry header");
      }
      if (shared > key.size())
        return where_.error(pos, "entry shares %d key bytes but the previous key has %d", shared,
                            key.size());
      if (std::uint64_t{non_shared} + value_length > static_cast<std::uint64_t>(limit - q))
        return where_.error(pos, "entry of %d+%d bytes runs past the end of the block entries",
                            non_shared, value_length);
      if (next_restart < num_restarts_) {
        const std::uint32_t r = restart(next_restart);
        if (r < pos) return where_.error(pos, "restart offset %d is not at an entry", r);
        if (r == pos) {
          if (shared != 0)
            return where_.error(pos, "entry at a restart point shares %d key bytes", shared);
          ++next_restart;
        }
      }
      // The new key shares key[0, shared), so it is greater exactly when its suffix is greater than
      // the rest of the previous key: no copy of the previous key is needed.
      const std::string_view suffix(reinterpret_cast<const char*>(q), non_shared);
      if (c.has_key && suffix <= std::string_view(key).substr(shared))
        return where_.error(pos, "key '%s' is not greater than the previous key '%s'",
                            printable_key(std::string(std::string_view(key).substr(0, shared)) + std::string(suffix)),
                            printable_key(key));
      key.resize(shared);
      key.append(suffix);
      c.has_key = true;
      q += non_shared;
      TFCKPT_RETURN_IF_ERROR(fn(std::string_view(key), std::span<const std::byte>(q, value_length), pos));
      p = q + value_length;
    }
    if (next_restart < num_restarts_ && !(restarts_at_ == 0 && num_restarts_ == 1))
      return where_.error(restarts_at_, "restart offset %d is not at an entry", restart(next_restart));
    return absl::OkStatus();
  }

 private:
  block_view(std::span<const std::byte> contents, block_location where, std::size_t restarts_at,
             std::uint32_t num_restarts)
      : contents_(contents), where_(where), restarts_at_(restarts_at), num_restarts_(num_restarts) {}

  std::span<const std::byte> contents_;
  block_location where_;
  std::size_t restarts_at_;
  std::uint32_t num_restarts_;
};

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_BLOCK_HPP_
