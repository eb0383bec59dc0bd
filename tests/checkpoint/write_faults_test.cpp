// SPDX-License-Identifier: Apache-2.0
// Fault injection into checkpoint_manager::save: a first save with a counting hook lists every
// file-system step (each write, fsync, close, rename, directory fsync and deletion); then, for each
// step k, a fresh directory holding a checkpoint and a state file gets a save whose step k fails.
// The save must return that error and leave no temporary behind. A step before the state file's
// rename must leave the directory as it was: the state file byte-equal, the previous checkpoint
// verifying with its values, no file of the new checkpoint. A step after it (the state file's
// directory fsync, old-checkpoint deletion, the second state update) may leave the new state in
// place, but whatever the state file names must open and verify.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/manager.hpp"
#include "tfckpt/checkpoint/state_file.hpp"

namespace write_faults_test {

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;

struct step {
  tfckpt::io::io_step kind;
  std::string file;  // file name (the temporary's suffix removed)
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& f : fs::directory_iterator(dir)) out.insert(f.path().filename().string());
  return out;
}

std::string strip_temporary(std::string_view path) {
  std::string name = fs::path(path).filename().string();
  if (const auto at = name.rfind(".tempstate"); at != std::string::npos) name.resize(at);
  return name;
}

std::vector<float> values_of(int generation) {
  std::vector<float> v(3000);  // two shards, one of ~12 KB
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(generation) * 1000.0f + static_cast<float>(i);
  return v;
}

absl::Status fill(tfckpt::bundle_writer& w, int generation) {
  static const std::vector<float> a = values_of(1), b = values_of(2);
  const std::vector<float>& v = generation == 1 ? a : b;
  const std::int64_t shape[] = {static_cast<std::int64_t>(v.size())};
  TFCKPT_RETURN_IF_ERROR(
      w.add("w", tfckpt::dtype::float32, shape, tfckpt::byte_source::from_span(std::as_bytes(std::span(v))), 0));
  static const std::int64_t two[] = {2};
  const std::string_view words[] = {"alpha", "beta"};
  return w.add_strings("vocab", two, words, 1);
}

void expect_verifies_with(const std::string& prefix, int generation) {
  auto ckpt = tfckpt::open(prefix);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_TRUE(ckpt->verify().ok()) << prefix;
  auto w = ckpt->get("w");
  ASSERT_TRUE(w.ok()) << w.status();
  auto values = (*w)->values<float>();
  ASSERT_TRUE(values.ok()) << values.status();
  const std::vector<float> expected = values_of(generation);
  ASSERT_EQ(values->size(), expected.size());
  EXPECT_TRUE(std::equal(values->begin(), values->end(), expected.begin())) << prefix;
}

tfckpt::manager_options options_with(tfckpt::io::write_hook hook, std::optional<int> max_to_keep) {
  tfckpt::manager_options o;
  o.max_to_keep = max_to_keep;
  o.writer.num_shards = 2;
  o.writer.write_hook = std::move(hook);
  double clock = 1'700'000'000;
  o.now = [clock]() mutable { return clock += 10; };
  return o;
}

class WriteFaults : public testing::TestWithParam<std::optional<int>> {
 protected:
  // A directory with ckpt-1 saved and recorded.
  fs::path prepare(const std::string& name) {
    const fs::path dir = scratch_ / name;
    auto m = tfckpt::checkpoint_manager::open(dir, options_with({}, GetParam()));
    EXPECT_TRUE(m.ok()) << m.status();
    auto saved = m->save([](tfckpt::bundle_writer& w) { return fill(w, 1); });
    EXPECT_TRUE(saved.ok()) << saved.status();
    return dir;
  }

  tfckpt_testing::scratch_dir scratch_;
};

