// SPDX-License-Identifier: Apache-2.0
// `tfckpt merge`, end to end on generated checkpoints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliMerge, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <algorithm>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace merge_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::float_tensor;
using tfckpt_testing::run_cli;

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& f : fs::directory_iterator(dir)) v.push_back(f.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

// log_0 .. log_11: trunk `conv/w` (its value = the log's number), head out{i}/weights [2, 3] and
// out{i}/biases [3], Momentum slots, a global step. Head i's weights hold 100 i + 0..5.
class CliMerge : public ::testing::Test {
 protected:
  static constexpr int kN = 12;
  void SetUp() override {
    for (int i = 0; i < kN; ++i) {
      std::vector<float> w(6), b(3, static_cast<float>(i));
      for (int j = 0; j < 6; ++j) w[static_cast<std::size_t>(j)] = 100.0f * static_cast<float>(i) + static_cast<float>(j);
      const auto t = static_cast<float>(i);
      tfckpt_testing::write_bundle(prefix(i), {
          float_tensor("conv/w", {2}, {t, t}),
          float_tensor("conv/w/Momentum", {2}, {0, 0}),
          float_tensor(absl::StrFormat("out%d/weights", i), {2, 3}, w),
          float_tensor(absl::StrFormat("out%d/weights/Momentum", i), {2, 3}, w),
          float_tensor(absl::StrFormat("out%d/biases", i), {3}, b),
          tfckpt_testing::typed_tensor<std::int64_t>("global_step", tfckpt::dtype::int64, {}, {7}),
      });
    }
  }
  std::string prefix(int i) const { return (dir_ / absl::StrFormat("log_%d", i) / "model.ckpt-7").string(); }
  // Arguments as a shell glob `log_*/model.ckpt-7` would give them: lexical order (log_10 before log_2).
  std::vector<std::string> globbed() const {
    std::vector<std::string> v;
    for (int i = 0; i < kN; ++i) v.push_back(prefix(i));
    std::sort(v.begin(), v.end());
    return v;
  }
  std::vector<std::string> args(std::vector<std::string> a) const {
    for (const std::string& p : globbed()) a.push_back(p);
    return a;
  }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(CliMerge, MergesHeadsTrunkFromTheFirstSlotsDropped) {
  const std::string out = (dir_ / "merged" / "model").string();
  const auto r = run_cli(args({"merge", "--out", out, "--group", R"(^out(\d+)/(weights|biases)$=out/$2)", "--axis",
                               "out/weights=1", "--quiet"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("wrote " + out + ": 4 tensors (2 concatenated from 12 checkpoints)"));
  auto merged = tfckpt::open(out);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_TRUE(merged->verify().ok());
  std::vector<std::string> keys;
  for (const auto& e : merged->entries()) keys.push_back(std::string(e.name()));
  EXPECT_THAT(keys, ElementsAre("conv/w", "global_step", "out/biases", "out/weights"));
  EXPECT_THAT(merged->find("out/weights")->shape(), ElementsAre(2, 36));
  auto w = merged->find("out/weights")->values<float>();
  ASSERT_TRUE(w.ok());
  // auto order: by the number in the regex's first group, whatever the command line's order.
  for (int i = 0; i < kN; ++i)
    for (int row = 0; row < 2; ++row)
      for (int col = 0; col < 3; ++col)
        ASSERT_EQ((*w)[static_cast<std::size_t>(row * 36 + 3 * i + col)], 100.0f * static_cast<float>(i) + static_cast<float>(3 * row + col))
            << i << " " << row << " " << col;
  auto trunk = merged->find("conv/w")->values<float>();
  ASSERT_TRUE(trunk.ok());
  // The FIRST checkpoint on the command line: with a lexical glob that is log_0.
  EXPECT_EQ((*trunk)[0], 0.0f);
}

TEST_F(CliMerge, ByteOrderBigWritesTheSameValuesBigEndian) {
  const std::string little = (dir_ / "little" / "model").string(), big = (dir_ / "big" / "model").string();
  const std::vector<std::string> common = {"--group", R"(^out(\d+)/(weights|biases)$=out/$2)", "--axis", "out/weights=1", "-q"};
  auto a = args({"merge", "--out", little}), b = args({"merge", "--out", big, "--byte-order", "big"});
  a.insert(a.begin() + 3, common.begin(), common.end());
  b.insert(b.begin() + 5, common.begin(), common.end());
  ASSERT_EQ(run_cli(a).exit_code, 0);
  const auto r = run_cli(b);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto l = tfckpt::open(little), g = tfckpt::open(big);
  ASSERT_TRUE(l.ok() && g.ok());
  EXPECT_EQ(g->payload_order(), tfckpt::byte_order::big);
  EXPECT_TRUE(g->verify().ok());
  for (const char* name : {"out/weights", "out/biases", "conv/w"}) {
    auto lv = l->find(name)->values<float>();
    auto gv = g->find(name)->values<float>();
    ASSERT_TRUE(lv.ok() && gv.ok()) << name;
    EXPECT_TRUE(std::equal(lv->begin(), lv->end(), gv->begin(), gv->end())) << name;
  }
}

TEST_F(CliMerge, CheckpointOrderFollowsTheCommandLine) {
  const std::string out = (dir_ / "m").string();
  const auto r = run_cli(args({"merge", "-o", out, "-g", R"(^out(\d+)/biases$=b)", "--order", "checkpoint", "--drop",
                               "^conv/", "-q"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  auto merged = tfckpt::open(out);
  ASSERT_TRUE(merged.ok());
  // b; global_step and out0/weights, trunk now (no rule matches them), from log_0; conv/ dropped.
  EXPECT_EQ(merged->size(), 3u);
  EXPECT_NE(merged->find("out0/weights"), nullptr);
  EXPECT_EQ(merged->find("out1/weights"), nullptr);
  auto b = merged->find("b")->values<float>();
  ASSERT_TRUE(b.ok());
  std::vector<float> firsts;
  for (std::size_t i = 0; i < b->size(); i += 3) firsts.push_back((*b)[i]);
  EXPECT_THAT(firsts, ElementsAre(0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9));
}

TEST_F(CliMerge, DryRunPrintsThePlanAndWritesNothing) {
  const auto before = names_in(dir_.path());
  const auto r = run_cli(args({"merge", "--out", (dir_ / "dry").string(), "--group", R"(^out(\d+)/(weights|biases)$=out/$2)",
                               "--axis", "out/weights=-1", "--dry-run", "--keep-slots"}));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, ContainsRegex(R"(out/weights +float32 +\[2,36\] +288 )"));
  EXPECT_THAT(r.out, HasSubstr(prefix(0) + ":out0/weights + " + prefix(1) + ":out1/weights + " + prefix(2) +
                               ":out2/weights ... (12 in all)"));
  EXPECT_THAT(r.out, HasSubstr("conv/w/Momentum"));  // --keep-slots
  EXPECT_THAT(r.out, HasSubstr("6 tensors"));
  EXPECT_EQ(names_in(dir_.path()), before);
}

TEST_F(CliMerge, IncompatibleShapesNameBothTensorsAndWriteNothing) {
  // log_5's head is [2, 4]: it cannot sit beside the others' [2, 3] along axis 0.
  tfckpt_testing::write_bundle(prefix(5), {float_tensor("conv/w", {2}, {5, 5}),
                                           float_tensor("out5/weights", {2, 4}, std::vector<float>(8, 5.0f)),
                                           float_tensor("out5/biases", {3}, {5, 5, 5})});
  const auto before = names_in(dir_.path());
  const auto r = run_cli(args({"merge", "--out", (dir_ / "bad").string(), "--group", R"(^out(\d+)/(weights|biases)$=out/$2)",
                               "--group", R"(^head(\d+)$=head)", "--axis", "out/wieghts=1"}));
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("3 problems"));
  EXPECT_THAT(r.err, HasSubstr("group 'out/weights' (12 members, axis 0) cannot be concatenated: 'out5/weights' (" + prefix(5) +
                               ") is [2,4] but 'out0/weights' (" + prefix(0) + ") is [2,3]"));
  EXPECT_THAT(r.err, HasSubstr("group rule '^head(\\d+)$=head' matches no tensor"));
  EXPECT_THAT(r.err, HasSubstr("an axis is given for 'out/wieghts'"));
  EXPECT_EQ(names_in(dir_.path()), before);
  // The same with --dry-run: the plan, then the problems; exit 3.
  const auto dry = run_cli(args({"merge", "--out", (dir_ / "bad").string(), "--group", R"(^out(\d+)/(weights|biases)$=out/$2)", "-n"}));
  EXPECT_EQ(dry.exit_code, 3) << dry;
  EXPECT_THAT(dry.out, HasSubstr("ERROR: concat_by_group: group 'out/weights'"));
  EXPECT_THAT(dry.err, HasSubstr("'out5/weights' (" + prefix(5) + ") is [2,4]"));
}

TEST_F(CliMerge, RefusesToClobberWithoutForce) {
  const std::string out = (dir_ / "m").string();
  const std::vector<std::string> base = {"merge", "--out", out, "--group", R"(^out(\d+)/biases$=out/biases)", "-q", prefix(0), prefix(1)};
  ASSERT_EQ(run_cli(base).exit_code, 0);
  auto r = run_cli(base);
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("--force"));
  auto with_force = base;
  with_force.push_back("--force");
  r = run_cli(with_force);
  EXPECT_EQ(r.exit_code, 0) << r;
}

TEST_F(CliMerge, UsageErrors) {
  const std::string out = (dir_ / "u").string();
  EXPECT_EQ(run_cli({"merge", "--out", out, prefix(0)}).exit_code, 2);  // no --group
  auto r = run_cli({"merge", "--out", out, "--group", "no-equals-sign", prefix(0)});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("is not REGEX=NAME"));
  r = run_cli({"merge", "--out", out, "--group", "out(=x", prefix(0)});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("bad regex 'out('"));
  r = run_cli({"merge", "--out", out, "--group", "a=b", "--axis", "b=one", prefix(0)});
  EXPECT_EQ(r.exit_code, 2) << r;
  r = run_cli({"merge", "--out", out, "--group", "a=b", "--order", "sideways", prefix(0)});
  EXPECT_EQ(r.exit_code, 2) << r;
  r = run_cli({"merge", "--out", out, "--group", "a=b", prefix(0), (dir_ / "missing").string(), (dir_ / "gone").string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("missing.index"));
  EXPECT_THAT(r.err, HasSubstr("gone.index"));  // every unreadable input, not just the first
  EXPECT_FALSE(fs::exists(out + ".index"));
}

}  // namespace
}  // namespace merge_test

#endif  // TFCKPT_CLI_PATH

