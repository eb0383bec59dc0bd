// SPDX-License-Identifier: Apache-2.0
// merge_bundles (TensorFlow's MergeBundles, spec/FORMAT.md §3.10): records combined, data files
// renamed (never copied), partitioned tensors joined, inputs untouched on error.
#include "tfckpt/checkpoint/merge.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace merge_test {

namespace {
namespace fs = std::filesystem;
namespace codec = tfckpt::codec;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

ino_t inode(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Every file under `root` (relative path -> contents).
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& f : fs::recursive_directory_iterator(root))
    if (f.is_regular_file()) out[fs::relative(f.path(), root).string()] = slurp(f.path());
  return out;
}

template <class T>
tfckpt::byte_source bytes_of(const std::vector<T>& v) {
  std::string s(v.size() * sizeof(T), '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return tfckpt::byte_source::from_bytes(std::move(s));
}

tfckpt::bundle_writer_options no_sync() {
  tfckpt::bundle_writer_options o;
  o.sync = false;
  return o;
}

// Writes a bundle at `prefix` with `add` filling it.
void write(const fs::path& prefix, const std::function<absl::Status(tfckpt::bundle_writer&)>& add,
           tfckpt::bundle_writer_options o = no_sync()) {
  auto w = tfckpt::bundle_writer::create(prefix, std::move(o));
  ASSERT_OK(w.status());
  ASSERT_OK(add(*w));
  ASSERT_OK(w->finish());
}

const std::int64_t kShape3[] = {3};
const std::int64_t kShape2[] = {2};

absl::Status add_a(tfckpt::bundle_writer& w) {
  TFCKPT_RETURN_IF_ERROR(w.add("a", tfckpt::dtype::float32, kShape3, bytes_of(std::vector<float>{1, 2, 3})));
  return w.add_strings("s", kShape2, {"hello", ""});
}
absl::Status add_b(tfckpt::bundle_writer& w) {
  TFCKPT_RETURN_IF_ERROR(w.add("c", tfckpt::dtype::int64, kShape2, bytes_of(std::vector<std::int64_t>{-7, 1LL << 40})));
  return w.add("b", tfckpt::dtype::float32, {}, bytes_of(std::vector<float>{0.5f}));
}

class Merge : public ::testing::Test {
 protected:
  void SetUp() override {
    write(part0_, add_a);
    write(part1_, add_b);
  }
  std::vector<std::string> parts() const { return {part0_.string(), part1_.string()}; }
  tfckpt_testing::scratch_dir dir_;
  fs::path merged_ = dir_ / "model";
  fs::path part0_ = dir_ / "model_temp/part-00000-of-00002";
  fs::path part1_ = dir_ / "model_temp/part-00001-of-00002";
};

TEST_F(Merge, CombinesIndexesAndRenamesDataFiles) {
  const ino_t ino0 = inode(part0_.string() + ".data-00000-of-00001");
  const ino_t ino1 = inode(part1_.string() + ".data-00000-of-00001");
  ASSERT_NE(ino0, 0u);
  ASSERT_OK(tfckpt::merge_bundles(parts(), merged_.string()));

  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(merged_));
  EXPECT_EQ(ckpt.num_shards(), 2);
  EXPECT_TRUE(ckpt.verify().ok());
  std::vector<std::string> names;
  for (const auto& e : ckpt.entries()) names.emplace_back(e.name());
  EXPECT_THAT(names, ElementsAre("a", "b", "c", "s"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* a, ckpt.get("a"));
  EXPECT_EQ(a->shard(), 0);
  ASSERT_OK_AND_ASSIGN(const auto av, a->values<float>());
  EXPECT_THAT(std::vector<float>(av.data(), av.data() + 3), ElementsAre(1, 2, 3));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* c, ckpt.get("c"));
  EXPECT_EQ(c->shard(), 1);
  ASSERT_OK_AND_ASSIGN(const auto cv, c->values<std::int64_t>());
  EXPECT_THAT(std::vector<std::int64_t>(cv.data(), cv.data() + 2), ElementsAre(-7, 1LL << 40));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* b, ckpt.get("b"));
  ASSERT_OK_AND_ASSIGN(const auto bv, b->values<float>());
  EXPECT_EQ(bv.data()[0], 0.5f);
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* s, ckpt.get("s"));
  ASSERT_OK_AND_ASSIGN(const auto sv, s->strings());
  EXPECT_THAT(sv, ElementsAre("hello", ""));

  // The same files, renamed: no byte was copied.
  EXPECT_EQ(inode(merged_.string() + ".data-00000-of-00002"), ino0);
  EXPECT_EQ(inode(merged_.string() + ".data-00001-of-00002"), ino1);
  // The inputs are gone, and so is their directory, now empty.
  EXPECT_FALSE(fs::exists(dir_ / "model_temp"));
  std::vector<std::string> left;
  for (const auto& f : fs::directory_iterator(dir_.path())) left.push_back(f.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_THAT(left, ElementsAre("model.data-00000-of-00002", "model.data-00001-of-00002", "model.index"));

  // The index is what a 2-shard writer produces for the same tensors at the same places.
  write(dir_ / "direct", [](tfckpt::bundle_writer& w) {
    TFCKPT_RETURN_IF_ERROR(w.add("a", tfckpt::dtype::float32, kShape3, bytes_of(std::vector<float>{1, 2, 3}), 0));
    TFCKPT_RETURN_IF_ERROR(w.add_strings("s", kShape2, std::vector<std::string_view>{"hello", ""}, 0));
    TFCKPT_RETURN_IF_ERROR(
        w.add("c", tfckpt::dtype::int64, kShape2, bytes_of(std::vector<std::int64_t>{-7, 1LL << 40}), 1));
    return w.add("b", tfckpt::dtype::float32, {}, bytes_of(std::vector<float>{0.5f}), 1);
  }, [] { auto o = no_sync(); o.num_shards = 2; return o; }());
  EXPECT_EQ(slurp(merged_.string() + ".index"), slurp(dir_ / "direct.index"));
}

