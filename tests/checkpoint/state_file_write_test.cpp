// SPDX-License-Identifier: Apache-2.0
// Writing the `checkpoint` state file: TensorFlow's rules (spec/FORMAT.md §1.3), its exact text
// (every state file among the fixtures is reproduced byte for byte), atomic replacement.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/state_file.hpp"

namespace state_file_write_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> paths_of(const tfckpt::checkpoint_state& s) {
  return {s.all_model_checkpoint_paths().begin(), s.all_model_checkpoint_paths().end()};
}

bool same(const tfckpt::checkpoint_state& a, const tfckpt::checkpoint_state& b) { return a == b; }

TEST(StateFileWrite, ExactTextAndRoundTrip) {
  tfckpt_testing::scratch_dir dir;
  const std::string d = dir.path().string();
  ASSERT_OK_AND_ASSIGN(const auto state,
                       tfckpt::make_checkpoint_state(dir.path(), d + "/ckpt-3", {d + "/ckpt-1", d + "/ckpt-2"},
                                                     {1749551857.5064511, 2.25, 100.0}, 1749486234.077182, true));
  EXPECT_EQ(tfckpt::checkpoint_state_text(state),
            "model_checkpoint_path: \"ckpt-3\"\n"
            "all_model_checkpoint_paths: \"ckpt-1\"\n"
            "all_model_checkpoint_paths: \"ckpt-2\"\n"
            "all_model_checkpoint_paths: \"ckpt-3\"\n"
            "all_model_checkpoint_timestamps: 1749551857.5064511\n"
            "all_model_checkpoint_timestamps: 2.25\n"
            "all_model_checkpoint_timestamps: 100.0\n"
            "last_preserved_timestamp: 1749486234.077182\n");
  ASSERT_OK(tfckpt::write_checkpoint_state(dir.path(), state));
  EXPECT_EQ(slurp(dir / "checkpoint"), tfckpt::checkpoint_state_text(state));
  ASSERT_OK_AND_ASSIGN(const auto back, tfckpt::read_checkpoint_state(dir / "checkpoint"));
  EXPECT_TRUE(same(back, state)) << tfckpt::checkpoint_state_text(back);
  ASSERT_OK_AND_ASSIGN(const std::string latest, tfckpt::latest_checkpoint(dir.path()));
  EXPECT_EQ(latest, d + "/ckpt-3");
}

TEST(StateFileWrite, Tf1SaverTextHasOnlyTwoFields) {
  tfckpt_testing::scratch_dir dir;
  ASSERT_OK_AND_ASSIGN(const auto state, tfckpt::make_checkpoint_state(dir.path(), "/tmp/x/export"));
  EXPECT_EQ(tfckpt::checkpoint_state_text(state),
            "model_checkpoint_path: \"/tmp/x/export\"\n"
            "all_model_checkpoint_paths: \"/tmp/x/export\"\n");
}

TEST(StateFileWrite, DoublesArePrintedAsPythonRepr) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0.0, "0.0"},       {-0.0, "-0.0"},     {1.0, "1.0"},         {100.0, "100.0"},
      {0.1, "0.1"},       {0.3, "0.3"},       {2.0 / 3, "0.6666666666666666"},
      {0.0001, "0.0001"}, {0.00001, "1e-05"}, {1.5e-10, "1.5e-10"}, {1e15, "1000000000000000.0"},
      {1e16, "1e+16"},    {1.2345678901234568e17, "1.2345678901234568e+17"},
      {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
      {-1749486234.077182, "-1749486234.077182"}, {1749551857.5064511, "1749551857.5064511"},
  };
  for (const auto& [v, text] : cases) EXPECT_EQ(tfckpt::detail::python_float_repr(v), text) << v;
  tfckpt::checkpoint_state s;
  s.set_model_checkpoint_path("m");
  s.add_all_model_checkpoint_timestamps(1e16);
  s.add_all_model_checkpoint_timestamps(0.00001);
  EXPECT_THAT(tfckpt::checkpoint_state_text(s), HasSubstr("timestamps: 1e+16\nall_model_checkpoint_timestamps: 1e-05\n"));
}

