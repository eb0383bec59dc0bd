// SPDX-License-Identifier: Apache-2.0
// TF2 checkpoints from the command line: `ls --objects` (tree and JSON), `select --object` and
// `rename --object`, whose outputs carry an object graph consistent with their tensors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/cli_runner.hpp"
#include "testing/paths.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"

namespace objects_test {

namespace {
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using tfckpt_testing::fixtures_dir;
using tfckpt_testing::run_cli;
using tfckpt_testing::scratch_dir;

std::string a2c() { return (fixtures_dir() / "a2c_tf2_checkpoint_manager/training_checkpoints").string(); }

void expect_consistent(const std::filesystem::path& prefix, std::size_t tensors) {
  auto c = tfckpt::open(prefix);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->size(), tensors);
  auto problems = tfckpt::check_object_graph(*c);
  ASSERT_TRUE(problems.ok()) << problems.status();
  EXPECT_THAT(*problems, IsEmpty());
}

TEST(CliObjects, LsShowsTheObjectTree) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto r = run_cli({"ls", a2c(), "--objects"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("(root)\n  actor/\n    hidden1/\n      kernel/\n"
                               "        .VARIABLE_VALUE  float32 [1,5]  actor/hidden1/kernel/.ATTRIBUTES/VARIABLE_VALUE\n"
                               "        .OPTIMIZER_SLOT actor_optimizer/m  float32 [1,5]  "
                               "actor/hidden1/kernel/.OPTIMIZER_SLOT/actor_optimizer/m/.ATTRIBUTES/VARIABLE_VALUE\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  save_counter/\n    .VARIABLE_VALUE  int64 []  save_counter/.ATTRIBUTES/VARIABLE_VALUE\n"));
}

TEST(CliObjects, LsObjectsJson) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto r = run_cli({"ls", a2c(), "--objects", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 66u);
  int slots = 0;
  for (const auto& k : j) {
    EXPECT_TRUE(k["present"].get<bool>());
    if (k.contains("slot")) {
      ++slots;
      EXPECT_EQ(k["object_path"], k["slot"]["variable"].get<std::string>() + "/.OPTIMIZER_SLOT/" +
                                      k["slot"]["optimizer"].get<std::string>() + "/" + k["slot"]["name"].get<std::string>());
    }
  }
  EXPECT_EQ(slots, 36);
}

TEST(CliObjects, LsObjectsOnANameBasedCheckpointSaysSo) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto r = run_cli({"ls", (fixtures_dir() / "mnist_fc2_adam").string(), "--objects"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("not an object-based (TF2) checkpoint"));
}

TEST(CliObjects, SelectActorWithoutSlotsKeepsAConsistentGraph) {
  TFCKPT_REQUIRE_FIXTURES();
  scratch_dir dir;
  const auto r = run_cli({"select", a2c(), "--out", (dir / "actor").string(), "--object", "actor/*", "--no-slots"});
  ASSERT_EQ(r.exit_code, 0) << r;
  expect_consistent(dir / "actor", 6 + 1);  // 3 layers x (kernel, bias) + the object graph
  const auto ls = run_cli({"ls", (dir / "actor").string(), "--objects"});
  ASSERT_EQ(ls.exit_code, 0) << ls;
  EXPECT_THAT(ls.out, ::testing::Not(HasSubstr("critic")));
  EXPECT_THAT(ls.out, ::testing::Not(HasSubstr("OPTIMIZER")));
}

TEST(CliObjects, RenameObjectsMovesKeysAndEdges) {
  TFCKPT_REQUIRE_FIXTURES();
  scratch_dir dir;
  const auto r = run_cli({"rename", a2c(), "--out", (dir / "r").string(), "--object", "^critic/=value/"});
  ASSERT_EQ(r.exit_code, 0) << r;
  expect_consistent(dir / "r", 67);
  auto c = tfckpt::open(dir / "r");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->find("value/hidden5/kernel/.OPTIMIZER_SLOT/critic_optimizer/v/.ATTRIBUTES/VARIABLE_VALUE"), nullptr);
  EXPECT_EQ(c->find("critic/hidden5/kernel/.ATTRIBUTES/VARIABLE_VALUE"), nullptr);
  const auto ls = run_cli({"ls", (dir / "r").string(), "--objects"});
  EXPECT_THAT(ls.out, HasSubstr("\n  value/\n    hidden1/\n"));
}

}  // namespace

}  // namespace objects_test
