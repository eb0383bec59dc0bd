// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/table.hpp
//
// Reading an SSTable ("table"): LevelDB's format with the bytewise comparator, as TensorFlow writes
// `.index` files and V1 checkpoints (spec/FORMAT.md §2; leveldb doc/table_format.md).
//
// File layout:
//   [data block][trailer] ... [metaindex block][trailer] [index block][trailer] [footer]
//   trailer (5 bytes)  type:byte (0 = raw, 1 = snappy)  crc:fixed32 = mask(crc32c(stored ++ type))
//   footer (48 bytes)  metaindex handle, index handle (varint64 offset, varint64 size each),
//                      zero padding to byte 40, magic 0xdb4775248b80fb57 as fixed64
// The index block has one entry per data block: key = a separator >= every key in that block and
// < every key of the next; value = the block's handle.
//
// `for_each_table_entry` verifies everything it reads: the magic, every handle against the file
// size, every trailer CRC (metaindex included), block structure, strictly increasing keys across
// the whole table and keys bounded by their index separators. Snappy blocks are decompressed with
// libsnappy after a validation pass that allocates nothing.
//
// Example:
//   TFCKPT_RETURN_IF_ERROR(codec::for_each_table_entry(path, bytes,
//       [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) {
//         return absl::OkStatus();
//       }));
#ifndef TFCKPT_CODEC_TABLE_HPP_
#define TFCKPT_CODEC_TABLE_HPP_

#include <snappy.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tfckpt/codec/block.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/varint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt::codec {

/// fixed64 at the end of every table; LevelDB chose it from `echo http://code.google.com/p/leveldb/ | sha1sum`.
inline constexpr std::uint64_t kTableMagic = 0xdb4775248b80fb57ull;
/// Two handles of at most 2 x 10 bytes each, padded to 40, then the 8-byte magic.
inline constexpr std::size_t kFooterSize = 48;
inline constexpr std::size_t kMaxBlockHandleSize = 20;
/// Block type byte + masked CRC-32C.
inline constexpr std::size_t kBlockTrailerSize = 5;
inline constexpr std::uint8_t kNoCompression = 0;
inline constexpr std::uint8_t kSnappyCompression = 1;

/// Location of a block: `size` excludes the 5-byte trailer.
struct block_handle {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  friend bool operator==(const block_handle&, const block_handle&) = default;
};

/// Decodes a handle (two varint64) from [p, limit); nullptr when truncated or overlong.
inline const std::byte* get_block_handle(const std::byte* p, const std::byte* limit, block_handle* h) {
  p = get_varint64(p, limit, &h->offset);
  return p == nullptr ? nullptr : get_varint64(p, limit, &h->size);
}

/// Appends the encoding of a handle.
inline void put_block_handle(std::string& out, block_handle h) {
  put_varint64(out, h.offset);
  put_varint64(out, h.size);
}

struct table_footer {
  block_handle metaindex;
  block_handle index;
};

namespace detail {
// A block plus its trailer must end at or before `end` (the footer's start). Subtracts, never adds,
// so hostile values cannot overflow.
inline bool block_fits(block_handle h, std::uint64_t end) {
  return h.offset <= end && h.size <= end - h.offset && kBlockTrailerSize <= end - h.offset - h.size;
}
}  // namespace detail

/// Decodes and checks the footer of a whole table `bytes`: the magic, and both handles inside the
/// file before the footer.
TFCKPT_DECL absl::StatusOr<table_footer> decode_footer(std::string_view file, std::span<const std::byte> bytes);

/// A block's contents after its trailer was checked: either a span into the file or, for a
/// snappy block, a decompressed copy that this object owns. Move-only.
class block_contents {
 public:
  std::span<const std::byte> bytes() const { return bytes_; }
  block_location location() const { return location_; }
  bool decompressed() const { return owned_ != nullptr; }

 private:
  friend absl::StatusOr<block_contents> read_block(std::string_view, std::span<const std::byte>,
                                                   block_handle, std::string_view, std::uint64_t);
  std::span<const std::byte> bytes_;
  std::unique_ptr<std::byte[]> owned_;
  block_location location_;
};

