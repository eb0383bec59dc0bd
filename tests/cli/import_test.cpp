// SPDX-License-Identifier: Apache-2.0
// `tfckpt import`, end to end: each source format into a checkpoint that `verify` and `ls` accept
// and whose values are the source's; dry runs; refusing to replace a checkpoint without --force;
// a malformed source reported with its file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliImport, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <fstream>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/sinks/npy.hpp"
#include "tfckpt/sinks/safetensors.hpp"

namespace import_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::run_cli;

class CliImport : public ::testing::Test {
 protected:
  void SetUp() override {
    tfckpt_testing::write_bundle(dir_ / "orig" / "model",
                                 {
                                     tfckpt_testing::float_tensor("dense/kernel", {2, 2}, {1, 2, 3, 4}),
                                     tfckpt_testing::float_tensor("dense/bias", {2}, {5, 6}),
                                     tfckpt_testing::typed_tensor<std::int64_t>("step", tfckpt::dtype::int64, {}, {42}),
                                 });
    auto c = tfckpt::open((dir_ / "orig" / "model").string());
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(tfckpt::write_safetensors(tfckpt::entries(*c), dir_ / "model.safetensors", {.sync = false}).ok());
    ASSERT_TRUE(tfckpt::write_npz(tfckpt::entries(*c), dir_ / "model.npz", {.sync = false}).ok());
    ASSERT_TRUE(tfckpt::write_npy_dir(tfckpt::entries(*c), dir_ / "npy", {.sync = false}).ok());
  }
  std::string path(const std::string& p) const { return (dir_ / p).string(); }

  // The imported checkpoint at `prefix` holds the original tensors, byte for byte.
  void expect_original(const std::string& prefix) {
    const auto v = run_cli({"verify", prefix});
    EXPECT_EQ(v.exit_code, 0) << v;
    const auto ls = run_cli({"ls", prefix});
    ASSERT_EQ(ls.exit_code, 0) << ls;
    EXPECT_THAT(ls.out, HasSubstr("dense/kernel"));
    EXPECT_THAT(ls.out, HasSubstr("step"));
    auto a = tfckpt::open(path("orig/model"));
    auto b = tfckpt::open(prefix);
    ASSERT_TRUE(a.ok() && b.ok()) << b.status();
    ASSERT_EQ(b->entries().size(), a->entries().size());
    for (const tfckpt::entry& e : a->entries()) {
      const tfckpt::entry* f = b->find(e.name());
      ASSERT_NE(f, nullptr) << e.name();
      EXPECT_EQ(f->dtype(), e.dtype());
      EXPECT_TRUE(std::ranges::equal(f->shape(), e.shape()));
      EXPECT_TRUE(std::ranges::equal(f->bytes().value(), e.bytes().value())) << e.name();
    }
  }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(CliImport, EachFormatBecomesACheckpointThatVerifies) {
  for (const std::string src : {"model.safetensors", "model.npz", "npy"}) {
    const std::string out = path("out-" + src + "/model.ckpt");
    const auto r = run_cli({"import", path(src), "--out", out});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.out, HasSubstr("3 tensors"));
    expect_original(out);
  }
}

TEST_F(CliImport, TheFormatComesFromTheBytesWhateverTheFileIsCalled) {
  fs::copy_file(path("model.npz"), path("weights.bin"));
  fs::copy_file(path("model.safetensors"), path("weights"));
  const auto npz = run_cli({"import", path("weights.bin"), "--out", path("n/model"), "--dry-run"});
  ASSERT_EQ(npz.exit_code, 0) << npz;
  EXPECT_THAT(npz.out, HasSubstr("(npz)"));
  const auto st = run_cli({"import", path("weights"), "--out", path("s/model"), "--dry-run"});
  ASSERT_EQ(st.exit_code, 0) << st;
  EXPECT_THAT(st.out, HasSubstr("(safetensors)"));
  // --from overrides: the archive read as safetensors is a clear error.
  const auto wrong = run_cli({"import", path("weights.bin"), "--out", path("w/model"), "--from", "safetensors"});
  EXPECT_EQ(wrong.exit_code, 3) << wrong;
  EXPECT_THAT(wrong.err, HasSubstr(path("weights.bin")));
}

