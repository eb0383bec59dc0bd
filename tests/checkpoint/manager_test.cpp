// SPDX-License-Identifier: Apache-2.0
// checkpoint_manager (TF2 CheckpointManager semantics, spec/FORMAT.md §1.4) and prune().
#include "tfckpt/checkpoint/manager.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace manager_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using tfckpt_testing::StatusIs;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void touch(const fs::path& p, const std::string& text = "x") { std::ofstream(p, std::ios::binary) << text; }

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(dir)) names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A fill callback storing one float tensor "v" = {x, x + 1}.
std::function<absl::Status(tfckpt::bundle_writer&)> fill(float x) {
  return [x](tfckpt::bundle_writer& w) {
    static const std::int64_t shape[] = {2};
    const float v[2] = {x, x + 1};
    std::string bytes(sizeof v, '\0');
    std::memcpy(bytes.data(), v, sizeof v);
    return w.add("v", tfckpt::dtype::float32, shape, tfckpt::byte_source::from_bytes(std::move(bytes)));
  };
}

float first_value(const std::string& prefix) {
  auto ckpt = tfckpt::open(prefix);
  if (!ckpt.ok()) return -1;
  auto e = ckpt->get("v");
  if (!e.ok()) return -1;
  auto v = (*e)->values<float>();
  return v.ok() ? v->data()[0] : -1;
}

// A manual clock for the manager.
struct fake_clock {
  double t = 1000;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};

tfckpt::manager_options options(fake_clock& clock, std::optional<int> max_to_keep = std::nullopt) {
  tfckpt::manager_options o;
  o.max_to_keep = max_to_keep;
  o.now = clock.fn();
  o.writer.sync = false;
  return o;
}

TEST(CheckpointManager, NumbersFromOneAndRecordsRelativePaths) {
  tfckpt_testing::scratch_dir dir;
  fake_clock clock;
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir / "run", options(clock)));
  EXPECT_EQ(m.latest(), std::nullopt);
  EXPECT_THAT(m.checkpoints(), IsEmpty());
  EXPECT_EQ(m.last_preserved_timestamp(), 999);  // creation time - 1 s, as TensorFlow
  ASSERT_OK_AND_ASSIGN(const std::string p1, m.save(fill(1)));
  clock.t = 1000.5;
  ASSERT_OK_AND_ASSIGN(const std::string p2, m.save(fill(2)));
  EXPECT_EQ(p1, (dir / "run/ckpt-1").string());
  EXPECT_EQ(p2, (dir / "run/ckpt-2").string());
  EXPECT_EQ(m.latest(), p2);
  EXPECT_THAT(m.checkpoints(), ElementsAre(p1, p2));
  EXPECT_THAT(m.timestamps(), ElementsAre(1000, 1000.5));
  EXPECT_EQ(slurp(dir / "run/checkpoint"),
            "model_checkpoint_path: \"ckpt-2\"\n"
            "all_model_checkpoint_paths: \"ckpt-1\"\n"
            "all_model_checkpoint_paths: \"ckpt-2\"\n"
            "all_model_checkpoint_timestamps: 1000.0\n"
            "all_model_checkpoint_timestamps: 1000.5\n"
            "last_preserved_timestamp: 999.0\n");
  ASSERT_OK_AND_ASSIGN(const std::string latest, tfckpt::latest_checkpoint(dir / "run"));
  EXPECT_EQ(latest, p2);
  EXPECT_EQ(first_value(p1), 1);
  EXPECT_EQ(first_value(p2), 2);
  // The next number is one past the largest on disk, listed or not.
  touch(dir / "run/ckpt-10.index");
  ASSERT_OK_AND_ASSIGN(const std::string p11, m.save(fill(11)));
  EXPECT_EQ(p11, (dir / "run/ckpt-11").string());
}

