// SPDX-License-Identifier: Apache-2.0
// Zero-copy versus aligned copies in entry::values<T>() (tfckpt/tensor/tensor_values.hpp):
// TensorFlow packs tensors with data_alignment 1, so a float after a 1-byte bool sits at an odd
// offset. Misaligned tensors must come back as correct values in an aligned copy; aligned ones as
// a view into the mapped shard.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace alignment_test {

namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::tfckpt_testing::float_tensor;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::typed_tensor;
using ::tfckpt_testing::write_bundle;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// `n` floats read with memcpy from `bytes` at `offset`, the reference for misaligned data.
std::vector<float> floats_at(const std::string& bytes, std::size_t offset, std::size_t n) {
  std::vector<float> out(n);
  std::memcpy(out.data(), bytes.data() + offset, n * sizeof(float));
  return out;
}

template <class T>
bool aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0;
}

TEST(Alignment, FloatAfterABoolIsCopiedAndCorrect) {
  scratch_dir dir;
  const std::vector<float> w = {1.5f, -2.25f, 3.0f, 1e-30f, -0.0f, 7.0f};
  // Data file: is_training (1 byte) at 0, then w at 1, then b at 25.
  write_bundle(dir / "m", {typed_tensor<std::uint8_t>("is_training", tfckpt::dtype::boolean, {}, {1}),
                           float_tensor("w", {2, 3}, w), float_tensor("b", {1}, {4})});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get("w"));
  ASSERT_EQ(e->offset(), 1u);
  ASSERT_OK_AND_ASSIGN(const auto raw, e->bytes());
  EXPECT_FALSE(aligned<float>(raw.data()));  // the mapping is page-aligned, offset 1 is not

  ASSERT_OK_AND_ASSIGN(auto values, e->values<float>());
  EXPECT_FALSE(values.is_zero_copy());
  EXPECT_TRUE(aligned<float>(values.data()));
  EXPECT_NE(static_cast<const void*>(values.data()), static_cast<const void*>(raw.data()));
  EXPECT_THAT(values.span(), ElementsAreArray(w));
  EXPECT_TRUE(std::signbit(values[4]));  // bit-exact: -0.0 stays negative
  EXPECT_THAT(values.shape(), ElementsAre(2, 3));

  // The copy belongs to the tensor_values: moving it keeps the values.
  const auto moved = std::move(values);
  EXPECT_FALSE(moved.is_zero_copy());
  EXPECT_THAT(moved.span(), ElementsAreArray(w));

  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* flag, ckpt.get("is_training"));
  ASSERT_OK_AND_ASSIGN(const auto flag_values, flag->values<bool>());
  EXPECT_TRUE(flag_values.is_zero_copy());  // 1-byte elements are always aligned
  EXPECT_THAT(flag_values.span(), ElementsAre(true));
  EXPECT_TRUE(ckpt.verify().ok());
}

TEST(Alignment, AlignedFloatIsZeroCopy) {
  scratch_dir dir;
  const std::vector<float> a = {1, 2, 3}, b = {4, 5};
  write_bundle(dir / "m", {float_tensor("a", {3}, a), float_tensor("b", {2}, b)});  // at 0 and 12
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  for (const auto& [name, expected] : {std::pair{"a", a}, std::pair{"b", b}}) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get(name));
    ASSERT_OK_AND_ASSIGN(const auto raw, e->bytes());
    ASSERT_OK_AND_ASSIGN(const auto values, e->values<float>());
    EXPECT_TRUE(values.is_zero_copy());
    EXPECT_EQ(static_cast<const void*>(values.data()), static_cast<const void*>(raw.data()));
    EXPECT_THAT(values.span(), ElementsAreArray(expected));
  }
}

TEST(Alignment, AlignmentDependsOnTheElementType) {
  // A double at offset 4 is aligned for float but not for double; at 8 it is aligned.
  scratch_dir dir;
  write_bundle(dir / "m", {float_tensor("f", {1}, {1}),
                           typed_tensor<double>("d4", tfckpt::dtype::float64, {2}, {0.1, -1e300}),
                           float_tensor("g", {1}, {2}), typed_tensor<double>("d24", tfckpt::dtype::float64, {1}, {3.5}),
                           typed_tensor<std::int64_t>("i64", tfckpt::dtype::int64, {1}, {-5})});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* d4, ckpt.get("d4"));
  ASSERT_EQ(d4->offset(), 4u);
  ASSERT_OK_AND_ASSIGN(const auto v4, d4->values<double>());
  EXPECT_FALSE(v4.is_zero_copy());
  EXPECT_THAT(v4.span(), ElementsAre(0.1, -1e300));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* d24, ckpt.get("d24"));
  ASSERT_EQ(d24->offset(), 24u);
  ASSERT_OK_AND_ASSIGN(const auto v24, d24->values<double>());
  EXPECT_TRUE(v24.is_zero_copy());
  EXPECT_THAT(v24.span(), ElementsAre(3.5));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* i, ckpt.get("i64"));
  ASSERT_EQ(i->offset(), 32u);
  ASSERT_OK_AND_ASSIGN(const auto vi, i->values<std::int64_t>());
  EXPECT_TRUE(vi.is_zero_copy());
  EXPECT_THAT(vi.span(), ElementsAre(-5));
}

