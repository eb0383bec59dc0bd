// SPDX-License-Identifier: Apache-2.0
// Inputs the fuzz targets (fuzz/) found mishandled, as readable cases: each names the input that
// triggered it (kept byte for byte under fuzz/regressions/<target>/) and asserts the behaviour
// now expected: a correct value, or a clean error naming the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"

namespace fuzz_regressions_test {

namespace {

namespace codec = tfckpt::codec;
using ::testing::HasSubstr;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::StatusIs;
using ::tfckpt_testing::tensor_spec;
using ::tfckpt_testing::typed_tensor;
using ::tfckpt_testing::write_bundle;

// fuzz/regressions/slice_key/scalar_partitioned_tensor_odometer_underflow: a scalar stored as a
// partitioned tensor with one slice of no extents. Assembly stepped its row odometer from
// dimension rank - 1, which wrapped around for rank 0 and wrote far outside the index vector.
TEST(FuzzRegressions, ScalarPartitionedTensorAssemblesItsOneSlice) {
  scratch_dir dir;
  tensor_spec full;
  full.name = "w";
  full.dtype = tfckpt::dtype::int8;
  full.slices = {{}};  // one slice, rank 0
  const std::vector<codec::slice_extent> none;
  write_bundle(dir / "ckpt",
               {full, typed_tensor<std::int8_t>(codec::encode_tensor_slice_key("w", none), tfckpt::dtype::int8, {}, {45})});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "ckpt"));
  const tfckpt::entry* w = ckpt.find("w");
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->is_partitioned());
  ASSERT_OK_AND_ASSIGN(const auto values, w->values<std::int8_t>());
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0], 45);
  EXPECT_TRUE(ckpt.verify().ok());
}

// fuzz/regressions/slice_key/slice_shape_disagrees_with_extents_overflow: a whole-dimension extent
// (no length) with a non-zero start. Its slice key encodes the start as 0, so the stored slice was
// found, but assembly placed the slice at the start and wrote past the end of the assembled tensor.
TEST(FuzzRegressions, WholeDimensionExtentWithAStartIsRefused) {
  scratch_dir dir;
  // A [2,5] int8 tensor in two row slices; the second slice's whole column extent starts at 3.
  const std::vector<codec::slice_extent> row0 = {{0, 1}, {0, -1}}, row1 = {{1, 1}, {0, -1}};
  const tensor_spec s0 = typed_tensor<std::int8_t>(codec::encode_tensor_slice_key("w", row0), tfckpt::dtype::int8, {1, 5}, {1, 2, 3, 4, 5});
  const tensor_spec s1 = typed_tensor<std::int8_t>(codec::encode_tensor_slice_key("w", row1), tfckpt::dtype::int8, {1, 5}, {6, 7, 8, 9, 10});
  tensor_spec full;
  full.name = "w";
  full.dtype = tfckpt::dtype::int8;
  full.shape = {2, 5};
  full.slices = {row0, row1};
  write_bundle(dir / "ckpt", {full, s0, s1});
  ASSERT_OK(tfckpt::open(dir / "ckpt").status());  // well formed as written

  tensorflow::BundleEntryProto hostile;
  ASSERT_TRUE(hostile.ParseFromString(tfckpt_testing::entry_record(full, 0)));
  hostile.mutable_slices(1)->mutable_extent(1)->set_start(3);
  tensorflow::BundleHeaderProto header;
  header.set_num_shards(1);
  header.mutable_version()->set_producer(1);
  const std::map<std::string, std::string> records = {{"", header.SerializeAsString()},
                                                      {"w", hostile.SerializeAsString()},
                                                      {s0.name, tfckpt_testing::entry_record(s0, 0)},
                                                      {s1.name, tfckpt_testing::entry_record(s1, 5)}};
  tfckpt_testing::write_table((dir / "ckpt.index").string(), [&](auto add) {
    for (const auto& [key, value] : records) add(key, value);
  });
  EXPECT_THAT(tfckpt::open(dir / "ckpt").status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("a whole-dimension slice extent starts at 3 (dimension 1)")));
}

}  // namespace

}  // namespace fuzz_regressions_test
