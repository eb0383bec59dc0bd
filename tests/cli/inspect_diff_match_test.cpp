// SPDX-License-Identifier: Apache-2.0
// `tfckpt inspect`, `diff` and `match`: golden outputs on generated checkpoints and graphs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliInspect, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "testing/graph_builder.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/graph/graph_io.hpp"

namespace inspect_diff_match_test {

namespace {
namespace fs = std::filesystem;
using tfckpt_testing::float_tensor;
using tfckpt_testing::run_cli;

class CliCompare : public ::testing::Test {
 protected:
  void SetUp() override {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    tfckpt_testing::write_bundle(a(), {float_tensor("w", {2, 2}, {1, 2, 3, 4}), float_tensor("b", {2}, {0, 0}),
                                       float_tensor("odd", {4}, {nan, inf, -inf, 2}), float_tensor("only_a", {}, {1}),
                                       tfckpt_testing::string_tensor("vocab", {2}, {"x", "y"})});
    tfckpt_testing::write_bundle(b(), {float_tensor("w", {2, 2}, {1, 2, 3, 4.5f}), float_tensor("b", {3}, {0, 0, 0}),
                                       float_tensor("odd", {4}, {nan, inf, 1, 2}), float_tensor("only_b", {}, {1}),
                                       tfckpt_testing::string_tensor("vocab", {2}, {"x", "z"})});
  }
  std::string a() const { return (dir_ / "a").string(); }
  std::string b() const { return (dir_ / "b").string(); }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(CliCompare, InspectStatsGolden) {
  const auto r = run_cli({"inspect", a(), "--stats"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "tensor_name:  b float32 [2]  min=0 max=0 mean=0 std=0 nan=0 inf=0\n"
            "tensor_name:  odd float32 [4]  min=2 max=2 mean=2 std=0 nan=1 inf=2\n"
            "tensor_name:  only_a float32 []  min=1 max=1 mean=1 std=0 nan=0 inf=0\n"
            "tensor_name:  vocab string [2]  (no statistics for string)\n"
            "tensor_name:  w float32 [2,2]  min=1 max=4 mean=2.5 std=1.118034 nan=0 inf=0\n");
}

TEST_F(CliCompare, InspectOneTensorAndJson) {
  const auto r = run_cli({"inspect", a(), "--tensor", "w"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "tensor_name:  w float32 [2,2]\n1.0 2.0\n3.0 4.0\n");
  const auto j = run_cli({"inspect", a(), "--stats", "--all", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  const auto parsed = nlohmann::json::parse(j.out);
  ASSERT_EQ(parsed.size(), 5u);
  EXPECT_EQ(parsed[1]["name"], "odd");
  EXPECT_EQ(parsed[1]["stats"]["nan"], 1);
  EXPECT_EQ(parsed[1]["stats"]["neg_inf"], 1);
  EXPECT_EQ(parsed[1]["values"][0], "NaN");
  EXPECT_EQ(parsed[3]["values"][1], "y");
  EXPECT_EQ(parsed[4]["stats"]["mean"], 2.5);
  EXPECT_EQ(run_cli({"inspect", a(), "--tensor", "nope"}).exit_code, 3);
}

TEST_F(CliCompare, DiffGolden) {
  const auto r = run_cli({"diff", a(), b()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out,
            "only in A:  only_a\n"
            "only in B:  only_b\n"
            "changed:    b: float32 [2] -> float32 [3]\n"
            "differs:    odd: 1 elements, max abs diff inf\n"
            "differs:    vocab: 1 elements\n"
            "differs:    w: 1 elements, max abs diff 0.5\n"
            "1 only in A, 1 only in B, 1 changed, 0 of 3 common tensors equal\n");
  EXPECT_EQ(run_cli({"diff", a(), b(), "--exit-code"}).exit_code, 1);
  EXPECT_EQ(run_cli({"diff", a(), a(), "--exit-code"}).exit_code, 0);
  const auto j = run_cli({"diff", a(), b(), "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  const auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["identical"], false);
  EXPECT_EQ(parsed["changed"][0]["shape_b"], nlohmann::json::array({3}));
  EXPECT_EQ(parsed["common"][0]["max_abs_diff"], "Infinity");
  EXPECT_EQ(parsed["common"][2]["max_abs_diff"], 0.5);
}

TEST_F(CliCompare, MatchGolden) {
  tfckpt_testing::graph_builder g;
  g.placeholder("x", {-1, 2});
  g.op("y", "MatMul", {"x", g.variable("w", {2, 2})});
  g.op("z", "BiasAdd", {"y", g.variable("b", {2})});
  g.variable("c", {3});
  ASSERT_OK(tfckpt::graph::save_graph_def_text(g.graph(), dir_ / "graph.pbtxt"));
  const auto r = run_cli({"match", a(), "--graph", (dir_ / "graph.pbtxt").string()});
  EXPECT_EQ(r.exit_code, 1) << r;  // c is missing
  EXPECT_EQ(r.out,
            "2 matched, 1 missing, 0 shape/dtype mismatches, 3 unexpected\n"
            "missing:    c\n"
            "unexpected: odd\n"
            "unexpected: only_a\n"
            "unexpected: vocab\n");
  const auto mismatch = run_cli({"match", b(), "--graph", (dir_ / "graph.pbtxt").string(), "--json"});
  EXPECT_EQ(mismatch.exit_code, 1) << mismatch;
  const auto parsed = nlohmann::json::parse(mismatch.out);
  EXPECT_EQ(parsed["complete"], false);
  EXPECT_EQ(parsed["mismatched"][0]["name"], "b");
  EXPECT_EQ(parsed["mismatched"][0]["checkpoint_shape"], nlohmann::json::array({3}));
}

TEST(CliMatchFixtures, TflearnMetaGraphMatchesItsCheckpoint) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path fx = tfckpt_testing::fixtures_dir() / "tflearn_and_bool_frozen";
  const auto r = run_cli({"match", (fx / "and.tflearn").string(), "--graph", (fx / "and.tflearn.meta").string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, ::testing::StartsWith("13 matched, 0 missing, 0 shape/dtype mismatches, 0 unexpected\n"));
}

}  // namespace

}  // namespace inspect_diff_match_test

#endif  // TFCKPT_CLI_PATH

