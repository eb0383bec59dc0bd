// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/table_builder.hpp
//
// Writing an SSTable byte for byte as TensorFlow's TableBuilder does (spec/FORMAT.md §2.6), so that
// an index we write is identical to one TensorFlow writes for the same records.
//
//   add(key, value):  a record of len(key) + len(value) >= 2 * block_size starts a block of its own;
//                     the previous block's index entry is added (key = shortest separator between its
//                     last key and `key`); the record joins the data block; the block is flushed
//                     once its size estimate (entries + 4 per restart + 4) reaches block_size
//   finish():         flush; the metaindex block (always empty); the index block (restart interval
//                     1, last key = short successor of the last key); the 48-byte footer
//   each block:       contents, type byte (0 raw, 1 snappy), masked crc32c(contents ++ type)
//
// TensorFlow's bundle writers use block_size 256 KiB, restart interval 16 and no compression.
// Snappy is available for completeness: a block is stored compressed only when that saves more
// than 1/8 of its size, as TensorFlow decides.
//
// Example:
//   codec::table_builder t({}, [&](std::string_view bytes) { return file.append(bytes); });
//   TFCKPT_RETURN_IF_ERROR(t.add("", header));
//   TFCKPT_RETURN_IF_ERROR(t.add("w", entry));
//   TFCKPT_RETURN_IF_ERROR(t.finish());
#ifndef TFCKPT_CODEC_TABLE_BUILDER_HPP_
#define TFCKPT_CODEC_TABLE_BUILDER_HPP_

#include <snappy.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/codec/varint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt::codec {

/// The shortest key k with start <= k < limit that LevelDB's bytewise comparator would pick
/// (FindShortestSeparator): increments the first differing byte when that keeps k below limit.
TFCKPT_DECL std::string shortest_separator(std::string_view start, std::string_view limit);

/// The shortest key >= `key` (FindShortSuccessor): increments the first byte that is not 0xff and
/// truncates after it; a key of only 0xff bytes (or empty) is returned as it is.
TFCKPT_DECL std::string short_successor(std::string_view key);

/// Builds one block's contents (LevelDB's BlockBuilder).
class block_builder {
 public:
  explicit block_builder(int restart_interval) : restart_interval_(restart_interval) { reset(); }

  void reset() {
    buffer_.clear();
    restarts_.assign(1, 0);
    counter_ = 0;
    last_key_.clear();
    finished_ = false;
  }
  bool empty() const { return buffer_.empty(); }
  /// What the block will take once finished: entries, the restart array and its count.
  std::size_t size_estimate() const { return buffer_.size() + restarts_.size() * 4 + 4; }

  /// REQUIRES: key > the previous key (checked by table_builder), !finished.
  void add(std::string_view key, std::string_view value) {
    std::size_t shared = 0;
    if (counter_ < restart_interval_) {
      const std::size_t n = std::min(last_key_.size(), key.size());
      while (shared < n && last_key_[shared] == key[shared]) ++shared;
    } else {
      restarts_.push_back(static_cast<std::uint32_t>(buffer_.size()));
      counter_ = 0;
    }
    put_varint64(buffer_, shared);
    put_varint64(buffer_, key.size() - shared);
    put_varint64(buffer_, value.size());
    buffer_.append(key.substr(shared));
    buffer_.append(value);
    last_key_.assign(key);
    ++counter_;
  }

  /// Appends the restart array and returns the finished contents (valid until reset()).
  std::string_view finish() {
    for (std::uint32_t r : restarts_) put_fixed32(r);
    put_fixed32(static_cast<std::uint32_t>(restarts_.size()));
    finished_ = true;
    return buffer_;
  }

 private:
  void put_fixed32(std::uint32_t v) {
    char b[4];
    tfckpt::detail::store_le(reinterpret_cast<std::byte*>(b), v);
    buffer_.append(b, 4);
  }

  int restart_interval_;
  std::string buffer_;
  std::vector<std::uint32_t> restarts_;
  int counter_ = 0;
  std::string last_key_;
  bool finished_ = false;
};

struct table_options {
  std::size_t block_size = 262144;  // TensorFlow's table::Options default
  int restart_interval = 16;
  bool snappy = false;              // TensorFlow's bundle writers store blocks uncompressed
};

/// Writes a table through `sink`, a callable taking the next bytes of the file and returning a
/// Status. Keys must be added in strictly increasing bytewise order.
class table_builder {
 public:
  using sink_fn = std::function<absl::Status(std::string_view)>;

  table_builder(table_options options, sink_fn sink)
      : options_(options), sink_(std::move(sink)), data_(options.restart_interval), index_(1) {}

  /// kInvalidArgument when `key` is not greater than the previous key; sink errors pass through.
  absl::Status add(std::string_view key, std::string_view value);

  /// Writes the last data block, the metaindex and index blocks and the footer.
  absl::Status finish();

  std::uint64_t num_entries() const { return entries_; }
  /// Bytes written so far (the file size once finished).
  std::uint64_t file_size() const { return offset_; }

 private:
  void add_index_entry(const std::string& key) {
    std::string handle;
    put_block_handle(handle, pending_handle_);
    index_.add(key, handle);
    pending_index_entry_ = false;
  }

