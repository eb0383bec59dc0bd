// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/prefix.hpp
//
// What `open()` accepts and how it finds the checkpoint: a prefix, its `.index`, a directory with a
// `checkpoint` state file, a SavedModel directory, or a V1 checkpoint; and the messages for the usual
// mistakes (a `.data-*` path, a `.meta` file, a missing index). Part of checkpoint/checkpoint.hpp.
#ifndef TFCKPT_CHECKPOINT_PREFIX_HPP_
#define TFCKPT_CHECKPOINT_PREFIX_HPP_

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/state_file.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/io/directory.hpp"
#include "tfckpt/io/file_ops.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/io/remote_store.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt {

/// Options for open().
struct open_options {
  /// For a directory whose state file names a path that does not exist here (written on another
  /// machine), look for the same name inside the directory.
  bool relocate_by_basename = true;
  /// Where a URL (`https://`, `s3://`, `gs://`) is read from; nullptr: io::default_remote_store(),
  /// which including tfckpt/io/remote_http.hpp installs.
  io::remote_store* remote_store = nullptr;
};

/// `<prefix>.data-%05d-of-%05d`: the name TensorFlow gives data shard `shard` of `num_shards`.
inline std::string data_file_name(std::string_view prefix, std::int32_t shard, std::int32_t num_shards) {
  return absl::StrFormat("%s.data-%05d-of-%05d", prefix, shard, num_shards);
}

namespace detail {

inline bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// True for names ending in ".data-DDDDD-of-DDDDD" (TensorFlow prints at least five digits).
TFCKPT_DECL bool is_data_shard_name(std::string_view s, std::string_view* prefix);

// Data files present for `prefix` (for messages about missing shards).
TFCKPT_DECL std::vector<std::string> list_data_files(const std::string& prefix);

// Checkpoint prefixes (names of `*.index` files) in `dir`, for messages.
inline std::vector<std::string> list_prefixes(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  for (const std::string& name : io::list_directory(dir))
    if (has_suffix(name, ".index")) found.push_back(name.substr(0, name.size() - 6));
  return found;
}

inline std::string join_names(const std::vector<std::string>& names, std::size_t max = 8) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) absl::StrAppendFormat(&out, "%s%s", i ? ", " : "", names[i]);
  if (names.size() > max) absl::StrAppendFormat(&out, ", ... (%d in all)", names.size());
  return out;
}

// True when `path` is a regular file ending in the SSTable magic: a V1 checkpoint, when it is
// not an `.index`. Reads the footer only: open() asks this of each candidate file, and
// mapping a file to read its end cost a mapping and an unmapping more.
inline bool looks_like_sstable(const std::filesystem::path& path) {
  std::array<std::byte, codec::kFooterSize> footer;  // a table is at least its footer long
  return io::read_file_tail(path.string(), footer) &&
         tfckpt::detail::load_le<std::uint64_t>(footer.data() + footer.size() - 8) == codec::kTableMagic;
}

// The files of the V1 checkpoint `prefix`: the file itself, or its `<prefix>-NNNNN-of-NNNNN`
// shards (in order); empty when there is none.
TFCKPT_DECL std::vector<std::string> list_v1_files(const std::string& prefix);

inline io::remote_store* chosen_store(const open_options& options) {
  return options.remote_store != nullptr ? options.remote_store : io::default_remote_store();
}

inline absl::Status no_remote_store(std::string_view url) {
  return absl::UnimplementedError(absl::StrFormat(
      "%s: reading a URL needs the remote store: include tfckpt/io/remote_http.hpp and link tfckpt::remote", url));
}

inline absl::StatusOr<io::remote_store*> store_for(const std::string& url, const open_options& options) {
  io::remote_store* store = chosen_store(options);
  if (store == nullptr) return no_remote_store(url);
  return store;
}

}  // namespace detail

/// latest_checkpoint for a directory URL (`https://host/train/`, `s3://bucket/train`): the newest
/// prefix its `checkpoint` state file records, as a URL. A path the state file records as absolute
/// (written on the training machine) is looked up by its last component in the directory, unless
/// `options.relocate_by_basename` is off. kNotFound only when there is no state file;
/// kFailedPrecondition when it names nothing usable.
TFCKPT_DECL absl::StatusOr<std::string> latest_remote_checkpoint(std::string dir, const open_options& options = {});

