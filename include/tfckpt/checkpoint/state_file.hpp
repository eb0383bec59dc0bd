// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/state_file.hpp
//
// The `checkpoint` state file that TensorFlow keeps beside a directory's checkpoints
// (CheckpointState in protobuf text format, spec/FORMAT.md §1.3), and `latest_checkpoint`:
//
//   model_checkpoint_path: "ckpt-9"                 newest prefix, relative to the directory or absolute
//   all_model_checkpoint_paths: "ckpt-7" ...        oldest to newest
//   all_model_checkpoint_timestamps: 1749551857.5   (TF2 CheckpointManager only)
//   last_preserved_timestamp: 1749486234.07
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(std::string prefix, tfckpt::latest_checkpoint("train_dir"));
#ifndef TFCKPT_CHECKPOINT_STATE_FILE_HPP_
#define TFCKPT_CHECKPOINT_STATE_FILE_HPP_

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/proto/checkpoint_state.pb.h"
#include "tfckpt/status.hpp"

namespace tfckpt {

/// The state file's name inside a checkpoint directory.
inline constexpr std::string_view kStateFileName = "checkpoint";

/// Reads and parses `<dir>/checkpoint` (or a state file given by path). kNotFound when absent,
/// kDataLoss when it is not valid CheckpointState text.
inline absl::StatusOr<tensorflow::CheckpointState> read_checkpoint_state(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return io::errno_status(file.string(), "open", errno);
  std::stringstream text;
  text << in.rdbuf();
  tensorflow::CheckpointState state;
  // Silence protobuf's stderr logging; the error goes into the status instead.
  struct collector : google::protobuf::io::ErrorCollector {
    std::string first;
    void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
      if (first.empty()) first = absl::StrFormat("line %d column %d: %s", line + 1, column + 1, message);
    }
  } errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text.str(), &state))
    return absl::DataLossError(absl::StrFormat("%s: not a valid checkpoint state file: %s", file.string(), errors.first));
  return state;
}

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
inline absl::StatusOr<std::string> latest_checkpoint(const std::filesystem::path& dir,
                                                     latest_checkpoint_options options = {}) {
  const std::filesystem::path file = dir / kStateFileName;
  TFCKPT_ASSIGN_OR_RETURN(const tensorflow::CheckpointState state, read_checkpoint_state(file));
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

#endif  // TFCKPT_CHECKPOINT_STATE_FILE_HPP_
