// SPDX-License-Identifier: Apache-2.0
// The writer: byte identity with TensorFlow's files, round trips, sharding, atomicity, bad input.
#include "tfckpt/checkpoint/bundle_writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(dir)) names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Rewrites `src` into `dst` adding entries in their original data order (shard, offset).
absl::Status rewrite(const tfckpt::checkpoint& src, const fs::path& dst, bool snappy_index) {
  tfckpt::bundle_writer_options o;
  o.num_shards = src.num_shards();
  o.index_options.snappy = snappy_index;
  o.sync = false;
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(dst, o));
  std::vector<const tfckpt::entry*> order;
  for (const auto& e : src.entries()) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return std::pair(a->shard(), a->offset()) < std::pair(b->shard(), b->offset());
  });
  for (const tfckpt::entry* e : order) {
    TFCKPT_ASSIGN_OR_RETURN(auto bytes, e->bytes());
    TFCKPT_RETURN_IF_ERROR(w.add(e->name(), e->dtype(), e->shape(), tfckpt::byte_source::from_span(bytes), e->shard()));
  }
  return w.finish();
}

TEST(BundleWriter, RewritesEveryCompleteFixtureByteForByte) {
  TFCKPT_REQUIRE_FIXTURES();
  std::size_t rewritten = 0;
  for (const auto& f : fs::recursive_directory_iterator(tfckpt_testing::fixtures_dir())) {
    if (f.path().extension() != ".index") continue;
    const std::string prefix = f.path().string().substr(0, f.path().string().size() - 6);
    ASSERT_OK_AND_ASSIGN(const auto src, tfckpt::open(prefix));
    if (!src.verify().ok()) continue;  // index-only fixtures: their data is not here to copy
    SCOPED_TRACE(prefix);
    // Three fixtures were written by TensorFlow builds that compress the index with snappy.
    const std::string original_index = slurp(f.path());
    tfckpt::codec::table_stats stats;
    ASSERT_OK(tfckpt::codec::for_each_table_entry("i", tfckpt::codec::as_bytes(original_index),
                                                  [](auto, auto, auto) { return absl::OkStatus(); }, &stats));
    tfckpt_testing::scratch_dir out;
    const fs::path dst = out / fs::path(prefix).filename().string();
    ASSERT_OK(rewrite(src, dst, stats.snappy_blocks > 0));
    EXPECT_EQ(slurp(dst.string() + ".index"), original_index);
    for (std::int32_t i = 0; i < src.num_shards(); ++i)
      EXPECT_EQ(slurp(tfckpt::data_file_name(dst.string(), i, src.num_shards())), slurp(src.data_path(i))) << "shard " << i;
    EXPECT_EQ(files_in(out.path()).size(), 1u + static_cast<std::size_t>(src.num_shards()));  // no temporaries left
    ++rewritten;
  }
  EXPECT_GE(rewritten, 12u);
}
}  // namespace