/// Reads the block at `h` from the table's `bytes`: checks bounds and the trailer's masked
/// CRC-32C, then decompresses a snappy block. `what` names the block in errors ("data block 3").
/// `bytes` holds the table from file offset `bytes_offset` on: the whole table when 0, else a
/// window of it read into memory; offsets in errors are the file's either way.
TFCKPT_DECL absl::StatusOr<block_contents> read_block(std::string_view file, std::span<const std::byte> bytes,
                                                      block_handle h, std::string_view what,
                                                      std::uint64_t bytes_offset = 0);

/// The data blocks of a table, as its index block lists them, with the checks that concern the
/// table as a whole done once: the footer, the metaindex and index blocks (trailer CRCs and
/// structure), every handle inside the file and after the previous block, separators strictly
/// increasing. The data blocks themselves are checked by whoever walks them
/// (for_each_block_entry), so that separate runs of blocks can be walked on separate threads.
class table_blocks {
 public:
  static absl::StatusOr<table_blocks> read(std::string_view file, std::span<const std::byte> bytes);

  std::size_t size() const { return handles_.size(); }
  block_handle handle(std::size_t i) const { return handles_[i]; }
  /// >= every key of block i and < every key of block i + 1.
  std::string_view separator(std::size_t i) const {
    const std::size_t begin = i == 0 ? 0 : separator_ends_[i - 1];
    return std::string_view(separators_).substr(begin, separator_ends_[i] - begin);
  }

 private:
  std::vector<block_handle> handles_;
  std::vector<std::size_t> separator_ends_;
  std::string separators_;  // all of them, back to back
};

/// Counts what a table walk saw.
struct table_stats {
  std::uint64_t data_blocks = 0;
  std::uint64_t snappy_blocks = 0;
  std::uint64_t entries = 0;
};

/// Walks every entry of data blocks [first, last) of `blocks` in key order, calling
/// fn(std::string_view key, std::span<const std::byte> value, std::uint64_t offset) where `offset`
/// is the entry's absolute file offset (or its block's, for a snappy block). The views are valid
/// during the call only: values of snappy blocks live in a buffer freed after the block. Checks
/// each block (trailer CRC, structure, keys strictly increasing and bounded by the separators on
/// both sides) and stops at the first error. Walking consecutive runs one after the other visits
/// and checks what one walk of them all does. `bytes` and `bytes_offset` as for read_block(): a
/// window needs to hold only blocks [first, last).
template <class Fn>
absl::Status for_each_block_entry(std::string_view file, std::span<const std::byte> bytes, const table_blocks& blocks,
                                  std::size_t first, std::size_t last, Fn&& fn, table_stats* stats = nullptr,
                                  std::uint64_t bytes_offset = 0) {
  // Keys increase within each block, and the separators order the blocks: the last key of a block is
  // at most its separator, which is below the first key of the next. So no block's walk needs the
  // previous block's keys, and a run of blocks reports what a walk of the whole table would.
  block_cursor cursor;
  table_stats local;
  for (std::size_t i = first; i < last; ++i) {
    cursor.key.clear();
    cursor.has_key = false;
    const block_handle h = blocks.handle(i);
    char what_buf[40] = "data block ";
    const std::string_view what(what_buf, std::to_chars(what_buf + 11, what_buf + sizeof what_buf, i).ptr);
    TFCKPT_ASSIGN_OR_RETURN(block_contents data, read_block(file, bytes, h, what, bytes_offset));
    TFCKPT_ASSIGN_OR_RETURN(const block_view block, block_view::parse(data.bytes(), data.location()));
    const block_location where = data.location();
    ++local.data_blocks;
    if (data.decompressed()) ++local.snappy_blocks;
    const std::string_view prev_separator = i == 0 ? std::string_view() : blocks.separator(i - 1);
    bool first_in_block = true;
    TFCKPT_RETURN_IF_ERROR(block.for_each(
        [&](std::string_view key, std::span<const std::byte> v, std::uint64_t entry_pos) -> absl::Status {
          const std::uint64_t at = where.decompressed ? where.file_offset : where.file_offset + entry_pos;
          // Keys increase within the block, so bounding the first key below and the last above
          // bounds them all.
          if (first_in_block && i != 0 && key <= prev_separator)
            return data_loss(file, at, "key '%s' is not above the index separator of the previous block",
                             printable_key(key));
          first_in_block = false;
          ++local.entries;
          return fn(key, v, at);
        },
        &cursor));
    if (!block.empty() && std::string_view(cursor.key) > blocks.separator(i))
      return data_loss(file, h.offset, "%s ends with key '%s', above its index separator '%s'", what,
                       printable_key(cursor.key), printable_key(blocks.separator(i)));
  }
  if (stats != nullptr) *stats = local;
  return absl::OkStatus();
}

