// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/merge.hpp
//
// Merging several tensor bundles into one checkpoint, as TensorFlow's MergeBundles does after a
// sharded or multi-device save (spec/FORMAT.md §3.10): every shard is written as its own bundle
// (`P_temp/part-00000-of-00002`, …), then their index records are combined into `P.index` and
// their data files are renamed to `P.data-0000i-of-0000N`. No tensor byte is copied.
//
//   inputs, in order     header: num_shards summed; endianness and VersionDef bytes must agree
//   records, key order   new key: shard_id renumbered (data files numbered in first-seen order)
//                        key seen, partitioned both times: slices appended (dtype, shape equal)
//                        key seen otherwise: duplicate tensor, an error
//   output               data files renamed, then `P.index` (TensorFlow's table options)
//   cleanup              input `.index` files deleted, input directories removed when empty
//
// As in TensorFlow, an input with no tensors still adds its num_shards to the header while its
// data file is not renamed, so the header's count then disagrees with the data files' names and
// readers (TensorFlow's and ours, which name shards by the header's count) cannot find the data
// (spec §8 pitfall 12). Merge bundles that have tensors.
//
// Example:
//   const std::vector<std::string> parts = {"out/model_temp/part-00000-of-00002",
//                                           "out/model_temp/part-00001-of-00002"};
//   TFCKPT_RETURN_IF_ERROR(tfckpt::merge_bundles(parts, "out/model"));   // out/model.index, .data-*
#ifndef TFCKPT_CHECKPOINT_MERGE_HPP_
#define TFCKPT_CHECKPOINT_MERGE_HPP_

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/state_file.hpp"
#include "tfckpt/codec/bundle_entry.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/codec/table_builder.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/io/file_ops.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"
#include "tfckpt/status.hpp"

namespace tfckpt {

struct merge_options {
  /// Skip inputs whose `.index` does not exist (at least one must); otherwise a missing input is
  /// kNotFound. TensorFlow's `allow_missing_files`.
  bool allow_missing_files = false;
  /// After the merge, delete the inputs' `.index` files (their data files have moved, so they
  /// name nothing any more) and remove input directories other than the output's that are left
  /// empty (TensorFlow's MergeV2Checkpoints with delete_old_dirs). Best effort: failures are
  /// ignored. When false, both stay behind.
  bool delete_inputs = true;
  /// fsync the new index and the directories whose entries changed.
  bool sync = true;
};

/// Merges the bundles at `prefixes` (in that order) into `merged_prefix`, creating its directory.
/// Inputs may live in other directories. Everything is read and checked, and the merged index
/// written under a temporary name, before the first data file moves: an error up to then
/// (kNotFound for a missing input or data file, kInvalidArgument for bundles that cannot be
/// merged: duplicate tensors, mismatched partitioned tensors, different endianness or versions,
/// an output that is one of the inputs; kDataLoss for a corrupt index) leaves every input as it
/// was. A failing rename is undone as far as possible. An existing checkpoint at `merged_prefix`
/// is replaced, as TensorFlow does.
TFCKPT_DECL absl::Status merge_bundles(std::span<const std::string> prefixes, const std::string& merged_prefix,
                                       merge_options options = {});

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.
// ---------------------------------------------------------------------------------------------

namespace detail {

struct merge_state {
  bool seen_first = false;
  std::string first_index;              // for messages
  std::int64_t num_shards = 0;          // summed over the inputs
  tensorflow::BundleHeaderProto::Endianness endianness = tensorflow::BundleHeaderProto::LITTLE;
  tensorflow::VersionDef version;
  std::string version_bytes;            // compared as serialized bytes, as TensorFlow does
  std::map<std::string, tensorflow::BundleEntryProto> entries;  // bytewise key order
  std::map<std::string, std::string> source;                    // key -> index file it came from
  std::map<std::string, std::int32_t> shard_ids;                // old data file -> new shard id
  std::vector<std::string> data_files;                          // old data files, first seen first
  std::vector<std::string> data_file_index;                     // the index naming each, for messages
};

inline std::vector<std::int64_t> proto_dims(const tensorflow::TensorShapeProto& shape) {
  std::vector<std::int64_t> dims;
  for (const auto& d : shape.dim()) dims.push_back(d.size());
  return dims;
}

// TensorFlow's MergeOneBundle: folds one input's header and records into `m`.
TFCKPT_DECL absl::Status merge_one_bundle(const std::string& prefix, merge_state* m);

inline std::filesystem::path directory_of(const std::string& prefix) {
  const std::filesystem::path p(prefix);
  return p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
}

}  // namespace detail

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_MERGE)

