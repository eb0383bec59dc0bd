// SPDX-License-Identifier: Apache-2.0
// Writing your own adaptors: a per-tensor one is std::views::transform over tfckpt::tensor; a
// whole-input one (it must see every name before it yields one) is views::planned over a function of
// the input's tensors. Both compose with the library's adaptors into a named, reusable recipe.
//   example_custom_adaptor DIR      writes three small training checkpoints into DIR, then keeps each
//                                   variable's newest value under a "model/" scope, without optimizer
//                                   slots, in DIR/newest
#include <cstdio>
#include <filesystem>
#include <map>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "tfckpt/tfckpt.hpp"

namespace {

// A per-tensor adaptor: one line.
const auto under_model_scope = std::views::transform([](tfckpt::tensor t) { t.name = "model/" + t.name; return t; });

// A whole-input adaptor: among joined checkpoints, each name from the last checkpoint that has it.
auto newest_of_each() {
  return tfckpt::views::planned([](std::vector<tfckpt::tensor> in) {
    std::map<std::string, tfckpt::tensor> newest;
    for (tfckpt::tensor& t : in) newest.insert_or_assign(t.name, std::move(t));
    std::vector<tfckpt::tensor> out;
    for (auto& [name, t] : newest) out.push_back(std::move(t));
    return out;
  });
}

// Step k of a run that added a layer at step 2: dense/kernel and its Momentum slot at every step,
// head/bias from step 2 on.
absl::Status write_step(const std::filesystem::path& prefix, int k) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(prefix.string(), {.sync = false, .overwrite = true}));
  const auto bytes = [](const std::vector<float>& v) { return tfckpt::byte_source::from_span(std::as_bytes(std::span(v))); };
  const float f = static_cast<float>(k);
  const std::vector<float> kernel{f, f, f, f}, slot{0, 0, 0, 0}, bias{10 * f, 10 * f};
  const std::vector<std::int64_t> shape_k{2, 2}, shape_b{2};
  TFCKPT_RETURN_IF_ERROR(w.add("dense/kernel", tfckpt::dtype::float32, shape_k, bytes(kernel)));
  TFCKPT_RETURN_IF_ERROR(w.add("dense/kernel/Momentum", tfckpt::dtype::float32, shape_k, bytes(slot)));
  if (k >= 2) TFCKPT_RETURN_IF_ERROR(w.add("head/bias", tfckpt::dtype::float32, shape_b, bytes(bias)));
  return w.finish();
}

absl::Status run(const std::filesystem::path& dir) {
  std::vector<tfckpt::checkpoint> steps;
  for (int k = 1; k <= 3; ++k) {
    TFCKPT_RETURN_IF_ERROR(write_step(dir / absl::StrFormat("ckpt-%d", k), k));
    TFCKPT_ASSIGN_OR_RETURN(auto c, tfckpt::open(dir / absl::StrFormat("ckpt-%d", k)));
    steps.push_back(std::move(c));
  }

  // The recipe is a value: named once, applied to any pipeline.
  const auto export_recipe = tfckpt::views::filter(tfckpt::not_optimizer_slot()) | newest_of_each() | under_model_scope;
  TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(tfckpt::entries(steps) | export_recipe, dir / "newest",
                                              {.writer = {.overwrite = true}}));

  TFCKPT_ASSIGN_OR_RETURN(const auto out, tfckpt::open(dir / "newest"));
  for (const tfckpt::entry& e : out.entries()) {
    TFCKPT_ASSIGN_OR_RETURN(const auto v, e.values<float>());
    std::printf("%-18s %-6s first value %g\n", std::string(e.name()).c_str(), tfckpt::shape_string(e.shape()).c_str(),
                static_cast<double>(v[0]));
  }
  return out.verify().ok() ? absl::OkStatus() : absl::DataLossError("the result does not verify");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const absl::Status s = run(argv[1]);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
