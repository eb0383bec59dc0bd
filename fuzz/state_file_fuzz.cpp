// SPDX-License-Identifier: Apache-2.0
// The `checkpoint` state file (checkpoint/state_file.hpp): the input is the file. Reading must
// succeed or fail with a status naming it; latest_checkpoint must agree with the parsed state. A
// state that parses is written back the way TensorFlow writes it (checkpoint_state_text) and must
// read back equal: what we write, we (and TensorFlow) can read.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tfckpt/checkpoint/state_file.hpp"

namespace {

bool has_nan(const tfckpt::checkpoint_state& s) {
  for (double t : s.all_model_checkpoint_timestamps())
    if (std::isnan(t)) return true;
  return std::isnan(s.last_preserved_timestamp());
}

// Equal field by field, doubles bit for bit (as comparing the serialized messages would: -0 != +0).
bool same_bits(const tfckpt::checkpoint_state& a, const tfckpt::checkpoint_state& b) {
  const auto bits = [](const tfckpt::checkpoint_state& s) {
    std::vector<std::uint64_t> out;
    for (double t : s.all_model_checkpoint_timestamps()) out.push_back(std::bit_cast<std::uint64_t>(t));
    out.push_back(std::bit_cast<std::uint64_t>(s.last_preserved_timestamp()));
    return out;
  };
  return a.model_checkpoint_path() == b.model_checkpoint_path() &&
         a.all_model_checkpoint_paths() == b.all_model_checkpoint_paths() && bits(a) == bits(b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  const fs::path dir = tfckpt_fuzz::scratch_dir() / "state";
  static const bool made = fs::create_directories(dir) || fs::is_directory(dir);
  (void)made;
  const fs::path file = dir / tfckpt::kStateFileName;
  tfckpt_fuzz::write_file(file, std::string_view(reinterpret_cast<const char*>(data), size));

  const auto state = tfckpt::read_checkpoint_state(file);
  tfckpt_fuzz::expect_names(state.status(), file.string());
  const auto latest = tfckpt::latest_checkpoint(dir, {.relocate_by_basename = false});
  tfckpt_fuzz::expect_names(latest.status(), file.string());
  if (!state.ok()) {
    if (latest.ok()) tfckpt_fuzz::broken_promise("latest_checkpoint read a state file that does not parse", state.status());
    return 0;
  }
  if (latest.ok() == state->model_checkpoint_path().empty())
    tfckpt_fuzz::broken_promise("latest_checkpoint disagrees with model_checkpoint_path", latest.status());

  const std::string text = tfckpt::checkpoint_state_text(*state);
  const fs::path again_file = dir / "again";
  tfckpt_fuzz::write_file(again_file, text);
  const auto again = tfckpt::read_checkpoint_state(again_file);
  if (!again.ok()) tfckpt_fuzz::broken_promise("the state as we write it does not read back:\n" + text, again.status());
  if (!has_nan(*state) && !same_bits(*again, *state))
    tfckpt_fuzz::broken_promise("the state changed when written and read back:\n" + text, absl::OkStatus());
  return 0;
}
