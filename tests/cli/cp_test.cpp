// SPDX-License-Identifier: Apache-2.0
// `tfckpt cp` and `tfckpt latest`, end to end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliCp, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/diff.hpp"
#include "tfckpt/checkpoint/manager.hpp"

namespace cp_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::run_cli;
using tfckpt_testing::slurp;

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& f : fs::directory_iterator(dir)) v.push_back(f.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

// Every fixture whose data files are present and verify, opened; returns how many there were.
template <class F>
int for_each_complete_fixture(F&& check) {
  int n = 0;
  for (const auto& f : fs::recursive_directory_iterator(tfckpt_testing::fixtures_dir())) {
    if (f.path().extension() != ".index") continue;
    const std::string prefix = f.path().string().substr(0, f.path().string().size() - 6);
    auto src = tfckpt::open(prefix);
    EXPECT_TRUE(src.ok()) << src.status();
    if (!src.ok() || !src->verify().ok()) continue;  // index-only fixtures
    SCOPED_TRACE(prefix);
    check(prefix, *src);
    ++n;
  }
  return n;
}

// The files at `copy` are byte-identical to those of `original`.
void expect_same_files(const std::string& copy, const tfckpt::checkpoint& original) {
  EXPECT_EQ(slurp(copy + ".index"), slurp(original.index_path()));
  for (std::int32_t i = 0; i < original.num_shards(); ++i)
    EXPECT_EQ(slurp(tfckpt::data_file_name(copy, i, original.num_shards())), slurp(original.data_path(i)));
}

TEST(CliCp, EveryCompleteFixtureCopiesByteForByte) {
  TFCKPT_REQUIRE_FIXTURES();
  const int copied = for_each_complete_fixture([](const std::string& prefix, const tfckpt::checkpoint& src) {
    tfckpt_testing::scratch_dir out;
    const auto r = run_cli({"cp", prefix, (out / "copy").string()});
    ASSERT_EQ(r.exit_code, 0) << r;
    expect_same_files((out / "copy").string(), src);
  });
  EXPECT_GE(copied, 12);
}

TEST(CliCp, EveryCompleteFixtureRoundTripsThroughBigEndian) {
  TFCKPT_REQUIRE_FIXTURES();
  const int converted = for_each_complete_fixture([](const std::string& prefix, const tfckpt::checkpoint& original) {
    tfckpt_testing::scratch_dir out;
    auto r = run_cli({"cp", prefix, (out / "be").string(), "--byte-order", "big", "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r;
    r = run_cli({"verify", (out / "be").string()});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.out, HasSubstr(", big-endian"));
    // Every tensor holds the same values as the original's; the first few also print the same.
    auto be = tfckpt::open(out / "be");
    ASSERT_TRUE(be.ok());
    const auto d = tfckpt::diff_checkpoints(original, *be);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->common.size(), original.size());
    for (const auto& c : d->common) EXPECT_TRUE(c.equal) << c.name;
    int printed = 0;
    for (const tfckpt::entry& e : original.entries()) {
      if (e.dtype() == tfckpt::dtype::variant || e.dtype() == tfckpt::dtype::resource) continue;
      if (++printed > 8) break;
      const auto a = run_cli({"cat", prefix, std::string(e.name())});
      const auto b = run_cli({"cat", (out / "be").string(), std::string(e.name())});
      EXPECT_EQ(a.exit_code, b.exit_code) << e.name();
      EXPECT_EQ(a.out, b.out) << e.name();
    }
    // And back: the original files, byte for byte.
    r = run_cli({"cp", (out / "be").string(), (out / "le").string(), "--byte-order", "little", "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r;
    expect_same_files((out / "le").string(), original);
  });
  EXPECT_GE(converted, 12);
}

TEST(CliCp, ReshardsRefusesToClobberAndForces) {
  tfckpt_testing::scratch_dir dir;
  std::vector<tfckpt_testing::tensor_spec> tensors;
  for (int i = 0; i < 6; ++i)
    tensors.push_back(tfckpt_testing::float_tensor(absl::StrFormat("t%d", i), {100}, std::vector<float>(100, static_cast<float>(i))));
  tfckpt_testing::write_bundle(dir / "src", tensors);
  auto r = run_cli({"cp", (dir / "src").string(), (dir / "dst").string(), "--shards", "3", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto dst = tfckpt::open(dir / "dst");
  ASSERT_TRUE(dst.ok());
  EXPECT_EQ(dst->num_shards(), 3);
  EXPECT_EQ(dst->find("t0")->shard(), 0);
  EXPECT_EQ(dst->find("t5")->shard(), 2);
  EXPECT_TRUE(dst->verify().ok());
  // The destination exists now: refused without --force, nothing touched.
  const auto before = names_in(dir.path());
  r = run_cli({"cp", (dir / "src").string(), (dir / "dst").string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("already exists"));
  EXPECT_THAT(r.err, HasSubstr("--force"));
  EXPECT_EQ(names_in(dir.path()), before);
  // --force onto itself with one shard: works while reading from the files it replaces.
  r = run_cli({"cp", (dir / "dst").string(), (dir / "dst").string(), "--shards", "1", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r;
  dst = tfckpt::open(dir / "dst");
  ASSERT_TRUE(dst.ok());
  EXPECT_EQ(dst->num_shards(), 1);
  EXPECT_TRUE(dst->verify().ok());
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"dst.data-00000-of-00001", "dst.index",
                                                             "src.data-00000-of-00001", "src.index"}));
}

TEST(CliCp, ErrorsAndUsage) {
  tfckpt_testing::scratch_dir dir;
  auto r = run_cli({"cp", (dir / "missing").string(), (dir / "x").string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("missing.index not found"));
  r = run_cli({"cp", (dir / "missing").string()});
  EXPECT_EQ(r.exit_code, 2) << r;
  r = run_cli({"cp", "a", "b", "--shards", "0"});
  EXPECT_EQ(r.exit_code, 2) << r;
  r = run_cli({"cp", "a", "b", "--byte-order", "middle"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(CliLatest, PrintsTheNewestPrefix) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = tfckpt_testing::fixtures_dir() / "a2c_tf2_checkpoint_manager/training_checkpoints";
  auto r = run_cli({"latest", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, (dir / "ckpt-9").string() + "\n");
  tfckpt_testing::scratch_dir empty;
  r = run_cli({"latest", empty.path().string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("checkpoint"));
}
TEST(CliPrune, KeepsTheNewestAndDeletesOnlyTheirFiles) {
  tfckpt_testing::scratch_dir dir;
  auto manager = tfckpt::checkpoint_manager::open(dir.path(), {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  for (int i = 0; i < 4; ++i) {
    auto saved = manager->save([&](tfckpt::bundle_writer& w) {
      return w.add("step", tfckpt::dtype::int32, std::vector<std::int64_t>{},
                   tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(&i), 4)));
    });
    ASSERT_TRUE(saved.ok()) << saved.status();
  }
  std::ofstream(dir / "ckpt-1.meta") << "graph";  // TensorFlow's manager never deletes .meta files
  std::ofstream(dir / "notes.txt") << "mine";
  auto r = run_cli({"prune", dir.path().string(), "--max-to-keep", "2"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("removed " + (dir / "ckpt-1").string() + "\n"));
  EXPECT_THAT(r.out, HasSubstr("2 checkpoints kept, 2 removed, 4 files deleted"));
  EXPECT_EQ(names_in(dir.path()),
            (std::vector<std::string>{"checkpoint", "ckpt-1.meta", "ckpt-3.data-00000-of-00001", "ckpt-3.index",
                                      "ckpt-4.data-00000-of-00001", "ckpt-4.index", "notes.txt"}));
  r = run_cli({"latest", dir.path().string()});
  EXPECT_EQ(r.out, (dir / "ckpt-4").string() + "\n");
  EXPECT_EQ(run_cli({"prune", dir.path().string(), "--max-to-keep", "0"}).exit_code, 2);
  EXPECT_EQ(run_cli({"prune", dir.path().string()}).exit_code, 2);
}
}  // namespace
}  // namespace cp_test

#endif  // TFCKPT_CLI_PATH