TEST(StateFileWrite, StringsAreCEscapedAndRoundTrip) {
  tfckpt_testing::scratch_dir dir;
  tfckpt::checkpoint_state s;
  s.set_model_checkpoint_path("a\"b\\c\nd'\xc3\xa9");
  s.add_all_model_checkpoint_paths(s.model_checkpoint_path());
  EXPECT_EQ(tfckpt::checkpoint_state_text(s),
            "model_checkpoint_path: \"a\\\"b\\\\c\\nd\\'\\303\\251\"\n"
            "all_model_checkpoint_paths: \"a\\\"b\\\\c\\nd\\'\\303\\251\"\n");
  ASSERT_OK(tfckpt::write_checkpoint_state(dir.path(), s));
  ASSERT_OK_AND_ASSIGN(const auto back, tfckpt::read_checkpoint_state(dir / "checkpoint"));
  EXPECT_TRUE(same(back, s));
}

TEST(StateFileWrite, ModelPathIsAppendedUnlessLast) {
  const fs::path dir = "/data/run";
  ASSERT_OK_AND_ASSIGN(auto s, tfckpt::make_checkpoint_state(dir, "/data/run/m-2", {"/data/run/m-1"}));
  EXPECT_THAT(paths_of(s), ElementsAre("/data/run/m-1", "/data/run/m-2"));
  ASSERT_OK_AND_ASSIGN(s, tfckpt::make_checkpoint_state(dir, "/data/run/m-2", {"/data/run/m-2", "/data/run/m-1"}));
  EXPECT_THAT(paths_of(s), ElementsAre("/data/run/m-2", "/data/run/m-1", "/data/run/m-2"));  // only the last counts
  ASSERT_OK_AND_ASSIGN(s, tfckpt::make_checkpoint_state(dir, "/data/run/m-2", {"/data/run/m-1", "/data/run/m-2"}));
  EXPECT_THAT(paths_of(s), ElementsAre("/data/run/m-1", "/data/run/m-2"));
  EXPECT_EQ(s.all_model_checkpoint_timestamps_size(), 0);
  EXPECT_EQ(s.last_preserved_timestamp(), 0);
}