TEST_F(CliImport, ASingleNpyFileIsOneTensorNamedAfterIt) {
  const auto r = run_cli({"import", path("npy/dense/kernel.npy"), "--out", path("one/model"), "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto c = tfckpt::open(path("one/model"));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->entries().size(), 1u);
  EXPECT_EQ(c->entries()[0].name(), "kernel");
  EXPECT_THAT(c->entries()[0].shape(), ElementsAre(2, 2));
}

TEST_F(CliImport, ShardsAndByteOrderAreTheWritersOptions) {
  const auto r = run_cli({"import", path("model.safetensors"), "--out", path("sh/model"), "--shards", "2", "--byte-order", "big"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(fs::exists(path("sh/model.data-00000-of-00002")));
  EXPECT_TRUE(fs::exists(path("sh/model.data-00001-of-00002")));
  auto c = tfckpt::open(path("sh/model"));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_OK_AND_ASSIGN(const auto k, c->find("dense/kernel")->values<float>());
  EXPECT_THAT(k.span(), ElementsAre(1, 2, 3, 4));
}

TEST_F(CliImport, DryRunPrintsThePlanAndWritesNothing) {
  const auto r = run_cli({"import", path("model.npz"), "--out", path("dry/model"), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("dense/kernel"));
  EXPECT_THAT(r.out, HasSubstr("[2,2]"));
  EXPECT_THAT(r.out, HasSubstr("dry run"));
  EXPECT_FALSE(fs::exists(path("dry")));
  const auto j = run_cli({"import", path("model.safetensors"), "--out", path("dry/model"), "--dry-run", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  EXPECT_THAT(j.out, HasSubstr("\"name\": \"dense/bias\""));
  EXPECT_FALSE(fs::exists(path("dry")));
}

TEST_F(CliImport, AnExistingCheckpointNeedsForce) {
  ASSERT_EQ(run_cli({"import", path("model.npz"), "--out", path("x/model"), "-q"}).exit_code, 0);
  const std::string before = tfckpt_testing::slurp(path("x/model.index"));
  const auto again = run_cli({"import", path("model.safetensors"), "--out", path("x/model")});
  EXPECT_EQ(again.exit_code, 3) << again;
  EXPECT_THAT(again.err, HasSubstr("--force"));
  EXPECT_EQ(tfckpt_testing::slurp(path("x/model.index")), before);
  const auto forced = run_cli({"import", path("model.safetensors"), "--out", path("x/model"), "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced;
  expect_original(path("x/model"));
}

TEST_F(CliImport, AMalformedSourceIsReportedWithItsFileAndNothingIsWritten) {
  std::string bytes = tfckpt_testing::slurp(path("model.safetensors"));
  bytes.resize(bytes.size() - 3);
  std::ofstream(path("cut.safetensors"), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const auto r = run_cli({"import", path("cut.safetensors"), "--out", path("cut/model")});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr(path("cut.safetensors")));
  EXPECT_THAT(r.err, HasSubstr("truncated"));
  EXPECT_FALSE(fs::exists(path("cut/model.index")));
}

TEST_F(CliImport, NothingIsLeftWhenTheTargetCannotBeCreated) {
  std::ofstream(path("blocker")) << "a regular file where a directory would have to be";
  const auto count = [&] {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_.path())) n += e.is_regular_file() ? 1 : 0;
    return n;
  };
  const std::size_t before = count();
  const auto r = run_cli({"import", path("model.npz"), "--out", path("blocker/out/model")});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("blocker"));
  EXPECT_EQ(count(), before);
}

}  // namespace

}  // namespace import_test

#endif

