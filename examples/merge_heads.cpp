// SPDX-License-Identifier: Apache-2.0
// Seed 000, "merge heads": N checkpoints share a trunk and differ in their final layer
// `out{i}/weights` [K, M], `out{i}/biases` [M]. One checkpoint comes out: the trunk of the first,
// `out/weights` = the heads' weights side by side (axis 1), `out/biases` = the biases one after the
// other (axis 0), no optimizer slots. Bytes stream from the inputs' mapped shards to the output;
// nothing is materialised.
//
//   example_merge_heads OUT IN0 IN1 ...   merge checkpoints IN0.. into the prefix OUT
//   example_merge_heads                   write 4 demo checkpoints to merge-heads-demo/, merge them
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/tensor/eigen.hpp"
#include "tfckpt/views/concat_by_group.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/plan.hpp"

namespace {

// The merge itself.
absl::Status merge_heads(const std::vector<tfckpt::checkpoint>& logs, const std::string& out) {
  const auto heads = tfckpt::group_by_regex(R"(^out(\d+)/(weights|biases)$)", "out/$2");
  auto merged = tfckpt::entries(std::span(logs))
              | tfckpt::views::filter([&](const tfckpt::tensor& t) { return t.origins[0].checkpoint_index == 0 || heads(t); })
              | tfckpt::views::filter(tfckpt::not_optimizer_slot())
              | tfckpt::views::concat_by_group(heads, {.order = tfckpt::concat_order::numeric_capture(1),
                                                       .axis = {{"out/weights", 1}, {"out/biases", 0}}});
  const std::vector<tfckpt::tensor> planned = tfckpt::collect(merged);  // metadata only: no byte read yet
  std::fputs(tfckpt::describe_plan(planned).c_str(), stdout);
  return tfckpt::write_bundle(planned, out, {.writer = {.overwrite = true}});
}

// What we promise, checked: every head's block of the output equals that head (Eigen block
// comparison), the trunk is the first checkpoint's, every CRC verifies.
absl::Status check(const std::vector<tfckpt::checkpoint>& logs, const tfckpt::checkpoint& out) {
  if (!out.verify().ok()) return absl::DataLossError("the merged checkpoint does not verify");
  TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* w, out.get("out/weights"));
  TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* b, out.get("out/biases"));
  TFCKPT_ASSIGN_OR_RETURN(const auto wv, w->values<float>());
  TFCKPT_ASSIGN_OR_RETURN(const auto bv, b->values<float>());
  TFCKPT_ASSIGN_OR_RETURN(const auto wm, tfckpt::as_eigen_matrix(wv));
  const auto bm = tfckpt::as_eigen_vector(bv);
  Eigen::Index col = 0;
  for (std::size_t i = 0; i < logs.size(); ++i) {
    TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* hw, logs[i].get(absl::StrFormat("out%d/weights", i)));
    TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* hb, logs[i].get(absl::StrFormat("out%d/biases", i)));
    TFCKPT_ASSIGN_OR_RETURN(const auto hwv, hw->values<float>());
    TFCKPT_ASSIGN_OR_RETURN(const auto hbv, hb->values<float>());
    TFCKPT_ASSIGN_OR_RETURN(const auto hm, tfckpt::as_eigen_matrix(hwv));
    if (wm.middleCols(col, hm.cols()) != hm || bm.segment(col, hm.cols()) != tfckpt::as_eigen_vector(hbv))
      return absl::InternalError(absl::StrFormat("head %d differs in the output", i));
    col += hm.cols();
  }
  for (const tfckpt::entry& e : out.entries()) {
    if (e.name().rfind("out/", 0) == 0) continue;
    TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* src, logs[0].get(e.name()));
    TFCKPT_ASSIGN_OR_RETURN(const auto a, e.bytes());
    TFCKPT_ASSIGN_OR_RETURN(const auto s, src->bytes());
    if (!std::ranges::equal(a, s)) return absl::InternalError(absl::StrFormat("trunk tensor '%s' differs", e.name()));
  }
  std::printf("verified: out/weights [%d,%d] = %zu heads side by side, out/biases likewise, trunk = %s, CRCs ok\n",
              static_cast<int>(wm.rows()), static_cast<int>(wm.cols()), logs.size(), logs[0].prefix().c_str());
  return absl::OkStatus();
}

// Demo inputs: trunk conv1/*, fc/* (the same in every log), head out{i}/* [32,10], Momentum slots.
absl::Status write_demo_log(const std::string& prefix, int head) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(prefix, {.overwrite = true}));
  const auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float base) -> absl::Status {
    std::vector<float> v(static_cast<std::size_t>(tfckpt::checked_num_elements(shape).value()));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = base + static_cast<float>(i % 10) / 10.0f;
    const std::string bytes(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    TFCKPT_RETURN_IF_ERROR(w.add(name, tfckpt::dtype::float32, shape, tfckpt::byte_source::from_bytes(bytes)));
    return w.add(name + "/Momentum", tfckpt::dtype::float32, shape, tfckpt::byte_source::from_bytes(bytes));
  };
  TFCKPT_RETURN_IF_ERROR(add("conv1/weights", {3, 3, 3, 16}, -1.0f));
  TFCKPT_RETURN_IF_ERROR(add("fc/weights", {256, 32}, -2.0f));
  TFCKPT_RETURN_IF_ERROR(add(absl::StrFormat("out%d/weights", head), {32, 10}, static_cast<float>(head)));
  TFCKPT_RETURN_IF_ERROR(add(absl::StrFormat("out%d/biases", head), {10}, static_cast<float>(head)));
  return w.finish();
}

int fail(const absl::Status& s) {
  std::fprintf(stderr, "merge_heads: %s\n", s.ToString().c_str());
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  std::vector<std::string> inputs;
  if (argc >= 3) {
    out = argv[1];
    inputs.assign(argv + 2, argv + argc);
  } else if (argc == 1) {
    out = "merge-heads-demo/merged/model.ckpt";
    for (int i = 0; i < 4; ++i) {
      inputs.push_back(absl::StrFormat("merge-heads-demo/log_%d/model.ckpt", i));
      if (absl::Status s = write_demo_log(inputs.back(), i); !s.ok()) return fail(s);
    }
  } else {
    std::fprintf(stderr, "usage: %s [OUT IN0 IN1 ...]\n", argv[0]);
    return 2;
  }
  std::vector<tfckpt::checkpoint> logs;
  for (const std::string& in : inputs) {
    auto c = tfckpt::open(in);
    if (!c.ok()) return fail(c.status());
    logs.push_back(*std::move(c));
  }
  if (absl::Status s = merge_heads(logs, out); !s.ok()) return fail(s);
  auto merged = tfckpt::open(out);
  if (!merged.ok()) return fail(merged.status());
  if (absl::Status s = check(logs, *merged); !s.ok()) return fail(s);
  // What `tfckpt ls` shows for the output.
  std::printf("%s:\n", out.c_str());
  for (const tfckpt::entry& e : merged->entries())
    std::printf("  %-16s %-8s %-14s %8llu bytes\n", std::string(e.name()).c_str(), std::string(tfckpt::dtype_name(e.dtype())).c_str(),
                tfckpt::shape_string(e.shape()).c_str(), static_cast<unsigned long long>(e.size()));
  return 0;
}