TEST_P(WriteFaults, EveryFailedStepLeavesThePreviousCheckpointAndState) {
  // Count the steps of a save that succeeds.
  std::vector<step> steps;
  {
    const fs::path dir = prepare("count");
    auto m = tfckpt::checkpoint_manager::open(
        dir, options_with(
                 [&](tfckpt::io::io_step kind, std::string_view path, std::uint64_t, std::size_t) {
                   steps.push_back({kind, strip_temporary(path)});
                   return absl::OkStatus();
                 },
                 GetParam()));
    ASSERT_TRUE(m.ok()) << m.status();
    ASSERT_OK(m->save([](tfckpt::bundle_writer& w) { return fill(w, 2); }).status());
  }
  std::set<tfckpt::io::io_step> kinds;
  for (const step& s : steps) kinds.insert(s.kind);
  for (const auto k : {tfckpt::io::io_step::write, tfckpt::io::io_step::fsync, tfckpt::io::io_step::close,
                       tfckpt::io::io_step::rename, tfckpt::io::io_step::sync_directory}) {
    EXPECT_TRUE(kinds.count(k)) << "no " << tfckpt::io::io_step_name(k) << " step seen";
  }
  if (GetParam() == 1) {
    EXPECT_TRUE(kinds.count(tfckpt::io::io_step::remove)) << "the old checkpoint was not deleted";
  }
  // The first rename of the state file: steps up to it must change nothing.
  std::size_t state_rename = steps.size();
  for (std::size_t k = 0; k < steps.size(); ++k)
    if (steps[k].kind == tfckpt::io::io_step::rename && steps[k].file == "checkpoint") {
      state_rename = k;
      break;
    }
  ASSERT_LT(state_rename, steps.size());
  std::printf("[write-faults] max_to_keep=%s: %zu steps, state file renamed at step %zu\n",
              GetParam() ? std::to_string(*GetParam()).c_str() : "unset", steps.size(), state_rename);

  for (std::size_t k = 0; k < steps.size(); ++k) {
    SCOPED_TRACE(testing::Message() << "step " << k << ": " << tfckpt::io::io_step_name(steps[k].kind) << " "
                                    << steps[k].file);
    const fs::path dir = prepare("fail-" + std::to_string(k));
    const std::string state_before = read_all(dir / "checkpoint");
    const std::set<std::string> files_before = listing(dir);
    std::size_t seen = 0;
    auto m = tfckpt::checkpoint_manager::open(
        dir, options_with(
                 [&](tfckpt::io::io_step kind, std::string_view path, std::uint64_t, std::size_t) {
                   if (seen++ != k) return absl::OkStatus();
                   return absl::UnavailableError(
                       absl::StrFormat("%s: injected %s failure", path, tfckpt::io::io_step_name(kind)));
                 },
                 GetParam()));
    ASSERT_TRUE(m.ok()) << m.status();
    const auto saved = m->save([](tfckpt::bundle_writer& w) { return fill(w, 2); });
    EXPECT_THAT(saved, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("injected")));

    const std::set<std::string> files_after = listing(dir);
    for (const std::string& f : files_after) {
      EXPECT_EQ(f.find(".tempstate"), std::string::npos) << f;
    }
    if (k < state_rename) {
      EXPECT_EQ(read_all(dir / "checkpoint"), state_before);
      EXPECT_EQ(files_after, files_before);
      expect_verifies_with((dir / "ckpt-1").string(), 1);
      auto latest = tfckpt::latest_checkpoint(dir);
      ASSERT_TRUE(latest.ok()) << latest.status();
      EXPECT_EQ(*latest, (dir / "ckpt-1").string());
    } else {
      auto latest = tfckpt::latest_checkpoint(dir);
      ASSERT_TRUE(latest.ok()) << latest.status();
      expect_verifies_with(*latest, *latest == (dir / "ckpt-1").string() ? 1 : 2);
    }
    // The manager picks up from here: the next save works.
    auto again = tfckpt::checkpoint_manager::open(dir, options_with({}, GetParam()));
    ASSERT_TRUE(again.ok()) << again.status();
    auto next = again->save([](tfckpt::bundle_writer& w) { return fill(w, 2); });
    ASSERT_TRUE(next.ok()) << next.status();
    expect_verifies_with(*next, 2);
    fs::remove_all(dir);
  }
}

INSTANTIATE_TEST_SUITE_P(Manager, WriteFaults, testing::Values(std::optional<int>(), std::optional<int>(1)),
                         [](const testing::TestParamInfo<std::optional<int>>& info) {
                           return info.param ? "KeepOne" : "KeepAll";
                         });

TEST(WriteHook, ThreeArgumentHooksStillSeeOnlyWrites) {
  tfckpt_testing::scratch_dir scratch;
  std::vector<std::uint64_t> offsets;
  tfckpt::io::write_hook hook = [&](std::string_view, std::uint64_t offset, std::size_t) {
    offsets.push_back(offset);
    return absl::OkStatus();
  };
  ASSERT_OK(tfckpt::io::write_file_atomically(scratch / "f", "hello", true, hook));
  EXPECT_EQ(offsets, std::vector<std::uint64_t>{0});
  EXPECT_EQ(read_all(scratch / "f"), "hello");
}

TEST(WriteHook, StateFileWriteFailsAtEachStepAndKeepsTheOldFile) {
  tfckpt_testing::scratch_dir scratch;
  ASSERT_OK_AND_ASSIGN(auto state, tfckpt::make_checkpoint_state(scratch.path(), "ckpt-1"));
  ASSERT_OK(tfckpt::write_checkpoint_state(scratch.path(), state));
  const std::string before = read_all(scratch / "checkpoint");
  ASSERT_OK_AND_ASSIGN(auto newer, tfckpt::make_checkpoint_state(scratch.path(), "ckpt-2"));
  for (const auto failing : {tfckpt::io::io_step::write, tfckpt::io::io_step::fsync, tfckpt::io::io_step::close,
                             tfckpt::io::io_step::rename}) {
    tfckpt::write_state_options o;
    o.write_hook = [&](tfckpt::io::io_step kind, std::string_view path, std::uint64_t, std::size_t) {
      return kind == failing ? absl::UnavailableError(absl::StrFormat("%s: injected", path)) : absl::OkStatus();
    };
    EXPECT_THAT(tfckpt::write_checkpoint_state(scratch.path(), newer, o),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("injected")))
        << tfckpt::io::io_step_name(failing);
    EXPECT_EQ(read_all(scratch / "checkpoint"), before);
    EXPECT_EQ(listing(scratch.path()), std::set<std::string>{"checkpoint"});
  }
}

}  // namespace

}  // namespace write_faults_test