TEST_F(Merge, KeepsInputsWhenAskedAndWorksAcrossDirectories) {
  // Inputs in two other directories; the output in a third that does not exist yet.
  const fs::path other = dir_ / "elsewhere/p1";
  fs::create_directories(other.parent_path());
  for (const char* ext : {".index", ".data-00000-of-00001"}) fs::rename(part1_.string() + ext, other.string() + ext);
  const std::vector<std::string> inputs = {part0_.string(), other.string()};
  ASSERT_OK(tfckpt::merge_bundles(inputs, (dir_ / "out/m").string(), {.delete_inputs = false, .sync = false}));
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir_ / "out/m"));
  EXPECT_EQ(ckpt.size(), 4u);
  EXPECT_TRUE(ckpt.verify().ok());
  EXPECT_TRUE(fs::exists(part0_.string() + ".index"));  // kept, as asked
  EXPECT_FALSE(fs::exists(part0_.string() + ".data-00000-of-00001"));

  ASSERT_OK(tfckpt::merge_bundles(std::vector<std::string>{(dir_ / "out/m").string()}, (dir_ / "again/m").string()));
  EXPECT_FALSE(fs::exists(dir_ / "out"));  // input directory removed once empty
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint again, tfckpt::open(dir_ / "again/m"));
  EXPECT_TRUE(again.verify().ok());
}

TEST_F(Merge, DuplicateTensorFailsAndLeavesInputsUntouched) {
  const fs::path dup = dir_ / "model_temp/part-00002-of-00003";
  write(dup, [](tfckpt::bundle_writer& w) {
    return w.add("c", tfckpt::dtype::float32, {}, bytes_of(std::vector<float>{9}));
  });
  const auto before = snapshot(dir_.path());
  const ino_t ino = inode(part0_.string() + ".data-00000-of-00001");
  const std::vector<std::string> inputs = {part0_.string(), part1_.string(), dup.string()};
  EXPECT_THAT(tfckpt::merge_bundles(inputs, merged_.string()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(dup.string() + ".index @9: duplicate tensor: " + part1_.string() +
                                 ".index already has it; a tensor may be in one bundle only for key 'c'")));
  EXPECT_EQ(snapshot(dir_.path()), before);  // no merged file, no temporary, every input as it was
  EXPECT_EQ(inode(part0_.string() + ".data-00000-of-00001"), ino);
}