TEST(Alignment, DataAlignmentOptionPadsToZeroCopy) {
  // BundleWriter's data_alignment pads after each tensor: the float after the bool lands at 8.
  scratch_dir dir;
  tfckpt_testing::build_options o;
  o.data_alignment = 8;
  write_bundle(dir / "m",
               {typed_tensor<std::uint8_t>("flag", tfckpt::dtype::boolean, {}, {0}), float_tensor("w", {3}, {1, 2, 3}),
                typed_tensor<double>("d", tfckpt::dtype::float64, {1}, {9})},
               o);
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* w, ckpt.get("w"));
  EXPECT_EQ(w->offset(), 8u);
  EXPECT_EQ(w->size(), 12u);  // padding is not part of the tensor
  ASSERT_OK_AND_ASSIGN(const auto wv, w->values<float>());
  EXPECT_TRUE(wv.is_zero_copy());
  EXPECT_THAT(wv.span(), ElementsAre(1, 2, 3));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* d, ckpt.get("d"));
  EXPECT_EQ(d->offset(), 24u);
  ASSERT_OK_AND_ASSIGN(const auto dv, d->values<double>());
  EXPECT_TRUE(dv.is_zero_copy());
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* flag, ckpt.get("flag"));
  ASSERT_OK_AND_ASSIGN(const auto fv, flag->values<bool>());
  EXPECT_THAT(fv.span(), ElementsAre(false));
  EXPECT_TRUE(ckpt.verify().ok());  // the padding bytes are in no CRC
}

TEST(Alignment, TflearnFixtureHasAFloatAtAnOddOffset) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path prefix = tfckpt_testing::fixtures_dir() / "tflearn_and_bool_frozen/and.tflearn";
  const std::string data = read_file(prefix.string() + ".data-00000-of-00001");
  ASSERT_EQ(data.size(), 149u);
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix));

  // output/W [3,1] at 125, right after the 1-byte is_training at 124.
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* out_w, ckpt.get("output/W"));
  EXPECT_EQ(out_w->offset(), 125u);
  EXPECT_THAT(out_w->shape(), ElementsAre(3, 1));
  ASSERT_OK_AND_ASSIGN(const auto ov, out_w->values<float>());
  EXPECT_FALSE(ov.is_zero_copy());
  EXPECT_THAT(ov.span(), ElementsAreArray(floats_at(data, 125, 3)));
  EXPECT_FLOAT_EQ(ov[0], -1.0624165534973145f);

  // FullyConnected/W [2,4] at 4: aligned, so a view into the mapping.
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* fc_w, ckpt.get("FullyConnected/W"));
  EXPECT_EQ(fc_w->offset(), 4u);
  ASSERT_OK_AND_ASSIGN(const auto raw, fc_w->bytes());
  ASSERT_OK_AND_ASSIGN(const auto fv, fc_w->values<float>());
  EXPECT_TRUE(fv.is_zero_copy());
  EXPECT_EQ(static_cast<const void*>(fv.data()), static_cast<const void*>(raw.data()));
  EXPECT_THAT(fv.span(), ElementsAreArray(floats_at(data, 4, 8)));

  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* is_training, ckpt.get("is_training"));
  EXPECT_EQ(is_training->dtype(), tfckpt::dtype::boolean);
  EXPECT_EQ(is_training->offset(), 124u);
  EXPECT_TRUE(is_training->shape().empty());
  ASSERT_OK_AND_ASSIGN(const auto tv, is_training->values<bool>());
  EXPECT_THAT(tv.span(), ElementsAre(false));  // the stored byte is 00
  EXPECT_THAT(is_training->values<float>(),
              tfckpt_testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("bool")));

  // Every float after is_training is misaligned, every one before it aligned.
  for (const tfckpt::entry& e : ckpt.entries()) {
    if (e.dtype() != tfckpt::dtype::float32) continue;
    SCOPED_TRACE(std::string(e.name()));
    ASSERT_OK_AND_ASSIGN(const auto v, e.values<float>());
    EXPECT_EQ(v.is_zero_copy(), e.offset() % 4 == 0);
    EXPECT_THAT(v.span(), ElementsAreArray(floats_at(data, e.offset(), static_cast<std::size_t>(e.num_elements()))));
  }
  EXPECT_TRUE(ckpt.verify().ok());
}

}  // namespace

}  // namespace alignment_test
