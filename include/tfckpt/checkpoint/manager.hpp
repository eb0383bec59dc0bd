// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/manager.hpp
//
// A directory of numbered checkpoints kept the way TensorFlow 2's tf.train.CheckpointManager keeps
// them (spec/FORMAT.md §1.4): `<dir>/<name>-<n>` prefixes, the `checkpoint` state file listing
// them oldest to newest with their save times, the newest `max_to_keep` kept, and optionally one
// checkpoint every `keep_checkpoint_every_n_hours` preserved on disk. TensorFlow reads a directory
// written here (tf.train.latest_checkpoint, a CheckpointManager on the same directory) and this
// manager picks up a directory TensorFlow wrote.
//
// Crash safety: a checkpoint's files are all in place (and fsynced) before the state file names
// it, and the state file is replaced atomically, so after a crash at any point the state file
// parses and its latest checkpoint is complete. A crash can leave temporaries (`*.tempstate<n>`),
// which the next save() or prune() removes, or, between a checkpoint's completion and the state
// update, an unlisted complete checkpoint that the manager then never deletes (TensorFlow's
// manager behaves the same).
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto m, tfckpt::checkpoint_manager::open("train", {.max_to_keep = 3}));
//   TFCKPT_ASSIGN_OR_RETURN(std::string prefix, m.save([&](tfckpt::bundle_writer& w) {
//     return w.add("w", tfckpt::dtype::float32, shape, tfckpt::byte_source::from_span(bytes));
//   }));                                                 // "train/ckpt-1", then "train/ckpt-2", ...
//   TFCKPT_ASSIGN_OR_RETURN(tfckpt::prune_result r, tfckpt::prune("train", 1));  // `tfckpt prune`
#ifndef TFCKPT_CHECKPOINT_MANAGER_HPP_
#define TFCKPT_CHECKPOINT_MANAGER_HPP_

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/state_file.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/io/file_ops.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt {

struct manager_options {
  /// How many checkpoints stay listed (and on disk, preserved ones aside); nullopt keeps them all.
  /// Must be >= 1 when set (TensorFlow refuses 0 too).
  std::optional<int> max_to_keep;
  /// When set (> 0), a checkpoint leaving the list is kept on disk, unlisted, if it is at least
  /// this many hours newer than the last one so preserved.
  std::optional<double> keep_checkpoint_every_n_hours;
  /// Prefixes are `<dir>/<checkpoint_name>-<n>`. A plain file name: no '/'.
  std::string checkpoint_name = "ckpt";
  /// Seconds since the epoch; the system clock when empty. For tests.
  std::function<double()> now;
  /// How each checkpoint is written (shards, size budget, fsync). `sync` and `write_hook` also
  /// govern the state file (and the hook the deletion of old checkpoints); `overwrite` is decided
  /// by save().
  bundle_writer_options writer;
};

/// Saves numbered checkpoints into one directory and deletes old ones. Move-only (a copy would be
/// a second manager of the same directory); not thread-safe. A directory should have one manager
/// at a time, as with TensorFlow: save() removes the temporaries it finds for its own files.
class checkpoint_manager {
 public:
  checkpoint_manager(checkpoint_manager&&) noexcept = default;
  checkpoint_manager& operator=(checkpoint_manager&&) noexcept = default;
  checkpoint_manager(const checkpoint_manager&) = delete;
  checkpoint_manager& operator=(const checkpoint_manager&) = delete;

  /// Takes over `dir` (which need not exist yet), reloading `<dir>/checkpoint` if present as
  /// TensorFlow does: timestamps later than now are clamped to now; a file without timestamps
  /// (TF1 Saver's) gives every path `last_preserved_timestamp`; only paths newer than
  /// `last_preserved_timestamp` are managed again, older ones are left alone on disk. Relative
  /// paths are joined onto `dir`. Errors: kInvalidArgument for bad options, kDataLoss for a state
  /// file that does not parse or names no model path (fix or delete it; TensorFlow would ignore it
  /// and overwrite it on the next save).
  static absl::StatusOr<checkpoint_manager> open(std::filesystem::path dir, manager_options options = {});

  /// Writes the next checkpoint: creates a bundle_writer for `<dir>/<name>-<n>`, runs `fill` on it
  /// (fill adds tensors and must not call finish()), finishes it, records it as the latest in the
  /// state file (relative paths), drops the oldest listed checkpoints beyond max_to_keep (deleting
  /// `P.index` and `P.data-?????-of-?????` of each one not preserved, never `P.meta`, never another
  /// prefix's files), and records the state again. `n` is `number`, or one more than the largest
  /// number among the listed checkpoints and the `<name>-<n>.index` files in the directory (1 for
  /// the first). An explicit `number` overwrites an existing checkpoint of that number, as
  /// TensorFlow does (a crash during that overwrite can leave it torn). Returns the prefix.
  /// Errors: whatever `fill` returns or the writer reports (nothing is then changed but
  /// temporaries removed), kInvalidArgument for a negative number, I/O errors from the state file,
  /// and errors deleting old files (the new checkpoint is saved and recorded all the same).
  absl::StatusOr<std::string> save(const std::function<absl::Status(bundle_writer&)>& fill,
                                   std::optional<std::int64_t> number = std::nullopt);

  /// The newest checkpoint's prefix (dir-joined), or nullopt before the first.
  const std::optional<std::string>& latest() const { return latest_; }
  /// The managed checkpoints, oldest to newest (prefixes, dir-joined).
  std::vector<std::string> checkpoints() const;
  /// Their save times, parallel to checkpoints().
  std::vector<double> timestamps() const;
  double last_preserved_timestamp() const { return last_preserved_; }
  const std::filesystem::path& directory() const { return dir_; }

 private:
  struct managed {
    std::string prefix;
    double timestamp = 0;
  };
  checkpoint_manager() = default;

  double now() const;
  std::string normalize(const std::string& recorded) const;
  std::int64_t next_number() const;
  absl::Status record_state() const;
  absl::Status sweep();

  std::filesystem::path dir_;
  manager_options options_;
  std::optional<std::string> latest_;
  std::vector<managed> managed_;  // oldest first; an ordered map of prefix -> time, as TensorFlow's
  double last_preserved_ = 0;
};

/// What prune() did.
struct prune_result {
  std::vector<std::string> removed;        // prefixes dropped from the state file, oldest first
  std::vector<std::string> kept;           // prefixes still listed, oldest first
  std::vector<std::string> deleted_files;  // every file deleted, temporaries included
};

/// `tfckpt prune DIR --max-to-keep N`: keeps the newest `max_to_keep` checkpoints listed in
/// `<dir>/checkpoint`, deletes the files of the others (`P.index`, `P.data-?????-of-?????`; not
/// `P.meta`), removes state-file temporaries (`checkpoint.tempstate<n>`) older than a minute, and
/// rewrites the state file without them (timestamps kept in step; paths keep their spelling). The
/// model checkpoint is never removed. Only files inside `dir` are deleted: a listed path elsewhere
/// (an absolute path from another machine, say) is looked for by its last component inside `dir`.
/// Not for a directory a trainer is saving into at the same time: its next state update would be
/// lost or would list deleted checkpoints. Errors: kInvalidArgument for max_to_keep < 1, kNotFound
/// without a state file, kDataLoss when it does not parse, I/O errors (the state file is then
/// rewritten only if every deletion succeeded).
TFCKPT_DECL absl::StatusOr<prune_result> prune(const std::filesystem::path& dir, int max_to_keep);

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.
// ---------------------------------------------------------------------------------------------

namespace detail {

// `<name>-<digits>` -> the number, or nullopt (also on int64 overflow).
TFCKPT_DECL std::optional<std::int64_t> checkpoint_number(std::string_view file_name, std::string_view name);

// True for `<base>.tempstate<digits>`: a temporary of io::temp_file whose target is `base`.
TFCKPT_DECL bool is_temporary_of(std::string_view file_name, std::string_view* base);

// Deletes `P.index`, then every `P.data-*-of-*` (the index first: it is what makes a checkpoint
// visible). A missing file is fine; other failures are returned after trying every file.
TFCKPT_DECL absl::Status delete_checkpoint_files(const std::string& prefix, std::vector<std::string>* deleted,
                                                 const io::write_hook& hook = {});

// Removes the temporaries (`<base>.tempstate<n>`) left in `dir` by killed writers that
// `accept(base, temporary)` accepts.
TFCKPT_DECL void remove_temporaries(const std::filesystem::path& dir,
                                    const std::function<bool(std::string_view, const std::filesystem::path&)>& accept,
                                    std::vector<std::string>* deleted);

TFCKPT_DECL absl::StatusOr<checkpoint_state> read_state_for_manager(const std::filesystem::path& file);

}  // namespace detail

inline double checkpoint_manager::now() const {
  if (options_.now) return options_.now();
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A recorded path as the manager spells prefixes: joined onto dir_ when relative, and re-expressed
// under dir_ when an absolute path points inside it, so that equal checkpoints compare equal.

inline std::vector<std::string> checkpoint_manager::checkpoints() const {
  std::vector<std::string> out;
  for (const managed& c : managed_) out.push_back(c.prefix);
  return out;
}

inline std::vector<double> checkpoint_manager::timestamps() const {
  std::vector<double> out;
  for (const managed& c : managed_) out.push_back(c.timestamp);
  return out;
}

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_MANAGER)

namespace tfckpt::detail {

TFCKPT_DECL std::optional<std::int64_t> checkpoint_number(std::string_view file_name, std::string_view name) {
  if (file_name.size() <= name.size() + 1 || file_name.substr(0, name.size()) != name || file_name[name.size()] != '-')
    return std::nullopt;
  const std::string_view digits = file_name.substr(name.size() + 1);
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.front() == '+' || digits.front() == '-')
    return std::nullopt;
  return n;
}

TFCKPT_DECL bool is_temporary_of(std::string_view file_name, std::string_view* base) {
  const auto at = file_name.rfind(".tempstate");
  if (at == std::string_view::npos) return false;
  const std::string_view digits = file_name.substr(at + 10);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  *base = file_name.substr(0, at);
  return true;
}

TFCKPT_DECL absl::Status delete_checkpoint_files(const std::string& prefix, std::vector<std::string>* deleted,
                                                 const io::write_hook& hook) {
  namespace fs = std::filesystem;
  absl::Status first;
  const auto remove = [&](const std::string& path) {
    if (absl::Status s = hook.before(io::io_step::remove, path); !s.ok()) {
      if (first.ok()) first = std::move(s);
    } else if (absl::StatusOr<bool> removed = io::remove_file(path); !removed.ok()) {
      if (first.ok()) first = removed.status();
    } else if (*removed && deleted != nullptr) {
      deleted->push_back(path);
    }
  };
  remove(prefix + ".index");
  const fs::path p(prefix);
  const std::string base = p.filename().string();
  std::error_code ec;
  std::vector<std::string> data;
  for (const auto& f : fs::directory_iterator(p.has_parent_path() ? p.parent_path() : fs::path("."), ec)) {
    const std::string name = f.path().filename().string();
    std::string_view shard_prefix;
    // Exact prefix match: dropping `ckpt-1` must not touch `ckpt-10.data-…`.
    if (is_data_shard_name(name, &shard_prefix) && shard_prefix == base) data.push_back(f.path().string());
  }
  std::sort(data.begin(), data.end());
  for (const std::string& path : data) remove(path);
  return first;
}

TFCKPT_DECL void remove_temporaries(const std::filesystem::path& dir,
                                    const std::function<bool(std::string_view, const std::filesystem::path&)>& accept,
                                    std::vector<std::string>* deleted) {
  std::error_code ec;
  std::vector<std::filesystem::path> found;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = f.path().filename().string();
    std::string_view base;
    if (is_temporary_of(name, &base) && accept(base, f.path())) found.push_back(f.path());
  }
  for (const auto& path : found) {
    const absl::StatusOr<bool> removed = io::remove_file(path.string());
    if (removed.ok() && *removed && deleted != nullptr) deleted->push_back(path.string());
  }
}