namespace detail {

// The checkpoint a directory URL holds: the newest its state file `URL/checkpoint` names, else a
// SavedModel's variables when `URL/saved_model.pb` exists. One or two requests.
TFCKPT_DECL absl::StatusOr<std::string> resolve_remote_directory(const std::string& url, const open_options& options);

// Turns what the user passed into a checkpoint prefix, or explains what it is instead.
TFCKPT_DECL absl::StatusOr<std::string> resolve_prefix(const std::filesystem::path& path, const open_options& options);
}  // namespace detail

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_PREFIX)

namespace tfckpt::detail {

TFCKPT_DECL bool is_data_shard_name(std::string_view s, std::string_view* prefix) {
  const auto at = s.rfind(".data-");
  if (at == std::string_view::npos) return false;
  const std::string_view rest = s.substr(at + 6);
  const auto of = rest.find("-of-");
  if (of == std::string_view::npos || of < 5 || rest.size() - of - 4 < 5) return false;
  const auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(rest.substr(0, of)) || !digits(rest.substr(of + 4))) return false;
  *prefix = s.substr(0, at);
  return true;
}

TFCKPT_DECL std::vector<std::string> list_data_files(const std::string& prefix) {
  std::vector<std::string> found;
  const std::filesystem::path p(prefix);
  const std::string base = p.filename().string() + ".data-";
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  for (std::string& name : io::list_directory(dir))
    if (name.rfind(base, 0) == 0) found.push_back(std::move(name));
  return found;
}

TFCKPT_DECL std::vector<std::string> list_v1_files(const std::string& prefix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(prefix, ec)) return looks_like_sstable(prefix) ? std::vector<std::string>{prefix} : std::vector<std::string>{};
  const fs::path path(prefix);
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const std::string base = path.filename().string() + "-";
  std::vector<std::string> found;
  for (const std::string& name : io::list_directory(dir))
    if (name.size() == base.size() + 14 && name.rfind(base, 0) == 0 && name.compare(base.size() + 5, 4, "-of-") == 0 &&
        looks_like_sstable(dir / name))
      found.push_back((dir / name).string());
  return found;
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<std::string> latest_remote_checkpoint(std::string dir, const open_options& options) {
  TFCKPT_ASSIGN_OR_RETURN(io::remote_store* store, detail::store_for(dir, options));
  while (dir.ends_with('/')) dir.pop_back();
  const std::string state_url = absl::StrFormat("%s/%s", dir, kStateFileName);
  TFCKPT_ASSIGN_OR_RETURN(const std::string text, store->read_all(state_url, std::uint64_t{1} << 20));
  checkpoint_state state;
  std::string error;
  if (!detail::parse_checkpoint_state_text(text, &state, &error))
    return absl::DataLossError(absl::StrFormat("%s: not a valid checkpoint state file: %s", state_url, error));
  const std::string& recorded = state.model_checkpoint_path();
  if (recorded.empty())
    return absl::FailedPreconditionError(absl::StrFormat("%s: model_checkpoint_path is empty", state_url));
  const bool absolute =
      recorded.starts_with('/') || recorded.starts_with('\\') || (recorded.size() > 2 && recorded[1] == ':');
  if (!absolute) return absl::StrFormat("%s/%s", dir, recorded);
  if (options.relocate_by_basename) return absl::StrFormat("%s/%s", dir, detail::foreign_basename(recorded));
  return absl::FailedPreconditionError(absl::StrFormat(
      "%s names the local path '%s' as the latest checkpoint, which is not in this directory", state_url, recorded));
}
}  // namespace tfckpt

