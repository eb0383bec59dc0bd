// SPDX-License-Identifier: Apache-2.0
// `tfckpt convert`, end to end: every output format, selection flags, dry runs, refusals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliConvert, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <nlohmann/json.hpp>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "tfckpt/sinks/npy.hpp"

namespace convert_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using tfckpt_testing::run_cli;
using tfckpt_testing::slurp;

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& f : fs::recursive_directory_iterator(dir))
    if (f.is_regular_file()) out.push_back(fs::relative(f.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string f32(const std::vector<float>& v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); }

class CliConvert : public ::testing::Test {
 protected:
  void SetUp() override {
    tfckpt_testing::write_bundle(dir_ / "train" / "model.ckpt-7",
                                 {
                                     tfckpt_testing::float_tensor("dense/kernel", {2, 2}, {1, 2, 3, 4}),
                                     tfckpt_testing::float_tensor("dense/kernel/Momentum", {2, 2}, {0, 0, 0, 0}),
                                     tfckpt_testing::float_tensor("dense/bias", {2}, {5, 6}),
                                     tfckpt_testing::float_tensor("out/w", {1}, {9}),
                                 });
  }
  std::string ckpt() const { return (dir_ / "train" / "model.ckpt-7").string(); }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(CliConvert, NpyDirWritesOneFilePerTensorUnderItsScopes) {
  const fs::path out = dir_ / "npy";
  const auto r = run_cli({"convert", ckpt(), "--to", "npy-dir", out.string(), "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(files_under(out), ElementsAre("dense/bias.npy", "dense/kernel.npy", "dense/kernel/Momentum.npy", "out/w.npy"));
  EXPECT_EQ(slurp(out / "dense" / "kernel.npy"),
            tfckpt::npy_header("<f4", std::vector<std::int64_t>{2, 2}) + f32({1, 2, 3, 4}));
}

TEST_F(CliConvert, NpzWithFiltersAndWithoutSlots) {
  const fs::path out = dir_ / "m.npz";
  const auto r = run_cli({"convert", ckpt(), "--to", "npz", out.string(), "--filter", "dense/*", "--no-slots"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string zip = slurp(out);
  EXPECT_NE(zip.find("dense/kernel.npy" + tfckpt::npy_header("<f4", std::vector<std::int64_t>{2, 2}) + f32({1, 2, 3, 4})),
            std::string::npos);
  EXPECT_NE(zip.find("dense/bias.npy"), std::string::npos);
  EXPECT_EQ(zip.find("Momentum"), std::string::npos);
  EXPECT_EQ(zip.find("out/w"), std::string::npos);
  // Several globs: a tensor matching any of them is kept.
  const auto r2 = run_cli({"convert", ckpt(), "--to", "npz", (dir_ / "two.npz").string(), "--filter", "out/*", "--filter",
                           "dense/bias"});
  ASSERT_EQ(r2.exit_code, 0) << r2;
  const std::string two = slurp(dir_ / "two.npz");
  EXPECT_NE(two.find("out/w.npy"), std::string::npos);
  EXPECT_NE(two.find("dense/bias.npy"), std::string::npos);
  EXPECT_EQ(two.find("dense/kernel"), std::string::npos);
}

TEST_F(CliConvert, SafetensorsHeaderAndData) {
  const fs::path out = dir_ / "m.safetensors";
  const auto r = run_cli({"convert", ckpt(), "--to", "safetensors", out.string(), "--no-slots"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string bytes = slurp(out);
  ASSERT_GE(bytes.size(), 8u);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header.size(), 3u);
  EXPECT_EQ(header["dense/kernel"]["dtype"], "F32");
  EXPECT_EQ(header["dense/kernel"]["shape"], nlohmann::json::array({2, 2}));
  const auto offsets = header["dense/kernel"]["data_offsets"].get<std::vector<std::uint64_t>>();
  EXPECT_EQ(bytes.substr(8 + n + offsets[0], offsets[1] - offsets[0]), f32({1, 2, 3, 4}));
  EXPECT_EQ(bytes.size(), 8 + n + 4 * (4 + 2 + 1));
}

TEST_F(CliConvert, DryRunPrintsThePlanAndWritesNothing) {
  const fs::path out = dir_ / "dry.npz";
  const auto r = run_cli({"convert", ckpt(), "--to", "npz", out.string(), "--no-slots", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("NAME"));
  EXPECT_THAT(r.out, HasSubstr("dense/kernel"));
  EXPECT_THAT(r.out, Not(HasSubstr("Momentum")));
  EXPECT_THAT(r.out, HasSubstr("3 tensors, 28 bytes"));
  EXPECT_THAT(r.out, HasSubstr("dry run: would write an .npz archive " + out.string()));
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliConvert, RefusesToReplaceWithoutForce) {
  const fs::path out = dir_ / "m.safetensors";
  ASSERT_EQ(run_cli({"convert", ckpt(), "--to", "safetensors", out.string()}).exit_code, 0);
  const std::string before = slurp(out);
  auto r = run_cli({"convert", ckpt(), "--to", "safetensors", out.string(), "--no-slots"});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("exists"));
  EXPECT_THAT(r.err, HasSubstr("--force"));
  EXPECT_EQ(slurp(out), before);
  r = run_cli({"convert", ckpt(), "--to", "safetensors", out.string(), "--no-slots", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_LT(slurp(out).size(), before.size());
}

TEST_F(CliConvert, StringsAreRefusedUnlessAskedForAndAllProblemsAreListed) {
  tfckpt_testing::write_bundle(dir_ / "odd" / "m", {
                                                       tfckpt_testing::string_tensor("vocab", {2}, {"ab", "c"}),
                                                       tfckpt_testing::string_tensor("names", {1}, {"x"}),
                                                       tfckpt_testing::float_tensor("w", {1}, {1}),
                                                   });
  const std::string odd = (dir_ / "odd" / "m").string();
  auto r = run_cli({"convert", odd, "--to", "npy-dir", (dir_ / "o").string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("2 problems"));
  EXPECT_THAT(r.err, HasSubstr("'vocab' is a string tensor"));
  EXPECT_THAT(r.err, HasSubstr("'names' is a string tensor"));
  EXPECT_FALSE(fs::exists(dir_ / "o"));
  // The dry run reports the same problems.
  r = run_cli({"convert", odd, "--to", "npy-dir", (dir_ / "o").string(), "--dry-run"});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.out, HasSubstr("vocab"));
  EXPECT_THAT(r.err, HasSubstr("2 problems"));
  r = run_cli({"convert", odd, "--to", "npy-dir", (dir_ / "o").string(), "--strings", "bytes", "--flat"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(slurp(dir_ / "o" / "vocab.npy"), tfckpt::npy_header("|S2", std::vector<std::int64_t>{2}) + std::string("abc\0", 4));
  // safetensors has no strings at all.
  r = run_cli({"convert", odd, "--to", "safetensors", (dir_ / "o.safetensors").string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("'vocab' is string, which safetensors cannot hold"));
}

TEST_F(CliConvert, Bfloat16RawOrWidened) {
  tfckpt_testing::write_bundle(dir_ / "bf" / "m",
                               {tfckpt_testing::typed_tensor<std::uint16_t>("b", tfckpt::dtype::bfloat16, {2}, {0x3F80, 0xC000})});
  const std::string bf = (dir_ / "bf" / "m").string();
  ASSERT_EQ(run_cli({"convert", bf, "--to", "npy-dir", (dir_ / "w").string()}).exit_code, 0);
  EXPECT_EQ(slurp(dir_ / "w" / "b.npy"), tfckpt::npy_header("<f4", std::vector<std::int64_t>{2}) + f32({1.0f, -2.0f}));
  ASSERT_EQ(run_cli({"convert", bf, "--to", "npy-dir", (dir_ / "r").string(), "--bfloat16", "raw"}).exit_code, 0);
  EXPECT_EQ(slurp(dir_ / "r" / "b.npy"), tfckpt::npy_header("<u2", std::vector<std::int64_t>{2}) + std::string("\x80\x3f\x00\xc0", 4));
}

TEST_F(CliConvert, UsageErrors) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"convert", ckpt(), "--to", "hdf5", (dir_ / "x").string()},
           {"convert", ckpt(), (dir_ / "x").string()},
           {"convert", ckpt(), "--to", "npz"},
           {"convert", ckpt(), "--to", "npz", (dir_ / "x").string(), "--strings", "pickle"},
       }) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << r;
  }
  const auto missing = run_cli({"convert", (dir_ / "nope").string(), "--to", "npz", (dir_ / "x.npz").string()});
  EXPECT_EQ(missing.exit_code, 3) << missing;
  EXPECT_THAT(run_cli({"convert", "--help"}).out, HasSubstr("npy-dir"));
  EXPECT_FALSE(fs::exists(dir_ / "x"));
  EXPECT_FALSE(fs::exists(dir_ / "x.npz"));
}

TEST(CliConvertFixture, MnistEmaToEveryFormat) {
  TFCKPT_REQUIRE_FIXTURES();
  tfckpt_testing::scratch_dir dir;
  const std::string src = (tfckpt_testing::fixtures_dir() / "mnist_ema" / "MNIST_model").string();
  for (const char* to : {"npz", "npy-dir", "safetensors"}) {
    const auto r = run_cli({"convert", src, "--to", to, (dir / to).string(), "--filter", "layer1/*"});
    EXPECT_EQ(r.exit_code, 0) << to << "\n" << r;
  }
  EXPECT_THAT(files_under(dir / "npy-dir"),
              ElementsAre("layer1/biases.npy", "layer1/biases/ExponentialMovingAverage.npy", "layer1/weights.npy",
                          "layer1/weights/ExponentialMovingAverage.npy"));
  EXPECT_EQ(fs::file_size(dir / "npy-dir" / "layer1" / "weights.npy"), 128u + 784u * 500u * 4u);
}

TEST_F(CliConvert, AMissingDataShardIsNamedOnceWithItsKey) {
  fs::remove(ckpt() + ".data-00000-of-00001");
  const auto r = run_cli({"convert", ckpt(), "--to", "npz", (dir_ / "m.npz").string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("data shard 0 of 1 is missing"));
  const std::string key = "for key 'dense/bias'";
  ASSERT_NE(r.err.find(key), std::string::npos) << r;
  EXPECT_EQ(r.err.find(key), r.err.rfind(key)) << "the key is named twice: " << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "m.npz"));
}

}  // namespace

}  // namespace convert_test

#endif  // TFCKPT_CLI_PATH

