// SPDX-License-Identifier: Apache-2.0
// `tfckpt freeze --input_saved_model_dir` on TF2 SavedModels: the signature's function frozen, its
// outputs by default, `--signature` to pick another, `--dry-run`, and refusals naming the nodes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliFreezeSavedModelTf2, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <nlohmann/json.hpp>

#include "testing/cli_runner.hpp"
#include "testing/graph_eval.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/graph/graph_io.hpp"

namespace freeze_saved_model_tf2_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::run_cli;

fs::path half_plus_two() { return tfckpt_testing::fixtures_dir() / "serving_half_plus_two_tf2" / "00000123"; }
fs::path rust_regression() { return tfckpt_testing::fixtures_dir() / "rust_regression_savedmodel"; }

TEST(CliFreezeSavedModelTf2, ServingDefaultByDefault) {
  TFCKPT_REQUIRE_FIXTURES();
  tfckpt_testing::scratch_dir dir;
  const auto r = run_cli({"freeze", "--input_saved_model_dir", half_plus_two().string(), "--output_graph",
                          (dir / "frozen.pb").string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("2 variables frozen"));
  ASSERT_OK_AND_ASSIGN(const auto g, tfckpt::graph::load_graph_def(dir / "frozen.pb"));
  tfckpt_testing::graph_eval eval(g);
  eval.feed("x", {{2}, {10.f, 3.f}});
  EXPECT_THAT(eval.run("y").values, ::testing::ElementsAre(7.f, 3.5f));
}

TEST(CliFreezeSavedModelTf2, SignatureAndOutputNodeNamesPickWhatIsFrozen) {
  TFCKPT_REQUIRE_FIXTURES();
  tfckpt_testing::scratch_dir dir;
  // regress_x2_to_y3 computes a * x + c; its Mul alone needs only `a`.
  const auto r = run_cli({"freeze", "--input_saved_model_dir", half_plus_two().string(), "--signature",
                          "regress_x2_to_y3", "--output_node_names", "StatefulPartitionedCall_2/StatefulPartitionedCall/Mul",
                          "--output_graph", (dir / "mul.pb").string(), "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["signature"], "regress_x2_to_y3");
  EXPECT_EQ(j["inputs"], nlohmann::json::array({"inputs"}));
  EXPECT_EQ(j["outputs"], nlohmann::json::array({"StatefulPartitionedCall_2/StatefulPartitionedCall/Mul"}));
  ASSERT_EQ(j["variables"].size(), 1u);
  EXPECT_EQ(j["variables"][0]["node"], "a");
  EXPECT_EQ(j["variables"][0]["key"], "a/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_FALSE(fs::exists(dir / "mul.pb"));

  const auto text = run_cli({"freeze", "--input_saved_model_dir", half_plus_two().string(), "--signature",
                             "regress_x2_to_y3", "--output_graph", (dir / "y3.pb").string(), "--dry-run"});
  ASSERT_EQ(text.exit_code, 0) << text;
  EXPECT_THAT(text.out, HasSubstr("signature 'regress_x2_to_y3': inputs inputs; outputs outputs"));
  EXPECT_THAT(text.out, HasSubstr("c/.ATTRIBUTES/VARIABLE_VALUE"));
}

TEST(CliFreezeSavedModelTf2, RefusalsNameTheSignaturesAndNodes) {
  TFCKPT_REQUIRE_FIXTURES();
  tfckpt_testing::scratch_dir dir;
  const auto missing = run_cli({"freeze", "--input_saved_model_dir", rust_regression().string(), "--output_graph",
                                (dir / "f.pb").string()});
  EXPECT_EQ(missing.exit_code, 3) << missing;
  EXPECT_THAT(missing.err, HasSubstr("no signature 'serving_default' in the SavedModel; there are: b, train, w"));
  const auto train = run_cli({"freeze", "--input_saved_model_dir", rust_regression().string(), "--signature", "train",
                              "--output_graph", (dir / "f.pb").string()});
  EXPECT_EQ(train.exit_code, 3) << train;
  EXPECT_THAT(train.err, HasSubstr("(ResourceApplyGradientDescent) uses a frozen resource variable"));
  EXPECT_FALSE(fs::exists(dir / "f.pb"));
}

}  // namespace

}  // namespace freeze_saved_model_tf2_test

#endif

