// SPDX-License-Identifier: Apache-2.0
// `tfckpt avg`, end to end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliAvg, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace avg_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using tfckpt_testing::run_cli;

// Three steps of one model: w = k, k+1, k+2, k+3 (k = 1, 2, 3), global_step = 100 * k.
class CliAvgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int k = 1; k <= 3; ++k) {
      const float f = static_cast<float>(k);
      tfckpt_testing::write_bundle(dir_ / absl::StrFormat("ckpt-%d", k),
                                   {tfckpt_testing::float_tensor("w", {2, 2}, {f, f + 1, f + 2, f + 3}),
                                    tfckpt_testing::typed_tensor<std::int64_t>("global_step", tfckpt::dtype::int64, {}, {100 * k})});
      inputs_.push_back((dir_ / absl::StrFormat("ckpt-%d", k)).string());
    }
  }
  std::vector<std::string> args(std::vector<std::string> head) const {
    head.insert(head.end(), inputs_.begin(), inputs_.end());
    return head;
  }
  std::vector<std::string> files() const {
    std::vector<std::string> v;
    for (const auto& f : fs::directory_iterator(dir_.path())) v.push_back(f.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
  tfckpt_testing::scratch_dir dir_;
  std::vector<std::string> inputs_;
};

template <class T>
std::vector<T> values(const fs::path& prefix, std::string_view name) {
  auto c = tfckpt::open(prefix);
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return {};
  EXPECT_TRUE(c->verify().ok());
  auto v = c->find(name)->values<T>();
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? std::vector<T>(v->begin(), v->end()) : std::vector<T>{};
}

TEST_F(CliAvgTest, AveragesFloatsAndTakesCountersFromTheLast) {
  const auto r = run_cli(args({"avg", "--out", (dir_ / "avg").string(), "--quiet"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("2 tensors (1 averaged over 3 checkpoints, 1 taken from the last), 24 bytes"));
  EXPECT_THAT(values<float>(dir_ / "avg", "w"), ElementsAre(2, 3, 4, 5));
  EXPECT_THAT(values<std::int64_t>(dir_ / "avg", "global_step"), ElementsAre(300));
}

TEST_F(CliAvgTest, ByteOrderBigWritesTheSameValuesBigEndian) {
  const auto r = run_cli(args({"avg", "--out", (dir_ / "avg").string(), "--byte-order", "big", "--quiet"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  auto c = tfckpt::open(dir_ / "avg");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->payload_order(), tfckpt::byte_order::big);
  EXPECT_THAT(values<float>(dir_ / "avg", "w"), ElementsAre(2, 3, 4, 5));
  EXPECT_THAT(values<std::int64_t>(dir_ / "avg", "global_step"), ElementsAre(300));
}

TEST_F(CliAvgTest, WeightsAndPolicies) {
  auto r = run_cli(args({"avg", "-o", (dir_ / "avg").string(), "--weights", "1,1,2", "--unaveraged", "first"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(values<float>(dir_ / "avg", "w"), ElementsAre(2.25f, 3.25f, 4.25f, 5.25f));  // (1 + 2 + 2*3) / 4 = 2.25
  EXPECT_THAT(values<std::int64_t>(dir_ / "avg", "global_step"), ElementsAre(100));
  r = run_cli(args({"avg", "-o", (dir_ / "x").string(), "--weights", "1,2"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--weights has 2 values for 3 checkpoints"));
  r = run_cli(args({"avg", "-o", (dir_ / "x").string(), "--weights", "1,-2,1"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  r = run_cli(args({"avg", "-o", (dir_ / "x").string(), "--unaveraged", "mean"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--unaveraged 'mean' is not last, first or error"));
  r = run_cli(args({"avg", "-o", (dir_ / "x").string(), "--unaveraged", "error"}));
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("'global_step' is int64, which is not averaged"));
  EXPECT_FALSE(fs::exists(dir_ / "x.index"));
}

TEST_F(CliAvgTest, DtypeCastsTheFloatTensorsOfTheResult) {
  auto r = run_cli(args({"avg", "-o", (dir_ / "bf").string(), "--dtype", "bfloat16"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("floating-point tensors as bfloat16"));
  auto c = tfckpt::open(dir_ / "bf");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->find("w")->dtype(), tfckpt::dtype::bfloat16);
  EXPECT_EQ(c->find("global_step")->dtype(), tfckpt::dtype::int64);
  const auto w = values<tfckpt::bfloat16>(dir_ / "bf", "w");
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(static_cast<float>(w[3]), 5.0f);
  r = run_cli(args({"avg", "-o", (dir_ / "x").string(), "--dtype", "int32"}));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--dtype 'int32' is not a floating-point dtype"));
  r = run_cli(args({"avg", "-o", (dir_ / "x").string(), "--dtype", "float17"}));
  EXPECT_EQ(r.exit_code, 2) << r;
}

TEST_F(CliAvgTest, DryRunPrintsThePlanAndWritesNothing) {
  const auto before = files();
  auto r = run_cli(args({"avg", "-o", (dir_ / "avg").string(), "--dry-run", "--dtype", "float16"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("w            float16   [2,2]"));
  EXPECT_THAT(r.out, HasSubstr(inputs_[0] + ":w + " + inputs_[1] + ":w + " + inputs_[2] + ":w"));
  EXPECT_THAT(r.out, HasSubstr("global_step  int64     []                          8  " + inputs_[2] + ":global_step"));
  EXPECT_THAT(r.out, HasSubstr("2 tensors, 16 bytes"));
  EXPECT_EQ(files(), before);
}

TEST_F(CliAvgTest, MismatchesAreAllReportedAndNothingIsWritten) {
  tfckpt_testing::write_bundle(dir_ / "odd", {tfckpt_testing::float_tensor("w", {4}, {1, 2, 3, 4}),
                                              tfckpt_testing::float_tensor("extra", {1}, {1})});
  const auto before = files();
  std::vector<std::string> a = args({"avg", "-o", (dir_ / "avg").string()});
  a.push_back((dir_ / "odd").string());
  auto r = run_cli(a);
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("3 problems"));
  EXPECT_THAT(r.err, HasSubstr("'w' differs in dtype or shape across checkpoints: " + inputs_[0] + ": float32 [2,2]"));
  EXPECT_THAT(r.err, HasSubstr((dir_ / "odd").string() + ": float32 [4]"));
  EXPECT_THAT(r.err, HasSubstr("'global_step' is in 3 of 4 checkpoints, missing from " + (dir_ / "odd").string()));
  EXPECT_THAT(r.err, HasSubstr("'extra' is in 1 of 4 checkpoints"));
  EXPECT_EQ(files(), before);
  // A dry run shows the plan with its errors, then fails the same way.
  a.push_back("--dry-run");
  r = run_cli(a);
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.out, HasSubstr("ERROR: average: 'w' differs"));
  EXPECT_THAT(r.err, HasSubstr("3 problems"));
  // --allow-partial averages what is shared where it can; the shape clash remains.
  a.push_back("--allow-partial");
  r = run_cli(a);
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("1 problem"));
  EXPECT_THAT(r.out, HasSubstr("extra"));
}

TEST_F(CliAvgTest, RefusesToClobberWithoutForce) {
  ASSERT_EQ(run_cli(args({"avg", "-o", (dir_ / "avg").string()})).exit_code, 0);
  auto r = run_cli(args({"avg", "-o", (dir_ / "avg").string(), "--weights", "0,0,1"}));
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("already exists"));
  EXPECT_THAT(r.err, HasSubstr("--force"));
  EXPECT_THAT(values<float>(dir_ / "avg", "w"), ElementsAre(2, 3, 4, 5));
  r = run_cli(args({"avg", "-o", (dir_ / "avg").string(), "--weights", "0,0,1", "--force"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(values<float>(dir_ / "avg", "w"), ElementsAre(3, 4, 5, 6));
  // Missing inputs: an I/O error naming them.
  r = run_cli({"avg", "-o", (dir_ / "z").string(), (dir_ / "nope").string(), inputs_[0]});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("nope"));
  r = run_cli({"avg", "-o", (dir_ / "z").string()});
  EXPECT_EQ(r.exit_code, 2) << r;
}

TEST(CliAvg, TheA2cFixtureAveragesAndVerifies) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = tfckpt_testing::fixtures_dir() / "a2c_tf2_checkpoint_manager" / "training_checkpoints";
  if (!fs::exists(dir / "ckpt-9.index")) GTEST_SKIP() << "fixture a2c_tf2_checkpoint_manager not found in " << dir;
  tfckpt_testing::scratch_dir out;
  const auto r = run_cli({"avg", "-o", (out / "avg").string(), (dir / "ckpt-7").string(), (dir / "ckpt-8").string(),
                          (dir / "ckpt-9").string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("67 tensors (62 averaged over 3 checkpoints, 5 taken from the last)"));
  const auto v = run_cli({"verify", (out / "avg").string()});
  EXPECT_EQ(v.exit_code, 0) << v;
  const auto ls = run_cli({"ls", (out / "avg").string()});
  EXPECT_THAT(ls.out, HasSubstr("_CHECKPOINTABLE_OBJECT_GRAPH"));
  EXPECT_THAT(ls.out, Not(HasSubstr("bfloat16")));
}

}  // namespace
}  // namespace avg_test

#endif  // TFCKPT_CLI_PATH

