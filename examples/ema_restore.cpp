// SPDX-License-Identifier: Apache-2.0
// User story 3 (restore moving averages): a model trained with tf.train.ExponentialMovingAverage
// saves `x` and its shadow `x/ExponentialMovingAverage`; for evaluation the shadows should be
// restored into `x`. This writes a checkpoint where every averaged variable holds its average.
//
//   example_ema_restore OUT_DIR [CKPT]     (without CKPT, a small one is generated)
#include <cstdio>
#include <filesystem>
#include <vector>

#include "tfckpt/tfckpt.hpp"

namespace {
absl::Status write_trained(const std::filesystem::path& prefix) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(prefix, {.sync = false, .overwrite = true}));
  const std::vector<float> raw(500, 1.0f), average(500, 0.75f);
  const auto bytes = [](const std::vector<float>& v) { return tfckpt::byte_source::from_span(std::as_bytes(std::span(v))); };
  const std::vector<std::int64_t> shape = {500};
  TFCKPT_RETURN_IF_ERROR(w.add("layer1/biases", tfckpt::dtype::float32, shape, bytes(raw)));
  TFCKPT_RETURN_IF_ERROR(w.add("layer1/biases/ExponentialMovingAverage", tfckpt::dtype::float32, shape, bytes(average)));
  const std::int32_t step = 30000;
  TFCKPT_RETURN_IF_ERROR(w.add("global_step", tfckpt::dtype::int32, std::vector<std::int64_t>{},
                               tfckpt::byte_source::from_span(std::as_bytes(std::span(&step, 1)))));
  return w.finish();
}
}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : "ema-demo";
  std::filesystem::path input = argc > 2 ? std::filesystem::path(argv[2]) : dir / "trained";
  if (argc <= 2)
    if (absl::Status s = write_trained(input); !s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 3;
  auto ckpt = tfckpt::open(input);
  if (!ckpt.ok()) return std::fprintf(stderr, "%s\n", ckpt.status().ToString().c_str()), 3;

  const auto planned = tfckpt::collect(tfckpt::entries(*ckpt) | tfckpt::views::ema_restore());
  std::fputs(tfckpt::describe_plan(planned).c_str(), stdout);
  if (absl::Status s = tfckpt::write_bundle(planned, dir / "averaged", {.writer = {.sync = false, .overwrite = true}}); !s.ok())
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 3;
  auto out = tfckpt::open(dir / "averaged");
  if (!out.ok()) return 3;
  if (const tfckpt::entry* b = out->find("layer1/biases")) {
    if (auto v = b->values<float>(); v.ok()) std::printf("layer1/biases[0] is now %g\n", static_cast<double>((*v)[0]));
  }
  return out->verify().ok() ? 0 : 1;
}
