// SPDX-License-Identifier: Apache-2.0
// `tfckpt convert` with transform steps: the order they are given in, rules files (comments,
// quoting, relative paths, nesting) and the errors that name where a bad step was written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliConvertSteps, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <fstream>

#include <nlohmann/json.hpp>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "tfckpt/sinks/npy.hpp"

namespace convert_steps_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::run_cli;
using tfckpt_testing::slurp;

class CliConvertSteps : public ::testing::Test {
 protected:
  void SetUp() override {
    tfckpt_testing::write_bundle(dir_ / "model.ckpt",
                                 {
                                     tfckpt_testing::float_tensor("dense/kernel", {2, 2}, {1, 2, 3, 4}),
                                     tfckpt_testing::float_tensor("dense/kernel/Momentum", {2, 2}, {0, 0, 0, 0}),
                                     tfckpt_testing::float_tensor("dense/bias", {2}, {5, 6}),
                                     tfckpt_testing::float_tensor("out/w", {1}, {9}),
                                     tfckpt_testing::typed_tensor<std::int64_t>("global_step", tfckpt::dtype::int64, {}, {42}),
                                 });
  }
  std::string ckpt() const { return (dir_ / "model.ckpt").string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  // The dry run's plan: name -> dtype, in output order.
  std::vector<std::pair<std::string, std::string>> plan(std::vector<std::string> args) const {
    std::vector<std::string> full = {"convert", ckpt(), "--to", "safetensors", (dir_ / "x.safetensors").string(),
                                     "--dry-run", "--json"};
    full.insert(full.end(), args.begin(), args.end());
    const auto r = run_cli(full);
    EXPECT_EQ(r.exit_code, 0) << r;
    std::vector<std::pair<std::string, std::string>> out;
    if (r.exit_code != 0) return out;
    for (const auto& row : nlohmann::json::parse(r.out)) out.emplace_back(row["name"], row["dtype"]);
    return out;
  }
  tfckpt_testing::scratch_dir dir_;
};

using named = std::pair<std::string, std::string>;

TEST_F(CliConvertSteps, StepsRunInTheOrderGiven) {
  // A rename, then a filter on the new names...
  EXPECT_THAT(plan({"--rule", "^dense/=d/", "--filter", "d/*", "--no-slots"}),
              ElementsAre(named{"d/bias", "float32"}, named{"d/kernel", "float32"}));
  // ...differs from the filter first: nothing is named d/ yet.
  const auto r = run_cli({"convert", ckpt(), "--to", "safetensors", (dir_ / "y.safetensors").string(), "--dry-run",
                          "--filter", "d/*", "--rule", "^dense/=d/"});
  EXPECT_THAT(r.out + r.err, HasSubstr("0 tensors"));
  // Adjacent filters keep what any of them matches; drop removes by regex; casts touch floats only.
  EXPECT_THAT(plan({"--filter", "out/*", "--filter", "global_step", "--cast", "bfloat16"}),
              ElementsAre(named{"global_step", "int64"}, named{"out/w", "bfloat16"}));
  EXPECT_THAT(plan({"--drop", "^global_step$", "--drop", "Momentum", "--cast", "float16:kernel$"}),
              ElementsAre(named{"dense/bias", "float32"}, named{"dense/kernel", "float16"}, named{"out/w", "float32"}));
}

TEST_F(CliConvertSteps, ScopesAndMapsAreTheSaversRenames) {
  // Two adjacent scopes are one assignment map (both apply to the original names); renames keep the
  // input's order.
  EXPECT_THAT(plan({"--scope", "dense/=layer/", "--scope", "out/=head/", "--no-slots"}),
              ElementsAre(named{"layer/bias", "float32"}, named{"layer/kernel", "float32"}, named{"head/w", "float32"}));
  const std::string map = write("names.txt", "# old new\ndense/kernel w\nout/w v\n");
  EXPECT_THAT(plan({"--map", map}), ElementsAre(named{"w", "float32"}, named{"v", "float32"}));
  const auto missing = run_cli({"convert", ckpt(), "--to", "npz", (dir_ / "m.npz").string(), "--map",
                                write("bad.txt", "absent x\n")});
  EXPECT_EQ(missing.exit_code, 3) << missing;
  EXPECT_THAT(missing.err, HasSubstr("absent"));
  EXPECT_FALSE(fs::exists(dir_ / "m.npz"));
  EXPECT_THAT(plan({"--map", write("bad2.txt", "absent x\nout/w v\n"), "--allow-missing"}),
              ElementsAre(named{"v", "float32"}));
}

TEST_F(CliConvertSteps, RulesFilesHoldStepsWithCommentsQuotesAndRelativePaths) {
  fs::create_directories(dir_ / "rules");
  write("rules/names.txt", "dense/kernel kernel\ndense/bias bias\n");
  write("rules/inner.rules", "cast float16\n");
  const std::string rules = write("rules/model.rules",
                                  "# a model family's mapping\n"
                                  "\n"
                                  "no-slots\r\n"
                                  "  map names.txt\n"
                                  "--rule '^(.*)$=model.$1'\n"
                                  "rules inner.rules\n");
  EXPECT_THAT(plan({"--rules", rules}), ElementsAre(named{"model.bias", "float16"}, named{"model.kernel", "float16"}));
  // Steps on the command line around --rules run before and after it (the map then misses
  // dense/bias: --allow-missing).
  EXPECT_THAT(plan({"--filter", "dense/kernel", "--rules", rules, "--rule", "model=m", "--allow-missing"}),
              ElementsAre(named{"m.kernel", "float16"}));

  // The values pass through every step: float16 of 1, 2, 3, 4.
  const fs::path out = dir_ / "npy";
  const auto r = run_cli({"convert", ckpt(), "--to", "npy-dir", out.string(), "--rules", rules, "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::uint16_t halves[] = {0x3c00, 0x4000, 0x4200, 0x4400};
  EXPECT_EQ(slurp(out / "model.kernel.npy"), tfckpt::npy_header("<f2", std::vector<std::int64_t>{2, 2}) +
                                                 std::string(reinterpret_cast<const char*>(halves), sizeof halves));
}

TEST_F(CliConvertSteps, TransposeAndPermuteReorderTheValues) {
  const std::string conv = (dir_ / "conv.ckpt").string();
  // An HWIO kernel [kh=2, kw=1, in=1, out=3] holding h*3+o; PyTorch wants OIHW.
  tfckpt_testing::write_bundle(conv, {tfckpt_testing::float_tensor("conv/kernel", {2, 1, 1, 3}, {0, 1, 2, 3, 4, 5}),
                                      tfckpt_testing::float_tensor("dense/kernel", {2, 3}, {1, 2, 3, 4, 5, 6}),
                                      tfckpt_testing::float_tensor("dense/bias", {3}, {7, 8, 9})});
  const fs::path out = dir_ / "oihw";
  auto r = run_cli({"convert", conv, "--to", "npy-dir", out.string(), "--quiet", "--permute", "^conv/kernel$=3,2,0,1",
                    "--transpose", "^dense/kernel$"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto f32 = [](std::vector<float> v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); };
  EXPECT_EQ(slurp(out / "conv" / "kernel.npy"),
            tfckpt::npy_header("<f4", std::vector<std::int64_t>{3, 1, 2, 1}) + f32({0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(slurp(out / "dense" / "kernel.npy"),
            tfckpt::npy_header("<f4", std::vector<std::int64_t>{3, 2}) + f32({1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(slurp(out / "dense" / "bias.npy"), tfckpt::npy_header("<f4", std::vector<std::int64_t>{3}) + f32({7, 8, 9}));

  // A transpose matching a tensor that is not 2-D, or axes of the wrong rank, stop the write and say which.
  r = run_cli({"convert", conv, "--to", "npz", (dir_ / "t.npz").string(), "--transpose", "kernel$"});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("conv/kernel"));
  EXPECT_FALSE(fs::exists(dir_ / "t.npz"));
  r = run_cli({"convert", conv, "--to", "npz", (dir_ / "t.npz").string(), "--permute", "conv=1,0"});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("conv/kernel"));
  r = run_cli({"convert", conv, "--to", "npz", (dir_ / "t.npz").string(), "--permute", "conv=3,2,x"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("'3,2,x' is not a list of axes"));
}

TEST_F(CliConvertSteps, BadStepsNameWhereTheyWereWritten) {
  const auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> full = {"convert", ckpt(), "--to", "npz", (dir_ / "bad.npz").string()};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli(full);
  };
  auto r = run({"--rules", write("a.rules", "rule a=b\nfrobnicate x\n")});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("a.rules:2: unknown step 'frobnicate'"));
  r = run({"--rules", write("b.rules", "\n\nrule\n")});
  EXPECT_THAT(r.err, HasSubstr("b.rules:3: 'rule' needs an argument"));
  r = run({"--rules", write("c.rules", "no-slots yes\n")});
  EXPECT_THAT(r.err, HasSubstr("c.rules:1: 'no-slots' takes no argument"));
  r = run({"--rules", write("d.rules", "rule ok=fine\nrule (=x\n")});
  EXPECT_THAT(r.err, HasSubstr("d.rules:2: bad regex in '(=x'"));
  r = run({"--rules", write("loop.rules", "rules loop.rules\n")});
  EXPECT_THAT(r.err, HasSubstr("nest more than 16 deep"));
  r = run({"--rules", (dir_ / "absent.rules").string()});
  EXPECT_THAT(r.err, HasSubstr("absent.rules: cannot read the rules file"));
  r = run({"--cast", "int8"});
  EXPECT_THAT(r.err, HasSubstr("--cast 'int8': 'int8' is not a floating-point dtype"));
  r = run({"--rule", "no-equals"});
  EXPECT_THAT(r.err, HasSubstr("--rule 'no-equals' is not of the form REGEX=FORMAT"));
  EXPECT_FALSE(fs::exists(dir_ / "bad.npz"));
}

}  // namespace

}  // namespace convert_steps_test

#endif  // TFCKPT_CLI_PATH