TEST(CheckpointManager, SweepDeletesExactlyTheDroppedCheckpointsFiles) {
  tfckpt_testing::scratch_dir dir;
  fake_clock clock;
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), options(clock, 2)));
  ASSERT_OK(m.save(fill(1), 1).status());
  // Files that belong to other prefixes or are not checkpoint files, and a stale shard of ckpt-1.
  for (const char* name : {"ckpt-10.index", "ckpt-10.data-00000-of-00001", "ckpt-1.meta", "notes.txt", "ckpt-1x.index",
                           "ckpt-1.data-00000-of-00001.bak", "ckpt-11.data-00000-of-00001", "ckpt-1.index.orig",
                           "ckpt-1.data-00001-of-00002"})
    touch(dir / name);
  ASSERT_OK(m.save(fill(2), 2).status());
  ASSERT_OK(m.save(fill(3), 3).status());
  EXPECT_THAT(m.checkpoints(), ElementsAre((dir / "ckpt-2").string(), (dir / "ckpt-3").string()));
  EXPECT_THAT(files_in(dir.path()),
              ElementsAre("checkpoint", "ckpt-1.data-00000-of-00001.bak", "ckpt-1.index.orig", "ckpt-1.meta",
                          "ckpt-10.data-00000-of-00001", "ckpt-10.index", "ckpt-11.data-00000-of-00001",
                          "ckpt-1x.index", "ckpt-2.data-00000-of-00001", "ckpt-2.index", "ckpt-3.data-00000-of-00001",
                          "ckpt-3.index", "notes.txt"));
  EXPECT_EQ(slurp(dir / "checkpoint"),
            "model_checkpoint_path: \"ckpt-3\"\n"
            "all_model_checkpoint_paths: \"ckpt-2\"\n"
            "all_model_checkpoint_paths: \"ckpt-3\"\n"
            "all_model_checkpoint_timestamps: 1000.0\n"
            "all_model_checkpoint_timestamps: 1000.0\n"
            "last_preserved_timestamp: 999.0\n");
  EXPECT_EQ(first_value((dir / "ckpt-2").string()), 2);
  EXPECT_EQ(first_value((dir / "ckpt-3").string()), 3);
}

TEST(CheckpointManager, ResavingANumberMovesItToTheEnd) {
  tfckpt_testing::scratch_dir dir;
  fake_clock clock;
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), options(clock, 2)));
  ASSERT_OK(m.save(fill(1)).status());
  ASSERT_OK(m.save(fill(2)).status());
  ASSERT_OK(m.save(fill(10), 1).status());  // overwrites ckpt-1, which becomes the newest
  EXPECT_THAT(m.checkpoints(), ElementsAre((dir / "ckpt-2").string(), (dir / "ckpt-1").string()));
  EXPECT_EQ(m.latest(), (dir / "ckpt-1").string());
  EXPECT_EQ(first_value((dir / "ckpt-1").string()), 10);
  ASSERT_OK(m.save(fill(3)).status());  // ckpt-3; drops ckpt-2
  EXPECT_THAT(m.checkpoints(), ElementsAre((dir / "ckpt-1").string(), (dir / "ckpt-3").string()));
  EXPECT_FALSE(fs::exists(dir / "ckpt-2.index"));
  EXPECT_THAT(m.save(fill(4), -1), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(">= 0")));
}

TEST(CheckpointManager, KeepEveryNHoursPreservesUnlisted) {
  tfckpt_testing::scratch_dir dir;
  fake_clock clock;  // created at 1000: last preserved 999
  auto o = options(clock, 1);
  o.keep_checkpoint_every_n_hours = 1;
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), o));
  for (const double t : {1000.0, 2000.0, 4700.0, 5000.0, 6000.0, 8400.0, 8500.0}) {
    clock.t = t;
    ASSERT_OK(m.save(fill(static_cast<float>(t))).status());
  }
  // Popped: ckpt-1 (1000 - 3600 < 999) deleted, ckpt-2 deleted, ckpt-3 (4700 - 3600 >= 999)
  // preserved, ckpt-4 and ckpt-5 (< 4700 + 3600) deleted, ckpt-6 (8400 - 3600 >= 4700) preserved.
  std::vector<std::string> indexes;
  for (const auto& name : files_in(dir.path()))
    if (name.ends_with(".index")) indexes.push_back(name);
  EXPECT_THAT(indexes, ElementsAre("ckpt-3.index", "ckpt-6.index", "ckpt-7.index"));
  EXPECT_THAT(m.checkpoints(), ElementsAre((dir / "ckpt-7").string()));
  EXPECT_EQ(m.last_preserved_timestamp(), 8400);
  EXPECT_EQ(slurp(dir / "checkpoint"),
            "model_checkpoint_path: \"ckpt-7\"\n"
            "all_model_checkpoint_paths: \"ckpt-7\"\n"
            "all_model_checkpoint_timestamps: 8500.0\n"
            "last_preserved_timestamp: 8400.0\n");
  EXPECT_EQ(first_value((dir / "ckpt-3").string()), 4700);
}

