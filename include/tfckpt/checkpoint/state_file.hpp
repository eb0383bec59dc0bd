// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/state_file.hpp
//
// The `checkpoint` state file that TensorFlow keeps beside a directory's checkpoints
// (CheckpointState in protobuf text format, spec/FORMAT.md §1.3): reading it, `latest_checkpoint`,
// and writing it as TensorFlow does (same rules, same text, atomically):
//
//   model_checkpoint_path: "ckpt-9"                 newest prefix, relative to the directory or absolute
//   all_model_checkpoint_paths: "ckpt-7" ...        oldest to newest
//   all_model_checkpoint_timestamps: 1749551857.5   (TF2 CheckpointManager only)
//   last_preserved_timestamp: 1749486234.07
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(std::string prefix, tfckpt::latest_checkpoint("train_dir"));
//   TFCKPT_ASSIGN_OR_RETURN(auto state, tfckpt::make_checkpoint_state("train_dir", "train_dir/ckpt-3",
//                                                                     {"train_dir/ckpt-2"}, {}, 0, true));
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_checkpoint_state("train_dir", state));   // "ckpt-2", "ckpt-3"
#ifndef TFCKPT_CHECKPOINT_STATE_FILE_HPP_
#define TFCKPT_CHECKPOINT_STATE_FILE_HPP_

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/checkpoint_state.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt {

/// The state file's name inside a checkpoint directory.
inline constexpr std::string_view kStateFileName = "checkpoint";

/// Reads and parses `<dir>/checkpoint` (or a state file given by path). kNotFound when absent,
/// kDataLoss when it is not valid CheckpointState text.
TFCKPT_DECL absl::StatusOr<checkpoint_state> read_checkpoint_state(const std::filesystem::path& file);

namespace detail {
// The last component of a path written on any system (POSIX '/' or Windows '\').
inline std::string_view foreign_basename(std::string_view p) {
  const auto cut = p.find_last_of("/\\");
  return cut == std::string_view::npos ? p : p.substr(cut + 1);
}
}  // namespace detail

struct latest_checkpoint_options {
  /// When the recorded path does not exist (an absolute path from another machine, say), look for
  /// its last component inside `dir`. TensorFlow itself only joins relative paths with `dir`.
  bool relocate_by_basename = true;
};

/// The newest checkpoint prefix recorded in `<dir>/checkpoint`, resolved as TensorFlow's
/// latest_checkpoint does: relative paths are joined onto `dir`. Errors: kNotFound when the state
/// file is missing or names nothing, kDataLoss when it does not parse.
TFCKPT_DECL absl::StatusOr<std::string> latest_checkpoint(const std::filesystem::path& dir,
                                                          latest_checkpoint_options options = {});

/// Options for write_checkpoint_state().
struct write_state_options {
  /// fsync the file before the rename and the directory after it (off only for throwaway output).
  bool sync = true;
  /// Fault injection for tests: called before each write, fsync, close, rename and directory fsync.
  io::write_hook write_hook{};
};

/// The state a TensorFlow writer would record (`generate_checkpoint_state_proto` and
/// `update_checkpoint_state_internal`, spec §1.3):
///  1. `model_path` is appended to `all_paths` unless it already is its last element;
///  2. `timestamps`, when given, must be as many as the paths after step 1;
///  3. with `relative` (TF2 CheckpointManager's save_relative_paths), every absolute path is
///     rewritten relative to `dir` (lexically, as Python's os.path.relpath: a path outside `dir`
///     becomes `../…`);
///  4. when `dir` itself is relative, every path the caller gave relative (to the working
///     directory, as TF1's Saver passes them) is rewritten relative to `dir`;
///  5. `last_preserved` goes to field 4 (0 leaves it out, as proto3 does).
/// Errors: kInvalidArgument for an empty model path, a timestamp count that does not match, or a
/// model path that resolves to the state file itself (`<dir>/checkpoint`).
TFCKPT_DECL absl::StatusOr<checkpoint_state> make_checkpoint_state(
    const std::filesystem::path& dir, std::string model_path, std::vector<std::string> all_paths = {},
    std::vector<double> timestamps = {}, double last_preserved = 0, bool relative = false);

/// The state as TensorFlow's Python writer prints it (text_format.MessageToString): one
/// `name: value` line per value in field-number order, strings in double quotes with C escapes
/// (bytes >= 0x80 as three-digit octal), doubles as Python's repr (shortest round-trip digits:
/// `1749551857.5064511`, `1.5`, `100.0`, `1e+16`).
inline std::string checkpoint_state_text(const checkpoint_state& state);

/// Writes `state` to `<dir>/checkpoint` atomically: the text goes to a temporary in `dir`
/// (`checkpoint.tempstate<random>`), is flushed and renamed over the state file, so a reader sees
/// the old file or the new one, never a mixture. A crash can leave the temporary behind; nothing
/// reads it. The directory must exist. Errors: kNotFound (no directory), kPermissionDenied,
/// kUnavailable (other I/O errors); the previous state file is then unchanged.
inline absl::Status write_checkpoint_state(const std::filesystem::path& dir, const checkpoint_state& state,
                                           write_state_options options = {});

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.
// ---------------------------------------------------------------------------------------------

namespace detail {

// Python's repr(float), which TensorFlow's text_format writer uses for doubles
// (PyOS_double_to_string mode 'r'): the shortest digits that round-trip, in fixed notation when
// the decimal point position `decpt` (value = 0.d1d2… x 10^decpt) is in (-4, 16], with ".0" added
// to an integer; otherwise d1.d2…e±XX with at least two exponent digits.
TFCKPT_DECL std::string python_float_repr(double v);

// An absolute, lexically normal path without a trailing separator (os.path.abspath).
inline std::filesystem::path normal_absolute(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::path a = std::filesystem::absolute(p.empty() ? std::filesystem::path(".") : p, ec).lexically_normal();
  if (!a.has_filename() && a.has_relative_path()) a = a.parent_path();
  return a;
}

// os.path.relpath(p, start): purely lexical, both made absolute against the working directory.
inline std::string python_relpath(const std::filesystem::path& p, const std::filesystem::path& start) {
  const std::filesystem::path r = normal_absolute(p).lexically_relative(normal_absolute(start));
  return r.empty() ? normal_absolute(p).string() : r.string();
}

}  // namespace detail

inline std::string checkpoint_state_text(const checkpoint_state& state) {
  // protobuf's text printer with Python's double spelling; strings are escaped the same way by both.
  return detail::print_checkpoint_state_text(state, &detail::python_float_repr);
}

inline absl::Status write_checkpoint_state(const std::filesystem::path& dir, const checkpoint_state& state,
                                           write_state_options options) {
  return io::write_file_atomically(dir / kStateFileName, checkpoint_state_text(state), options.sync,
                                   options.write_hook);
}

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_STATE_FILE)

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<checkpoint_state> read_checkpoint_state(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return io::errno_status(file.string(), "open", errno);
  std::stringstream text;
  text << in.rdbuf();
  checkpoint_state state;
  std::string error;
  if (!detail::parse_checkpoint_state_text(text.str(), &state, &error))
    return absl::DataLossError(absl::StrFormat("%s: not a valid checkpoint state file: %s", file.string(), error));
  return state;
}

