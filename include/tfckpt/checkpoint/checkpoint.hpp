// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/checkpoint.hpp
//
// Opening a TensorFlow V2 checkpoint (a "tensor bundle": `P.index` + `P.data-0000i-of-0000N`) and
// reading its tensors without copying them.
//
// `open()` maps the index and checks all of it (every block checksum, the header, every entry
// against its dtype, shape and shard); it never touches tensor data, so opening a 100 GB
// checkpoint costs only its index. After a successful open, iterating entries cannot fail. Data
// shards are mapped on first use; a missing or short shard is reported then, and by `verify()`.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(tfckpt::checkpoint ckpt, tfckpt::open("train/model.ckpt-1000"));
//   for (const tfckpt::entry& e : ckpt.entries())
//     std::printf("%s %s %s\n", e.name().data(), dtype_name(e.dtype()).data(), shape_string(e.shape()).c_str());
//   TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* w, ckpt.get("dense/kernel"));
//   TFCKPT_ASSIGN_OR_RETURN(auto values, w->values<float>());   // zero-copy when aligned
#ifndef TFCKPT_CHECKPOINT_CHECKPOINT_HPP_
#define TFCKPT_CHECKPOINT_CHECKPOINT_HPP_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/state_file.hpp"
#include "tfckpt/codec/bundle_entry.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/codec/v1_record.hpp"
#include "tfckpt/codec/v1_values.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_order.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/tensor/tensor_values.hpp"

namespace tfckpt {

class checkpoint;
namespace detail {
struct bundle;
struct entry_access;
}

/// One tensor of a checkpoint: metadata, and its bytes in a (lazily) mapped data shard.
/// Entries are owned by their checkpoint and stay valid, at the same address, until it is
/// destroyed (moving the checkpoint does not move them).
class entry {
 public:
  std::string_view name() const { return name_; }
  tfckpt::dtype dtype() const { return dtype_; }
  /// Dimension sizes, outermost first; empty for a scalar.
  shape_view shape() const { return shape_; }
  std::int64_t num_elements() const { return num_elements_; }
  /// The data shard holding the bytes (0 for a partitioned tensor, which has none of its own).
  std::int32_t shard() const { return shard_; }
  /// Byte offset of the payload in its shard.
  std::uint64_t offset() const { return offset_; }
  /// Payload bytes as stored (a partitioned tensor: the bytes of the assembled tensor).
  std::uint64_t size() const { return size_; }
  /// False when the stored bytes differ from the same values in this host's byte order: a tensor
  /// of multi-byte elements, or a string tensor, in a bundle of the other byte order. values<T>()
  /// and host_order_source() then swap into memory they own; bytes() stays as stored.
  bool bytes_in_host_order() const;
  /// The masked CRC-32C stored in the index (TensorFlow stores every CRC masked).
  std::uint32_t stored_crc32c() const { return masked_crc32c_; }
  /// True for a partitioned variable: its value is assembled from slice entries that plain
  /// iteration hides, as TensorFlow's reader does.
  bool is_partitioned() const { return num_slices_ != 0; }
  std::uint32_t num_slices() const { return num_slices_; }
  /// True when bytes() is a span into a mapped shard (pages that io::release_mapped_pages may
  /// drop), false when it is memory this reader owns (an assembled partitioned tensor, or any
  /// tensor of a V1 checkpoint, whose values are decoded at open).
  bool bytes_are_mapped() const;
  /// Absolute offset of this entry's record in the index file (for messages).
  std::uint64_t index_offset() const { return index_offset_; }

  /// For a partitioned tensor: slice `i`'s extents, one per dimension ((0, -1) = the whole
  /// dimension, as TensorFlow stores it). REQUIRES: i < num_slices().
  std::span<const codec::slice_extent> slice_extents(std::uint32_t i) const;
  /// For a partitioned tensor: the hidden entry holding slice `i`'s bytes (its name is the encoded
  /// slice key, its shape the slice's). REQUIRES: i < num_slices().
  const entry& slice_entry(std::uint32_t i) const;

  /// The payload as stored, in the bundle's byte order, zero-copy: a span into the mapped shard
  /// (mapped now if needed). For a partitioned tensor, the tensor assembled from its slices, built
  /// once and cached. Errors: kNotFound (missing shard), kDataLoss (shard too short, bad slice),
  /// kUnimplemented.
  absl::StatusOr<std::span<const std::byte>> bytes() const;

  /// The payload in this host's byte order, as a lazy source for a writer or a pipeline: bytes()
  /// itself when bytes_in_host_order(), else swapped in pieces of 1 MiB as it streams (a string
  /// tensor: its length checksum re-encoded). Mapped pages are released as the stream passes them.
  /// The entry must outlive the source.
  byte_source host_order_source() const;

  /// The elements as T, in this host's byte order (see tensor_values: zero-copy when aligned and
  /// bytes_in_host_order(), else a copy, swapped when the bundle has the other byte order).
  /// T must match dtype(): float for float32, Eigen::half for float16, Eigen::bfloat16, bool, ...
  template <class T>
  absl::StatusOr<tensor_values<T>> values() const;

  /// The elements of a DT_STRING tensor, as views into the mapped shard (length checksum checked).
  absl::StatusOr<std::vector<std::string_view>> strings() const;

  /// Calls f(const tensor_values<T>&) with T the C++ element type of dtype() (see
  /// visit_element_type), or f(const std::vector<std::string_view>&) for a string tensor.
  /// kUnimplemented for dtypes with no C++ element type (float8, int4, variant); read errors pass
  /// through.
  template <class F>
  absl::Status visit_values(F&& f) const;

  /// Recomputes the payload's CRC-32C and compares it with the stored one. `on_progress`, if set,
  /// is called with the bytes checked so far as the check proceeds (every 64 MiB).
  absl::Status verify(const std::function<void(std::uint64_t)>& on_progress = {}) const;

 private:
  friend struct detail::bundle;
  friend class checkpoint;
  friend struct detail::entry_access;
  absl::Status error_context(absl::Status s) const { return with_key(std::move(s), name_); }
  // OK when `crc` (unmasked, over the stored bytes) is the checksum the index holds.
  absl::Status checksum_status(std::uint32_t crc) const;

  const detail::bundle* owner_ = nullptr;
  std::string_view name_;
  shape_view shape_;
  std::int64_t num_elements_ = 0;
  std::uint64_t offset_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t index_offset_ = 0;
  tfckpt::dtype dtype_ = tfckpt::dtype::invalid;
  std::int32_t shard_ = 0;
  std::uint32_t masked_crc32c_ = 0;
  std::uint32_t first_slice_ = 0;  // into bundle::slices
  std::uint32_t num_slices_ = 0;
};

/// Options for open().
struct open_options {
  /// For a directory whose state file names a path that does not exist here (written on another
  /// machine), look for the same name inside the directory.
  bool relocate_by_basename = true;
};

/// Progress and outcome of checkpoint::verify().
struct verify_report {
  std::vector<absl::Status> problems;  // one per bad tensor or missing shard
  std::uint64_t tensors_checked = 0;   // tensors whose bytes could be read and checked
  std::uint64_t bytes_checked = 0;
  std::uint64_t tensors_total = 0;     // stored tensors (slices of partitioned tensors count each)
  std::uint64_t bytes_total = 0;
  bool ok() const { return problems.empty(); }
};

struct verify_options {
  /// Called as the check proceeds (after each tensor, and every 64 MiB inside large ones) with
  /// (bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
  /// Threads that checksum tensors (and 64 MiB pieces of large ones) side by side; 0: one per core,
  /// at most 4. The threads live for the call; progress is reported from one at a time.
  unsigned threads = 0;
};

/// An open V2 checkpoint. Move-only; cheap to move.
class checkpoint {
 public:
  /// Opens a checkpoint given its prefix (`dir/model.ckpt-1000`), its `.index` path, a directory
  /// holding a `checkpoint` state file (the newest prefix it names is opened), or a SavedModel
  /// directory (its `variables/variables`). Reads and checks the
  /// whole index; touches no tensor data. Errors name the file and byte offset, and say what to pass
  /// instead for the usual mistakes (a `.data-*` path, a V1 checkpoint, a `.meta` file).
  static absl::StatusOr<checkpoint> open(const std::filesystem::path& path, open_options options = {});