TFCKPT_DECL absl::StatusOr<checkpoint_state> read_state_for_manager(const std::filesystem::path& file) {
  auto state = read_checkpoint_state(file);
  if (!state.ok()) return state.status();
  if (state->model_checkpoint_path().empty())
    return absl::DataLossError(absl::StrFormat(
        "%s: model_checkpoint_path is empty; fix or delete the state file", file.string()));
  return state;
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<checkpoint_manager> checkpoint_manager::open(std::filesystem::path dir, manager_options options) {
  namespace fs = std::filesystem;
  if (options.max_to_keep && *options.max_to_keep < 1)
    return absl::InvalidArgumentError(absl::StrFormat(
        "max_to_keep must be at least 1, got %d (leave it unset to keep every checkpoint)", *options.max_to_keep));
  if (options.keep_checkpoint_every_n_hours &&
      (std::isnan(*options.keep_checkpoint_every_n_hours) || *options.keep_checkpoint_every_n_hours < 0))
    return absl::InvalidArgumentError(absl::StrFormat("keep_checkpoint_every_n_hours must be >= 0, got %f",
                                                      *options.keep_checkpoint_every_n_hours));
  if (options.checkpoint_name.empty() || options.checkpoint_name.find('/') != std::string::npos ||
      options.checkpoint_name == "." || options.checkpoint_name == "..")
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint_name '%s' must be a plain, non-empty file name", options.checkpoint_name));
  if (dir.empty()) dir = ".";
  checkpoint_manager m;
  m.dir_ = std::move(dir);
  m.options_ = std::move(options);
  const double now = m.now();
  const fs::path state_file = m.dir_ / kStateFileName;
  std::error_code ec;
  if (!fs::exists(state_file, ec)) {
    // One second back, as TensorFlow does (against races when a manager is re-created at once).
    m.last_preserved_ = now - 1;
    return m;
  }
  TFCKPT_ASSIGN_OR_RETURN(const checkpoint_state state, detail::read_state_for_manager(state_file));
  m.latest_ = m.normalize(state.model_checkpoint_path());
  m.last_preserved_ = std::min(state.last_preserved_timestamp(), now);  // the clock went back: keep all
  const int n = state.all_model_checkpoint_paths_size();
  const bool have_times = state.all_model_checkpoint_timestamps_size() > 0;
  for (int i = 0; i < n; ++i) {
    if (have_times && i >= state.all_model_checkpoint_timestamps_size()) break;  // Python's zip()
    const double t = std::min(have_times ? state.all_model_checkpoint_timestamps(i) : m.last_preserved_, now);
    if (!(t > m.last_preserved_)) continue;  // preserved earlier (or TF1's untimed list): not ours to delete
    const std::string prefix = m.normalize(state.all_model_checkpoint_paths(i));
    // A repeated path keeps its first position and takes the later time (an OrderedDict assignment).
    auto it = std::find_if(m.managed_.begin(), m.managed_.end(), [&](const managed& c) { return c.prefix == prefix; });
    if (it != m.managed_.end()) {
      it->timestamp = t;
    } else {
      m.managed_.push_back({prefix, t});
    }
  }
  return m;
}

TFCKPT_DECL std::string checkpoint_manager::normalize(const std::string& recorded) const {
  namespace fs = std::filesystem;
  const fs::path p(recorded);
  const fs::path joined = p.is_absolute() ? p : dir_ / p;
  const fs::path rel = detail::normal_absolute(joined).lexically_relative(detail::normal_absolute(dir_));
  if (!rel.empty() && *rel.begin() != ".." && rel != ".") return (dir_ / rel).string();
  return joined.string();
}

TFCKPT_DECL std::int64_t checkpoint_manager::next_number() const {
  std::int64_t top = 0;
  const auto consider = [&](const std::string& prefix) {
    if (auto n = detail::checkpoint_number(std::filesystem::path(prefix).filename().string(), options_.checkpoint_name))
      top = std::max(top, *n);
  };
  for (const managed& c : managed_) consider(c.prefix);
  if (latest_) consider(*latest_);
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = f.path().filename().string();
    if (detail::has_suffix(name, ".index")) consider(name.substr(0, name.size() - 6));
  }
  return top == INT64_MAX ? top : top + 1;
}

