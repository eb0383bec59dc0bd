// SPDX-License-Identifier: Apache-2.0
// Every listing has --json: verify's result and the dry-run plans of the writing subcommands.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliJson, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <fstream>

#include <nlohmann/json.hpp>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"

namespace json_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::float_tensor;
using tfckpt_testing::run_cli;

class CliJson : public ::testing::Test {
 protected:
  void SetUp() override {
    tfckpt_testing::write_bundle(dir_ / "m", {float_tensor("a/w", {2, 3}, {1, 2, 3, 4, 5, 6}), float_tensor("b", {}, {7})});
  }
  std::string m() const { return (dir_ / "m").string(); }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(CliJson, VerifyResult) {
  const auto ok = run_cli({"verify", m(), "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok;
  const auto j = nlohmann::json::parse(ok.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["tensors_checked"], 2);
  EXPECT_EQ(j["bytes_checked"], 28);
  // Flip a tensor byte: the problem names the key.
  {
    std::fstream f(m() + ".data-00000-of-00001", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5);
    f.put('\x7f');
  }
  const auto bad = run_cli({"verify", m(), "--json"});
  EXPECT_EQ(bad.exit_code, 1) << bad;
  const auto jb = nlohmann::json::parse(bad.out);
  EXPECT_EQ(jb["ok"], false);
  ASSERT_EQ(jb["problems"].size(), 1u);
  EXPECT_THAT(jb["problems"][0].get<std::string>(), HasSubstr("'a/w'"));
}

TEST_F(CliJson, DryRunPlans) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"select", m(), "--out", (dir_ / "s").string(), "b"},
        std::vector<std::string>{"rename", m(), "--out", (dir_ / "r").string(), "--scope", "a/=z/"},
        std::vector<std::string>{"avg", "--out", (dir_ / "v").string(), m(), m()},
        std::vector<std::string>{"convert", m(), "--to", "safetensors", (dir_ / "c.safetensors").string()}}) {
    SCOPED_TRACE(args[0]);
    std::vector<std::string> dry = args;
    dry.push_back("--dry-run");
    dry.push_back("--json");
    const auto r = run_cli(dry);
    ASSERT_EQ(r.exit_code, 0) << r;
    const auto plan = nlohmann::json::parse(r.out);
    ASSERT_FALSE(plan.empty());
    EXPECT_TRUE(plan[0].contains("dtype") && plan[0].contains("shape") && plan[0].contains("bytes") && plan[0].contains("from"));
  }
  EXPECT_FALSE(fs::exists(dir_ / "s.index"));
  EXPECT_FALSE(fs::exists(dir_ / "c.safetensors"));
}

}  // namespace

}  // namespace json_test

#endif  // TFCKPT_CLI_PATH