namespace tfckpt::detail {

TFCKPT_DECL absl::StatusOr<std::string> resolve_remote_directory(const std::string& url, const open_options& options) {
  TFCKPT_ASSIGN_OR_RETURN(io::remote_store* store, store_for(url, options));
  auto latest = latest_remote_checkpoint(url, options);
  if (latest.ok() || latest.status().code() != absl::StatusCode::kNotFound) return latest;
  std::string dir = url;
  while (dir.ends_with('/')) dir.pop_back();
  auto saved_model = store->open(dir + "/saved_model.pb");
  if (saved_model.ok()) return dir + "/variables/variables";
  if (saved_model.status().code() != absl::StatusCode::kNotFound) return saved_model.status();
  return absl::NotFoundError(absl::StrFormat(
      "%s: no checkpoint there: neither %s.index, nor a state file %s/%s, nor a SavedModel's %s/saved_model.pb exists",
      url, dir, dir, kStateFileName, dir));
}

TFCKPT_DECL absl::StatusOr<std::string> resolve_prefix(const std::filesystem::path& path, const open_options& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string s = path.string();
  std::string_view shard_prefix;
  if (s.empty()) return absl::InvalidArgumentError("empty checkpoint path");
  if (has_suffix(s, ".index")) return s.substr(0, s.size() - 6);
  if (is_data_shard_name(s, &shard_prefix))
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is a data shard, not a checkpoint: pass the prefix '%s' (or '%s.index')", s, shard_prefix, shard_prefix));
  if (has_suffix(s, ".meta"))
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is a MetaGraphDef (the graph), not a checkpoint: pass the prefix '%s'", s, s.substr(0, s.size() - 5)));
  // A URL names a prefix unless it ends with '/': a prefix costs no request here (its index is
  // fetched next, and only when there is none is it taken for a directory: bundle::open_url).
  if (io::is_remote_url(s)) return s.ends_with('/') ? resolve_remote_directory(s, options) : s;
  if (fs::is_directory(path, ec)) {
    // A SavedModel directory: its variables are the checkpoint `variables/variables`, as
    // TensorFlow's loaders find them.
    if (fs::exists(path / "saved_model.pb", ec) || fs::exists(path / "saved_model.pbtxt", ec)) {
      const std::string variables = (path / "variables" / "variables").string();
      if (fs::exists(variables + ".index", ec)) return variables;
      return absl::NotFoundError(absl::StrFormat(
          "%s is a SavedModel without variables: %s.index does not exist", s, variables));
    }
    const fs::path state = path / kStateFileName;
    if (!fs::exists(state, ec)) {
      const auto prefixes = list_prefixes(path);
      if (prefixes.empty())
        return absl::NotFoundError(absl::StrFormat("%s: no '%s' state file and no *.index file in this directory", s,
                                                   kStateFileName));
      return absl::NotFoundError(absl::StrFormat(
          "%s: no '%s' state file names the latest checkpoint; pass a prefix instead: %s", s, kStateFileName,
          join_names(prefixes)));
    }
    TFCKPT_ASSIGN_OR_RETURN(std::string prefix,
                            latest_checkpoint(path, {.relocate_by_basename = options.relocate_by_basename}));
    if (!fs::exists(prefix + ".index", ec)) {
      if (!list_v1_files(prefix).empty()) return prefix;  // a V1 checkpoint
      const auto prefixes = list_prefixes(path);
      return absl::NotFoundError(absl::StrFormat(
          "%s names '%s' as the latest checkpoint, but %s.index does not exist%s", state.string(), prefix, prefix,
          prefixes.empty() ? std::string() : "; prefixes present: " + join_names(prefixes)));
    }
    return prefix;
  }
  if (fs::exists(s + ".index", ec)) return s;
  if (fs::is_regular_file(path, ec)) {
    if (looks_like_sstable(path)) return s;  // a V1 checkpoint
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is not a checkpoint: there is no %s.index and the file is not an SSTable", s, s));
  }
  if (!list_v1_files(s).empty()) return s;  // a sharded V1 checkpoint, `<prefix>-00000-of-0000N`
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const auto prefixes = list_prefixes(dir);
  return absl::NotFoundError(absl::StrFormat("%s.index not found: no checkpoint with prefix %s%s", s, s,
                                             prefixes.empty() ? std::string()
                                                              : "; prefixes in that directory: " + join_names(prefixes)));
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_CHECKPOINT_PREFIX

#endif  // TFCKPT_CHECKPOINT_PREFIX_HPP_