namespace tfckpt::detail {

TFCKPT_DECL absl::Status merge_one_bundle(const std::string& prefix, merge_state* m) {
  const std::string file = prefix + ".index";
  TFCKPT_ASSIGN_OR_RETURN(const io::mapped_file index, io::mapped_file::open(file));
  bool have_header = false;
  std::int32_t num_shards = 0;
  std::vector<std::int64_t> dims;
  std::vector<codec::slice_extent> extents;
  std::vector<std::uint32_t> slice_ranks;
  codec::bundle_entry rec;
  absl::Status walked = codec::for_each_table_entry(
      file, index.bytes(), [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) -> absl::Status {
        if (!have_header) {
          if (!key.empty())
            return data_loss(file, at, "the first key is '%s', not the bundle header (key \"\"): not a tensor bundle index",
                             printable_key(key));
          TFCKPT_ASSIGN_OR_RETURN(const codec::bundle_header h, codec::decode_bundle_header(file, value, at));
          tensorflow::BundleHeaderProto header;
          if (!header.ParseFromArray(value.data(), static_cast<int>(value.size())))
            return data_loss(file, at, "the bundle header does not parse as BundleHeaderProto");
          have_header = true;
          num_shards = h.num_shards;
          std::string version = header.version().SerializeAsString();
          if (!m->seen_first) {
            m->seen_first = true;
            m->first_index = file;
            m->endianness = header.endianness();
            m->version = header.version();
            m->version_bytes = std::move(version);
          } else if (header.endianness() != m->endianness) {
            return absl::InvalidArgumentError(absl::StrFormat(
                "%s @%d: bundle is %s-endian, but %s is %s-endian: bundles of different byte order cannot be merged",
                file, at, h.big_endian ? "big" : "little", m->first_index,
                m->endianness == tensorflow::BundleHeaderProto::BIG ? "big" : "little"));
          } else if (version != m->version_bytes) {
            return absl::InvalidArgumentError(absl::StrFormat(
                "%s @%d: bundle version {producer %d, min_consumer %d} differs from %s's {producer %d, min_consumer "
                "%d}: every bundle in a merge must have the same version",
                file, at, header.version().producer(), header.version().min_consumer(), m->first_index,
                m->version.producer(), m->version.min_consumer()));
          }
          m->num_shards += h.num_shards;
          return absl::OkStatus();
        }
        dims.clear();
        extents.clear();
        slice_ranks.clear();
        TFCKPT_RETURN_IF_ERROR(
            with_key(codec::decode_bundle_entry(file, value, at, &rec, &dims, &extents, &slice_ranks), key));
        tensorflow::BundleEntryProto entry;
        if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size())))
          return with_key(data_loss(file, at, "the record does not parse as BundleEntryProto"), key);
        const auto existing = m->entries.find(std::string(key));
        if (existing != m->entries.end()) {
          tensorflow::BundleEntryProto& have = existing->second;
          const std::string& first = m->source[existing->first];
          if (have.slices_size() == 0)
            return with_key(absl::InvalidArgumentError(absl::StrFormat(
                                "%s @%d: duplicate tensor: %s already has it; a tensor may be in one bundle only", file,
                                at, first)),
                            key);
          if (entry.slices_size() == 0)
            return with_key(absl::InvalidArgumentError(absl::StrFormat(
                                "%s @%d: tensor is partitioned in %s but stored whole here", file, at, first)),
                            key);
          if (have.dtype() != entry.dtype() || proto_dims(have.shape()) != proto_dims(entry.shape()))
            return with_key(absl::InvalidArgumentError(absl::StrFormat(
                                "%s @%d: partitioned tensor is %s %s here but %s %s in %s", file, at,
                                dtype_name(static_cast<tfckpt::dtype>(entry.dtype())),
                                shape_string(proto_dims(entry.shape())),
                                dtype_name(static_cast<tfckpt::dtype>(have.dtype())),
                                shape_string(proto_dims(have.shape())), first)),
                            key);
          for (const auto& slice : entry.slices()) *have.add_slices() = slice;
          return absl::OkStatus();
        }
        // A new record. TensorFlow also gives a partitioned full entry (which has no data) the data
        // file of its shard_id (0): kept, so that merged bytes equal TensorFlow's.
        if (entry.shard_id() >= num_shards)
          return with_key(data_loss(file, at, "entry is in shard %d, but the header declares %d shards", entry.shard_id(),
                                    num_shards),
                          key);
        const std::string old_file = data_file_name(prefix, entry.shard_id(), num_shards);
        const auto [slot, inserted] =
            m->shard_ids.emplace(old_file, static_cast<std::int32_t>(m->data_files.size()));
        if (inserted) {
          m->data_files.push_back(old_file);
          m->data_file_index.push_back(file);
        }
        entry.set_shard_id(slot->second);
        m->source.emplace(std::string(key), file);
        m->entries.emplace(std::string(key), std::move(entry));
        return absl::OkStatus();
      });
  TFCKPT_RETURN_IF_ERROR(walked);
  if (!have_header) return data_loss(file, 0, "the index has no bundle header (key \"\"): not a tensor bundle index");
  return absl::OkStatus();
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL absl::Status merge_bundles(std::span<const std::string> prefixes, const std::string& merged_prefix,
                                       merge_options options) {
  namespace fs = std::filesystem;
  if (prefixes.empty()) return absl::InvalidArgumentError("merge_bundles: no bundles to merge");
  if (merged_prefix.empty()) return absl::InvalidArgumentError("merge_bundles: the merged prefix is empty");
  {
    std::set<fs::path> seen;
    const fs::path out = detail::normal_absolute(merged_prefix);
    for (const std::string& p : prefixes) {
      const fs::path in = detail::normal_absolute(p);
      if (in == out)
        return absl::InvalidArgumentError(absl::StrFormat(
            "merge_bundles: the merged prefix %s is also an input; merge into a new prefix", merged_prefix));
      if (!seen.insert(in).second)
        return absl::InvalidArgumentError(absl::StrFormat("merge_bundles: %s is listed twice", p));
    }
  }
  const fs::path merged_dir = detail::directory_of(merged_prefix);
  std::error_code ec;
  fs::create_directories(merged_dir, ec);
  if (ec) return io::errno_status(merged_dir.string(), "create directory", ec.value());

  // 1. Read and check every input.
  detail::merge_state m;
  bool any = false;
  for (const std::string& prefix : prefixes) {
    if (!fs::exists(prefix + ".index", ec)) {
      if (options.allow_missing_files) continue;
      return absl::NotFoundError(absl::StrFormat("%s.index: no bundle to merge at prefix %s", prefix, prefix));
    }
    any = true;
    TFCKPT_RETURN_IF_ERROR(detail::merge_one_bundle(prefix, &m));
  }
  if (!any)
    return absl::NotFoundError(
        absl::StrFormat("merge_bundles: none of the %d bundles exists (first: %s.index)", prefixes.size(), prefixes[0]));
  if (m.num_shards > detail::kMaxShards)
    return absl::InvalidArgumentError(
        absl::StrFormat("merge_bundles: the inputs have %d shards in all, more than %d", m.num_shards, detail::kMaxShards));

  // 2. Where each data file goes, checked before anything moves.
  const auto count = static_cast<std::int32_t>(m.data_files.size());
  std::vector<std::string> targets;
  std::set<fs::path> sources;
  for (std::size_t i = 0; i < m.data_files.size(); ++i) {
    const std::string& f = m.data_files[i];
    if (absl::Status exists = io::check_exists(f); !exists.ok()) {
      if (absl::IsNotFound(exists))
        return absl::NotFoundError(
            absl::StrFormat("%s: data file is missing, but %s names tensors in it", f, m.data_file_index[i]));
      return exists;
    }
    sources.insert(detail::normal_absolute(f));
  }
  for (std::int32_t i = 0; i < count; ++i) {
    targets.push_back(data_file_name(merged_prefix, i, count));
    if (sources.count(detail::normal_absolute(targets.back())))
      return absl::InvalidArgumentError(absl::StrFormat(
          "merge_bundles: %s is an input's data file and would be overwritten; merge into another prefix",
          targets.back()));
  }

  // 3. The merged index, under a temporary name until the data is in place.
  TFCKPT_ASSIGN_OR_RETURN(io::temp_file index, io::temp_file::create(merged_prefix + ".index"));
  {
    codec::table_builder table(codec::table_options{}, [&](std::string_view b) { return index.append(b); });
    tensorflow::BundleHeaderProto header;
    header.set_num_shards(static_cast<std::int32_t>(m.num_shards));
    header.set_endianness(m.endianness);
    *header.mutable_version() = m.version;
    TFCKPT_RETURN_IF_ERROR(table.add("", header.SerializeAsString()));
    for (const auto& [key, entry] : m.entries) TFCKPT_RETURN_IF_ERROR(table.add(key, entry.SerializeAsString()));
    TFCKPT_RETURN_IF_ERROR(table.finish());
  }
  TFCKPT_RETURN_IF_ERROR(index.finish(options.sync));

  // 4. Move the data files; on failure, move back what moved.
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (const absl::Status s = io::rename_file(m.data_files[i], targets[i]); !s.ok()) {
      std::size_t undone = 0;
      for (std::size_t j = i; j-- > 0;) undone += io::rename_file(targets[j], m.data_files[j]).ok() ? 1 : 0;
      return absl::Status(s.code(), absl::StrFormat("%s (merge abandoned; %d of %d data files moved back)", s.message(),
                                                    undone, i));
    }
  }
  TFCKPT_RETURN_IF_ERROR(index.commit());
  if (options.sync) {
    TFCKPT_RETURN_IF_ERROR(io::sync_directory(merged_dir));
    std::set<fs::path> synced = {detail::normal_absolute(merged_dir)};
    for (const std::string& f : m.data_files) {
      const fs::path dir = detail::directory_of(f);
      if (synced.insert(detail::normal_absolute(dir)).second) TFCKPT_RETURN_IF_ERROR(io::sync_directory(dir));
    }
  }

  // 5. Clean up, best effort.
  if (options.delete_inputs) {
    for (const std::string& prefix : prefixes) (void)io::remove_file(prefix + ".index");
    const fs::path out_dir = detail::normal_absolute(merged_dir);
    for (const std::string& prefix : prefixes) {
      const fs::path dir = detail::directory_of(prefix);
      if (detail::normal_absolute(dir) != out_dir) io::remove_empty_directory(dir.string());
    }
  }
  return absl::OkStatus();
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_MERGE

#endif  // TFCKPT_CHECKPOINT_MERGE_HPP_
