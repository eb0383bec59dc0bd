// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/checkpoint_state.hpp
//
// The contents of a directory's `checkpoint` state file (TensorFlow's CheckpointState message,
// spec/FORMAT.md §1.3) as a plain value, with the accessor names of the protobuf message. Reading
// and writing the file are in checkpoint/state_file.hpp; the text format itself is parsed and
// printed by the compiled tfckpt::proto library (which tfckpt::tfckpt links), so that including
// this header never includes protobuf.
//
// Example:
//   tfckpt::checkpoint_state s;
//   s.set_model_checkpoint_path("ckpt-3");
//   s.add_all_model_checkpoint_paths("ckpt-3");
//   for (const std::string& p : s.all_model_checkpoint_paths()) ...
#ifndef TFCKPT_CHECKPOINT_CHECKPOINT_STATE_HPP_
#define TFCKPT_CHECKPOINT_CHECKPOINT_STATE_HPP_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tfckpt {

/// CheckpointState: the newest checkpoint, all kept checkpoints (oldest first), their save times
/// (TF2 CheckpointManager only) and the last time a checkpoint was preserved (0: none).
class checkpoint_state {
 public:
  const std::string& model_checkpoint_path() const { return model_checkpoint_path_; }
  void set_model_checkpoint_path(std::string path) { model_checkpoint_path_ = std::move(path); }

  const std::vector<std::string>& all_model_checkpoint_paths() const { return all_model_checkpoint_paths_; }
  const std::string& all_model_checkpoint_paths(int i) const {
    return all_model_checkpoint_paths_[static_cast<std::size_t>(i)];
  }
  int all_model_checkpoint_paths_size() const { return static_cast<int>(all_model_checkpoint_paths_.size()); }
  void add_all_model_checkpoint_paths(std::string path) { all_model_checkpoint_paths_.push_back(std::move(path)); }
  void clear_all_model_checkpoint_paths() { all_model_checkpoint_paths_.clear(); }

  const std::vector<double>& all_model_checkpoint_timestamps() const { return all_model_checkpoint_timestamps_; }
  double all_model_checkpoint_timestamps(int i) const {
    return all_model_checkpoint_timestamps_[static_cast<std::size_t>(i)];
  }
  int all_model_checkpoint_timestamps_size() const { return static_cast<int>(all_model_checkpoint_timestamps_.size()); }
  void add_all_model_checkpoint_timestamps(double t) { all_model_checkpoint_timestamps_.push_back(t); }
  void clear_all_model_checkpoint_timestamps() { all_model_checkpoint_timestamps_.clear(); }

  double last_preserved_timestamp() const { return last_preserved_timestamp_; }
  void set_last_preserved_timestamp(double t) { last_preserved_timestamp_ = t; }

  friend bool operator==(const checkpoint_state&, const checkpoint_state&) = default;

 private:
  std::string model_checkpoint_path_;                   // field 1
  std::vector<std::string> all_model_checkpoint_paths_;  // field 2
  std::vector<double> all_model_checkpoint_timestamps_;  // field 3
  double last_preserved_timestamp_ = 0;                  // field 4
};

namespace detail {
/// Parses CheckpointState text format as protobuf's TextFormat::Parser does. On failure returns
/// false with *error = "line L column C: <protobuf's message>" (1-based). Compiled into tfckpt::proto.
bool parse_checkpoint_state_text(std::string_view text, checkpoint_state* state, std::string* error);
/// Prints `state` as protobuf's TextFormat::Printer does, doubles spelled by `print_double`.
/// Compiled into tfckpt::proto.
std::string print_checkpoint_state_text(const checkpoint_state& state, std::string (*print_double)(double));
}  // namespace detail

}  // namespace tfckpt

#endif  // TFCKPT_CHECKPOINT_CHECKPOINT_STATE_HPP_
