// SPDX-License-Identifier: Apache-2.0
// `tfckpt freeze`, end to end: TensorFlow's flag names, a dry run, the write, and failures that
// leave nothing behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliFreeze, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <nlohmann/json.hpp>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "testing/graph_builder.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/graph/graph_io.hpp"

namespace freeze_test {

namespace {
namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using tfckpt_testing::float_tensor;
using tfckpt_testing::run_cli;

class CliFreeze : public ::testing::Test {
 protected:
  void SetUp() override {
    tfckpt_testing::graph_builder g;
    g.placeholder("x", {-1, 2});
    g.op("y", "MatMul", {"x", g.variable("w", {2, 2})});
    g.saver();
    ASSERT_OK(tfckpt::graph::save_graph_def_text(g.graph(), dir_ / "graph.pbtxt"));
    tfckpt_testing::write_bundle(dir_ / "model.ckpt", {float_tensor("w", {2, 2}, {1, 2, 3, 4})});
  }
  std::vector<std::string> base(const fs::path& out) const {
    return {"freeze", "--input_graph", (dir_ / "graph.pbtxt").string(), "--input_checkpoint",
            (dir_ / "model.ckpt").string(), "--output_node_names", "y", "--output_graph", out.string()};
  }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(CliFreeze, WritesAFrozenGraph) {
  const auto r = run_cli(base(dir_ / "frozen.pb"));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("1 variables frozen"));
  ASSERT_OK_AND_ASSIGN(const auto g, tfckpt::graph::load_graph_def(dir_ / "frozen.pb"));
  ASSERT_EQ(g.node_size(), 4);  // x, w (Const), w/read, y
  EXPECT_EQ(g.node(1).op(), "Const");
  // A second run refuses to replace it without --force.
  const auto again = run_cli(base(dir_ / "frozen.pb"));
  EXPECT_EQ(again.exit_code, 3) << again;
  EXPECT_THAT(again.err, HasSubstr("--force"));
}

TEST_F(CliFreeze, DryRunListsVariablesKeysAndSizeAndWritesNothing) {
  auto args = base(dir_ / "dry.pb");
  args.push_back("--dry-run");
  const auto r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, AllOf(ContainsRegex("w +float32 +\\[2,2\\] +16 +w"), HasSubstr("1 variables frozen"),
                           ContainsRegex("dry.pb would be [0-9]+ bytes: 4 of the graph's [0-9]+ nodes")));
  EXPECT_FALSE(fs::exists(dir_ / "dry.pb"));
  args.push_back("--json");
  const auto j = run_cli(args);
  ASSERT_EQ(j.exit_code, 0) << j;
  const auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["variables"][0]["key"], "w");
  EXPECT_EQ(parsed["nodes"], 4);
}

TEST_F(CliFreeze, ProblemsAreReportedAndNothingIsWritten) {
  auto args = base(dir_ / "bad.pb");
  args[6] = "y,missing_node";
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("output node 'missing_node' is not in the graph"));
  EXPECT_FALSE(fs::exists(dir_ / "bad.pb"));
  // An unwritable destination: the error names it and no temporary is left.
  fs::create_directories(dir_ / "ro");
  fs::permissions(dir_ / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  const auto denied = run_cli(base(dir_ / "ro" / "f.pb"));
  fs::permissions(dir_ / "ro", fs::perms::owner_all);
  if (::geteuid() != 0) {  // root writes anywhere
    EXPECT_EQ(denied.exit_code, 3) << denied;
    EXPECT_THAT(denied.err, HasSubstr("ro/f.pb"));
  }
  EXPECT_TRUE(fs::is_empty(dir_ / "ro") || fs::exists(dir_ / "ro" / "f.pb"));
}

TEST_F(CliFreeze, UsageErrorsExitTwo) {
  EXPECT_EQ(run_cli({"freeze", "--output_node_names", "y", "--output_graph", "x.pb"}).exit_code, 2);
  const auto both = run_cli({"freeze", "--input_graph", "a.pb", "--input_meta_graph", "a.meta", "--input_checkpoint", "c",
                             "--output_node_names", "y", "--output_graph", "x.pb"});
  EXPECT_EQ(both.exit_code, 2) << both;
  EXPECT_THAT(both.err, HasSubstr("exactly one of"));
}

TEST(CliFreezeFixtures, TflearnMetaGraphLikeFreezeGraph) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path fx = tfckpt_testing::fixtures_dir() / "tflearn_and_bool_frozen";
  tfckpt_testing::scratch_dir dir;
  const auto r = run_cli({"freeze", "--input_meta_graph", (fx / "and.tflearn.meta").string(), "--input_checkpoint",
                          (fx / "and.tflearn").string(), "--output_node_names", "output/Sigmoid", "--output_graph",
                          (dir / "frozen.pb").string(), "--clear_devices=false"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_OK_AND_ASSIGN(const auto ours, tfckpt::graph::load_graph_def(dir / "frozen.pb"));
  ASSERT_OK_AND_ASSIGN(const auto theirs, tfckpt::graph::load_graph_def(fx / "frozen_model.pb"));
  ASSERT_EQ(ours.node_size(), theirs.node_size());
  for (int i = 0; i < ours.node_size(); ++i) EXPECT_EQ(ours.node(i).name(), theirs.node(i).name());
}

}  // namespace

}  // namespace freeze_test

#endif  // TFCKPT_CLI_PATH

