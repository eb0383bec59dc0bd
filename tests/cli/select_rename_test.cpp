// SPDX-License-Identifier: Apache-2.0
// `tfckpt select` and `tfckpt rename`, end to end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliSelectRename, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <fstream>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace select_rename_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::float_tensor;
using tfckpt_testing::run_cli;

std::vector<std::string> names_of(const fs::path& prefix) {
  auto c = tfckpt::open(prefix);
  std::vector<std::string> v;
  if (!c.ok()) return {"<" + std::string(c.status().message()) + ">"};
  for (const auto& e : c->entries()) v.emplace_back(e.name());
  return v;
}

class CliSelectRename : public ::testing::Test {
 protected:
  void SetUp() override {
    tfckpt_testing::write_bundle(dir_ / "m", {float_tensor("enc/w", {2}, {1, 2}), float_tensor("enc/w/Adam", {2}, {0, 0}),
                                              float_tensor("out3/b", {1}, {3}), float_tensor("x", {}, {1}),
                                              float_tensor("x/ExponentialMovingAverage", {}, {0.5f})});
  }
  std::string src() const { return (dir_ / "m").string(); }
  std::string out(const char* name) const { return (dir_ / name).string(); }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(CliSelectRename, SelectByNameGlobRegexAndSlots) {
  auto r = run_cli({"select", src(), "--out", out("a"), "--no-slots", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(names_of(out("a")), ElementsAre("enc/w", "out3/b", "x", "x/ExponentialMovingAverage"));
  r = run_cli({"select", src(), "--out", out("b"), "x", "--glob", "enc/*", "--regex", "^out\\d"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(names_of(out("b")), ElementsAre("enc/w", "enc/w/Adam", "out3/b", "x"));
  // Absent names are all reported; nothing is written.
  r = run_cli({"select", src(), "--out", out("c"), "nope1", "x", "nope2"});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("2 problems"));
  EXPECT_THAT(r.err, HasSubstr("'nope1'"));
  EXPECT_THAT(r.err, HasSubstr("'nope2'"));
  EXPECT_FALSE(fs::exists(out("c") + ".index"));
  r = run_cli({"select", src(), "--out", out("c"), "nope1", "x", "--allow-missing"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(names_of(out("c")), ElementsAre("x"));
}

TEST_F(CliSelectRename, ByteOrderOfTheOutput) {
  auto r = run_cli({"select", src(), "--out", out("be"), "--glob", "enc/*", "--byte-order", "big", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto be = tfckpt::open(out("be"));
  ASSERT_TRUE(be.ok()) << be.status();
  EXPECT_TRUE(be->big_endian());
  EXPECT_TRUE(be->verify().ok());
  const auto w = be->find("enc/w")->values<float>();
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_THAT(w->span(), ElementsAre(1.0f, 2.0f));
  // Renaming the big-endian checkpoint writes little-endian unless asked otherwise.
  r = run_cli({"rename", out("be"), "--out", out("le"), "--scope", "enc/=dec/", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto le = tfckpt::open(out("le"));
  ASSERT_TRUE(le.ok()) << le.status();
  EXPECT_FALSE(le->big_endian());
  EXPECT_THAT(le->find("dec/w")->values<float>()->span(), ElementsAre(1.0f, 2.0f));
  r = run_cli({"select", src(), "--out", out("x"), "--byte-order", "pdp"});
  EXPECT_EQ(r.exit_code, 2) << r;
}

TEST_F(CliSelectRename, DryRunPrintsThePlanAndWritesNothing) {
  const auto r = run_cli({"select", src(), "--out", out("d"), "--glob", "enc/*", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("enc/w/Adam"));
  EXPECT_THAT(r.out, HasSubstr("2 tensors, 16 bytes"));
  EXPECT_FALSE(fs::exists(out("d") + ".index"));
}

TEST_F(CliSelectRename, RenameRulesScopesMapsAndEma) {
  auto r = run_cli({"rename", src(), "--out", out("e"), "--rule", "^out(\\d+)/=head_$1/", "--rule", "^enc/=encoder/"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(names_of(out("e")), ElementsAre("encoder/w", "encoder/w/Adam", "head_3/b", "x", "x/ExponentialMovingAverage"));
  r = run_cli({"rename", src(), "--out", out("f"), "--scope", "enc/=model/enc/", "--scope", "x=y"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(names_of(out("f")), ElementsAre("model/enc/w", "model/enc/w/Adam", "y"));
  std::ofstream(dir_ / "map.txt") << "# checkpoint name -> new name\nenc/w weights\nout3/b bias\n";
  r = run_cli({"rename", src(), "--out", out("g"), "--map", (dir_ / "map.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(names_of(out("g")), ElementsAre("bias", "weights"));
  std::ofstream(dir_ / "map.json") << R"({"x": "x_raw", "missing": "m"})";
  r = run_cli({"rename", src(), "--out", out("h"), "--map", (dir_ / "map.json").string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("'missing' is not in the input"));
  r = run_cli({"rename", src(), "--out", out("i"), "--ema"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(names_of(out("i")), ElementsAre("enc/w", "enc/w/Adam", "out3/b", "x"));
  auto i = tfckpt::open(out("i"));
  ASSERT_TRUE(i.ok());
  EXPECT_EQ((*i->find("x")->values<float>())[0], 0.5f);
}

TEST_F(CliSelectRename, CollisionsAndBadArgumentsAreReported) {
  auto r = run_cli({"rename", src(), "--out", out("j"), "--rule", "/.*$="});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("two outputs are named 'enc'"));
  EXPECT_FALSE(fs::exists(out("j") + ".index"));
  r = run_cli({"rename", src(), "--out", out("k"), "--rule", "no-equals-sign"});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("not of the form REGEX=FORMAT"));
  r = run_cli({"rename", src(), "--out", out("k"), "--rule", "([=x"});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("bad --rule regex"));
  EXPECT_EQ(run_cli({"rename", src()}).exit_code, 2);  // --out is required
}
}  // namespace
}  // namespace select_rename_test

#endif  // TFCKPT_CLI_PATH