  absl::Status flush() {
    if (data_.empty()) return absl::OkStatus();
    TFCKPT_ASSIGN_OR_RETURN(pending_handle_, write_block(data_));
    pending_index_entry_ = true;
    return absl::OkStatus();
  }

  absl::StatusOr<block_handle> write_block(block_builder& b);

  absl::Status emit(std::string_view bytes) {
    TFCKPT_RETURN_IF_ERROR(sink_(bytes));
    offset_ += bytes.size();
    return absl::OkStatus();
  }

  table_options options_;
  sink_fn sink_;
  block_builder data_;
  block_builder index_;
  std::string last_key_;
  std::string compressed_;
  block_handle pending_handle_;
  bool pending_index_entry_ = false;
  bool finished_ = false;
  std::uint64_t entries_ = 0;
  std::uint64_t offset_ = 0;
};

}  // namespace tfckpt::codec

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CODEC_TABLE_BUILDER)

namespace tfckpt::codec {

TFCKPT_DECL std::string shortest_separator(std::string_view start, std::string_view limit) {
  const std::size_t n = std::min(start.size(), limit.size());
  std::size_t i = 0;
  while (i < n && start[i] == limit[i]) ++i;
  if (i >= n) return std::string(start);  // one is a prefix of the other
  const auto b = static_cast<std::uint8_t>(start[i]);
  if (b < 0xff && b + 1 < static_cast<std::uint8_t>(limit[i])) {
    std::string s(start.substr(0, i + 1));
    s[i] = static_cast<char>(b + 1);
    return s;
  }
  return std::string(start);
}

TFCKPT_DECL std::string short_successor(std::string_view key) {
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto b = static_cast<std::uint8_t>(key[i]);
    if (b != 0xff) {
      std::string s(key.substr(0, i + 1));
      s[i] = static_cast<char>(b + 1);
      return s;
    }
  }
  return std::string(key);
}

TFCKPT_DECL absl::Status table_builder::add(std::string_view key, std::string_view value) {
  if (finished_) return absl::FailedPreconditionError("table_builder::add after finish");
  if (entries_ > 0 && key <= std::string_view(last_key_))
    return absl::InvalidArgumentError(absl::StrFormat("table keys out of order: '%s' after '%s'", printable_key(key),
                                                      printable_key(last_key_)));
  // TensorFlow's rule: an overly large record starts a block of its own.
  if (entries_ > 0 && key.size() + value.size() >= 2 * options_.block_size) TFCKPT_RETURN_IF_ERROR(flush());
  if (pending_index_entry_) {
    add_index_entry(shortest_separator(last_key_, key));
  }
  last_key_.assign(key);
  ++entries_;
  data_.add(key, value);
  if (data_.size_estimate() >= options_.block_size) TFCKPT_RETURN_IF_ERROR(flush());
  return absl::OkStatus();
}

TFCKPT_DECL absl::Status table_builder::finish() {
  if (finished_) return absl::FailedPreconditionError("table_builder::finish called twice");
  TFCKPT_RETURN_IF_ERROR(flush());
  finished_ = true;
  block_builder meta(options_.restart_interval);
  TFCKPT_ASSIGN_OR_RETURN(const block_handle meta_handle, write_block(meta));
  if (pending_index_entry_) add_index_entry(short_successor(last_key_));
  TFCKPT_ASSIGN_OR_RETURN(const block_handle index_handle, write_block(index_));
  std::string footer;
  put_block_handle(footer, meta_handle);
  put_block_handle(footer, index_handle);
  footer.resize(2 * kMaxBlockHandleSize, '\0');
  char magic[8];
  tfckpt::detail::store_le(reinterpret_cast<std::byte*>(magic), kTableMagic);
  footer.append(magic, 8);
  return emit(footer);
}

TFCKPT_DECL absl::StatusOr<block_handle> table_builder::write_block(block_builder& b) {
  const std::string_view raw = b.finish();
  std::string_view stored = raw;
  std::uint8_t type = kNoCompression;
  if (options_.snappy) {
    snappy::Compress(raw.data(), raw.size(), &compressed_);
    if (compressed_.size() < raw.size() - raw.size() / 8) {  // keep it only if it saves > 12.5%
      stored = compressed_;
      type = kSnappyCompression;
    }
  }
  const block_handle h{offset_, stored.size()};
  TFCKPT_RETURN_IF_ERROR(emit(stored));
  char trailer[kBlockTrailerSize];
  trailer[0] = static_cast<char>(type);
  const std::uint32_t crc = crc32c_extend(crc32c(stored), trailer, 1);
  tfckpt::detail::store_le(reinterpret_cast<std::byte*>(trailer + 1), crc32c_mask(crc));
  TFCKPT_RETURN_IF_ERROR(emit(std::string_view(trailer, kBlockTrailerSize)));
  b.reset();
  return h;
}

}  // namespace tfckpt::codec
#endif  // TFCKPT_COMPILE_CODEC_TABLE_BUILDER

#endif  // TFCKPT_CODEC_TABLE_BUILDER_HPP_