  checkpoint(checkpoint&&) noexcept = default;
  checkpoint& operator=(checkpoint&&) noexcept = default;
  ~checkpoint();

  /// Every tensor in key order (bytewise), slice entries of partitioned tensors hidden. A borrowed
  /// range: valid until the checkpoint is destroyed, also across moves.
  std::span<const entry> entries() const;
  std::size_t size() const { return entries().size(); }

  /// Every stored record in key order, including the slice entries that entries() hides (their
  /// names are encoded slice keys starting with a NUL byte). What a byte-exact copy needs.
  std::span<const entry> stored_entries() const;

  /// True when the index's data blocks were stored snappy-compressed (some TensorFlow builds do;
  /// pip builds do not). A byte-exact rewrite compresses likewise.
  bool index_compressed() const;

  /// The entry named `name`, or nullptr. O(log n).
  const entry* find(std::string_view name) const;
  /// As find, but a kNotFound status naming the checkpoint when absent.
  absl::StatusOr<const entry*> get(std::string_view name) const;

  /// The prefix (path without `.index`).
  const std::string& prefix() const;
  std::string index_path() const { return prefix() + ".index"; }
  /// The file name of data shard `shard`: `<prefix>.data-%05d-of-%05d`.
  std::string data_path(std::int32_t shard) const;
  std::int32_t num_shards() const;
  /// Byte order of tensor payloads (TensorFlow writes the host's; big-endian is rare).
  bool big_endian() const;
  tfckpt::byte_order payload_order() const { return big_endian() ? byte_order::big : byte_order::little; }
  /// True for a V1 checkpoint (one SSTable of tensor slices): its values were decoded at open and
  /// live in memory this checkpoint owns (entry::bytes_are_mapped() is false); there are no data
  /// shards, and V1 stores no tensor checksums (verify() checks the SSTable's block checksums, read
  /// at open, and recomputes CRCs over the decoded values).
  bool is_v1() const;

  /// Checks every tensor: its shard is present and long enough, and the CRC-32C of its bytes
  /// (for strings also the length checksum) matches the index. Reads all tensor data once.
  verify_report verify(const verify_options& options = {}) const;

 private:
  explicit checkpoint(std::unique_ptr<detail::bundle> b);
  std::unique_ptr<detail::bundle> bundle_;
};

/// Same as checkpoint::open.
inline absl::StatusOr<checkpoint> open(const std::filesystem::path& path, open_options options = {}) {
  return checkpoint::open(path, options);
}

/// `<prefix>.data-%05d-of-%05d`: the name TensorFlow gives data shard `shard` of `num_shards`.
inline std::string data_file_name(std::string_view prefix, std::int32_t shard, std::int32_t num_shards) {
  return absl::StrFormat("%s.data-%05d-of-%05d", prefix, shard, num_shards);
}

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.
// ---------------------------------------------------------------------------------------------

namespace detail {

// Most shards a header may claim: each costs a small slot before any shard is touched.
inline constexpr std::int32_t kMaxShards = 1 << 20;

struct shard_slot {
  std::once_flag once;
  absl::Status status;
  io::mapped_file file;
  std::uint64_t required_size = 0;  // end of the last payload the index places in this shard
  std::uint64_t num_entries = 0;
};

struct slice_ref {
  std::uint32_t first_extent = 0;  // into bundle::extents; rank of the full tensor many
  std::uint32_t stored_entry = 0;  // into bundle::all
};

struct bundle {
  std::string prefix;
  std::string index_file;
  io::mapped_file index;
  codec::bundle_header header;
  codec::table_stats index_stats;
  std::string keys;                  // every key, back to back
  std::vector<std::int64_t> dims;    // every shape, back to back
  std::vector<entry> all;            // key order; slice entries (keys starting 0x00) first
  std::size_t first_visible = 0;     // entries()[0] == all[first_visible]
  std::vector<codec::slice_extent> extents;
  std::vector<slice_ref> slices;
  std::unique_ptr<shard_slot[]> shards;

  mutable std::mutex assembled_mutex;
  mutable std::map<const entry*, std::unique_ptr<std::byte[]>> assembled;

  absl::StatusOr<std::span<const std::byte>> shard_bytes(std::int32_t shard) const;
  absl::StatusOr<std::span<const std::byte>> payload(const entry& e) const;
  absl::StatusOr<std::span<const std::byte>> assemble(const entry& e) const;
  byte_order payload_order() const { return header.big_endian ? byte_order::big : byte_order::little; }
  const entry* find_any(std::string_view key) const;
  absl::Status missing_shard_status(std::int32_t shard) const;

  // A V1 checkpoint: its values, decoded at open into bundle bytes, stand in for shard 0.
  bool v1 = false;
  std::string v1_values;

  // Maps `<prefix>.index` and decodes and checks every record; or, when `prefix` names a V1
  // checkpoint (one SSTable, or `<prefix>-NNNNN-of-NNNNN`), decodes that.
  static absl::StatusOr<std::unique_ptr<bundle>> load(std::string prefix);
  static absl::StatusOr<std::unique_ptr<bundle>> load_v1(std::string prefix, const std::vector<std::string>& files);
  // What load and load_v1 share once the entries are decoded: visible range, shard extents,
  // and the checks and links of partitioned tensors.
  absl::Status finish_load();
};

// The checkpoint an entry belongs to, for writers that reuse its files as they are.
struct entry_access {
  static const bundle& owner(const entry& e) { return *e.owner_; }
};

inline bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// True for names ending in ".data-DDDDD-of-DDDDD" (TensorFlow prints at least five digits).
inline bool is_data_shard_name(std::string_view s, std::string_view* prefix) {
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

// Data files present for `prefix` (for messages about missing shards).
inline std::vector<std::string> list_data_files(const std::string& prefix) {
  std::vector<std::string> found;
  const std::filesystem::path p(prefix);
  const std::string base = p.filename().string() + ".data-";
  std::error_code ec;
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = f.path().filename().string();
    if (name.rfind(base, 0) == 0) found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  return found;
}

// Checkpoint prefixes (names of `*.index` files) in `dir`, for messages.
inline std::vector<std::string> list_prefixes(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = f.path().filename().string();
    if (has_suffix(name, ".index")) found.push_back(name.substr(0, name.size() - 6));
  }
  std::sort(found.begin(), found.end());
  return found;
}

inline std::string join_names(const std::vector<std::string>& names, std::size_t max = 8) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) absl::StrAppendFormat(&out, "%s%s", i ? ", " : "", names[i]);
  if (names.size() > max) absl::StrAppendFormat(&out, ", ... (%d in all)", names.size());
  return out;
}

// True when `path` is a regular file ending in the SSTable magic: a V1 checkpoint, when it is
// not an `.index`.
inline bool looks_like_sstable(const std::filesystem::path& path) {
  auto f = io::mapped_file::open(path.string());
  if (!f.ok() || f->size() < codec::kFooterSize) return false;
  return tfckpt::detail::load_le<std::uint64_t>(f->bytes().data() + f->size() - 8) == codec::kTableMagic;
}

