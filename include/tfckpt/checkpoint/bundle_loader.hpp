// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/bundle_loader.hpp
//
// Loading a V2 checkpoint's index into a `detail::bundle`: every record decoded and checked against
// its dtype, shape and shard (V1 checkpoints go to checkpoint/v1_reader.hpp). Part of
// checkpoint/checkpoint.hpp; clients should ignore it.
#ifndef TFCKPT_CHECKPOINT_BUNDLE_LOADER_HPP_
#define TFCKPT_CHECKPOINT_BUNDLE_LOADER_HPP_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/bundle.hpp"
#include "tfckpt/checkpoint/prefix.hpp"
#include "tfckpt/checkpoint/v1_reader.hpp"
#include "tfckpt/codec/bundle_entry.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/io/memory.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"

namespace tfckpt {

namespace detail {

// What open() checks of one record on its own, against the header: a known dtype; for a stored
// tensor its shard, offset and size (fixed-size dtypes: exactly the shape's bytes); for a
// partitioned one each slice's extents within the shape. The links between a partitioned tensor
// and its slices are checked once every record is read (bundle::finish_load). Returns the payload
// size: as stored, or for a partitioned tensor that of the assembled tensor.
inline absl::StatusOr<std::uint64_t> check_index_record(const std::string& file, std::string_view key, std::uint64_t at,
                                                        const codec::bundle_header& header,
                                                        const codec::bundle_entry& rec, shape_view dims,
                                                        std::span<const codec::slice_extent> extents,
                                                        std::span<const std::uint32_t> slice_ranks) {
  auto fail = [&](const absl::FormatSpec<std::string, std::string>& fmt, const std::string& a, const std::string& c) {
    return with_key(data_loss(file, at, fmt, a, c), key);
  };
  const auto type = static_cast<tfckpt::dtype>(rec.dtype);
  if (!is_known_dtype(rec.dtype) || type == tfckpt::dtype::resource)
    return fail("unknown or unstorable dtype %s%s", std::to_string(rec.dtype), "");
  const auto n = checked_num_elements(dims);
  if (!n) return fail("the element count of shape %s overflows%s", shape_string(dims), "");
  if (rec.num_slices != 0) {
    const auto bytes_needed = checked_mul(*n, static_cast<std::int64_t>(element_size(type)));
    if (!bytes_needed) return fail("shape %s is too large%s", shape_string(dims), "");
    std::size_t extent = 0;
    for (const std::uint32_t rank : slice_ranks) {
      if (rank != rec.rank)
        return fail("a slice has %s extents, but the tensor has rank %s", std::to_string(rank),
                    std::to_string(rec.rank));
      for (std::uint32_t d = 0; d < rec.rank; ++d) {
        const codec::slice_extent& x = extents[extent + d];
        // Assembly places a slice at its starts; a whole dimension must start at 0.
        if (x.full() && x.start != 0)
          return fail("a whole-dimension slice extent starts at %s (dimension %s)", std::to_string(x.start),
                      std::to_string(d));
        if (x.full()) continue;
        if (x.start > dims[d] || x.length > dims[d] - x.start)
          return fail("slice extent %s lies outside shape %s",
                      absl::StrFormat("(%d, %d) of dimension %d", x.start, x.length, d), shape_string(dims));
      }
      extent += rec.rank;
    }
    return static_cast<std::uint64_t>(*bytes_needed);
  }
  const auto offset = static_cast<std::uint64_t>(rec.offset);
  const auto size = static_cast<std::uint64_t>(rec.size);
  if (rec.shard_id >= header.num_shards)
    return fail("entry is in shard %s, but the header declares %s shards", std::to_string(rec.shard_id),
                std::to_string(header.num_shards));
  if (offset > static_cast<std::uint64_t>(INT64_MAX) - size)
    return fail("offset %s + size %s overflows", std::to_string(offset), std::to_string(size));
  if (is_fixed_size(type)) {
    const auto need = checked_mul(*n, static_cast<std::int64_t>(element_size(type)));
    if (!need || static_cast<std::uint64_t>(*need) != size)
      return fail("size %s does not match %s", std::to_string(size),
                  absl::StrFormat("shape %s of %s (%s bytes)", shape_string(dims), dtype_name(type),
                                  need ? std::to_string(*need) : std::string("overflow")));
  } else if (type == tfckpt::dtype::string && (size < 4 || static_cast<std::uint64_t>(*n) > size - 4)) {
    return fail("string tensor of %s elements cannot fit in %s bytes", std::to_string(*n), std::to_string(size));
  }
  return size;
}

// Resolves `path` as open() does and loads the checkpoint. A URL that names a prefix has its index
// fetched in one request; only when there is no such index is the URL taken for a directory.
TFCKPT_DECL absl::StatusOr<std::unique_ptr<bundle>> open_bundle(const std::filesystem::path& path, const open_options& options);

}  // namespace detail

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_BUNDLE_LOADER)

