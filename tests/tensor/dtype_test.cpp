// SPDX-License-Identifier: Apache-2.0
#include "tfckpt/tensor/dtype.hpp"

#include <gtest/gtest.h>

#include "tfckpt/proto/types.pb.h"
#include "tfckpt/tensor/eigen.hpp"
#include "tfckpt/tensor/shape.hpp"

namespace dtype_test {

namespace {

TEST(Dtype, NumbersMatchTheProtoEnum) {
  for (std::int32_t v = 0; v <= tfckpt::kMaxDtype; ++v) {
    ASSERT_TRUE(tensorflow::DataType_IsValid(v)) << v;
    EXPECT_EQ(tfckpt::dtype_enum_name(static_cast<tfckpt::dtype>(v)), tensorflow::DataType_Name(v)) << v;
  }
}

TEST(Dtype, NamesSizesAndTypes) {
  EXPECT_EQ(tfckpt::dtype_name(tfckpt::dtype::float32), "float32");
  EXPECT_EQ(tfckpt::dtype_name(tfckpt::dtype::float16), "float16");
  EXPECT_EQ(tfckpt::dtype_name(tfckpt::dtype::boolean), "bool");
  EXPECT_EQ(tfckpt::dtype_name(static_cast<tfckpt::dtype>(99)), "unknown");
  EXPECT_EQ(tfckpt::element_size(tfckpt::dtype::complex128), 16u);
  EXPECT_EQ(tfckpt::element_size(tfckpt::dtype::bfloat16), 2u);
  EXPECT_EQ(tfckpt::element_size(tfckpt::dtype::string), 0u);
  EXPECT_FALSE(tfckpt::is_fixed_size(tfckpt::dtype::variant));
  for (std::int32_t v = 1; v <= tfckpt::kMaxDtype; ++v) {
    const auto t = static_cast<tfckpt::dtype>(v);
    EXPECT_EQ(tfckpt::dtype_from_name(tfckpt::dtype_name(t)), t);
    EXPECT_EQ(tfckpt::dtype_from_name(tfckpt::dtype_enum_name(t)), t);
  }
  EXPECT_EQ(tfckpt::dtype_from_name("float"), tfckpt::dtype::float32);
  EXPECT_FALSE(tfckpt::dtype_from_name("float33").has_value());
  static_assert(tfckpt::dtype_of<tfckpt::float16> == tfckpt::dtype::float16);
  static_assert(tfckpt::dtype_of<tfckpt::bfloat16> == tfckpt::dtype::bfloat16);
  static_assert(tfckpt::element_type_matches<tfckpt::float16>(tfckpt::dtype::float16));
  // With tensor/eigen.hpp, Eigen's 16-bit types are element types too.
  static_assert(tfckpt::dtype_of<Eigen::half> == tfckpt::dtype::float16);
  static_assert(tfckpt::dtype_of<Eigen::bfloat16> == tfckpt::dtype::bfloat16);
  static_assert(tfckpt::dtype_of<std::complex<double>> == tfckpt::dtype::complex128);
  static_assert(tfckpt::element_type_matches<std::int8_t>(tfckpt::dtype::qint8));
  static_assert(!tfckpt::element_type_matches<float>(tfckpt::dtype::int32));
  static_assert(sizeof(Eigen::bfloat16) == tfckpt::element_size(tfckpt::dtype::bfloat16));
}

TEST(Shape, CheckedArithmetic) {
  const std::int64_t big[] = {1ll << 40, 1ll << 40};
  EXPECT_FALSE(tfckpt::checked_num_elements(big).has_value());
  const std::int64_t neg[] = {2, -1};
  EXPECT_FALSE(tfckpt::checked_num_elements(neg).has_value());
  const std::int64_t ok[] = {784, 10};
  EXPECT_EQ(tfckpt::checked_num_elements(ok), 7840);
  EXPECT_EQ(tfckpt::checked_num_elements({}), 1);
  EXPECT_EQ(tfckpt::shape_string(ok), "[784,10]");
  EXPECT_EQ(tfckpt::shape_string({}), "[]");
}
}  // namespace

}  // namespace dtype_test
