// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/index_scan.hpp
//
// A checkpoint's tensor list without keeping it: scan_index() visits each tensor's metadata as it
// decodes the index, with the checks open() applies, and forgets it after the visit. Listing a
// million tensors then needs a few MiB instead of the ~100 MiB that open()'s entries take. For
// tools that only look at names, dtypes, shapes and locations (`tfckpt ls`); whatever reads tensor
// bytes opens the checkpoint.
//
// Example:
//   std::int64_t bytes = 0;
//   TFCKPT_RETURN_IF_ERROR(tfckpt::scan_index(path, [&](const tfckpt::index_record& r) {
//     if (r.name.starts_with("encoder/")) bytes += static_cast<std::int64_t>(r.size);
//     return absl::OkStatus();
//   }));
#ifndef TFCKPT_CHECKPOINT_INDEX_SCAN_HPP_
#define TFCKPT_CHECKPOINT_INDEX_SCAN_HPP_

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "tfckpt/checkpoint/bundle_loader.hpp"
#include "tfckpt/checkpoint/entry.hpp"
#include "tfckpt/checkpoint/prefix.hpp"
#include "tfckpt/codec/bundle_entry.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/io/memory.hpp"
#include "tfckpt/io/remote_store.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"

namespace tfckpt {

/// One tensor as scan_index() sees it: what checkpoint::entries() would say of it. The views point
/// into the scan's buffers and are valid during the visit only.
struct index_record {
  std::string_view name;
  tfckpt::dtype dtype = tfckpt::dtype::invalid;
  shape_view shape;
  std::int32_t shard = 0;       // as entry::shard()
  std::uint64_t offset = 0;     // as entry::offset()
  std::uint64_t size = 0;       // as entry::size()
  std::uint32_t stored_crc32c = 0;
  std::uint32_t num_slices = 0;  // non-zero for a partitioned tensor
  std::uint64_t index_offset = 0;

  bool is_partitioned() const { return num_slices != 0; }
  static index_record of(const entry& e) {
    return {e.name(),  e.dtype(),         e.shape(),      e.shard(),        e.offset(),
            e.size(),  e.stored_crc32c(), e.num_slices(), e.index_offset()};
  }
};

/// Calls visit(const index_record&) -> absl::Status for every tensor of the checkpoint at `path`
/// (resolved as open() resolves it), in key order: the tensors checkpoint::entries() lists, with
/// the same metadata and the same checks of the index. Nothing is kept between visits; the index
/// is read a window of blocks at a time (at most 1 MiB), so memory does not grow with the number
/// of tensors.
/// A V1 checkpoint, or a bundle holding partitioned tensors (whose slices must be linked first), is
/// opened whole and its entries visited. An error from `visit` stops the scan and is returned.
template <class Visit>
  requires std::is_invocable_r_v<absl::Status, Visit&, const index_record&>
absl::Status scan_index(const std::filesystem::path& path, Visit&& visit, open_options options = {});

/// A run of an index's tensors in key order, as index_scanner::split() cuts it.
struct index_part {
  std::size_t begin = 0;  // data blocks of a local index, or entries of a loaded one
  std::size_t end = 0;
};

/// An index to scan more than once, or in parts on several threads (a listing that sizes its
/// columns first; `tfckpt ls`). Opening resolves the path, maps a local index and checks what
/// concerns it as a whole (the table's footer and block list, the bundle header); each scan then
/// decodes and checks the records it visits, reading the blocks a window of at most 1 MiB at a time
/// (one buffer per thread), so memory does not grow with the number of tensors. A remote index is fetched
/// once, here, and its decoded entries are kept; so are those of a V1 checkpoint and of a bundle
/// holding partitioned tensors (whose slices must be linked first).
class index_scanner {
 public:
  static absl::StatusOr<index_scanner> open(const std::filesystem::path& path, open_options options = {});

  /// As scan_index(): visit(const index_record&) for every tensor, in key order.
  template <class Visit>
    requires std::is_invocable_r_v<absl::Status, Visit&, const index_record&>
  absl::Status scan(Visit&& visit) const {
    return scan(index_part{0, num_units()}, visit);
  }

  /// Cuts the index into at most `n` parts of about equal size, in key order. Scanning them one
  /// after another visits, and checks, exactly what scan() does; each part may be scanned on its own
  /// thread, at the same time as the others.
  std::vector<index_part> split(std::size_t n) const;