namespace tfckpt::detail {

TFCKPT_DECL absl::StatusOr<std::unique_ptr<bundle>> bundle::load(std::string prefix, io::remote_store* store) {
  if (!io::is_remote_url(prefix) || store == nullptr) return load_once(std::move(prefix), store);
  // An index that fails its checks may have been damaged on the way: fetched once more before the
  // damage is reported.
  auto b = load_once(prefix, store);
  if (b.ok() || b.status().code() != absl::StatusCode::kDataLoss) return b;
  auto again = load_once(prefix, store);
  if (again.ok() || again.status().code() != absl::StatusCode::kDataLoss) return again;
  return absl::DataLossError(absl::StrCat(again.status().message(), " (fetched twice)"));
}

TFCKPT_DECL absl::StatusOr<std::unique_ptr<bundle>> open_bundle(const std::filesystem::path& path, const open_options& options) {
  // Used through a reference: g++ 12 at -O3 warns (maybe-uninitialized, a false positive) about a
  // string moved out of the StatusOr here.
  absl::StatusOr<std::string> resolved = resolve_prefix(path, options);
  if (!resolved.ok()) return resolved.status();
  std::string& prefix = *resolved;
  if (!io::is_remote_url(prefix)) return bundle::load(std::move(prefix));
  TFCKPT_ASSIGN_OR_RETURN(io::remote_store* store, store_for(prefix, options));
  const std::string given = path.string();
  auto b = bundle::load(prefix, store);
  if (b.ok() || b.status().code() != absl::StatusCode::kNotFound || given.ends_with('/') || given.ends_with(".index"))
    return b;
  auto in_directory = resolve_remote_directory(prefix, options);
  if (!in_directory.ok()) return in_directory.status();
  return bundle::load(*std::move(in_directory), store);
}

TFCKPT_DECL absl::StatusOr<std::unique_ptr<bundle>> bundle::load_once(std::string prefix, io::remote_store* store) {
  const bool remote = io::is_remote_url(prefix);
  if (!remote) {
    std::error_code ec;
    if (!std::filesystem::exists(prefix + ".index", ec)) {
      const std::vector<std::string> v1_files = list_v1_files(prefix);
      if (!v1_files.empty()) return load_v1(std::move(prefix), v1_files);
    }
  } else if (store == nullptr) {
    return no_remote_store(prefix);
  }
  auto b = std::make_unique<bundle>();
  b->prefix = std::move(prefix);
  b->index_file = b->prefix + ".index";
  const std::string& file = b->index_file;
  std::span<const std::byte> bytes;
  if (remote) {
    // One request: the index is needed whole, and its size is unknown until the footer is read.
    constexpr std::uint64_t kIndexLimit = std::uint64_t{4} << 30;
    auto got = store->read_all(file, kIndexLimit);
    if (!got.ok() && got.status().code() == absl::StatusCode::kNotFound) {
      // No index: a V1 checkpoint is one SSTable named by the prefix itself (sharded V1 checkpoints,
      // `<prefix>-NNNNN-of-NNNNN`, need a directory listing, which object stores do not give).
      auto v1 = load_v1(b->prefix, {b->prefix}, store);
      if (v1.ok()) return v1;
      if (v1.status().code() == absl::StatusCode::kDataLoss && !absl::StrContains(v1.status().message(), "an SSTable"))
        return v1;  // a V1 checkpoint, damaged
      return absl::NotFoundError(absl::StrFormat("%s: no such object: no checkpoint with prefix %s", file, b->prefix));
    }
    TFCKPT_ASSIGN_OR_RETURN(b->index_copy, std::move(got));
    b->store = store;
    bytes = std::as_bytes(std::span<const char>(b->index_copy));
  } else {
    TFCKPT_ASSIGN_OR_RETURN(b->index, io::mapped_file::open(file));
    b->index.advise(io::access::sequential);
    bytes = b->index.bytes();
  }
  // Entries address the key and dims arenas by position. Reserving is cheap (untouched pages cost
  // nothing) and spares the copies of growing.
  b->keys.reserve(bytes.size());
  b->dims.reserve(bytes.size() / 8);
  b->all.reserve(bytes.size() / 24);  // a record with its key takes ~30 bytes of index
  // A large index fills tens of MiB of these: huge pages spare a page fault per 4 KiB (a fifth of
  // the time of `tfckpt ls` on 1,000,000 entries).
  io::advise_huge_pages(b->all.data(), b->all.capacity() * sizeof(entry));
  io::advise_huge_pages(b->keys.data(), b->keys.capacity());
  io::advise_huge_pages(b->dims.data(), b->dims.capacity() * sizeof(std::int64_t));
  std::vector<std::uint32_t> slice_ranks;
  constexpr std::uint64_t kReleaseStep = std::uint64_t{1} << 20;
  std::uint64_t released = 0;
  bool have_header = false;
  codec::bundle_entry rec;
  absl::Status walked = codec::for_each_table_entry(
      file, bytes, [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) -> absl::Status {
        if (!have_header) {
          if (!key.empty())
            return data_loss(file, at, "the first key is '%s', not the bundle header (key \"\"): not a tensor bundle index",
                             printable_key(key));
          TFCKPT_ASSIGN_OR_RETURN(b->header, codec::decode_bundle_header(file, value, at));
          if (b->header.num_shards > kMaxShards)
            return data_loss(file, 0, "the bundle header claims %d shards (more than %d)", b->header.num_shards,
                             kMaxShards);
          have_header = true;
          return absl::OkStatus();
        }
        const std::size_t dims_pos = b->dims.size();
        const std::size_t ranks_before = slice_ranks.size();
        const std::size_t extents_before = b->extents.size();
        TFCKPT_RETURN_IF_ERROR(
            with_key(codec::decode_bundle_entry(file, value, at, &rec, &b->dims, &b->extents, &slice_ranks), key));
        const shape_view dims(b->dims.data() + dims_pos, rec.rank);
        TFCKPT_ASSIGN_OR_RETURN(
            const std::uint64_t size,
            check_index_record(file, key, at, b->header, rec, dims,
                               std::span(b->extents).subspan(extents_before),
                               std::span(slice_ranks).subspan(ranks_before)));
        entry e;
        e.index_offset_ = at;
        e.dtype_ = static_cast<tfckpt::dtype>(rec.dtype);
        e.shard_ = rec.shard_id;
        e.offset_ = static_cast<std::uint64_t>(rec.offset);
        e.size_ = size;
        e.masked_crc32c_ = rec.has_crc32c ? rec.masked_crc32c : 0;  // proto3 omits a zero field
        if (rec.num_slices != 0) {
          e.offset_ = b->slices.size();  // first_slice()
          e.num_slices_ = rec.num_slices;
          e.shard_ = 0;
          for (std::size_t s = ranks_before, extent = extents_before; s < slice_ranks.size(); ++s, extent += rec.rank)
            b->slices.push_back(slice_ref{static_cast<std::uint32_t>(extent), 0});
        }
        const std::size_t key_pos = b->keys.size();
        if (key.size() >= UINT32_MAX - key_pos || dims_pos > UINT32_MAX - rec.rank)
          return with_key(data_loss(file, at, "the names or shapes of the index exceed 4 GiB"), key);
        b->keys.append(key);
        b->keys.push_back('\0');  // so that a name can be lent as a C string (cow_string::borrow)
        e.owner_ = b.get();
        e.name_at_ = static_cast<std::uint32_t>(key_pos);
        e.name_size_ = static_cast<std::uint32_t>(key.size());
        e.dims_at_ = static_cast<std::uint32_t>(dims_pos);
        e.rank_ = rec.rank;
        b->all.push_back(e);
        // What is decoded is not read again: let the pages behind go, so that the resident set
        // holds the decoded entries only, not the index file as well.
        if (!remote && at >= released + kReleaseStep) released = io::release_mapped_pages(bytes, released, at);
        return absl::OkStatus();
      },
      &b->index_stats);
  TFCKPT_RETURN_IF_ERROR(walked);
  if (!have_header) return data_loss(file, 0, "the index has no bundle header (key \"\"): not a tensor bundle index");

  TFCKPT_RETURN_IF_ERROR(b->finish_load());
  if (remote) b->fetched = std::make_unique<std::atomic<bool>[]>(b->all.size());
  return b;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_CHECKPOINT_BUNDLE_LOADER

#endif  // TFCKPT_CHECKPOINT_BUNDLE_LOADER_HPP_