TFCKPT_DECL absl::StatusOr<std::string> latest_checkpoint(const std::filesystem::path& dir,
                                                          latest_checkpoint_options options) {
  const std::filesystem::path file = dir / kStateFileName;
  TFCKPT_ASSIGN_OR_RETURN(const checkpoint_state state, read_checkpoint_state(file));
  const std::string& recorded = state.model_checkpoint_path();
  if (recorded.empty())
    return absl::NotFoundError(absl::StrFormat("%s: model_checkpoint_path is empty", file.string()));
  std::filesystem::path prefix(recorded);
  if (prefix.is_relative()) prefix = dir / prefix;
  const auto exists = [](const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::exists(p.string() + ".index", ec) || std::filesystem::is_regular_file(p, ec);
  };
  if (!exists(prefix) && options.relocate_by_basename) {
    const std::filesystem::path moved = dir / std::string(detail::foreign_basename(recorded));
    if (exists(moved)) return moved.string();
  }
  return prefix.string();
}
}  // namespace tfckpt

namespace tfckpt::detail {

TFCKPT_DECL std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, ec == std::errc() ? static_cast<std::size_t>(end - buf) : 0);
  std::string out;
  if (!s.empty() && s.front() == '-') {
    out = "-";
    s.remove_prefix(1);
  }
  const std::size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::string_view exp_text = s.substr(e + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  const int decpt = exponent + 1;
  const int n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    out += absl::StrFormat("e%c%02d", exponent < 0 ? '-' : '+', exponent < 0 ? -exponent : exponent);
  } else if (decpt <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
  } else if (decpt < n) {
    out += digits.substr(0, static_cast<std::size_t>(decpt)) + "." + digits.substr(static_cast<std::size_t>(decpt));
  } else {
    out += digits + std::string(static_cast<std::size_t>(decpt - n), '0') + ".0";
  }
  return out;
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<checkpoint_state> make_checkpoint_state(const std::filesystem::path& dir,
                                                                   std::string model_path,
                                                                   std::vector<std::string> all_paths,
                                                                   std::vector<double> timestamps,
                                                                   double last_preserved, bool relative) {
  namespace fs = std::filesystem;
  if (model_path.empty()) return absl::InvalidArgumentError("checkpoint state: the model checkpoint path is empty");
  // A path as it was given (before any rewriting) decides whether rule 4 applies to it.
  struct given {
    std::string path;
    bool was_relative;
  };
  const auto rewrite = [&](const std::string& p) {
    given g{p, !fs::path(p).is_absolute()};
    if (relative && !g.was_relative) g.path = detail::python_relpath(p, dir);
    return g;
  };
  given model = rewrite(model_path);
  std::vector<given> paths;
  paths.reserve(all_paths.size() + 1);
  for (const std::string& p : all_paths) paths.push_back(rewrite(p));
  if (paths.empty() || paths.back().path != model.path) paths.push_back(model);
  if (!timestamps.empty() && timestamps.size() != paths.size())
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint state for %s: %d timestamps for %d checkpoint paths (the model path %s is appended when it is "
        "not the last path)",
        dir.string(), timestamps.size(), paths.size(), model_path));
  if (dir.is_relative()) {
    const auto rule4 = [&](given& g) {
      if (g.was_relative) g.path = detail::python_relpath(g.path, dir);
    };
    rule4(model);
    for (given& g : paths) rule4(g);
  }
  const fs::path state_file = dir / kStateFileName;
  const fs::path resolved = fs::path(model.path).is_absolute() ? fs::path(model.path) : dir / model.path;
  if (detail::normal_absolute(resolved) == detail::normal_absolute(state_file))
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint path '%s' is the state file %s itself; use a different checkpoint name", model_path,
        state_file.string()));
  checkpoint_state state;
  state.set_model_checkpoint_path(model.path);
  for (const given& g : paths) state.add_all_model_checkpoint_paths(g.path);
  for (double t : timestamps) state.add_all_model_checkpoint_timestamps(t);
  state.set_last_preserved_timestamp(last_preserved);
  return state;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_STATE_FILE

#endif  // TFCKPT_CHECKPOINT_STATE_FILE_HPP_
