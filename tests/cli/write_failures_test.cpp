// SPDX-License-Identifier: Apache-2.0
// Every writing subcommand, pointed at a target it cannot create, exits 3 naming the target and
// leaves nothing behind: no partial output, no temporary file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliWriteFailures, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <fstream>
#include <set>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "testing/graph_builder.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/graph/graph_io.hpp"

namespace write_failures_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::float_tensor;
using tfckpt_testing::run_cli;

std::set<std::string> tree(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.insert(fs::relative(e.path(), dir).string());
  return out;
}

class CliWriteFailures : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i)
      tfckpt_testing::write_bundle(dir_ / ("log_" + std::to_string(i)), {float_tensor("trunk", {2}, {1, 2}),
                                                                         float_tensor("out" + std::to_string(i) + "/w", {2}, {3, 4})});
    tfckpt_testing::graph_builder g;
    g.placeholder("x", {-1, 2});
    g.op("y", "Mul", {"x", g.variable("trunk", {2})});
    ASSERT_OK(tfckpt::graph::save_graph_def(g.graph(), dir_ / "graph.pb"));
    std::ofstream(dir_ / "blocker") << "a regular file where a directory would have to be";
  }
  std::string in(int i) const { return (dir_ / ("log_" + std::to_string(i))).string(); }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(CliWriteFailures, NothingIsLeftWhenTheTargetCannotBeCreated) {
  const std::string bad = (dir_ / "blocker" / "out").string();  // its parent is a file: ENOTDIR, even for root
  const std::vector<std::vector<std::string>> commands = {
      {"cp", in(0), bad},
      {"select", in(0), "--out", bad, "trunk"},
      {"rename", in(0), "--out", bad, "--rule", "^trunk$=stem"},
      {"avg", "--out", bad, in(0), in(0)},
      {"merge", "--out", bad, "--group", R"(^out(\d+)/w$=out/w)", in(0), in(1)},
      {"convert", in(0), "--to", "npz", bad},
      {"convert", in(0), "--to", "safetensors", bad},
      {"convert", in(0), "--to", "npy-dir", bad},
      {"freeze", "--input_graph", (dir_ / "graph.pb").string(), "--input_checkpoint", in(0), "--output_node_names", "y",
       "--output_graph", bad},
  };
  const std::set<std::string> before = tree(dir_.path());
  for (const auto& args : commands) {
    SCOPED_TRACE(args[0] + " " + args[args.size() > 3 ? 3 : 1]);
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 3) << r;
    EXPECT_THAT(r.err, HasSubstr("blocker")) << r;
    EXPECT_EQ(tree(dir_.path()), before);
  }
}

}  // namespace

}  // namespace write_failures_test

#endif  // TFCKPT_CLI_PATH