// The files of the V1 checkpoint `prefix`: the file itself, or its `<prefix>-NNNNN-of-NNNNN`
// shards (in order); empty when there is none.
inline std::vector<std::string> list_v1_files(const std::string& prefix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(prefix, ec)) return looks_like_sstable(prefix) ? std::vector<std::string>{prefix} : std::vector<std::string>{};
  const fs::path path(prefix);
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const std::string base = path.filename().string() + "-";
  std::vector<std::string> found;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    const std::string name = f.path().filename().string();
    if (name.size() == base.size() + 14 && name.rfind(base, 0) == 0 && name.compare(base.size() + 5, 4, "-of-") == 0 &&
        looks_like_sstable(f.path()))
      found.push_back(f.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// Turns what the user passed into a checkpoint prefix, or explains what it is instead.
inline absl::StatusOr<std::string> resolve_prefix(const std::filesystem::path& path, const open_options& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string s = path.string();
  std::string_view shard_prefix;
  if (s.empty()) return absl::InvalidArgumentError("empty checkpoint path");
  if (has_suffix(s, ".index")) return s.substr(0, s.size() - 6);
  if (is_data_shard_name(s, &shard_prefix))
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is a data shard, not a checkpoint: pass the prefix '%s' (or '%s.index')", s, shard_prefix, shard_prefix));
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
  if (has_suffix(s, ".meta"))
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is a MetaGraphDef (the graph), not a checkpoint: pass the prefix '%s'", s, s.substr(0, s.size() - 5)));
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

inline absl::Status bundle::missing_shard_status(std::int32_t shard) const {
  const std::string path = data_file_name(prefix, shard, header.num_shards);
  const auto present = list_data_files(prefix);
  return absl::NotFoundError(absl::StrFormat(
      "%s: data shard %d of %d is missing (%d tensors live there); data files present for this prefix: %s", path,
      shard, header.num_shards, shards[shard].num_entries, present.empty() ? "none" : join_names(present)));
}

inline absl::StatusOr<std::span<const std::byte>> bundle::shard_bytes(std::int32_t shard) const {
  if (v1) return std::span<const std::byte>(reinterpret_cast<const std::byte*>(v1_values.data()), v1_values.size());
  shard_slot& slot = shards[shard];
  std::call_once(slot.once, [&] {
    const std::string path = data_file_name(prefix, shard, header.num_shards);
    auto mapped = io::mapped_file::open(path);
    if (!mapped.ok()) {
      slot.status = mapped.status().code() == absl::StatusCode::kNotFound ? missing_shard_status(shard)
                                                                           : mapped.status();
      return;
    }
    if (mapped->size() < slot.required_size) {
      slot.status = data_loss(path, mapped->size(),
                              "data file is %d bytes, but the index places tensor bytes up to offset %d: the data "
                              "file is truncated or belongs to another checkpoint",
                              mapped->size(), slot.required_size);
      return;
    }
    slot.file = *std::move(mapped);
  });
  if (!slot.status.ok()) return slot.status;
  return slot.file.bytes();
}

inline absl::StatusOr<std::span<const std::byte>> bundle::payload(const entry& e) const {
  if (e.is_partitioned()) return assemble(e);
  TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> shard, shard_bytes(e.shard()));
  return shard.subspan(static_cast<std::size_t>(e.offset()), static_cast<std::size_t>(e.size()));
}

inline const entry* bundle::find_any(std::string_view key) const {
  const auto it = std::lower_bound(all.begin(), all.end(), key,
                                   [](const entry& e, std::string_view k) { return e.name() < k; });
  return it != all.end() && it->name() == key ? &*it : nullptr;
}

// Copies each stored slice into its place in the full row-major tensor.
inline absl::StatusOr<std::span<const std::byte>> bundle::assemble(const entry& e) const {
  std::lock_guard lock(assembled_mutex);
  if (auto it = assembled.find(&e); it != assembled.end())
    return std::span<const std::byte>(it->second.get(), static_cast<std::size_t>(e.size()));
  if (!is_fixed_size(e.dtype()))
    return absl::UnimplementedError(absl::StrFormat("%s: assembling partitioned %s tensors is not supported for key '%s'",
                                                    index_file, dtype_name(e.dtype()), printable_key(e.name())));
  const std::size_t elem = element_size(e.dtype());
  const std::size_t rank = e.shape().size();
  // Map every slice's bytes before allocating: a tensor whose slice data is missing or short (an
  // index claiming a terabyte, say) fails here instead of in a huge allocation.
  std::vector<std::span<const std::byte>> sources(e.num_slices_);
  for (std::uint32_t s = 0; s < e.num_slices_; ++s) {
    TFCKPT_ASSIGN_OR_RETURN(sources[s], payload(all[slices[e.first_slice_ + s].stored_entry]));
  }
  auto out = std::make_unique<std::byte[]>(static_cast<std::size_t>(e.size()));
  // Row-major strides of the full tensor, in elements.
  std::vector<std::uint64_t> stride(rank, 1);
  for (std::size_t d = rank; d-- > 1;) stride[d - 1] = stride[d] * static_cast<std::uint64_t>(e.shape()[d]);
  for (std::uint32_t s = 0; s < e.num_slices_; ++s) {
    const slice_ref& ref = slices[e.first_slice_ + s];
    const entry& part = all[ref.stored_entry];
    const std::span<const std::byte> src = sources[s];
    if (part.num_elements() == 0) continue;
    const shape_view len = part.shape();
    std::vector<std::uint64_t> start(rank);
    for (std::size_t d = 0; d < rank; ++d) start[d] = static_cast<std::uint64_t>(extents[ref.first_extent + d].start);
    // Walk every row of the slice (all dims but the last) and copy it as one run.
    const std::uint64_t run = rank == 0 ? 1 : static_cast<std::uint64_t>(len[rank - 1]);
    const std::uint64_t rows = static_cast<std::uint64_t>(part.num_elements()) / run;
    std::vector<std::uint64_t> idx(rank, 0);
    for (std::uint64_t r = 0; r < rows; ++r) {
      std::uint64_t dst = 0;
      for (std::size_t d = 0; d < rank; ++d) dst += (start[d] + idx[d]) * stride[d];
      std::memcpy(out.get() + dst * elem, src.data() + r * run * elem, run * elem);
      // Odometer over the outer dims; a scalar (rank 0, one row) has none.
      for (std::size_t d = rank == 0 ? 0 : rank - 1; d-- > 0;) {
        if (++idx[d] < static_cast<std::uint64_t>(len[d])) break;
        idx[d] = 0;
      }
    }
  }
  const std::span<const std::byte> result(out.get(), static_cast<std::size_t>(e.size()));
  assembled.emplace(&e, std::move(out));
  return result;
}

inline absl::StatusOr<std::unique_ptr<bundle>> bundle::load(std::string prefix) {
  {
    std::error_code ec;
    if (!std::filesystem::exists(prefix + ".index", ec)) {
      const std::vector<std::string> v1_files = list_v1_files(prefix);
      if (!v1_files.empty()) return load_v1(std::move(prefix), v1_files);
    }
  }
  auto b = std::make_unique<bundle>();
  b->prefix = std::move(prefix);
  b->index_file = b->prefix + ".index";
  const std::string& file = b->index_file;
  TFCKPT_ASSIGN_OR_RETURN(b->index, io::mapped_file::open(file));
  b->index.advise(io::access::sequential);
  const std::span<const std::byte> bytes = b->index.bytes();
  // Entries point into the key and dims arenas as they are decoded. Reserving is cheap (untouched
  // pages cost nothing); should an arena still grow, the views are rebased onto the new buffer.
  b->keys.reserve(bytes.size());
  b->dims.reserve(bytes.size() / 8);
  b->all.reserve(bytes.size() / 24);  // a record with its key takes ~30 bytes of index
  const auto rebase = [&b](const char* old_keys, const std::int64_t* old_dims) {
    for (entry& e : b->all) {
      if (old_keys != nullptr) e.name_ = std::string_view(b->keys.data() + (e.name_.data() - old_keys), e.name_.size());
      if (old_dims != nullptr) e.shape_ = shape_view(b->dims.data() + (e.shape_.data() - old_dims), e.shape_.size());
    }
  };
  std::vector<std::uint32_t> slice_ranks;
  bool have_header = false;
  codec::bundle_entry rec;
  absl::Status walked = codec::for_each_table_entry(
      file, bytes, [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) -> absl::Status {
        if (!have_header) {
          if (!key.empty())
            return data_loss(file, at, "the first key is '%s', not the bundle header (key \"\"): not a tensor bundle index",
                             printable_key(key));
          TFCKPT_ASSIGN_OR_RETURN(b->header, codec::decode_bundle_header(file, value, at));
          have_header = true;
          return absl::OkStatus();
        }
        const std::size_t dims_pos = b->dims.size();
        const std::int64_t* const dims_before = b->dims.data();
        const std::size_t ranks_before = slice_ranks.size();
        const std::size_t extents_before = b->extents.size();
        TFCKPT_RETURN_IF_ERROR(
            with_key(codec::decode_bundle_entry(file, value, at, &rec, &b->dims, &b->extents, &slice_ranks), key));
        entry e;
        e.index_offset_ = at;
        e.dtype_ = static_cast<tfckpt::dtype>(rec.dtype);
        e.shard_ = rec.shard_id;
        e.offset_ = static_cast<std::uint64_t>(rec.offset);
        e.size_ = static_cast<std::uint64_t>(rec.size);
        e.masked_crc32c_ = rec.masked_crc32c;
        const shape_view dims(b->dims.data() + dims_pos, rec.rank);
        auto fail = [&](const absl::FormatSpec<std::string, std::string>& fmt, const std::string& a,
                        const std::string& c) { return with_key(data_loss(file, at, fmt, a, c), key); };
        if (!is_known_dtype(rec.dtype) || e.dtype_ == tfckpt::dtype::resource)
          return fail("unknown or unstorable dtype %s%s", std::to_string(rec.dtype), "");
        const auto n = checked_num_elements(dims);
        if (!n) return fail("the element count of shape %s overflows%s", shape_string(dims), "");
        e.num_elements_ = *n;
        if (rec.num_slices == 0) {
          if (rec.shard_id >= b->header.num_shards)
            return fail("entry is in shard %s, but the header declares %s shards", std::to_string(rec.shard_id),
                        std::to_string(b->header.num_shards));
          if (e.offset_ > static_cast<std::uint64_t>(INT64_MAX) - e.size_)
            return fail("offset %s + size %s overflows", std::to_string(e.offset_), std::to_string(e.size_));
          if (is_fixed_size(e.dtype_)) {
            const auto need = checked_mul(*n, static_cast<std::int64_t>(element_size(e.dtype_)));
            if (!need || static_cast<std::uint64_t>(*need) != e.size_)
              return fail("size %s does not match %s", std::to_string(e.size_),
                          absl::StrFormat("shape %s of %s (%s bytes)", shape_string(dims), dtype_name(e.dtype_),
                                          need ? std::to_string(*need) : std::string("overflow")));
          } else if (e.dtype_ == tfckpt::dtype::string &&
                     (e.size_ < 4 || static_cast<std::uint64_t>(*n) > e.size_ - 4)) {
            return fail("string tensor of %s elements cannot fit in %s bytes", std::to_string(*n), std::to_string(e.size_));
          }
          if (!rec.has_crc32c) e.masked_crc32c_ = 0;  // proto3 omits a zero field
        } else {
          e.first_slice_ = static_cast<std::uint32_t>(b->slices.size());
          e.num_slices_ = rec.num_slices;
          e.shard_ = 0;
          e.offset_ = 0;
          const auto bytes_needed = checked_mul(*n, static_cast<std::int64_t>(element_size(e.dtype_)));
          if (!bytes_needed) return fail("shape %s is too large%s", shape_string(dims), "");
          e.size_ = static_cast<std::uint64_t>(*bytes_needed);
          std::size_t extent = extents_before;
          for (std::size_t s = ranks_before; s < slice_ranks.size(); ++s) {
            if (slice_ranks[s] != rec.rank)
              return fail("a slice has %s extents, but the tensor has rank %s", std::to_string(slice_ranks[s]),
                          std::to_string(rec.rank));
            for (std::uint32_t d = 0; d < rec.rank; ++d) {
              codec::slice_extent& x = b->extents[extent + d];
              // Assembly places a slice at its starts; a whole dimension must start at 0.
              if (x.full() && x.start != 0)
                return fail("a whole-dimension slice extent starts at %s (dimension %s)", std::to_string(x.start),
                            std::to_string(d));
              if (x.full()) continue;
              if (x.start > dims[d] || x.length > dims[d] - x.start)
                return fail("slice extent %s lies outside shape %s",
                            absl::StrFormat("(%d, %d) of dimension %d", x.start, x.length, d), shape_string(dims));
            }
            b->slices.push_back(slice_ref{static_cast<std::uint32_t>(extent), 0});
            extent += rec.rank;
          }
        }
        const char* const keys_before = b->keys.data();
        const std::size_t key_pos = b->keys.size();
        b->keys.append(key);
        if (b->keys.data() != keys_before || b->dims.data() != dims_before)  // an arena moved
          rebase(b->keys.data() != keys_before ? keys_before : nullptr, b->dims.data() != dims_before ? dims_before : nullptr);
        e.owner_ = b.get();
        e.name_ = std::string_view(b->keys.data() + key_pos, key.size());
        e.shape_ = shape_view(b->dims.data() + dims_pos, rec.rank);
        b->all.push_back(e);
        return absl::OkStatus();
      },
      &b->index_stats);
  TFCKPT_RETURN_IF_ERROR(walked);
  if (!have_header) return data_loss(file, 0, "the index has no bundle header (key \"\"): not a tensor bundle index");
  if (b->header.num_shards > kMaxShards)
    return data_loss(file, 0, "the bundle header claims %d shards (more than %d)", b->header.num_shards, kMaxShards);

  TFCKPT_RETURN_IF_ERROR(b->finish_load());
  return b;
}

// V1 (spec/FORMAT.md §4): each file is an SSTable whose key "" holds the table of contents (every
// tensor's name, dtype, shape and saved slices) and whose other keys are slice keys holding that
// slice's values as a TensorProto. The values are decoded here, once, into bundle bytes: a tensor
// saved as one whole slice becomes a plain entry, a partitioned one keeps its slices as hidden
// entries, as in a V2 bundle. Allocation is bounded by the records' own bytes: a slice must hold
// exactly its element count of values.
inline absl::StatusOr<std::unique_ptr<bundle>> bundle::load_v1(std::string prefix, const std::vector<std::string>& files) {
  auto b = std::make_unique<bundle>();
  b->prefix = std::move(prefix);
  b->index_file = files.front();
  b->v1 = true;
  b->header.num_shards = 1;
  b->header.producer = 1;
  struct tensor_meta {
    tfckpt::dtype type = tfckpt::dtype::invalid;
    std::vector<std::int64_t> shape;
    std::string file;
    std::uint64_t at = 0;
    std::size_t listed_slices = 0;
  };
  struct slice_record {
    std::string key;   // the encoded slice key
    std::string name;  // the tensor's
    std::vector<codec::slice_extent> extents;
    std::vector<std::int64_t> shape;  // the slice's
    std::uint64_t offset = 0, size = 0, at = 0;
    std::uint32_t masked_crc = 0;
  };
  std::map<std::string, tensor_meta, std::less<>> tensors;
  std::vector<slice_record> records;
  for (const std::string& file : files) {
    TFCKPT_ASSIGN_OR_RETURN(io::mapped_file mapped, io::mapped_file::open(file));
    bool have_meta = false;
    codec::table_stats stats;
    absl::Status walked = codec::for_each_table_entry(
        file, mapped.bytes(), [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) -> absl::Status {
          std::optional<codec::v1_record> slices = codec::parse_v1_record(value);
          if (!slices) return with_key(data_loss(file, at, "the V1 record does not parse as SavedTensorSlices"), key);
          if (key.empty()) {
            if (!slices->meta) return data_loss(file, at, "the V1 table of contents (key \"\") has no meta");
            for (const codec::v1_tensor_meta& m : *slices->meta) {
              tensor_meta t;
              t.type = static_cast<tfckpt::dtype>(m.type);
              t.file = file;
              t.at = at;
              t.listed_slices = m.slice_count;
              if (!is_known_dtype(m.type) || t.type == tfckpt::dtype::resource || t.type == tfckpt::dtype::variant)
                return with_key(data_loss(file, at, "unknown or unstorable dtype %d", m.type), m.name);
              for (const std::int64_t d : m.dims) {
                if (d < 0) return with_key(data_loss(file, at, "negative dimension %d", d), m.name);
                t.shape.push_back(d);
              }
              if (!checked_num_elements(t.shape))
                return with_key(data_loss(file, at, "the element count of shape %s overflows", shape_string(t.shape)), m.name);
              auto [it, fresh] = tensors.emplace(m.name, t);
              if (!fresh) {  // listed again by another shard file: it must agree
                if (it->second.type != t.type || it->second.shape != t.shape)
                  return with_key(data_loss(file, at, "the tensor is %s %s here but %s %s in %s", dtype_name(t.type),
                                            shape_string(t.shape), dtype_name(it->second.type),
                                            shape_string(it->second.shape), it->second.file),
                                  m.name);
                it->second.listed_slices = std::max(it->second.listed_slices, t.listed_slices);
              }
            }
            have_meta = true;
            return absl::OkStatus();
          }
          if (!have_meta) return with_key(data_loss(file, at, "a V1 slice before the table of contents"), key);
          if (!slices->data) return with_key(data_loss(file, at, "the V1 record holds no slice data"), key);
          const codec::v1_slice& data = *slices->data;
          const auto t = tensors.find(data.name);
          if (t == tensors.end())
            return with_key(data_loss(file, at, "slice of '%s', which the table of contents does not list", data.name), key);
          slice_record r;
          r.key = std::string(key);
          r.name = data.name;
          r.at = at;
          const std::size_t rank = t->second.shape.size();
          if (!data.extents.empty() && data.extents.size() != rank)
            return with_key(data_loss(file, at, "the slice has %d extents for rank %d", data.extents.size(), rank), key);
          std::int64_t count = 1;
          for (std::size_t d = 0; d < rank; ++d) {
            codec::slice_extent x;
            if (!data.extents.empty()) {
              const codec::v1_extent& e = data.extents[d];
              x.start = e.start;
              if (e.length) x.length = *e.length;
            }
            const std::int64_t dim = t->second.shape[d];
            if (!x.full() && (x.start < 0 || x.length < 0 || x.start > dim || x.length > dim - x.start))
              return with_key(data_loss(file, at, "slice extent (%d, %d) lies outside dimension %d of %s", x.start, x.length,
                                        d, shape_string(t->second.shape)),
                              key);
            if (x.full() && x.start != 0)
              return with_key(data_loss(file, at, "a whole-dimension extent starts at %d", x.start), key);
            r.extents.push_back(x);
            r.shape.push_back(x.full() ? dim : x.length);
            count *= r.shape.back();  // no overflow: each length is at most its dimension
          }
          if (codec::encode_tensor_slice_key(r.name, r.extents) != key)
            return with_key(data_loss(file, at, "the record's key is not the slice key of '%s' %s", r.name,
                                      shape_string(r.shape)),
                            key);
          r.offset = b->v1_values.size();
          TFCKPT_RETURN_IF_ERROR(codec::append_v1_values(data.values, t->second.type, static_cast<std::uint64_t>(count), file,
                                                         at, key, b->v1_values));
          r.size = b->v1_values.size() - r.offset;
          const std::span<const std::byte> stored(reinterpret_cast<const std::byte*>(b->v1_values.data()) + r.offset, r.size);
          std::uint32_t crc = 0;
          if (t->second.type == tfckpt::dtype::string) {
            TFCKPT_ASSIGN_OR_RETURN(const auto decoded, codec::decode_string_tensor(file, key, at, stored,
                                                                                    static_cast<std::uint64_t>(count)));
            crc = decoded.crc32c;
          } else {
            crc = codec::crc32c(stored);
          }
          r.masked_crc = codec::crc32c_mask(crc);
          records.push_back(std::move(r));
          return absl::OkStatus();
        },
        &stats);
    TFCKPT_RETURN_IF_ERROR(walked);
    if (!have_meta) return data_loss(file, 0, "no V1 table of contents (key \"\"): not a V1 checkpoint");
    b->index_stats.data_blocks += stats.data_blocks;
    b->index_stats.snappy_blocks += stats.snappy_blocks;
    b->index_stats.entries += stats.entries;
    if (b->index.size() == 0) b->index = std::move(mapped);
  }

  // Entries: one per tensor, plus hidden slice entries for partitioned ones.
  std::map<std::string_view, std::vector<const slice_record*>> by_tensor;
  for (const slice_record& r : records) by_tensor[r.name].push_back(&r);
  std::size_t key_bytes = 0, dims_count = 0;
  for (const auto& [name, t] : tensors) {
    key_bytes += name.size();
    dims_count += t.shape.size();
    for (const slice_record* r : by_tensor[name]) key_bytes += r->key.size(), dims_count += r->shape.size();
  }
  b->keys.reserve(key_bytes);  // entries view these arenas: they must not move
  b->dims.reserve(dims_count);
  const auto add_entry = [&b](std::string_view name, tfckpt::dtype type, std::span<const std::int64_t> shape,
                              std::uint64_t at) -> entry& {
    entry e;
    e.owner_ = b.get();
    e.dtype_ = type;
    e.index_offset_ = at;
    const std::size_t key_pos = b->keys.size(), dims_pos = b->dims.size();
    b->keys.append(name);
    b->dims.insert(b->dims.end(), shape.begin(), shape.end());
    e.name_ = std::string_view(b->keys.data() + key_pos, name.size());
    e.shape_ = shape_view(b->dims.data() + dims_pos, shape.size());
    e.num_elements_ = *checked_num_elements(shape);
    b->all.push_back(e);
    return b->all.back();
  };
  for (const auto& [name, t] : tensors) {
    const std::vector<const slice_record*>& parts = by_tensor[name];
    if (parts.size() < t.listed_slices)
      return with_key(data_loss(t.file, t.at, "the table of contents lists %d slices, but %d are stored", t.listed_slices,
                                parts.size()),
                      name);
    const bool whole = parts.size() == 1 && std::ranges::equal(parts[0]->shape, t.shape);
    if (whole) {
      entry& e = add_entry(name, t.type, t.shape, parts[0]->at);
      e.offset_ = parts[0]->offset;
      e.size_ = parts[0]->size;
      e.masked_crc32c_ = parts[0]->masked_crc;
      continue;
    }
    if (parts.empty()) return with_key(data_loss(t.file, t.at, "no slice of this tensor is stored"), name);
    entry& e = add_entry(name, t.type, t.shape, t.at);
    e.first_slice_ = static_cast<std::uint32_t>(b->slices.size());
    e.num_slices_ = static_cast<std::uint32_t>(parts.size());
    const auto bytes = checked_mul(e.num_elements_, static_cast<std::int64_t>(element_size(t.type)));
    if (!bytes) return with_key(data_loss(t.file, t.at, "shape %s is too large", shape_string(t.shape)), name);
    e.size_ = static_cast<std::uint64_t>(*bytes);
    for (const slice_record* r : parts) {
      b->slices.push_back(slice_ref{static_cast<std::uint32_t>(b->extents.size()), 0});
      b->extents.insert(b->extents.end(), r->extents.begin(), r->extents.end());
      entry& part = add_entry(r->key, t.type, r->shape, r->at);
      part.offset_ = r->offset;
      part.size_ = r->size;
      part.masked_crc32c_ = r->masked_crc;
    }
  }
  std::sort(b->all.begin(), b->all.end(), [](const entry& x, const entry& y) { return x.name() < y.name(); });
  TFCKPT_RETURN_IF_ERROR(b->finish_load());
  return b;
}

inline absl::Status bundle::finish_load() {
  first_visible = static_cast<std::size_t>(
      std::find_if(all.begin(), all.end(), [](const entry& e) { return e.name().empty() || e.name()[0] != '\0'; }) -
      all.begin());

  // Shard slots and the extent each shard must cover.
  shards = std::make_unique<shard_slot[]>(static_cast<std::size_t>(header.num_shards));
  for (const entry& e : all) {
    if (e.is_partitioned()) continue;
    shard_slot& slot = shards[e.shard()];
    slot.required_size = std::max(slot.required_size, e.offset() + e.size());
    ++slot.num_entries;
  }

  // Link every slice of a partitioned tensor to its stored entry.
  for (entry& e : all) {
    if (!e.is_partitioned()) continue;
    std::int64_t covered = 0;
    for (std::uint32_t s = 0; s < e.num_slices_; ++s) {
      slice_ref& ref = slices[e.first_slice_ + s];
      const std::span<const codec::slice_extent> ext(extents.data() + ref.first_extent, e.shape().size());
      std::vector<codec::slice_extent> concrete(ext.begin(), ext.end());
      std::int64_t count = 1;
      for (std::size_t d = 0; d < concrete.size(); ++d) {
        if (concrete[d].full()) concrete[d] = {0, e.shape()[d]};
        count *= concrete[d].length;
      }
      const std::string key = codec::encode_tensor_slice_key(e.name(), ext);
      const entry* part = find_any(key);
      if (part == nullptr)
        return with_key(data_loss(index_file, e.index_offset(), "slice %d of this partitioned tensor has no stored entry", s),
                        e.name());
      // TensorFlow never nests slices; following such a chain would re-enter assemble() under its lock.
      if (part->is_partitioned())
        return with_key(data_loss(index_file, part->index_offset(), "the stored entry of slice %d is itself partitioned", s),
                        e.name());
      std::vector<std::int64_t> slice_shape(concrete.size());
      for (std::size_t d = 0; d < concrete.size(); ++d) slice_shape[d] = concrete[d].length;
      if (part->dtype() != e.dtype() || !std::ranges::equal(part->shape(), slice_shape))
        return with_key(data_loss(index_file, part->index_offset(), "slice entry is %s %s, expected %s %s",
                                  dtype_name(part->dtype()), shape_string(part->shape()), dtype_name(e.dtype()),
                                  shape_string(slice_shape)),
                        e.name());
      ref.stored_entry = static_cast<std::uint32_t>(part - all.data());
      // The stored extents keep TensorFlow's encoding (a full dimension is (0, -1)): the slice key
      // and a byte-exact rewrite depend on it. A full dimension starts at 0, which is all assembly needs.
      // Each count is at most num_elements (extents lie inside the shape); compare before adding so
      // that many slices cannot overflow the sum.
      if (count > e.num_elements() - covered)
        return with_key(data_loss(index_file, e.index_offset(), "slices hold more than the %d elements of shape %s",
                                  e.num_elements(), shape_string(e.shape())),
                        e.name());
      covered += count;
    }
    if (covered != e.num_elements())
      return with_key(data_loss(index_file, e.index_offset(), "slices hold %d elements, but shape %s has %d", covered,
                                shape_string(e.shape()), e.num_elements()),
                      e.name());
    // Slices inside the shape whose counts add up to the whole cover it exactly only if no two of them
    // overlap (rows 0-5 and 4-7 of 10 rows also hold 40 of 40 elements). Pairwise: partitions are few.
    const std::size_t rank = e.shape().size();
    const auto length = [&](const codec::slice_extent& x, std::size_t d) { return x.full() ? e.shape()[d] : x.length; };
    for (std::uint32_t s = 1; s < e.num_slices_; ++s) {
      const codec::slice_extent* x = extents.data() + slices[e.first_slice_ + s].first_extent;
      for (std::uint32_t t = 0; t < s; ++t) {
        const codec::slice_extent* y = extents.data() + slices[e.first_slice_ + t].first_extent;
        bool overlap = true;
        for (std::size_t d = 0; overlap && d < rank; ++d)
          overlap = x[d].start < y[d].start + length(y[d], d) && y[d].start < x[d].start + length(x[d], d);
        if (overlap)
          return with_key(data_loss(index_file, e.index_offset(), "slices %d and %d of this partitioned tensor overlap", t, s),
                          e.name());
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace detail

namespace detail {

// CRC-32C of `bytes`, read in pieces of 4 MiB. When they lie in a mapped shard (`mapped`), each
// piece's pages are released once checksummed: checking a checkpoint of any size keeps a few MiB
// resident. (Measured against pread into a reused buffer, which adds a copy, and against
// prefaulting each piece with MADV_POPULATE_READ: both were slower.) `on_progress` gets the bytes
// done every 64 MiB.
inline std::uint32_t checksum_payload(std::span<const std::byte> bytes, bool mapped,
                                      const std::function<void(std::uint64_t)>& on_progress = {}) {
  constexpr std::size_t kPiece = std::size_t{4} << 20;
  constexpr std::size_t kProgressStep = std::size_t{64} << 20;
  std::uint32_t crc = 0;
  std::uint64_t released = 0;
  for (std::size_t at = 0; at < bytes.size(); at += kPiece) {
    const auto piece = bytes.subspan(at, std::min(kPiece, bytes.size() - at));
    crc = codec::crc32c_extend(crc, piece);
    const std::size_t end = at + piece.size();
    if (mapped) released = io::release_mapped_pages(bytes, released, end);
    if (on_progress && end < bytes.size() && end % kProgressStep == 0) on_progress(end);
  }
  return crc;
}

}  // namespace detail

// --- entry ---

inline absl::StatusOr<std::span<const std::byte>> entry::bytes() const {
  auto p = owner_->payload(*this);
  if (!p.ok()) return error_context(p.status());
  return p;
}

template <class T>
absl::StatusOr<tensor_values<T>> entry::values() const {
  if (!element_type_matches<T>(dtype_) || sizeof(T) != element_size(dtype_))
    return absl::InvalidArgumentError(absl::StrFormat("%s: tensor '%s' is %s; values<T>() was asked for another type",
                                                      owner_->index_file, printable_key(name_), dtype_name(dtype_)));
  TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> raw, bytes());
  if (!bytes_in_host_order()) {
    // Checksums cover the stored bytes, so a swapped copy is all a reader of the other order needs.
    const std::size_t n = raw.size() / sizeof(T);
    auto owned = std::make_unique_for_overwrite<T[]>(n);
    swap_copy(raw.first(n * sizeof(T)), reinterpret_cast<std::byte*>(owned.get()), swap_width(dtype_));
    return tensor_values<T>::adopt(std::move(owned), n, shape_);
  }
  if constexpr (std::is_same_v<T, bool>) {
    // Only 0 and 1 are valid bool object representations; anything else would be undefined behaviour.
    // Name the file the byte is in: the data shard, or for a tensor assembled from slices its index entry.
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (static_cast<std::uint8_t>(raw[i]) <= 1) continue;
      if (is_partitioned())
        return with_key(data_loss(owner_->index_file, index_offset_,
                                  "bool element %d of the assembled tensor has byte value %d", i, static_cast<int>(raw[i])),
                        name_);
      return with_key(data_loss(data_file_name(owner_->prefix, shard_, owner_->header.num_shards), offset_ + i,
                                "bool element %d has byte value %d", i, static_cast<int>(raw[i])),
                      name_);
    }
  }
  return tensor_values<T>::from_bytes(raw, shape_);
}

template <class F>
absl::Status entry::visit_values(F&& f) const {
  if (dtype_ == tfckpt::dtype::string) {
    TFCKPT_ASSIGN_OR_RETURN(const std::vector<std::string_view> s, strings());
    f(s);
    return absl::OkStatus();
  }
  absl::Status status = absl::OkStatus();
  const bool typed = visit_element_type(dtype_, [&]<class T>(std::type_identity<T>) {
    auto v = values<T>();
    if (v.ok()) {
      f(*v);
    } else {
      status = v.status();
    }
  });
  if (!typed)
    return absl::UnimplementedError(absl::StrFormat("%s: tensor '%s' has dtype %s, which typed reads do not support (it has no C++ element type)",
                                                    owner_->index_file, printable_key(name_), dtype_name(dtype_)));
  return status;
}

inline absl::StatusOr<std::vector<std::string_view>> entry::strings() const {
  if (dtype_ != tfckpt::dtype::string)
    return absl::InvalidArgumentError(absl::StrFormat("%s: tensor '%s' is %s, not string", owner_->index_file,
                                                      printable_key(name_), dtype_name(dtype_)));
  TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> raw, bytes());
  TFCKPT_ASSIGN_OR_RETURN(codec::decoded_strings s,
                          codec::decode_string_tensor(data_file_name(owner_->prefix, shard_, owner_->header.num_shards),
                                                      name_, offset_, raw, static_cast<std::uint64_t>(num_elements_),
                                                      owner_->payload_order()));
  return std::move(s.elements);
}

inline bool entry::bytes_in_host_order() const {
  return !needs_byte_swap(dtype_, owner_->payload_order(), host_byte_order);
}

inline byte_source entry::host_order_source() const {
  const entry* e = this;
  byte_source::producer_fn stream_in_pieces = [e](const byte_source::emit_fn& emit) -> absl::Status {
    if (e->dtype_ == tfckpt::dtype::variant && !e->bytes_in_host_order())
      return absl::UnimplementedError(absl::StrFormat(
          "%s: variant tensor '%s' is stored %s-endian; variants cannot be converted to another byte order",
          e->owner_->index_file, printable_key(e->name_), byte_order_name(e->owner_->payload_order())));
    TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> bytes, e->bytes());
    if (e->dtype_ == tfckpt::dtype::string && !e->bytes_in_host_order()) {
      std::vector<std::byte> copy(bytes.begin(), bytes.end());  // strings are small; 4 bytes of them change
      const absl::Status converted =
          codec::convert_string_tensor(data_file_name(e->owner_->prefix, e->shard_, e->owner_->header.num_shards), e->name_,
                                       e->offset_, copy, static_cast<std::uint64_t>(e->num_elements_),
                                       e->owner_->payload_order(), host_byte_order)
              .status();
      TFCKPT_RETURN_IF_ERROR(converted);
      return copy.empty() ? absl::OkStatus() : emit(copy);
    }
    if (!e->bytes_are_mapped()) {
      if (bytes.empty()) return absl::OkStatus();
      if (e->bytes_in_host_order()) return emit(bytes);
    }
    // In pieces, releasing each piece's mapped pages once the receiver has it, so that streaming a
    // checkpoint does not grow the resident set with the bytes streamed.
    constexpr std::size_t kPiece = std::size_t{4} << 20;
    byte_order_converter to_host(e->dtype_, emit);
    std::uint64_t released = 0;
    for (std::size_t at = 0; at < bytes.size(); at += kPiece) {
      const auto piece = bytes.subspan(at, std::min(kPiece, bytes.size() - at));
      TFCKPT_RETURN_IF_ERROR(e->bytes_in_host_order() ? emit(piece) : to_host(piece));
      if (e->bytes_are_mapped()) released = io::release_mapped_pages(bytes, released, at + piece.size());
    }
    return to_host.finish();
  };
  // Random access: a copy of the range, swapped (a range may start or end inside an element).
  auto read_range = [e, stream_in_pieces](std::uint64_t offset, std::span<std::byte> out) -> absl::Status {
    if (!e->bytes_in_host_order() && !is_fixed_size(e->dtype_)) {  // re-encoded strings: small, done whole
      std::vector<std::byte> all;
      TFCKPT_RETURN_IF_ERROR(stream_in_pieces([&all](std::span<const std::byte> c) {
        all.insert(all.end(), c.begin(), c.end());
        return absl::OkStatus();
      }));
      std::memcpy(out.data(), all.data() + offset, out.size());
      return absl::OkStatus();
    }
    TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> bytes, e->bytes());
    const std::size_t width = e->bytes_in_host_order() ? 1 : swap_width(e->dtype_);
    if (bytes.size() != e->size_ || bytes.size() % width != 0)
      return absl::DataLossError(absl::StrFormat("%s: tensor '%s' holds %d bytes, not %d %d-byte units", e->owner_->index_file,
                                                 printable_key(e->name_), bytes.size(), e->size_ / width, width));
    swap_copy_range(bytes, offset, out, width);
    return absl::OkStatus();
  };
  auto release = [e](std::uint64_t offset, std::uint64_t size) {
    if (!e->bytes_are_mapped()) return;
    if (const auto bytes = e->bytes(); bytes.ok()) io::release_mapped_pages(*bytes, offset, offset + size);
  };
  return byte_source::from_reader(size_, std::move(read_range), std::move(stream_in_pieces), std::move(release));
}

