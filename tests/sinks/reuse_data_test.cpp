// SPDX-License-Identifier: Apache-2.0
// write_bundle_options::reuse_data: a pipeline that only renames every tensor of one checkpoint
// keeps its data files (hard-linked, or copied by the kernel) and gets a new index; any other
// pipeline is written in full. The result must open, verify and read back the same values.
// Source bundles come from tests/testing/bundle_builder.hpp (LevelDB's TableBuilder).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/transform_names.hpp"

namespace reuse_data_test {

namespace {

namespace fs = std::filesystem;
using ::tfckpt_testing::float_tensor;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::string_tensor;

struct stat_result {
  ino_t inode = 0;
  nlink_t links = 0;
};
stat_result stat_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return {st.st_ino, st.st_nlink};
}

std::string slurp_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class ReuseDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = (dir_ / "src" / "model.ckpt").string();
    tfckpt_testing::build_options two_shards;
    two_shards.num_shards = 2;
    tfckpt_testing::tensor_spec kernel = float_tensor("b/kernel", {2, 2}, {4, 5, 6, 7});
    kernel.shard = 1;
    tfckpt_testing::write_bundle(source_,
                                 {
                                     float_tensor("a/bias", {3}, {1, 2, 3}),
                                     kernel,
                                     string_tensor("c/vocab", {2}, {"x", "yz"}),
                                 },
                                 two_shards);
  }

  // Writes `pipeline` of the source at `out` with `reuse`, and checks the result reads back.
  template <class Adaptor>
  void write(const std::string& out, Adaptor adaptor, tfckpt::data_reuse reuse) {
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint src, tfckpt::open(source_));
    ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(src) | adaptor, out, {.writer = {.overwrite = true}, .reuse_data = reuse}));
  }

  std::string shard(const std::string& prefix, int i) const { return tfckpt::data_file_name(prefix, i, 2); }

  scratch_dir dir_;
  std::string source_;
};

TEST_F(ReuseDataTest, RenameLinksTheDataFilesAndWritesANewIndex) {
  const std::string out = (dir_ / "out" / "renamed").string();
  write(out, tfckpt::views::transform_names(tfckpt::regex_rename("^(.)/", "new_$1/")), tfckpt::data_reuse::link);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(stat_of(shard(out, i)).inode, stat_of(shard(source_, i)).inode);
    EXPECT_EQ(stat_of(shard(out, i)).links, 2u);
  }
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint got, tfckpt::open(out));
  EXPECT_TRUE(got.verify().ok());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got.entries()[0].name(), "new_a/bias");
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* kernel, got.get("new_b/kernel"));
  EXPECT_EQ(kernel->shard(), 1);
  ASSERT_OK_AND_ASSIGN(const auto values, kernel->values<float>());
  EXPECT_THAT(std::vector<float>(values.begin(), values.end()), ::testing::ElementsAre(4, 5, 6, 7));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* vocab, got.get("new_c/vocab"));
  ASSERT_OK_AND_ASSIGN(const auto strings, vocab->strings());
  EXPECT_THAT(strings, ::testing::ElementsAre("x", "yz"));
  for (const auto& f : fs::directory_iterator(dir_ / "out"))
    EXPECT_EQ(f.path().string().find("tempstate"), std::string::npos) << f.path();
}

TEST_F(ReuseDataTest, CopyMakesIndependentIdenticalDataFiles) {
  const std::string out = (dir_ / "out" / "copied").string();
  write(out, tfckpt::views::transform_names(tfckpt::regex_rename("^(.)/", "new_$1/")), tfckpt::data_reuse::copy);
  for (int i = 0; i < 2; ++i) {
    EXPECT_NE(stat_of(shard(out, i)).inode, stat_of(shard(source_, i)).inode);
    EXPECT_EQ(stat_of(shard(source_, i)).links, 1u);
    EXPECT_EQ(slurp_file(shard(out, i)), slurp_file(shard(source_, i)));
  }
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint got, tfckpt::open(out));
  EXPECT_TRUE(got.verify().ok());
  EXPECT_NE(got.find("new_b/kernel"), nullptr);
}

TEST_F(ReuseDataTest, DroppingATensorRewritesTheData) {
  const std::string out = (dir_ / "out" / "dropped").string();
  write(out, tfckpt::views::filter([](const tfckpt::tensor& t) { return t.name != "a/bias"; }), tfckpt::data_reuse::link);
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint got, tfckpt::open(out));
  EXPECT_TRUE(got.verify().ok());
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(got.num_shards(), 1);  // the writer's default, not the source's layout
  EXPECT_EQ(stat_of(shard(source_, 0)).links, 1u);
}

TEST_F(ReuseDataTest, RenamingInPlaceLeavesNoTemporaries) {
  write(source_, tfckpt::views::transform_names(tfckpt::regex_rename("^(.)/", "new_$1/")), tfckpt::data_reuse::link);
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint got, tfckpt::open(source_));
  EXPECT_TRUE(got.verify().ok());
  EXPECT_NE(got.find("new_a/bias"), nullptr);
  for (const auto& f : fs::directory_iterator(dir_ / "src"))
    EXPECT_EQ(f.path().string().find("tempstate"), std::string::npos) << f.path();
  EXPECT_EQ(stat_of(shard(source_, 0)).links, 1u);
}

}  // namespace

}  // namespace reuse_data_test