  /// visit(const index_record&) for every tensor of `part`, in key order; stops at the first error.
  template <class Visit>
    requires std::is_invocable_r_v<absl::Status, Visit&, const index_record&>
  absl::Status scan(const index_part& part, Visit&& visit) const;

  /// Bytes of index that scans decode: the local index file's size; 0 for entries decoded at open.
  std::uint64_t index_size() const { return local_ != nullptr ? local_->map.bytes().size() : 0; }

  /// The checkpoint's prefix, as open() resolved it.
  const std::string& prefix() const { return prefix_; }

 private:
  struct local_index {
    std::string file;  // PREFIX.index
    io::mapped_file map;
    codec::table_blocks blocks;
    codec::bundle_header header;
  };
  std::size_t num_units() const {
    return local_ != nullptr ? local_->blocks.size() : loaded_->all.size() - loaded_->first_visible;
  }

  std::string prefix_;
  std::shared_ptr<const local_index> local_;      // a V2 index on this machine, without slices
  std::shared_ptr<const detail::bundle> loaded_;  // otherwise: the index fetched and decoded at open
};

// --- implementation ---

template <class Visit>
  requires std::is_invocable_r_v<absl::Status, Visit&, const index_record&>
absl::Status index_scanner::scan(const index_part& part, Visit&& visit) const {
  if (loaded_ != nullptr) {
    for (std::size_t i = part.begin; i < part.end; ++i)
      TFCKPT_RETURN_IF_ERROR(visit(index_record::of(loaded_->all[loaded_->first_visible + i])));
    return absl::OkStatus();
  }
  if (part.begin >= part.end) return absl::OkStatus();
  // Records decoded and checked as bundle::load does, without keeping them.
  const std::string& file = local_->file;
  const codec::table_blocks& blocks = local_->blocks;
  const codec::bundle_header& header = local_->header;
  codec::bundle_entry rec;
  std::vector<std::int64_t> dims;
  std::vector<codec::slice_extent> extents;
  std::vector<std::uint32_t> slice_ranks;
  const auto visit_entry = [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) -> absl::Status {
    // The header (the first key, "") was decoded at open; open() also found that no slice entries
    // follow it (keys starting with a 0 byte), so every other key is a tensor.
    if (key.empty()) return absl::OkStatus();
    dims.clear();
    extents.clear();
    slice_ranks.clear();
    TFCKPT_RETURN_IF_ERROR(with_key(codec::decode_bundle_entry(file, value, at, &rec, &dims, &extents, &slice_ranks), key));
    const shape_view shape(dims.data(), rec.rank);
    TFCKPT_ASSIGN_OR_RETURN(const std::uint64_t size,
                            detail::check_index_record(file, key, at, header, rec, shape, extents, slice_ranks));
    if (rec.num_slices != 0)  // and no slice entries: what bundle::finish_load reports
      return with_key(data_loss(file, at, "slice 0 of this partitioned tensor has no stored entry"), key);
    return visit(index_record{key, static_cast<tfckpt::dtype>(rec.dtype), shape, rec.shard_id,
                              static_cast<std::uint64_t>(rec.offset), size, rec.has_crc32c ? rec.masked_crc32c : 0, 0,
                              at});
  };
  // The blocks are copied out with pread, up to 1 MiB of them at a time, into a buffer each thread
  // keeps: reading them through the mapping instead cost 2.7 times as much on a host where the
  // first touch of a mapped page is slow (a 31 MB index: 20 ms of page touches against 7.5 ms of
  // reads), and left the index's pages resident.
  constexpr std::uint64_t kWindow = std::uint64_t{1} << 20;
  thread_local std::unique_ptr<std::byte[]> window;
  thread_local std::uint64_t window_capacity = 0;
  const auto block_end = [&blocks](std::size_t i) {
    return blocks.handle(i).offset + blocks.handle(i).size + codec::kBlockTrailerSize;
  };
  for (std::size_t first = part.begin; first < part.end;) {
    const std::uint64_t from = blocks.handle(first).offset;
    std::size_t last = first + 1;
    while (last < part.end && block_end(last) - from <= kWindow) ++last;
    const std::uint64_t length = block_end(last - 1) - from;
    if (window_capacity < length) {
      window = std::make_unique_for_overwrite<std::byte[]>(static_cast<std::size_t>(length));
      window_capacity = length;
    }
    const std::span<std::byte> bytes(window.get(), static_cast<std::size_t>(length));
    TFCKPT_RETURN_IF_ERROR(local_->map.read(from, bytes));
    TFCKPT_RETURN_IF_ERROR(codec::for_each_block_entry(file, bytes, blocks, first, last, visit_entry, nullptr, from));
    first = last;
  }
  return absl::OkStatus();
}

template <class Visit>
  requires std::is_invocable_r_v<absl::Status, Visit&, const index_record&>
absl::Status scan_index(const std::filesystem::path& path, Visit&& visit, open_options options) {
  TFCKPT_ASSIGN_OR_RETURN(const index_scanner index, index_scanner::open(path, options));
  return index.scan(visit);
}

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_INDEX_SCAN)

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<index_scanner> index_scanner::open(const std::filesystem::path& path, open_options options) {
  index_scanner s;
  // A remote index is read whole in one request anyway: the loader's walk is the scan.
  if (io::is_remote_url(path.string())) {
    TFCKPT_ASSIGN_OR_RETURN(std::unique_ptr<detail::bundle> b, detail::open_bundle(path, options));
    s.prefix_ = b->prefix;
    s.loaded_ = std::move(b);
    return s;
  }
  TFCKPT_ASSIGN_OR_RETURN(s.prefix_, detail::resolve_prefix(path, options));
  const auto load_whole = [&s]() -> absl::StatusOr<index_scanner> {
    TFCKPT_ASSIGN_OR_RETURN(std::unique_ptr<detail::bundle> b, detail::bundle::load(s.prefix_));
    s.local_.reset();
    s.loaded_ = std::move(b);
    return std::move(s);
  };
  auto local = std::make_shared<local_index>();
  local->file = s.prefix_ + ".index";
  {
    std::error_code ec;
    // Not a V2 bundle (V1, or missing): the loader finds out which and says so.
    if (!std::filesystem::exists(local->file, ec)) return load_whole();
  }
  TFCKPT_ASSIGN_OR_RETURN(local->map, io::mapped_file::open(local->file));
  const std::string& file = local->file;
  const std::span<const std::byte> bytes = local->map.bytes();
  TFCKPT_ASSIGN_OR_RETURN(local->blocks, codec::table_blocks::read(file, bytes));
  // The header, then the first tensor's key: the checks bundle::load makes of them, in its order.
  bool have_header = false;
  bool has_slices = false;
  const absl::Status walked = codec::for_each_block_entry(
      file, bytes, local->blocks, 0, local->blocks.size(),
      [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) -> absl::Status {
        if (have_header) {
          // Slice entries sort first (their keys start with a 0 byte), before any tensor.
          has_slices = !key.empty() && key[0] == '\0';
          return absl::CancelledError();
        }
        if (!key.empty())
          return data_loss(file, at, "the first key is '%s', not the bundle header (key \"\"): not a tensor bundle index",
                           printable_key(key));
        TFCKPT_ASSIGN_OR_RETURN(local->header, codec::decode_bundle_header(file, value, at));
        if (local->header.num_shards > detail::kMaxShards)
          return data_loss(file, 0, "the bundle header claims %d shards (more than %d)", local->header.num_shards,
                           detail::kMaxShards);
        have_header = true;
        return absl::OkStatus();
      });
  if (!walked.ok() && !absl::IsCancelled(walked)) return walked;
  if (!have_header) return data_loss(file, 0, "the index has no bundle header (key \"\"): not a tensor bundle index");
  if (has_slices) return load_whole();
  s.local_ = std::move(local);
  return s;
}

TFCKPT_DECL std::vector<index_part> index_scanner::split(std::size_t n) const {
  const std::size_t units = num_units();
  n = std::max<std::size_t>(1, std::min(n, units));
  std::vector<index_part> parts;
  if (units == 0) {
    parts.push_back({});
    return parts;
  }
  if (local_ == nullptr) {  // decoded entries: equal counts
    for (std::size_t i = 0; i < n; ++i) parts.push_back({units * i / n, units * (i + 1) / n});
    return parts;
  }
  // Blocks: about equal bytes of index each.
  const codec::table_blocks& blocks = local_->blocks;
  const std::uint64_t first = blocks.handle(0).offset;
  const std::uint64_t total = blocks.handle(units - 1).offset + blocks.handle(units - 1).size - first;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < units; ++i) {
    const std::uint64_t done = blocks.handle(i).offset + blocks.handle(i).size - first;
    if (parts.size() + 1 < n && done * n >= total * (parts.size() + 1)) {
      parts.push_back({begin, i + 1});
      begin = i + 1;
    }
  }
  if (begin < units) parts.push_back({begin, units});
  return parts;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_INDEX_SCAN

#endif  // TFCKPT_CHECKPOINT_INDEX_SCAN_HPP_