inline absl::Status entry::verify(const std::function<void(std::uint64_t)>& on_progress) const {
  if (is_partitioned()) {
    std::uint64_t done = 0;
    for (std::uint32_t s = 0; s < num_slices_; ++s) {
      const entry& part = owner_->all[owner_->slices[first_slice_ + s].stored_entry];
      TFCKPT_RETURN_IF_ERROR(part.verify([&](std::uint64_t n) {
        if (on_progress) on_progress(done + n);
      }));
      done += part.size();
    }
    return absl::OkStatus();
  }
  TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> raw, bytes());
  const std::string shard_file = data_file_name(owner_->prefix, shard_, owner_->header.num_shards);
  std::uint32_t crc = 0;
  if (dtype_ == tfckpt::dtype::string) {
    // Decoding checks the length checksum and computes the payload CRC the same way TensorFlow does.
    TFCKPT_ASSIGN_OR_RETURN(const codec::decoded_strings s,
                            codec::decode_string_tensor(shard_file, name_, offset_, raw,
                                                        static_cast<std::uint64_t>(num_elements_), owner_->payload_order()));
    crc = s.crc32c;
  } else {
    crc = detail::checksum_payload(raw, bytes_are_mapped(), on_progress);
  }
  return checksum_status(crc);
}

inline absl::Status entry::checksum_status(std::uint32_t crc) const {
  if (codec::crc32c_mask(crc) == masked_crc32c_) return absl::OkStatus();
  return with_key(data_loss(data_file_name(owner_->prefix, shard_, owner_->header.num_shards), offset_,
                            "checksum mismatch over %d bytes: index has crc32c 0x%08x, data has 0x%08x (corrupt data, "
                            "or a data file from another checkpoint step than the index)",
                            size_, codec::crc32c_unmask(masked_crc32c_), crc),
                  name_);
}