TFCKPT_DECL absl::Status checkpoint_manager::record_state() const {
  std::vector<std::string> paths;
  std::vector<double> times;
  for (const managed& c : managed_) {
    paths.push_back(c.prefix);
    times.push_back(c.timestamp);
  }
  TFCKPT_ASSIGN_OR_RETURN(const checkpoint_state state,
                          make_checkpoint_state(dir_, latest_.value_or(std::string()), std::move(paths),
                                                std::move(times), last_preserved_, /*relative=*/true));
  return write_checkpoint_state(dir_, state, {.sync = options_.writer.sync, .write_hook = options_.writer.write_hook});
}

TFCKPT_DECL absl::Status checkpoint_manager::sweep() {
  if (!options_.max_to_keep) return absl::OkStatus();  // everything stays listed
  absl::Status first;
  const double keep_hours = options_.keep_checkpoint_every_n_hours.value_or(0);
  while (managed_.size() > static_cast<std::size_t>(*options_.max_to_keep)) {
    const managed oldest = managed_.front();
    managed_.erase(managed_.begin());
    // Preserved checkpoints leave the list too, so that the state file does not grow forever.
    if (keep_hours > 0 && oldest.timestamp - keep_hours * 3600.0 >= last_preserved_) {
      last_preserved_ = oldest.timestamp;
      continue;
    }
    if (absl::Status s = detail::delete_checkpoint_files(oldest.prefix, nullptr, options_.writer.write_hook);
        !s.ok() && first.ok())
      first = std::move(s);
  }
  return first;
}

