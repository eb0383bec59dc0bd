// SPDX-License-Identifier: Apache-2.0
#include "tfckpt/checkpoint/state_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"

namespace state_file_test {

namespace {
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(StateFile, ParsesTf2FieldsFromTheFixture) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto dir = tfckpt_testing::fixtures_dir() / "a2c_tf2_checkpoint_manager/training_checkpoints";
  ASSERT_OK_AND_ASSIGN(const auto state, tfckpt::read_checkpoint_state(dir / "checkpoint"));
  EXPECT_EQ(state.model_checkpoint_path(), "ckpt-9");
  ASSERT_EQ(state.all_model_checkpoint_paths_size(), 3);
  EXPECT_EQ(state.all_model_checkpoint_paths(0), "ckpt-7");
  ASSERT_EQ(state.all_model_checkpoint_timestamps_size(), 3);
  EXPECT_DOUBLE_EQ(state.all_model_checkpoint_timestamps(2), 1749556872.0213294);
  EXPECT_DOUBLE_EQ(state.last_preserved_timestamp(), 1749486234.077182);
  ASSERT_OK_AND_ASSIGN(const std::string latest, tfckpt::latest_checkpoint(dir));
  EXPECT_EQ(latest, (dir / "ckpt-9").string());
}

TEST(StateFile, RelativeAbsoluteAndForeignPaths) {
  tfckpt_testing::scratch_dir dir;
  write(dir / "ckpt-3.index", "");
  write(dir / "checkpoint", "model_checkpoint_path: \"ckpt-3\"\n");
  ASSERT_OK_AND_ASSIGN(auto p, tfckpt::latest_checkpoint(dir.path()));
  EXPECT_EQ(p, (dir / "ckpt-3").string());
  write(dir / "checkpoint", "model_checkpoint_path: \"" + (dir / "ckpt-3").string() + "\"\n");
  ASSERT_OK_AND_ASSIGN(p, tfckpt::latest_checkpoint(dir.path()));
  EXPECT_EQ(p, (dir / "ckpt-3").string());
  write(dir / "checkpoint", "model_checkpoint_path: \"C:\\\\Users\\\\x\\\\ckpt-3\"\n");
  ASSERT_OK_AND_ASSIGN(p, tfckpt::latest_checkpoint(dir.path()));
  EXPECT_EQ(p, (dir / "ckpt-3").string());
  ASSERT_OK_AND_ASSIGN(p, tfckpt::latest_checkpoint(dir.path(), {.relocate_by_basename = false}));
  EXPECT_EQ(p, (dir / "C:\\Users\\x\\ckpt-3").string());  // relative on POSIX: joined, as TensorFlow does
}

TEST(StateFile, Errors) {
  tfckpt_testing::scratch_dir dir;
  EXPECT_THAT(tfckpt::latest_checkpoint(dir.path()), StatusIs(absl::StatusCode::kNotFound, HasSubstr("checkpoint")));
  write(dir / "checkpoint", "model_checkpoint_path: ckpt-3\n");  // unquoted: not text format
  EXPECT_THAT(tfckpt::latest_checkpoint(dir.path()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a valid checkpoint state file: line 1")));
  write(dir / "checkpoint", "all_model_checkpoint_paths: \"a\"\n");
  EXPECT_THAT(tfckpt::latest_checkpoint(dir.path()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("model_checkpoint_path is empty")));
}
}  // namespace

}  // namespace state_file_test