// --- checkpoint ---

inline checkpoint::checkpoint(std::unique_ptr<detail::bundle> b) : bundle_(std::move(b)) {}
inline checkpoint::~checkpoint() = default;

inline absl::StatusOr<checkpoint> checkpoint::open(const std::filesystem::path& path, open_options options) {
  TFCKPT_ASSIGN_OR_RETURN(std::string prefix, detail::resolve_prefix(path, options));
  TFCKPT_ASSIGN_OR_RETURN(std::unique_ptr<detail::bundle> b, detail::bundle::load(std::move(prefix)));
  return checkpoint(std::move(b));
}

inline bool entry::bytes_are_mapped() const { return !is_partitioned() && !owner_->v1; }

inline std::span<const codec::slice_extent> entry::slice_extents(std::uint32_t i) const {
  return {owner_->extents.data() + owner_->slices[first_slice_ + i].first_extent, shape_.size()};
}
inline const entry& entry::slice_entry(std::uint32_t i) const {
  return owner_->all[owner_->slices[first_slice_ + i].stored_entry];
}
inline std::span<const entry> checkpoint::stored_entries() const { return bundle_->all; }
inline bool checkpoint::index_compressed() const { return bundle_->index_stats.snappy_blocks > 0; }

inline std::span<const entry> checkpoint::entries() const {
  return std::span<const entry>(bundle_->all).subspan(bundle_->first_visible);
}

