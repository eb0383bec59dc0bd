// SPDX-License-Identifier: Apache-2.0
// User story 2 (partial restore): a model gained a branch (Input -> A -> C -> Output 2 beside
// Input -> A -> B -> Output 1), and restoring the old checkpoint fails with "Key ... not found".
// Report what matches, what is missing and what changed shape, and keep what can be restored.
//
//   example_partial_restore OUT_DIR
#include <cstdio>
#include <filesystem>
#include <vector>

#include "tfckpt/tfckpt.hpp"

namespace {
// The old model's checkpoint (A and B), written with the library so the example needs no input.
absl::Status write_old_model(const std::filesystem::path& prefix) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(prefix, {.sync = false, .overwrite = true}));
  const std::vector<float> a(784 * 64, 0.01f), b(64 * 10, 0.02f);
  const auto bytes = [](const std::vector<float>& v) { return tfckpt::byte_source::from_span(std::as_bytes(std::span(v))); };
  TFCKPT_RETURN_IF_ERROR(w.add("A/weights", tfckpt::dtype::float32, std::vector<std::int64_t>{784, 64}, bytes(a)));
  TFCKPT_RETURN_IF_ERROR(w.add("B/weights", tfckpt::dtype::float32, std::vector<std::int64_t>{64, 10}, bytes(b)));
  TFCKPT_RETURN_IF_ERROR(w.add("B/weights/Momentum", tfckpt::dtype::float32, std::vector<std::int64_t>{64, 10}, bytes(b)));
  return w.finish();
}
}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : "partial-restore-demo";
  if (absl::Status s = write_old_model(dir / "old"); !s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 3;
  auto ckpt = tfckpt::open(dir / "old");
  if (!ckpt.ok()) return 3;

  // The new model's variables (in a real tool: read from its graph or written out by the trainer).
  const std::vector<tfckpt::variable_spec> model = {{"A/weights", tfckpt::dtype::float32, {784, 64}},
                                                    {"B/weights", tfckpt::dtype::float32, {64, 10}},
                                                    {"C/weights", tfckpt::dtype::float32, {64, 2}}};
  std::fputs(tfckpt::match_variables(tfckpt::entries(*ckpt), model).describe().c_str(), stdout);
  // Everything the new model can take, in a checkpoint it restores without "not found" errors.
  if (absl::Status s = tfckpt::write_bundle(tfckpt::entries(*ckpt) | tfckpt::views::match(model), dir / "restorable",
                                            {.writer = {.sync = false, .overwrite = true}});
      !s.ok())
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 3;
  auto out = tfckpt::open(dir / "restorable");
  std::printf("wrote %s: %zu tensors\n", out->prefix().c_str(), out->size());
  return out->verify().ok() ? 0 : 1;
}