TFCKPT_DECL absl::StatusOr<std::string> checkpoint_manager::save(const std::function<absl::Status(bundle_writer&)>& fill,
                                                                 std::optional<std::int64_t> number) {
  namespace fs = std::filesystem;
  if (number && *number < 0)
    return absl::InvalidArgumentError(absl::StrFormat("checkpoint number must be >= 0, got %d", *number));
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return io::errno_status(dir_.string(), "create directory", ec.value());
  // Temporaries of a writer that was killed: the state file's and our checkpoints'. One manager
  // per directory is assumed, so none of them can be in use.
  const std::string name = options_.checkpoint_name;
  detail::remove_temporaries(
      dir_,
      [&](std::string_view base, const fs::path&) {
        if (base == kStateFileName) return true;
        std::string_view prefix;
        if (detail::has_suffix(base, ".index")) {
          prefix = base.substr(0, base.size() - 6);
        } else if (!detail::is_data_shard_name(base, &prefix)) {
          return false;
        }
        return detail::checkpoint_number(prefix, name).has_value();
      },
      nullptr);

  const std::int64_t n = number.value_or(next_number());
  const std::string prefix = (dir_ / absl::StrFormat("%s-%d", name, n)).string();
  bundle_writer_options writer_options = options_.writer;
  writer_options.overwrite = number.has_value();
  TFCKPT_ASSIGN_OR_RETURN(bundle_writer writer, bundle_writer::create(prefix, std::move(writer_options)));
  TFCKPT_RETURN_IF_ERROR(fill(writer));  // the writer's temporaries remove themselves
  // A failed save leaves the directory as it was. A fresh number names no other checkpoint, so
  // whatever of it reached the disk (a data file renamed before a later rename failed, or all of
  // it when the directory fsync failed) goes again; an explicit number may have replaced an
  // existing checkpoint's files, which cannot be restored.
  const auto discard_new = [&] {
    if (!number) (void)detail::delete_checkpoint_files(prefix, nullptr);
  };
  if (absl::Status s = writer.finish(); !s.ok()) {
    discard_new();
    return s;
  }

  // The checkpoint is complete on disk; now make it the latest. As TensorFlow: record the state
  // before deleting anything (a crash while deleting leaves a list that is too long, which the next
  // sweep shortens), sweep, and record the shorter list.
  const double t = now();
  const std::vector<managed> managed_before = managed_;
  const std::optional<std::string> latest_before = latest_;
  std::erase_if(managed_, [&](const managed& c) { return c.prefix == prefix; });  // re-inserted at the end
  managed_.push_back({prefix, t});
  latest_ = prefix;
  if (absl::Status s = record_state(); !s.ok()) {
    // Only a failure after the state file's rename (its directory fsync) leaves it naming the new
    // checkpoint; otherwise the old state stands and the new checkpoint is undone.
    const auto on_disk = read_checkpoint_state(dir_ / kStateFileName);
    if (!on_disk.ok() || normalize(on_disk->model_checkpoint_path()) != prefix) {
      managed_ = managed_before;
      latest_ = latest_before;
      discard_new();
    }
    return s;
  }
  const absl::Status swept = sweep();
  TFCKPT_RETURN_IF_ERROR(record_state());
  if (!swept.ok())
    return absl::Status(swept.code(), absl::StrFormat("%s (checkpoint %s was saved and recorded)", swept.message(),
                                                      prefix));
  return prefix;
}