TEST_F(Merge, RefusesBadRequestsBeforeTouchingAnything) {
  const auto before = snapshot(dir_.path());
  EXPECT_THAT(tfckpt::merge_bundles(std::vector<std::string>{}, merged_.string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no bundles")));
  EXPECT_THAT(tfckpt::merge_bundles(parts(), part1_.string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is also an input")));
  const std::vector<std::string> twice = {part0_.string(), part0_.string()};
  EXPECT_THAT(tfckpt::merge_bundles(twice, merged_.string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("listed twice")));
  const std::vector<std::string> missing = {part0_.string(), (dir_ / "nope").string()};
  EXPECT_THAT(tfckpt::merge_bundles(missing, merged_.string()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope.index")));
  const std::vector<std::string> none = {(dir_ / "nope").string()};
  EXPECT_THAT(tfckpt::merge_bundles(none, merged_.string(), {.allow_missing_files = true}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none of the 1 bundles")));
  // A data file an index names, gone.
  fs::rename(part1_.string() + ".data-00000-of-00001", dir_ / "aside");
  EXPECT_THAT(tfckpt::merge_bundles(parts(), merged_.string()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("data file is missing")));
  fs::rename(dir_ / "aside", part1_.string() + ".data-00000-of-00001");
  EXPECT_EQ(snapshot(dir_.path()), before);
  // allow_missing_files skips the absent input.
  ASSERT_OK(tfckpt::merge_bundles(missing, merged_.string(), {.allow_missing_files = true}));
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(merged_));
  EXPECT_EQ(ckpt.size(), 2u);
  EXPECT_EQ(ckpt.num_shards(), 1);
  EXPECT_TRUE(ckpt.verify().ok());
}

// A bundle index written by hand, for headers our writer never produces.
void write_index(const fs::path& prefix, const tensorflow::BundleHeaderProto& header) {
  std::string bytes;
  codec::table_builder t({}, [&](std::string_view b) {
    bytes.append(b);
    return absl::OkStatus();
  });
  ASSERT_OK(t.add("", header.SerializeAsString()));
  ASSERT_OK(t.finish());
  std::ofstream(prefix.string() + ".index", std::ios::binary) << bytes;
}

TEST_F(Merge, EndiannessAndVersionMustAgree) {
  const auto before = snapshot(dir_.path());
  tensorflow::BundleHeaderProto h;
  h.set_num_shards(1);
  h.mutable_version()->set_producer(1);
  h.set_endianness(tensorflow::BundleHeaderProto::BIG);
  write_index(dir_ / "big", h);
  std::vector<std::string> inputs = {part0_.string(), (dir_ / "big").string()};
  EXPECT_THAT(tfckpt::merge_bundles(inputs, merged_.string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("big-endian")));
  h.set_endianness(tensorflow::BundleHeaderProto::LITTLE);
  h.mutable_version()->add_bad_consumers(7);  // equal producer, other bytes
  write_index(dir_ / "v", h);
  inputs = {part0_.string(), (dir_ / "v").string()};
  EXPECT_THAT(tfckpt::merge_bundles(inputs, merged_.string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must have the same version")));
  fs::remove(dir_ / "big.index");
  fs::remove(dir_ / "v.index");
  EXPECT_EQ(snapshot(dir_.path()), before);
}

TEST(MergePartitioned, SlicesFromDifferentInputsBecomeOneTensor) {
  tfckpt_testing::scratch_dir dir;
  const std::int64_t full[] = {4, 2};
  const std::vector<codec::slice_extent> top = {{0, 2}, {0, 2}};
  const std::vector<codec::slice_extent> bottom = {{2, 2}, {0, 2}};
  const fs::path p0 = dir / "m_temp/part-00000-of-00002";
  const fs::path p1 = dir / "m_temp/part-00001-of-00002";
  write(p0, [&](tfckpt::bundle_writer& w) {
    TFCKPT_RETURN_IF_ERROR(w.add("other", tfckpt::dtype::int32, {}, bytes_of(std::vector<std::int32_t>{42})));
    return w.add_slice("w", full, top, tfckpt::dtype::float32, bytes_of(std::vector<float>{0, 1, 2, 3}));
  });
  write(p1, [&](tfckpt::bundle_writer& w) {
    return w.add_slice("w", full, bottom, tfckpt::dtype::float32, bytes_of(std::vector<float>{4, 5, 6, 7}));
  });
  const std::vector<std::string> inputs = {p0.string(), p1.string()};
  ASSERT_OK(tfckpt::merge_bundles(inputs, (dir / "m").string(), {.sync = false}));
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  EXPECT_EQ(ckpt.num_shards(), 2);
  EXPECT_EQ(ckpt.size(), 2u);  // "other" and "w"; the slice entries are hidden
  EXPECT_TRUE(ckpt.verify().ok());
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* w, ckpt.get("w"));
  EXPECT_TRUE(w->is_partitioned());
  EXPECT_EQ(w->num_slices(), 2u);
  ASSERT_OK_AND_ASSIGN(const auto v, w->values<float>());
  EXPECT_THAT(std::vector<float>(v.data(), v.data() + 8), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));

  // Mismatched partitions of one name refuse to merge, and leave the inputs alone.
  const fs::path q0 = dir / "q0";
  const fs::path q1 = dir / "q1";
  const std::int64_t other_full[] = {4, 3};
  write(q0, [&](tfckpt::bundle_writer& x) {
    return x.add_slice("w", full, top, tfckpt::dtype::float32, bytes_of(std::vector<float>{0, 1, 2, 3}));
  });
  write(q1, [&](tfckpt::bundle_writer& x) {
    return x.add_slice("w", other_full, std::vector<codec::slice_extent>{{2, 2}, {0, 3}}, tfckpt::dtype::float32,
                       bytes_of(std::vector<float>{4, 5, 6, 7, 8, 9}));
  });
  const std::vector<std::string> bad = {q0.string(), q1.string()};
  const auto before = snapshot(dir.path());
  EXPECT_THAT(tfckpt::merge_bundles(bad, (dir / "bad").string()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("partitioned tensor is float32 [4,3] here but float32 [4,2] in")));
  write(dir / "whole", [](tfckpt::bundle_writer& x) {
    return x.add("w", tfckpt::dtype::float32, {}, bytes_of(std::vector<float>{1}));
  });
  const std::vector<std::string> mixed = {q0.string(), (dir / "whole").string()};
  EXPECT_THAT(tfckpt::merge_bundles(mixed, (dir / "bad").string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("partitioned in")));
  fs::remove(dir / "whole.index");
  fs::remove(dir / "whole.data-00000-of-00001");
  EXPECT_EQ(snapshot(dir.path()), before);
}

TEST(MergeEmpty, AnEmptyInputStillCountsTowardNumShards) {
  // As TensorFlow (spec §8 pitfall 12): the header sums every input's num_shards, while only data
  // files that hold tensors are renamed, numbered among themselves.
  tfckpt_testing::scratch_dir dir;
  const fs::path p0 = dir / "m_temp/part-00000-of-00002";
  const fs::path p1 = dir / "m_temp/part-00001-of-00002";
  write(p0, add_b);
  write(p1, [](tfckpt::bundle_writer&) { return absl::OkStatus(); });
  const ino_t ino = inode(p0.string() + ".data-00000-of-00001");
  const std::vector<std::string> inputs = {p0.string(), p1.string()};
  ASSERT_OK(tfckpt::merge_bundles(inputs, (dir / "m").string(), {.sync = false}));
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  EXPECT_EQ(ckpt.num_shards(), 2);
  EXPECT_EQ(ckpt.size(), 2u);
  EXPECT_EQ(inode(dir / "m.data-00000-of-00001"), ino);
  // The empty input's data file is left where it was (so its directory stays); its index is gone.
  EXPECT_TRUE(fs::exists(p1.string() + ".data-00000-of-00001"));
  EXPECT_FALSE(fs::exists(p1.string() + ".index"));
  EXPECT_FALSE(fs::exists(p0.string() + ".index"));
  // Readers name shards by the header's count, so the data is not found: TensorFlow's reader fails
  // the same way on such a merge.
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* c, ckpt.get("c"));
  EXPECT_THAT(c->bytes(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("m.data-00000-of-00002")));
}

}  // namespace

}  // namespace merge_test
