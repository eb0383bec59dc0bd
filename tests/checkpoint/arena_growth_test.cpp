// SPDX-License-Identifier: Apache-2.0
// Opening an index whose rebuilt keys and shapes outgrow the space first reserved for them (keys
// sharing long prefixes take few bytes in the file; many small dimensions likewise): every name
// and shape must still be right after the buffers move.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace arena_growth_test {

namespace {

TEST(ArenaGrowth, LongSharedPrefixesAndHighRankShapes) {
  tfckpt_testing::scratch_dir dir;
  const std::string prefix(2000, 'p');  // each key is ~2 KiB but costs a few bytes in its block
  std::vector<tfckpt_testing::tensor_spec> tensors;
  for (int i = 0; i < 3000; ++i) {
    tfckpt_testing::tensor_spec t;
    t.name = absl::StrFormat("%s/%05d", prefix, i);
    t.dtype = tfckpt::dtype::float32;
    t.shape.assign(static_cast<std::size_t>(8 + i % 8), 1);  // rank 8..15, one element
    t.shape.back() = i % 3;
    t.data.assign(static_cast<std::size_t>(4 * (i % 3)), '\x01');
    tensors.push_back(t);
  }
  tfckpt_testing::write_bundle(dir / "m", tensors);
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  ASSERT_EQ(ckpt.size(), tensors.size());
  std::size_t key_bytes = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const tfckpt::entry& e = ckpt.entries()[i];
    ASSERT_EQ(e.name(), tensors[i].name) << i;
    ASSERT_THAT(std::vector<std::int64_t>(e.shape().begin(), e.shape().end()), ::testing::ElementsAreArray(tensors[i].shape)) << i;
    key_bytes += e.name().size();
  }
  // The point of the test: the rebuilt keys really are larger than the index file.
  EXPECT_GT(key_bytes, std::filesystem::file_size(dir / "m.index"));
  EXPECT_TRUE(ckpt.verify().ok());
  EXPECT_EQ(ckpt.find(tensors[1234].name), &ckpt.entries()[1234]);
}

TEST(ArenaGrowth, ManyEmptyDimensions) {
  // An empty dimension costs two bytes of index, so rank-64 empty tensors hold more dimensions than
  // the first guess (one per 8 index bytes) allows for.
  tfckpt_testing::scratch_dir dir;
  std::vector<tfckpt_testing::tensor_spec> tensors;
  for (int i = 0; i < 2000; ++i) {
    tfckpt_testing::tensor_spec t;
    t.name = absl::StrFormat("t%05d", i);
    t.dtype = tfckpt::dtype::int8;
    t.shape.assign(64, 0);
    t.shape[static_cast<std::size_t>(i % 64)] = i;  // vary one dimension so each shape is checkable
    tensors.push_back(t);
  }
  tfckpt_testing::write_bundle(dir / "m", tensors);
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  std::size_t dims = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    ASSERT_THAT(std::vector<std::int64_t>(ckpt.entries()[i].shape().begin(), ckpt.entries()[i].shape().end()),
                ::testing::ElementsAreArray(tensors[i].shape))
        << i;
    dims += ckpt.entries()[i].shape().size();
  }
  EXPECT_GT(dims, std::filesystem::file_size(dir / "m.index") / 8);
}

}  // namespace

}  // namespace arena_growth_test