/// Walks every entry of the table in `bytes` in key order, as for_each_block_entry over all its
/// data blocks. Verifies the whole structure (see the file comment) and stops at the first error.
template <class Fn>
absl::Status for_each_table_entry(std::string_view file, std::span<const std::byte> bytes, Fn&& fn,
                                  table_stats* stats = nullptr) {
  TFCKPT_ASSIGN_OR_RETURN(const table_blocks blocks, table_blocks::read(file, bytes));
  return for_each_block_entry(file, bytes, blocks, 0, blocks.size(), fn, stats);
}

}  // namespace tfckpt::codec

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CODEC_TABLE)

namespace tfckpt::codec {

TFCKPT_DECL absl::StatusOr<table_blocks> table_blocks::read(std::string_view file, std::span<const std::byte> bytes) {
  TFCKPT_ASSIGN_OR_RETURN(const table_footer footer, decode_footer(file, bytes));
  {
    TFCKPT_ASSIGN_OR_RETURN(block_contents meta, read_block(file, bytes, footer.metaindex, "metaindex block"));
    TFCKPT_RETURN_IF_ERROR(block_view::parse(meta.bytes(), meta.location()).status());
  }
  TFCKPT_ASSIGN_OR_RETURN(block_contents index_contents, read_block(file, bytes, footer.index, "index block"));
  TFCKPT_ASSIGN_OR_RETURN(const block_view index, block_view::parse(index_contents.bytes(), index_contents.location()));
  const block_location index_where = index_contents.location();
  table_blocks out;
  std::uint64_t next_block_min = 0;  // data blocks are laid out in order and do not overlap
  TFCKPT_RETURN_IF_ERROR(index.for_each([&](std::string_view separator, std::span<const std::byte> value,
                                            std::uint64_t pos) -> absl::Status {
    const std::size_t block_number = out.handles_.size();
    block_handle h;
    const std::byte* end = get_block_handle(value.data(), value.data() + value.size(), &h);
    if (end == nullptr) return index_where.error(pos, "bad block handle for data block %d", block_number);
    if (h.offset < next_block_min)
      return index_where.error(pos, "data block %d at %d overlaps the previous block (ends at %d)", block_number,
                               h.offset, next_block_min);
    if (!detail::block_fits(h, bytes.size()))
      return index_where.error(pos, "data block %d [%d, +%d) runs past the end of the %d-byte file", block_number,
                               h.offset, h.size, bytes.size());
    // The index block's own walk has checked that its keys, the separators, strictly increase.
    out.handles_.push_back(h);
    out.separators_.append(separator);
    out.separator_ends_.push_back(out.separators_.size());
    next_block_min = h.offset + h.size + kBlockTrailerSize;
    return absl::OkStatus();
  }));
  return out;
}

TFCKPT_DECL absl::StatusOr<table_footer> decode_footer(std::string_view file, std::span<const std::byte> bytes) {
  const std::uint64_t n = bytes.size();
  if (n < kFooterSize)
    return data_loss(file, 0, "%d bytes is too short for an SSTable (its footer alone is %d bytes)", n,
                     kFooterSize);
  const std::uint64_t footer_at = n - kFooterSize;
  const auto magic = tfckpt::detail::load_le<std::uint64_t>(bytes.data() + n - 8);
  if (magic != kTableMagic)
    return data_loss(file, n - 8, "bad table magic 0x%016x (expected 0x%016x): not an SSTable, or truncated",
                     magic, kTableMagic);
  table_footer f;
  const std::byte* p = bytes.data() + footer_at;
  const std::byte* const limit = bytes.data() + n - 8;
  p = get_block_handle(p, limit, &f.metaindex);
  if (p == nullptr) return data_loss(file, footer_at, "bad metaindex handle in the footer");
  const auto index_at = footer_at + static_cast<std::uint64_t>(p - (bytes.data() + footer_at));
  p = get_block_handle(p, limit, &f.index);
  if (p == nullptr) return data_loss(file, index_at, "bad index handle in the footer");
  if (!detail::block_fits(f.metaindex, footer_at))
    return data_loss(file, footer_at, "metaindex block [%d, +%d) overlaps the footer at %d",
                     f.metaindex.offset, f.metaindex.size, footer_at);
  if (!detail::block_fits(f.index, footer_at))
    return data_loss(file, index_at, "index block [%d, +%d) overlaps the footer at %d", f.index.offset,
                     f.index.size, footer_at);
  return f;
}

TFCKPT_DECL absl::StatusOr<block_contents> read_block(std::string_view file, std::span<const std::byte> bytes,
                                                      block_handle h, std::string_view what,
                                                      std::uint64_t bytes_offset) {
  if (bytes_offset != 0 && (h.offset < bytes_offset || !detail::block_fits({h.offset - bytes_offset, h.size}, bytes.size())))
    return data_loss(file, h.offset, "%s [%d, +%d) is outside the %d bytes read from offset %d", what, h.offset,
                     h.size, bytes.size(), bytes_offset);
  if (!detail::block_fits({h.offset - bytes_offset, h.size}, bytes.size()))
    return data_loss(file, h.offset, "%s [%d, +%d) runs past the end of the %d-byte file", what, h.offset,
                     h.size, bytes.size());
  const auto stored = bytes.subspan(static_cast<std::size_t>(h.offset - bytes_offset), static_cast<std::size_t>(h.size));
  const std::byte* trailer = stored.data() + stored.size();
  const auto type = static_cast<std::uint8_t>(trailer[0]);
  const std::uint32_t expected = crc32c_unmask(tfckpt::detail::load_le<std::uint32_t>(trailer + 1));
  const std::uint32_t actual = crc32c_extend(crc32c(stored), trailer, 1);
  if (actual != expected)
    return data_loss(file, h.offset + h.size,
                     "checksum mismatch in %s [%d, +%d): stored crc32c 0x%08x, computed 0x%08x "
                     "(the file is corrupt)",
                     what, h.offset, h.size, expected, actual);
  block_contents out;
  out.location_ = block_location{file, h.offset, false};
  if (type == kNoCompression) {
    out.bytes_ = stored;
    return out;
  }
  if (type != kSnappyCompression)
    return data_loss(file, h.offset + h.size, "%s has unknown compression type %d", what, type);
  const char* src = reinterpret_cast<const char*>(stored.data());
  std::size_t length = 0;
  // Validate before allocating: the stored length is untrusted, and snappy cannot expand data by
  // more than a small factor (a 2-byte copy emits at most 64 bytes).
  if (!snappy::GetUncompressedLength(src, stored.size(), &length) || length > 32 * stored.size() + 64 ||
      !snappy::IsValidCompressedBuffer(src, stored.size()))
    return data_loss(file, h.offset, "%s is not a valid snappy block", what);
  out.owned_ = std::make_unique_for_overwrite<std::byte[]>(length);
  if (!snappy::RawUncompress(src, stored.size(), reinterpret_cast<char*>(out.owned_.get())))
    return data_loss(file, h.offset, "%s failed to decompress", what);
  out.bytes_ = {out.owned_.get(), length};
  out.location_.decompressed = true;
  return out;
}

}  // namespace tfckpt::codec
#endif  // TFCKPT_COMPILE_CODEC_TABLE

#endif  // TFCKPT_CODEC_TABLE_HPP_