TEST(StateFileWrite, TimestampCountMustMatchThePaths) {
  // One timestamp per path after the model path is appended: 2 here.
  EXPECT_OK(tfckpt::make_checkpoint_state("/d", "/d/m-2", {"/d/m-1"}, {1, 2}).status());
  EXPECT_THAT(tfckpt::make_checkpoint_state("/d", "/d/m-2", {"/d/m-1"}, {1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 timestamps for 2 checkpoint paths")));
  EXPECT_THAT(tfckpt::make_checkpoint_state("/d", "/d/m-2", {"/d/m-1"}, {1, 2, 3}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 timestamps for 2")));
}

TEST(StateFileWrite, SaveRelativePathsRewritesAbsolutePaths) {
  ASSERT_OK_AND_ASSIGN(auto s, tfckpt::make_checkpoint_state("/data/run", "/data/run/ckpt-3",
                                                              {"/data/run/ckpt-2", "/data/other/ckpt-1", "keep-rel"},
                                                              {}, 0, true));
  EXPECT_EQ(s.model_checkpoint_path(), "ckpt-3");
  EXPECT_THAT(paths_of(s), ElementsAre("ckpt-2", "../other/ckpt-1", "keep-rel", "ckpt-3"));
  ASSERT_OK_AND_ASSIGN(s, tfckpt::make_checkpoint_state("/data/run/", "/data/run/./sub/../ckpt-3", {}, {}, 0, true));
  EXPECT_EQ(s.model_checkpoint_path(), "ckpt-3");
  // Without save_relative_paths, an absolute directory leaves every path as given.
  ASSERT_OK_AND_ASSIGN(s, tfckpt::make_checkpoint_state("/data/run", "/data/run/ckpt-3", {"ckpt-2"}));
  EXPECT_EQ(s.model_checkpoint_path(), "/data/run/ckpt-3");
  EXPECT_THAT(paths_of(s), ElementsAre("ckpt-2", "/data/run/ckpt-3"));
}

TEST(StateFileWrite, RelativeSaveDirRewritesRelativePaths) {
  // TF1 Saver: paths relative to the working directory, as the caller passed them, become relative
  // to a relative save directory; absolute ones stay.
  ASSERT_OK_AND_ASSIGN(auto s, tfckpt::make_checkpoint_state("train", "train/model.ckpt-5",
                                                              {"train/model.ckpt-4", "/abs/model.ckpt-3"}));
  EXPECT_EQ(s.model_checkpoint_path(), "model.ckpt-5");
  EXPECT_THAT(paths_of(s), ElementsAre("model.ckpt-4", "/abs/model.ckpt-3", "model.ckpt-5"));
  // TF2's CheckpointManager on a relative directory: the same result, and an absolute path under
  // the directory is rewritten only once.
  const std::string abs = (fs::current_path() / "train/ckpt-2").string();
  ASSERT_OK_AND_ASSIGN(s, tfckpt::make_checkpoint_state("train", "train/ckpt-3", {abs}, {}, 0, true));
  EXPECT_THAT(paths_of(s), ElementsAre("ckpt-2", "ckpt-3"));
}

TEST(StateFileWrite, RefusesTheStateFileAsModelPath) {
  EXPECT_THAT(tfckpt::make_checkpoint_state("/d", "/d/checkpoint"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is the state file /d/checkpoint itself")));
  EXPECT_THAT(tfckpt::make_checkpoint_state("/d", "/d/x/../checkpoint", {}, {}, 0, true),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(tfckpt::make_checkpoint_state("d", "d/checkpoint"), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(tfckpt::make_checkpoint_state("/d", ""), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_OK(tfckpt::make_checkpoint_state("/d", "/d/checkpoints").status());
}

TEST(StateFileWrite, ReplacesAtomicallyAndLeavesNoTemporary) {
  tfckpt_testing::scratch_dir dir;
  std::ofstream(dir / "checkpoint") << "model_checkpoint_path: \"old\"\n";
  ASSERT_OK_AND_ASSIGN(const auto s, tfckpt::make_checkpoint_state(dir.path(), "new"));
  ASSERT_OK(tfckpt::write_checkpoint_state(dir.path(), s, {.sync = false}));
  EXPECT_EQ(slurp(dir / "checkpoint"), "model_checkpoint_path: \"new\"\nall_model_checkpoint_paths: \"new\"\n");
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(dir.path())) names.push_back(f.path().filename().string());
  EXPECT_THAT(names, ElementsAre("checkpoint"));
  EXPECT_THAT(tfckpt::write_checkpoint_state(dir / "missing", s), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

TEST(StateFileWrite, Tf2FixtureIsRewrittenByteForByte) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = tfckpt_testing::fixtures_dir() / "a2c_tf2_checkpoint_manager/training_checkpoints";
  ASSERT_OK_AND_ASSIGN(const auto state, tfckpt::read_checkpoint_state(dir / "checkpoint"));
  EXPECT_EQ(tfckpt::checkpoint_state_text(state), slurp(dir / "checkpoint"));
  // Rebuilt from its parts with the manager's rules, it is the same state.
  std::vector<std::string> all;
  for (const auto& p : state.all_model_checkpoint_paths()) all.push_back((dir / p).string());
  ASSERT_OK_AND_ASSIGN(const auto rebuilt, tfckpt::make_checkpoint_state(
                                               dir, (dir / "ckpt-9").string(), all,
                                               {state.all_model_checkpoint_timestamps().begin(),
                                                state.all_model_checkpoint_timestamps().end()},
                                               state.last_preserved_timestamp(), true));
  EXPECT_TRUE(same(rebuilt, state)) << tfckpt::checkpoint_state_text(rebuilt);
  tfckpt_testing::scratch_dir out;
  ASSERT_OK(tfckpt::write_checkpoint_state(out.path(), state));
  EXPECT_EQ(slurp(out / "checkpoint"), slurp(dir / "checkpoint"));
  ASSERT_OK_AND_ASSIGN(const auto back, tfckpt::read_checkpoint_state(out / "checkpoint"));
  EXPECT_TRUE(same(back, state));
}

TEST(StateFileWrite, EveryFixtureStateFileIsReproduced) {
  TFCKPT_REQUIRE_FIXTURES();
  int seen = 0;
  for (const auto& f : fs::recursive_directory_iterator(tfckpt_testing::fixtures_dir())) {
    if (f.path().filename() != "checkpoint" || !f.is_regular_file()) continue;
    ++seen;
    ASSERT_OK_AND_ASSIGN(const auto state, tfckpt::read_checkpoint_state(f.path()));
    EXPECT_EQ(tfckpt::checkpoint_state_text(state), slurp(f.path())) << f.path();
  }
  EXPECT_GE(seen, 9);  // absolute, relative and Windows paths; TF1 and TF2 writers
}

}  // namespace

}  // namespace state_file_write_test