TEST(CheckpointManager, KeepAllWhenMaxToKeepIsUnset) {
  tfckpt_testing::scratch_dir dir;
  fake_clock clock;
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), options(clock)));
  for (int i = 0; i < 4; ++i) ASSERT_OK(m.save(fill(static_cast<float>(i))).status());
  EXPECT_EQ(m.checkpoints().size(), 4u);
  for (int i = 1; i <= 4; ++i) EXPECT_TRUE(fs::exists(dir / absl::StrFormat("ckpt-%d.index", i)));
}

TEST(CheckpointManager, ReloadsTheStateFileAndContinues) {
  tfckpt_testing::scratch_dir dir;
  fake_clock clock;
  {
    ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), options(clock, 3)));
    for (int i = 1; i <= 3; ++i) {
      clock.t = 1000 + i;
      ASSERT_OK(m.save(fill(static_cast<float>(i))).status());
    }
  }
  clock.t = 2000;
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), options(clock, 2)));
  EXPECT_EQ(m.latest(), (dir / "ckpt-3").string());
  EXPECT_THAT(m.checkpoints(),
              ElementsAre((dir / "ckpt-1").string(), (dir / "ckpt-2").string(), (dir / "ckpt-3").string()));
  EXPECT_THAT(m.timestamps(), ElementsAre(1001, 1002, 1003));
  EXPECT_EQ(m.last_preserved_timestamp(), 999);
  ASSERT_OK_AND_ASSIGN(const std::string p, m.save(fill(4)));
  EXPECT_EQ(p, (dir / "ckpt-4").string());
  EXPECT_THAT(m.checkpoints(), ElementsAre((dir / "ckpt-3").string(), (dir / "ckpt-4").string()));
  EXPECT_FALSE(fs::exists(dir / "ckpt-1.index"));
  EXPECT_FALSE(fs::exists(dir / "ckpt-2.index"));
}

TEST(CheckpointManager, ReloadClampsTimesAndSkipsPreserved) {
  tfckpt_testing::scratch_dir dir;
  // Absolute paths under the directory are the same checkpoints as relative ones.
  touch(dir / "checkpoint",
        absl::StrFormat("model_checkpoint_path: \"ckpt-3\"\n"
                        "all_model_checkpoint_paths: \"ckpt-1\"\n"
                        "all_model_checkpoint_paths: \"%s\"\n"
                        "all_model_checkpoint_paths: \"ckpt-3\"\n"
                        "all_model_checkpoint_timestamps: 100\n"
                        "all_model_checkpoint_timestamps: 600\n"
                        "all_model_checkpoint_timestamps: 2000\n"
                        "last_preserved_timestamp: 500\n",
                        (dir / "ckpt-2").string()));
  fake_clock clock;  // 1000: earlier than ckpt-3's time
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), options(clock, 5)));
  // ckpt-1 is not newer than last_preserved_timestamp: it was preserved and is no longer managed.
  EXPECT_THAT(m.checkpoints(), ElementsAre((dir / "ckpt-2").string(), (dir / "ckpt-3").string()));
  EXPECT_THAT(m.timestamps(), ElementsAre(600, 1000));
  EXPECT_EQ(m.last_preserved_timestamp(), 500);
  // last_preserved_timestamp in the future: clamped to now, which leaves nothing to delete.
  touch(dir / "checkpoint",
        "model_checkpoint_path: \"ckpt-3\"\nall_model_checkpoint_paths: \"ckpt-3\"\n"
        "all_model_checkpoint_timestamps: 5000\nlast_preserved_timestamp: 4000\n");
  ASSERT_OK_AND_ASSIGN(m, tfckpt::checkpoint_manager::open(dir.path(), options(clock, 5)));
  EXPECT_EQ(m.last_preserved_timestamp(), 1000);
  EXPECT_THAT(m.checkpoints(), IsEmpty());
  EXPECT_EQ(m.latest(), (dir / "ckpt-3").string());
}

