// SPDX-License-Identifier: Apache-2.0
// Inputs the fuzz targets (fuzz/) found mishandled, as readable cases: each names the input that
// triggered it (kept byte for byte under fuzz/regressions/<target>/) and asserts the behaviour
// now expected: a correct value, or a clean error naming the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/slice_key.hpp"

namespace {

namespace codec = tfckpt::codec;
using ::tfckpt_testing::scratch_dir;
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

}  // namespace