TFCKPT_DECL absl::StatusOr<prune_result> prune(const std::filesystem::path& dir_in, int max_to_keep) {
  namespace fs = std::filesystem;
  if (max_to_keep < 1)
    return absl::InvalidArgumentError(
        absl::StrFormat("--max-to-keep must be at least 1, got %d (the latest checkpoint is always kept)", max_to_keep));
  const fs::path dir = dir_in.empty() ? fs::path(".") : dir_in;
  const fs::path state_file = dir / kStateFileName;
  TFCKPT_ASSIGN_OR_RETURN(const checkpoint_state state, detail::read_state_for_manager(state_file));

  // Where a recorded path's files are, never outside `dir`.
  const fs::path dir_abs = detail::normal_absolute(dir);
  const auto locate = [&](const std::string& recorded) {
    const fs::path p(recorded);
    const fs::path joined = p.is_absolute() ? p : dir / p;
    const fs::path rel = detail::normal_absolute(joined).lexically_relative(dir_abs);
    if (!rel.empty() && *rel.begin() != ".." && rel != ".") return (dir / rel).string();
    return (dir / std::string(detail::foreign_basename(recorded))).string();
  };

  const int n = state.all_model_checkpoint_paths_size();
  const bool times_in_step = state.all_model_checkpoint_timestamps_size() == n;
  const std::string model = locate(state.model_checkpoint_path());
  prune_result result;
  checkpoint_state pruned = state;
  pruned.clear_all_model_checkpoint_paths();
  pruned.clear_all_model_checkpoint_timestamps();
  // The newest max_to_keep listed stay; anything also kept (the model path, a path listed twice)
  // is not deleted.
  std::vector<std::string> keep_files;
  for (int i = 0; i < n; ++i) {
    if (i >= n - max_to_keep || locate(state.all_model_checkpoint_paths(i)) == model) {
      pruned.add_all_model_checkpoint_paths(state.all_model_checkpoint_paths(i));
      if (times_in_step) pruned.add_all_model_checkpoint_timestamps(state.all_model_checkpoint_timestamps(i));
      result.kept.push_back(locate(state.all_model_checkpoint_paths(i)));
    }
  }
  keep_files = result.kept;
  keep_files.push_back(model);
  absl::Status first;
  for (int i = 0; i < n; ++i) {
    const std::string prefix = locate(state.all_model_checkpoint_paths(i));
    if (std::find(keep_files.begin(), keep_files.end(), prefix) != keep_files.end() ||
        std::find(result.removed.begin(), result.removed.end(), prefix) != result.removed.end())
      continue;
    result.removed.push_back(prefix);
    if (absl::Status s = detail::delete_checkpoint_files(prefix, &result.deleted_files); !s.ok() && first.ok())
      first = std::move(s);
  }
  TFCKPT_RETURN_IF_ERROR(first);  // the state file still lists what could not be deleted
  // State-file temporaries a minute old: a younger one may belong to a writer at work right now.
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::minutes(1);
  detail::remove_temporaries(
      dir,
      [&](std::string_view base, const fs::path& temporary) {
        std::error_code age_error;
        return base == kStateFileName && fs::last_write_time(temporary, age_error) < cutoff && !age_error;
      },
      &result.deleted_files);
  TFCKPT_RETURN_IF_ERROR(write_checkpoint_state(dir, pruned));
  return result;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_MANAGER

#endif  // TFCKPT_CHECKPOINT_MANAGER_HPP_