TEST(CheckpointManager, Tf1StateFileWithoutTimesIsLeftAlone) {
  tfckpt_testing::scratch_dir dir;
  for (const char* p : {"model.ckpt-5", "model.ckpt-6"}) {
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / p, {.sync = false}));
    ASSERT_OK(fill(5)(w));
    ASSERT_OK(w.finish());
  }
  touch(dir / "checkpoint",
        "model_checkpoint_path: \"model.ckpt-6\"\n"
        "all_model_checkpoint_paths: \"model.ckpt-5\"\nall_model_checkpoint_paths: \"model.ckpt-6\"\n");
  fake_clock clock;
  auto o = options(clock, 1);
  o.checkpoint_name = "model.ckpt";
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), o));
  // Every path gets last_preserved_timestamp (0), which is not newer than itself: none is managed.
  EXPECT_THAT(m.checkpoints(), IsEmpty());
  EXPECT_EQ(m.latest(), (dir / "model.ckpt-6").string());
  ASSERT_OK_AND_ASSIGN(const std::string p, m.save(fill(7)));
  EXPECT_EQ(p, (dir / "model.ckpt-7").string());
  EXPECT_TRUE(fs::exists(dir / "model.ckpt-5.index"));
  EXPECT_TRUE(fs::exists(dir / "model.ckpt-6.index"));
  EXPECT_THAT(m.checkpoints(), ElementsAre(p));
}

TEST(CheckpointManager, ReloadsTheTf2Fixture) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = tfckpt_testing::fixtures_dir() / "a2c_tf2_checkpoint_manager/training_checkpoints";
  fake_clock clock{1749556872.0213294 + 60};
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir, options(clock, 3)));  // reads only
  EXPECT_EQ(m.latest(), (dir / "ckpt-9").string());
  EXPECT_THAT(m.checkpoints(),
              ElementsAre((dir / "ckpt-7").string(), (dir / "ckpt-8").string(), (dir / "ckpt-9").string()));
  EXPECT_THAT(m.timestamps(), ElementsAre(1749551857.5064511, 1749554646.9013226, 1749556872.0213294));
  EXPECT_EQ(m.last_preserved_timestamp(), 1749486234.077182);
}

TEST(CheckpointManager, FailedSaveChangesNothing) {
  tfckpt_testing::scratch_dir dir;
  fake_clock clock;
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), options(clock, 1)));
  ASSERT_OK(m.save(fill(1)).status());
  const std::string state = slurp(dir / "checkpoint");
  const auto before = files_in(dir.path());
  EXPECT_THAT(m.save([](tfckpt::bundle_writer& w) {
    EXPECT_OK(fill(2)(w));
    return absl::CancelledError("producer gave up");
  }),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("producer gave up")));
  EXPECT_EQ(files_in(dir.path()), before);
  EXPECT_EQ(slurp(dir / "checkpoint"), state);
  EXPECT_THAT(m.checkpoints(), ElementsAre((dir / "ckpt-1").string()));
}

