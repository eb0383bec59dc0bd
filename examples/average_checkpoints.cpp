// SPDX-License-Identifier: Apache-2.0
// Checkpoint averaging: the element-wise mean of the float tensors of several checkpoints of one
// model (integer counters and strings are taken from the last), streamed in constant memory.
//   example_average_checkpoints OUT IN...     average the IN checkpoints into the prefix OUT
//   example_average_checkpoints OUT           first write three small checkpoints beside OUT
#include <cstdio>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include "tfckpt/tfckpt.hpp"

namespace {

// Three training steps of a tiny model: dense/kernel holds k, k+1, ...; global_step is 1000 * k.
absl::Status write_inputs(const std::filesystem::path& dir, std::vector<std::string>& prefixes) {
  for (int k = 1; k <= 3; ++k) {
    const std::string prefix = (dir / absl::StrFormat("ckpt-%d", k)).string();
    TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(prefix, {.sync = false, .overwrite = true}));
    const float f = static_cast<float>(k);
    const std::vector<float> kernel{f, f + 1, f + 2, f + 3, f + 4, f + 5}, bias{f / 2, -f, 0.25f * f};
    const std::vector<std::int64_t> shape_k{2, 3}, shape_b{3};
    const std::int64_t step = 1000 * k;
    const auto bytes = [](const auto& v) {
      return tfckpt::byte_source::from_span(std::as_bytes(std::span(v.data(), v.size())));
    };
    TFCKPT_RETURN_IF_ERROR(w.add("dense/kernel", tfckpt::dtype::float32, shape_k, bytes(kernel)));
    TFCKPT_RETURN_IF_ERROR(w.add("dense/bias", tfckpt::dtype::float32, shape_b, bytes(bias)));
    TFCKPT_RETURN_IF_ERROR(w.add("global_step", tfckpt::dtype::int64, {}, bytes(std::vector<std::int64_t>{step})));
    TFCKPT_RETURN_IF_ERROR(w.finish());
    prefixes.push_back(prefix);
  }
  return absl::OkStatus();
}

absl::Status run(const std::string& out, std::vector<std::string> inputs) {
  if (inputs.empty()) TFCKPT_RETURN_IF_ERROR(write_inputs(std::filesystem::path(out).parent_path() / "inputs", inputs));
  std::vector<tfckpt::checkpoint> ckpts;
  for (const std::string& in : inputs) {
    TFCKPT_ASSIGN_OR_RETURN(auto c, tfckpt::open(in));
    ckpts.push_back(std::move(c));
  }

  // The whole job: plan (metadata only), then stream every mean into a new checkpoint.
  const auto planned = tfckpt::collect(tfckpt::entries(ckpts) | tfckpt::views::average());
  TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(planned, out, {.writer = {.overwrite = true}}));

  std::size_t averaged = 0;
  for (const tfckpt::tensor& t : planned) averaged += t.stored == nullptr;
  std::printf("averaged %zu checkpoints into %s: %zu tensors (%zu averaged, %zu taken from the last)\n", ckpts.size(),
              out.c_str(), planned.size(), averaged, planned.size() - averaged);
  TFCKPT_ASSIGN_OR_RETURN(const auto result, tfckpt::open(out));
  for (const tfckpt::entry& e : result.entries()) {
    std::string values;
    TFCKPT_RETURN_IF_ERROR(e.visit_values([&](const auto& v) {
      std::size_t i = 0;
      for (const auto& x : v) {
        if (i++ == 6) break;
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_integral_v<T>) {
          values += absl::StrFormat(" %d", static_cast<long long>(x));
        } else if constexpr (std::is_convertible_v<T, float>) {
          values += absl::StrFormat(" %g", static_cast<double>(static_cast<float>(x)));
        } else {
          values += " ...";
        }
      }
    }));
    std::printf("  %-14s %-8s %-6s =%s\n", std::string(e.name()).c_str(), std::string(tfckpt::dtype_name(e.dtype())).c_str(),
                tfckpt::shape_string(e.shape()).c_str(), values.c_str());
  }
  return result.verify().ok() ? absl::OkStatus() : absl::DataLossError("the average does not verify");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT [IN...]\n", argv[0]);
    return 2;
  }
  const absl::Status s = run(argv[1], std::vector<std::string>(argv + 2, argv + argc));
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
