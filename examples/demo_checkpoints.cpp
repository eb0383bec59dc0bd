// SPDX-License-Identifier: Apache-2.0
// Writes the demo set of checkpoints the README's main job works on: log_0 ... log_3, trained (in
// this story) with the same trunk and a different final layer each — `out{i}/weights` [32, 10],
// `out{i}/biases` [10] — plus Momentum optimizer slots and a global step, as in the merge-heads user
// story. Values are deterministic, so every run prints the same.
//
//   example_demo_checkpoints [OUT_DIR]     (default: tfckpt-demo)
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "tfckpt/tfckpt.hpp"

namespace {

struct variable {
  std::string name;
  std::vector<std::int64_t> shape;
};

absl::Status write_log(const std::filesystem::path& prefix, int head, std::uint64_t* bytes) {
  const std::vector<variable> vars = {
      {"conv1/weights", {3, 3, 3, 16}}, {"conv1/biases", {16}},       {"fc/weights", {256, 32}},
      {"fc/biases", {32}},              {absl::StrFormat("out%d/weights", head), {32, 10}},
      {absl::StrFormat("out%d/biases", head), {10}},
  };
  tfckpt::bundle_writer_options options;
  options.overwrite = true;  // rerunning the demo replaces its own files
  TFCKPT_ASSIGN_OR_RETURN(tfckpt::bundle_writer w, tfckpt::bundle_writer::create(prefix, options));
  // The trunk is shared (same seed for every log); each head is different.
  for (const variable& v : vars) {
    const bool is_head = v.name.rfind("out", 0) == 0;
    std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>{}(v.name)));
    std::normal_distribution<float> normal(0.0f, 0.1f);
    std::size_t n = 1;
    for (auto d : v.shape) n *= static_cast<std::size_t>(d);
    std::vector<float> value(n), momentum(n);
    for (std::size_t i = 0; i < n; ++i) {
      value[i] = is_head ? static_cast<float>(head) + static_cast<float>(i % 10) / 10.0f : normal(rng);
      momentum[i] = 0.01f * value[i];
    }
    TFCKPT_RETURN_IF_ERROR(w.add(v.name, tfckpt::dtype::float32, v.shape,
                                 tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(value.data()), n * 4))));
    TFCKPT_RETURN_IF_ERROR(w.add(v.name + "/Momentum", tfckpt::dtype::float32, v.shape,
                                 tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(momentum.data()), n * 4))));
  }
  const std::int64_t step = 1000;
  TFCKPT_RETURN_IF_ERROR(w.add("global_step", tfckpt::dtype::int64, std::vector<std::int64_t>{},
                               tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(&step), 8))));
  *bytes = w.data_bytes();
  return w.finish();
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path out = argc > 1 ? argv[1] : "tfckpt-demo";
  for (int head = 0; head < 4; ++head) {
    const std::filesystem::path prefix = out / absl::StrFormat("log_%d", head) / "model.ckpt-1000";
    std::uint64_t bytes = 0;
    if (absl::Status s = write_log(prefix, head, &bytes); !s.ok()) {
      std::fprintf(stderr, "demo: %s\n", s.ToString().c_str());
      return 3;
    }
    auto ckpt = tfckpt::open(prefix);
    if (!ckpt.ok() || !ckpt->verify().ok()) {
      std::fprintf(stderr, "demo: %s does not read back\n", prefix.c_str());
      return 1;
    }
    std::printf("wrote %s: %zu tensors, %llu data bytes, verified\n", prefix.c_str(), ckpt->size(),
                static_cast<unsigned long long>(bytes));
  }
  return 0;
}
