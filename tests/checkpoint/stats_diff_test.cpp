// SPDX-License-Identifier: Apache-2.0
// compute_stats and diff_checkpoints: values against direct computation, and their edge cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/diff.hpp"
#include "tfckpt/checkpoint/stats.hpp"

namespace stats_diff_test {

namespace {
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::float_tensor;
using tfckpt_testing::StatusIs;

TEST(Stats, MatchesATwoPassComputation) {
  tfckpt_testing::scratch_dir dir;
  std::vector<float> v(10000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 1e4f + static_cast<float>((i * 7919) % 1000) / 7.0f;  // large mean
  tfckpt_testing::write_bundle(dir / "m", {float_tensor("v", {100, 100}, v)});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const auto s, tfckpt::compute_stats(*ckpt.find("v")));
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double ss = 0;
  for (float x : v) ss += (x - mean) * (x - mean);
  EXPECT_EQ(s.count, 10000u);
  EXPECT_NEAR(s.mean, mean, 1e-9 * mean);
  EXPECT_NEAR(s.stddev, std::sqrt(ss / static_cast<double>(v.size())), 1e-9);
  EXPECT_EQ(s.min, *std::min_element(v.begin(), v.end()));
  EXPECT_EQ(s.max, *std::max_element(v.begin(), v.end()));
}

TEST(Stats, NonFiniteValuesAreCountedNotAveraged) {
  tfckpt::tensor_stats s;
  for (double x : {1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), 3.0,
                   -std::numeric_limits<double>::infinity()})
    s.add(x);
  EXPECT_EQ(s.count, 5u);
  EXPECT_EQ(s.finite, 2u);
  EXPECT_EQ(s.nan, 1u);
  EXPECT_EQ(s.pos_inf, 1u);
  EXPECT_EQ(s.neg_inf, 1u);
  EXPECT_EQ(s.mean, 2.0);
  EXPECT_EQ(s.stddev, 1.0);
  tfckpt::tensor_stats none;
  none.add(std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(std::isnan(none.min) && std::isnan(none.mean));
}

TEST(Stats, BoolsCountAsZeroOneAndStringsAreRefused) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "m", {tfckpt_testing::typed_tensor<std::uint8_t>("flags", tfckpt::dtype::boolean, {4}, {1, 0, 1, 1}),
                                           tfckpt_testing::string_tensor("names", {1}, {"a"})});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const auto s, tfckpt::compute_stats(*ckpt.find("flags")));
  EXPECT_EQ(s.mean, 0.75);
  EXPECT_THAT(tfckpt::compute_stats(*ckpt.find("names")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'names' is string")));
}

TEST(Diff, EqualBytesValuesAndNaNs) {
  tfckpt_testing::scratch_dir dir;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  tfckpt_testing::write_bundle(dir / "a", {float_tensor("same", {2}, {1, 2}), float_tensor("zeros", {2}, {0.0f, 1}),
                                           float_tensor("nans", {2}, {nan, 1}), float_tensor("x", {3}, {1, 2, 3})});
  tfckpt_testing::write_bundle(dir / "b", {float_tensor("same", {2}, {1, 2}), float_tensor("zeros", {2}, {-0.0f, 1}),
                                           float_tensor("nans", {2}, {nan, 1.25f}), float_tensor("x", {3}, {1, 2.5f, 0})});
  ASSERT_OK_AND_ASSIGN(const auto a, tfckpt::open(dir / "a"));
  ASSERT_OK_AND_ASSIGN(const auto b, tfckpt::open(dir / "b"));
  ASSERT_OK_AND_ASSIGN(const auto d, tfckpt::diff_checkpoints(a, b));
  ASSERT_EQ(d.common.size(), 4u);  // key order: nans, same, x, zeros
  EXPECT_FALSE(d.common[0].equal);
  EXPECT_EQ(d.common[0].differing, 1u);  // NaN == NaN here; 1 vs 1.25 differs
  EXPECT_EQ(d.common[0].max_abs_diff, 0.25);
  EXPECT_TRUE(d.common[1].equal);
  EXPECT_EQ(d.common[2].differing, 2u);
  EXPECT_EQ(d.common[2].max_abs_diff, 3.0);
  EXPECT_FALSE(d.common[3].equal);       // the bytes of -0.0 and 0.0 differ ...
  EXPECT_EQ(d.common[3].differing, 0u);  // ... their values do not
  EXPECT_FALSE(d.identical());
  ASSERT_OK_AND_ASSIGN(const auto self, tfckpt::diff_checkpoints(a, a));
  EXPECT_TRUE(self.identical());
}

}  // namespace

}  // namespace stats_diff_test