TEST(CheckpointManager, SaveRemovesTemporariesOfKilledWriters) {
  tfckpt_testing::scratch_dir dir;
  fake_clock clock;
  for (const char* name : {"checkpoint.tempstate123", "ckpt-4.index.tempstate99",
                           "ckpt-4.data-00000-of-00001.tempstate18446744073709551615", "other.index.tempstate5",
                           "ckpt-4.data-00000-of-00001.tempstateX"})
    touch(dir / name);
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir.path(), options(clock)));
  ASSERT_OK(m.save(fill(1)).status());
  EXPECT_THAT(files_in(dir.path()), ElementsAre("checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index",
                                                "ckpt-4.data-00000-of-00001.tempstateX", "other.index.tempstate5"));
}

TEST(CheckpointManager, BadOptionsAndStateFiles) {
  tfckpt_testing::scratch_dir dir;
  fake_clock clock;
  EXPECT_THAT(tfckpt::checkpoint_manager::open(dir.path(), options(clock, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_to_keep must be at least 1")));
  auto o = options(clock);
  o.checkpoint_name = "a/b";
  EXPECT_THAT(tfckpt::checkpoint_manager::open(dir.path(), o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a/b")));
  o = options(clock);
  o.keep_checkpoint_every_n_hours = -1;
  EXPECT_THAT(tfckpt::checkpoint_manager::open(dir.path(), o), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  touch(dir / "checkpoint", "model_checkpoint_path: ckpt-1\n");
  EXPECT_THAT(tfckpt::checkpoint_manager::open(dir.path(), options(clock)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a valid checkpoint state file")));
  touch(dir / "checkpoint", "");
  EXPECT_THAT(tfckpt::checkpoint_manager::open(dir.path(), options(clock)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("model_checkpoint_path is empty")));
}

// --- prune ---

class Prune : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = tfckpt::checkpoint_manager::open(dir_.path(), options(clock_));
    ASSERT_OK(m.status());
    for (int i = 1; i <= 4; ++i) {
      clock_.t = 1000 + i;
      ASSERT_OK(m->save(fill(static_cast<float>(i))).status());
      touch(dir_ / absl::StrFormat("ckpt-%d.meta", i));
    }
    touch(dir_ / "ckpt-10.index");
    touch(dir_ / "ckpt-10.data-00000-of-00001");
  }
  std::string at(const std::string& name) const { return (dir_ / name).string(); }
  tfckpt_testing::scratch_dir dir_;
  fake_clock clock_;
};

TEST_F(Prune, KeepsTheNewestAndRewritesTheStateFile) {
  touch(dir_ / "checkpoint.tempstate42");  // left by a killed writer long ago
  fs::last_write_time(dir_ / "checkpoint.tempstate42", fs::file_time_type::clock::now() - std::chrono::hours(1));
  touch(dir_ / "checkpoint.tempstate43");  // young: perhaps a writer at work, left alone
  ASSERT_OK_AND_ASSIGN(const tfckpt::prune_result r, tfckpt::prune(dir_.path(), 2));
  EXPECT_THAT(r.removed, ElementsAre(at("ckpt-1"), at("ckpt-2")));
  EXPECT_THAT(r.kept, ElementsAre(at("ckpt-3"), at("ckpt-4")));
  EXPECT_THAT(r.deleted_files, ElementsAre(at("ckpt-1.index"), at("ckpt-1.data-00000-of-00001"), at("ckpt-2.index"),
                                           at("ckpt-2.data-00000-of-00001"), at("checkpoint.tempstate42")));
  EXPECT_THAT(files_in(dir_.path()),
              ElementsAre("checkpoint", "checkpoint.tempstate43", "ckpt-1.meta", "ckpt-10.data-00000-of-00001",
                          "ckpt-10.index", "ckpt-2.meta",
                          "ckpt-3.data-00000-of-00001", "ckpt-3.index", "ckpt-3.meta", "ckpt-4.data-00000-of-00001",
                          "ckpt-4.index", "ckpt-4.meta"));
  EXPECT_EQ(slurp(dir_ / "checkpoint"),
            "model_checkpoint_path: \"ckpt-4\"\n"
            "all_model_checkpoint_paths: \"ckpt-3\"\n"
            "all_model_checkpoint_paths: \"ckpt-4\"\n"
            "all_model_checkpoint_timestamps: 1003.0\n"
            "all_model_checkpoint_timestamps: 1004.0\n"
            "last_preserved_timestamp: 999.0\n");
  EXPECT_EQ(first_value(at("ckpt-3")), 3);
  // Pruning again to the same count changes nothing.
  ASSERT_OK_AND_ASSIGN(const tfckpt::prune_result again, tfckpt::prune(dir_.path(), 2));
  EXPECT_THAT(again.removed, IsEmpty());
  EXPECT_THAT(again.deleted_files, IsEmpty());
  // A manager opened afterwards sees the pruned list.
  ASSERT_OK_AND_ASSIGN(auto m, tfckpt::checkpoint_manager::open(dir_.path(), options(clock_)));
  EXPECT_THAT(m.checkpoints(), ElementsAre(at("ckpt-3"), at("ckpt-4")));
}

TEST_F(Prune, KeepsOnlyTheLatest) {
  ASSERT_OK_AND_ASSIGN(const tfckpt::prune_result r, tfckpt::prune(dir_.path(), 1));
  EXPECT_THAT(r.removed, ElementsAre(at("ckpt-1"), at("ckpt-2"), at("ckpt-3")));
  ASSERT_OK_AND_ASSIGN(const std::string latest, tfckpt::latest_checkpoint(dir_.path()));
  EXPECT_EQ(latest, at("ckpt-4"));
  EXPECT_EQ(first_value(latest), 4);
}

TEST_F(Prune, RefusesBadCountsAndMissingState) {
  EXPECT_THAT(tfckpt::prune(dir_.path(), 0), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 1")));
  EXPECT_THAT(tfckpt::prune(dir_.path(), -3), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_TRUE(fs::exists(dir_ / "ckpt-1.index"));
  fs::remove(dir_ / "checkpoint");
  EXPECT_THAT(tfckpt::prune(dir_.path(), 1), StatusIs(absl::StatusCode::kNotFound, HasSubstr("checkpoint")));
  EXPECT_TRUE(fs::exists(dir_ / "ckpt-1.index"));
}

TEST(PruneForeign, DeletesOnlyInsideTheDirectory) {
  // A state file copied from elsewhere names absolute paths of the original directory, which
  // still exists: prune must delete the copies here, never the originals.
  tfckpt_testing::scratch_dir original;
  tfckpt_testing::scratch_dir copy;
  for (const tfckpt_testing::scratch_dir* d : {&original, &copy}) {
    for (const char* p : {"model.ckpt-1", "model.ckpt-2"}) {
      ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(d->path() / p, {.sync = false}));
      ASSERT_OK(fill(1)(w));
      ASSERT_OK(w.finish());
    }
  }
  touch(copy / "checkpoint", absl::StrFormat("model_checkpoint_path: \"%s/model.ckpt-2\"\n"
                                             "all_model_checkpoint_paths: \"%s/model.ckpt-1\"\n"
                                             "all_model_checkpoint_paths: \"%s/model.ckpt-2\"\n",
                                             original.path().string(), original.path().string(),
                                             original.path().string()));
  ASSERT_OK_AND_ASSIGN(const tfckpt::prune_result r, tfckpt::prune(copy.path(), 1));
  EXPECT_THAT(r.removed, ElementsAre((copy / "model.ckpt-1").string()));
  EXPECT_FALSE(fs::exists(copy / "model.ckpt-1.index"));
  EXPECT_TRUE(fs::exists(original / "model.ckpt-1.index"));
  EXPECT_TRUE(fs::exists(original / "model.ckpt-1.data-00000-of-00001"));
  ASSERT_OK_AND_ASSIGN(const auto state, tfckpt::read_checkpoint_state(copy / "checkpoint"));
  EXPECT_EQ(state.all_model_checkpoint_paths_size(), 1);
  EXPECT_EQ(state.all_model_checkpoint_paths(0), (original / "model.ckpt-2").string());  // spelling kept
}

}  // namespace

}  // namespace manager_test
