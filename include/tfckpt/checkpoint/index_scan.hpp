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
/// the same metadata and the same checks of the index. Nothing is kept between visits; the
/// index's pages are released behind the scan, so memory does not grow with the number of tensors.
/// A V1 checkpoint, or a bundle holding partitioned tensors (whose slices must be linked first), is
/// opened whole and its entries visited. An error from `visit` stops the scan and is returned.
template <class Visit>
  requires std::is_invocable_r_v<absl::Status, Visit&, const index_record&>
absl::Status scan_index(const std::filesystem::path& path, Visit&& visit, open_options options = {});

/// An index to scan more than once (a listing that sizes its columns first): the path is resolved
/// once; a local index is mapped again for each scan and nothing is held between scans; a remote
/// one is fetched once, here, and its decoded entries are kept.
class index_scanner {
 public:
  static absl::StatusOr<index_scanner> open(const std::filesystem::path& path, open_options options = {});
  /// As scan_index(): visit(const index_record&) for every tensor, in key order.
  template <class Visit>
    requires std::is_invocable_r_v<absl::Status, Visit&, const index_record&>
  absl::Status scan(Visit&& visit) const;

 private:
  std::string prefix_;
  std::shared_ptr<const detail::bundle> loaded_;  // a remote index, fetched and decoded at open
};

// --- implementation ---

namespace detail {

template <class Visit>
absl::Status visit_loaded_entries(std::string prefix, Visit& visit) {
  TFCKPT_ASSIGN_OR_RETURN(std::unique_ptr<bundle> b, bundle::load(std::move(prefix)));
  for (std::size_t i = b->first_visible; i < b->all.size(); ++i)
    TFCKPT_RETURN_IF_ERROR(visit(index_record::of(b->all[i])));
  return absl::OkStatus();
}

// The V2 index of `prefix`, decoded and checked record by record as bundle::load does, without
// keeping the records.
template <class Visit>
absl::Status scan_bundle_index(std::string prefix, Visit& visit) {
  const std::string file = prefix + ".index";
  {
    std::error_code ec;
    // Not a V2 bundle (V1, or missing): the loader finds out which and says so.
    if (!std::filesystem::exists(file, ec)) return visit_loaded_entries(std::move(prefix), visit);
  }
  TFCKPT_ASSIGN_OR_RETURN(const io::mapped_file index, io::mapped_file::open(file));
  index.advise(io::access::sequential);
  const std::span<const std::byte> bytes = index.bytes();
  codec::bundle_header header;
  bool have_header = false;
  bool has_slices = false;
  codec::bundle_entry rec;
  std::vector<std::int64_t> dims;
  std::vector<codec::slice_extent> extents;
  std::vector<std::uint32_t> slice_ranks;
  constexpr std::uint64_t kReleaseStep = std::uint64_t{1} << 20;
  std::uint64_t released = 0;
  const absl::Status walked = codec::for_each_table_entry(
      file, bytes, [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) -> absl::Status {
        if (!have_header) {
          if (!key.empty())
            return data_loss(file, at, "the first key is '%s', not the bundle header (key \"\"): not a tensor bundle index",
                             printable_key(key));
          TFCKPT_ASSIGN_OR_RETURN(header, codec::decode_bundle_header(file, value, at));
          if (header.num_shards > kMaxShards)
            return data_loss(file, 0, "the bundle header claims %d shards (more than %d)", header.num_shards, kMaxShards);
          have_header = true;
          return absl::OkStatus();
        }
        // Slice entries sort first (their keys start with a 0 byte), before any tensor is visited.
        if (!key.empty() && key[0] == '\0') {
          has_slices = true;
          return absl::CancelledError();
        }
        dims.clear();
        extents.clear();
        slice_ranks.clear();
        TFCKPT_RETURN_IF_ERROR(with_key(codec::decode_bundle_entry(file, value, at, &rec, &dims, &extents, &slice_ranks), key));
        const shape_view shape(dims.data(), rec.rank);
        TFCKPT_ASSIGN_OR_RETURN(const std::uint64_t size,
                                check_index_record(file, key, at, header, rec, shape, extents, slice_ranks));
        if (rec.num_slices != 0)  // and no slice entries: what bundle::finish_load reports
          return with_key(data_loss(file, at, "slice 0 of this partitioned tensor has no stored entry"), key);
        TFCKPT_RETURN_IF_ERROR(visit(index_record{key, static_cast<tfckpt::dtype>(rec.dtype), shape, rec.shard_id,
                                                  static_cast<std::uint64_t>(rec.offset), size,
                                                  rec.has_crc32c ? rec.masked_crc32c : 0, 0, at}));
        if (at >= released + kReleaseStep) released = io::release_mapped_pages(bytes, released, at);
        return absl::OkStatus();
      });
  if (has_slices) return visit_loaded_entries(std::move(prefix), visit);
  TFCKPT_RETURN_IF_ERROR(walked);
  if (!have_header) return data_loss(file, 0, "the index has no bundle header (key \"\"): not a tensor bundle index");
  return absl::OkStatus();
}

}  // namespace detail

template <class Visit>
  requires std::is_invocable_r_v<absl::Status, Visit&, const index_record&>
absl::Status index_scanner::scan(Visit&& visit) const {
  if (loaded_ == nullptr) return detail::scan_bundle_index(prefix_, visit);
  for (std::size_t i = loaded_->first_visible; i < loaded_->all.size(); ++i)
    TFCKPT_RETURN_IF_ERROR(visit(index_record::of(loaded_->all[i])));
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
  return s;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_INDEX_SCAN

#endif  // TFCKPT_CHECKPOINT_INDEX_SCAN_HPP_