inline const entry* checkpoint::find(std::string_view name) const {
  if (!name.empty() && name[0] == '\0') return nullptr;  // slice keys are not names
  return bundle_->find_any(name);
}

inline absl::StatusOr<const entry*> checkpoint::get(std::string_view name) const {
  if (const entry* e = find(name)) return e;
  return absl::NotFoundError(absl::StrFormat("%s: no tensor named '%s' (the checkpoint has %d tensors)",
                                             bundle_->index_file, printable_key(name), size()));
}

inline const std::string& checkpoint::prefix() const { return bundle_->prefix; }
inline std::int32_t checkpoint::num_shards() const { return bundle_->header.num_shards; }
inline bool checkpoint::big_endian() const { return bundle_->header.big_endian; }
inline bool checkpoint::is_v1() const { return bundle_->v1; }
inline std::string checkpoint::data_path(std::int32_t shard) const {
  return data_file_name(bundle_->prefix, shard, bundle_->header.num_shards);
}

inline verify_report checkpoint::verify(const verify_options& options) const {
  verify_report report;
  const std::vector<entry>& all = bundle_->all;
  std::uint64_t total = 0;
  for (const entry& e : all)
    if (!e.is_partitioned()) total += e.size();
  report.bytes_total = total;

  // The work, planned in key order: whole tensors (entry::verify), or 64 MiB pieces of large
  // numeric tensors in mapped shards, whose CRCs are combined afterwards. A missing shard is
  // reported once, at its first tensor, and its tensors are not checked.
  constexpr std::uint64_t kPieceBytes = std::uint64_t{64} << 20;
  struct piece {
    std::size_t entry_index;
    std::uint64_t from, to;
    bool whole;
  };
  std::vector<piece> pieces;
  std::vector<absl::Status> outcome(all.size());
  std::vector<bool> shard_seen(static_cast<std::size_t>(bundle_->header.num_shards), false);
  for (std::size_t i = 0; i < all.size(); ++i) {  // slice entries included: they hold the data
    const entry& e = all[i];
    if (e.is_partitioned()) continue;
    ++report.tensors_total;
    const auto shard = bundle_->shard_bytes(e.shard());
    const auto s = static_cast<std::size_t>(e.shard());
    if (!shard.ok()) {
      if (!shard_seen[s]) outcome[i] = shard.status();
      shard_seen[s] = true;
      continue;
    }
    if (!shard_seen[s]) bundle_->shards[e.shard()].file.advise(io::access::sequential);
    shard_seen[s] = true;
    ++report.tensors_checked;
    report.bytes_checked += e.size();
    if (e.dtype() == tfckpt::dtype::string || !e.bytes_are_mapped() || e.size() <= kPieceBytes) {
      pieces.push_back({i, 0, e.size(), true});
    } else {
      for (std::uint64_t at = 0; at < e.size(); at += kPieceBytes)
        pieces.push_back({i, at, std::min(e.size(), at + kPieceBytes), false});
    }
  }
  if (report.bytes_checked < total && options.progress) options.progress(total - report.bytes_checked, total);

  std::vector<std::uint32_t> piece_crc(pieces.size(), 0);
  std::atomic<std::size_t> next{0};
  std::uint64_t done = total - report.bytes_checked;
  std::mutex progress_mutex;  // guards `done` and the callback: reports arrive in order, one at a time
  const auto advance = [&](std::uint64_t n) {
    std::lock_guard lock(progress_mutex);
    done += n;
    if (options.progress) options.progress(done, total);
  };
  const auto work = [&] {
    for (std::size_t k; (k = next.fetch_add(1)) < pieces.size();) {
      const piece& p = pieces[k];
      const entry& e = all[p.entry_index];
      if (p.whole) {
        std::uint64_t reported = 0;
        outcome[p.entry_index] = e.verify([&](std::uint64_t n) {
          advance(n - reported);
          reported = n;
        });
        advance(e.size() - reported);
      } else {
        // The shard is mapped and long enough: planning checked it.
        const std::span<const std::byte> bytes = *bundle_->payload(e);
        piece_crc[k] = detail::checksum_payload(bytes.subspan(p.from, p.to - p.from), true);
        advance(p.to - p.from);
      }
    }
  };
  unsigned threads = options.threads;
  if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(pieces.size(), 1)));
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // fewer threads: the others take the work
    }
  }
  work();
  for (std::thread& t : helpers) t.join();

  for (std::size_t k = 0; k < pieces.size();) {  // combine the pieces of split tensors, in order
    if (pieces[k].whole) {
      ++k;
      continue;
    }
    const std::size_t i = pieces[k].entry_index;
    std::uint32_t crc = 0;
    for (; k < pieces.size() && pieces[k].entry_index == i; ++k)
      crc = codec::crc32c_combine(crc, piece_crc[k], pieces[k].to - pieces[k].from);
    outcome[i] = all[i].checksum_status(crc);
  }
  for (std::size_t i = 0; i < all.size(); ++i)
    if (!outcome[i].ok()) report.problems.push_back(std::move(outcome[i]));
  return report;
}

}  // namespace tfckpt

#endif  // TFCKPT_CHECKPOINT_CHECKPOINT_HPP_
