// SPDX-License-Identifier: Apache-2.0
// The shipped BERT mapping, end to end: a BERT-shaped checkpoint converted with
// examples/rules/bert_to_pytorch.rules has exactly Hugging Face's names, kernels transposed, values
// equal element by element; imported back with pytorch_to_bert.rules it is the original model again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliBertRoundTrip, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <span>
#include <map>

#include "testing/bert_checkpoint.hpp"
#include "testing/cli_runner.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/sources/safetensors.hpp"

namespace bert_round_trip_test {

namespace {
namespace fs = std::filesystem;
using tfckpt_testing::run_cli;

const std::string kRules = std::string(TFCKPT_SOURCE_DIR) + "/examples/rules/";

TEST(CliBertRoundTrip, ToHuggingFaceNamesAndBack) {
  tfckpt_testing::scratch_dir dir;
  fs::create_directories(dir / "bert");
  const std::string ckpt = (dir / "bert" / "model.ckpt").string();
  ASSERT_OK(tfckpt_testing::write_bert_checkpoint(ckpt));
  const std::vector<tfckpt_testing::bert_weight> weights = tfckpt_testing::bert_weights();

  const std::string st = (dir / "model.safetensors").string();
  auto r = run_cli({"convert", ckpt, "--to", "safetensors", st, "--rules", kRules + "bert_to_pytorch.rules", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_OK_AND_ASSIGN(auto file, tfckpt::open_safetensors(st));
  std::map<std::string, tfckpt::tensor> by_name;
  for (const tfckpt::tensor& t : tfckpt::entries(file)) by_name.emplace(t.name, t);
  EXPECT_EQ(by_name.size(), weights.size()) << "no adam_m/adam_v slots and no global_step";
  for (const auto& w : weights) {
    SCOPED_TRACE(w.tf_name + " -> " + w.hf_name);
    const auto it = by_name.find(w.hf_name);
    ASSERT_NE(it, by_name.end());
    const tfckpt::tensor& t = it->second;
    EXPECT_EQ(t.dtype, tfckpt::dtype::float32);
    const std::vector<std::int64_t> shape = w.transposed ? std::vector<std::int64_t>{w.shape[1], w.shape[0]} : w.shape;
    EXPECT_EQ(t.shape, shape);
    ASSERT_EQ(t.size(), w.values.size() * sizeof(float));
    std::vector<float> got(w.values.size());
    ASSERT_OK(t.source.read(0, std::as_writable_bytes(std::span(got))));
    for (std::size_t i = 0; i < got.size(); ++i) {
      // PyTorch's weight[o][i] is TensorFlow's kernel[i][o].
      const std::size_t from = w.transposed ? (i % static_cast<std::size_t>(shape[1])) * static_cast<std::size_t>(shape[0]) +
                                                  i / static_cast<std::size_t>(shape[1])
                                            : i;
      ASSERT_EQ(got[i], w.values[from]) << "element " << i;
    }
  }

  const std::string back = (dir / "back_model.ckpt").string();
  r = run_cli({"import", st, "--out", back, "--rules", kRules + "pytorch_to_bert.rules", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_OK_AND_ASSIGN(auto restored, tfckpt::open(back));
  EXPECT_EQ(restored.size(), weights.size());
  for (const auto& w : weights) {
    SCOPED_TRACE(w.tf_name);
    const tfckpt::entry* e = restored.find(w.tf_name);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(std::vector<std::int64_t>(e->shape().begin(), e->shape().end()), w.shape);
    ASSERT_OK_AND_ASSIGN(auto values, e->values<float>());
    EXPECT_TRUE(std::equal(values.begin(), values.end(), w.values.begin(), w.values.end()));
  }
  EXPECT_TRUE(restored.verify().problems.empty());
}

}  // namespace

}  // namespace bert_round_trip_test

#endif  // TFCKPT_CLI_PATH

