// SPDX-License-Identifier: Apache-2.0
// views::cast: conversions and their rounding, errors found while streaming, chunking, laziness.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <ranges>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/tensor/eigen.hpp"  // Eigen::half / Eigen::bfloat16: the reference rounding
#include "tfckpt/views/cast.hpp"
#include "tfckpt/views/filter.hpp"

namespace cast_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt::dtype;
using tfckpt_testing::StatusIs;
using tfckpt_testing::typed_tensor;

// Streams a tensor's bytes into a string, recording the chunk sizes.
absl::StatusOr<std::string> drain(const tfckpt::tensor& t, std::vector<std::size_t>* chunks = nullptr) {
  std::string out;
  absl::Status s = t.source.stream([&](std::span<const std::byte> b) {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    if (chunks) chunks->push_back(b.size());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

template <class T>
std::vector<T> as_vector(const std::string& bytes) {
  std::vector<T> v(bytes.size() / sizeof(T));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
  return v;
}

// A computed tensor (no checkpoint behind it) from values.
template <class T>
tfckpt::tensor memory_tensor(std::string name, dtype type, const std::vector<T>& values) {
  tfckpt::tensor t;
  t.name = std::move(name);
  t.dtype = type;
  t.shape = {static_cast<std::int64_t>(values.size())};
  t.source = tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
  t.origins.push_back({"mem", 0, t.name});
  return t;
}

template <class Out, class In>
std::vector<Out> cast_values(const std::vector<In>& in, dtype from, dtype to, tfckpt::cast_options options = {}) {
  options.select = [](const tfckpt::tensor&) { return true; };
  std::vector<tfckpt::tensor> ts{memory_tensor("x", from, in)};
  const auto out = tfckpt::collect(ts | tfckpt::views::cast(to, options));
  EXPECT_EQ(out.size(), 1u);
  EXPECT_OK(out[0].status);
  EXPECT_EQ(out[0].dtype, to);
  EXPECT_EQ(out[0].size(), in.size() * sizeof(Out));
  auto bytes = drain(out[0]);
  EXPECT_OK(bytes.status());
  return bytes.ok() ? as_vector<Out>(*bytes) : std::vector<Out>{};
}

std::uint16_t bits(Eigen::bfloat16 v) { return std::bit_cast<std::uint16_t>(v); }
std::uint16_t bits(Eigen::half v) { return std::bit_cast<std::uint16_t>(v); }

static_assert(std::ranges::view<decltype(std::declval<std::vector<tfckpt::tensor>&>() | tfckpt::views::cast(dtype::float16))>);
static_assert(tfckpt::tensor_range<decltype(std::declval<std::vector<tfckpt::tensor>&>() | tfckpt::views::cast(dtype::float16))>);

TEST(Cast, Float32ToBfloat16RoundsToNearestEvenAndRoundTrips) {
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1); 1 + 3 * 2^-8 is
  // halfway between 1 + 2^-7 and 1 + 2^-6: even is the upper one.
  const std::vector<float> in{1.0f, 1.00390625f, 1.01171875f, 1.0f + 0x1.0p-8f + 0x1.0p-20f, -3.5f, 1e38f, 0.0f,
                              std::numeric_limits<float>::infinity()};
  const auto out = cast_values<Eigen::bfloat16>(in, dtype::float32, dtype::bfloat16);
  ASSERT_EQ(out.size(), in.size());
  EXPECT_EQ(static_cast<float>(out[0]), 1.0f);
  EXPECT_EQ(static_cast<float>(out[1]), 1.0f);
  EXPECT_EQ(static_cast<float>(out[2]), 1.015625f);
  EXPECT_EQ(static_cast<float>(out[3]), 1.0078125f);  // just above the tie: up
  EXPECT_EQ(static_cast<float>(out[4]), -3.5f);
  EXPECT_EQ(bits(out[5]), bits(Eigen::bfloat16(1e38f)));
  EXPECT_EQ(static_cast<float>(out[6]), 0.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(out[7])));
  // Values bfloat16 holds survive float32 -> bfloat16 -> float32 exactly.
  std::vector<float> exact;
  for (int i = -255; i <= 255; ++i) exact.push_back(static_cast<float>(i) * 0.25f);  // 8 significant bits
  const auto there = cast_values<Eigen::bfloat16>(exact, dtype::float32, dtype::bfloat16);
  const auto back = cast_values<float>(there, dtype::bfloat16, dtype::float32);
  EXPECT_EQ(back, exact);
}

TEST(Cast, Float32ToHalfRoundsToNearestEvenOverflowsToInf) {
  const std::vector<float> in{1.0f + 0x1.0p-11f, 1.0f + 3 * 0x1.0p-11f, 65504.0f, 70000.0f, -1e-8f, 0.1f};
  const auto out = cast_values<Eigen::half>(in, dtype::float32, dtype::float16);
  ASSERT_EQ(out.size(), in.size());
  EXPECT_EQ(static_cast<float>(out[0]), 1.0f);
  EXPECT_EQ(static_cast<float>(out[1]), 1.0f + 0x1.0p-9f);
  EXPECT_EQ(static_cast<float>(out[2]), 65504.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(out[3])));
  EXPECT_EQ(bits(out[4]), 0x8000);  // -1e-8 underflows to -0
  EXPECT_EQ(bits(out[5]), 0x2e66);  // numpy: np.float16(0.1).view(np.uint16) == 0x2e66
  std::vector<float> exact;
  for (int i = -2048; i <= 2048; i += 7) exact.push_back(static_cast<float>(i) / 16);
  const auto back = cast_values<float>(cast_values<Eigen::half>(exact, dtype::float32, dtype::float16), dtype::float16,
                                       dtype::float32);
  EXPECT_EQ(back, exact);
}

TEST(Cast, Float64ToHalfIsRoundedOnce) {
  // 1 + 2^-11 + 2^-40 lies just above the float16 tie 1 + 2^-11. Rounding through float32 first
  // lands exactly on the tie and then goes to even (1.0): wrong. Rounded once it is 1 + 2^-10.
  const std::vector<double> in{1.0 + 0x1.0p-11 + 0x1.0p-40, 1.0 + 0x1.0p-11, -(1.0 + 0x1.0p-8 + 0x1.0p-45)};
  const auto h = cast_values<Eigen::half>(in, dtype::float64, dtype::float16);
  EXPECT_EQ(static_cast<float>(h[0]), 1.0f + 0x1.0p-10f);
  EXPECT_EQ(static_cast<float>(h[1]), 1.0f);
  const auto b = cast_values<Eigen::bfloat16>(in, dtype::float64, dtype::bfloat16);
  EXPECT_EQ(static_cast<float>(b[2]), -1.0078125f);
  EXPECT_EQ(tfckpt::detail::round_to_odd_float(1.0 + 0x1.0p-40), 1.0f + 0x1.0p-23f);
  EXPECT_EQ(tfckpt::detail::round_to_odd_float(1.5), 1.5f);
}

TEST(Cast, FloatToIntTruncatesTowardZero) {
  const std::vector<float> in{2.7f, -2.7f, 0.0f, -0.5f, 2147483520.0f, -2147483648.0f};
  EXPECT_THAT(cast_values<std::int32_t>(in, dtype::float32, dtype::int32), ElementsAre(2, -2, 0, 0, 2147483520, -2147483648));
  EXPECT_THAT(cast_values<std::uint8_t>(std::vector<double>{255.9, 0.2, -0.9}, dtype::float64, dtype::uint8),
              ElementsAre(255, 0, 0));
  EXPECT_THAT(cast_values<std::int64_t>(std::vector<double>{-0x1.0p63, 0x1.0p62}, dtype::float64, dtype::int64),
              ElementsAre(std::numeric_limits<std::int64_t>::min(), std::int64_t{1} << 62));
}

TEST(Cast, NanAndOutOfRangeAreStreamingErrorsNamingTheElement) {
  tfckpt::cast_options all{.select = [](const tfckpt::tensor&) { return true; }, .chunk_elements = 4};
  std::vector<float> v(10, 1.0f);
  v[6] = std::nanf("");
  std::vector<tfckpt::tensor> ts{memory_tensor("layer/w", dtype::float32, v)};
  auto out = tfckpt::collect(ts | tfckpt::views::cast(dtype::int32, all));
  EXPECT_OK(tfckpt::check_pipeline(out));  // found only while streaming
  EXPECT_THAT(drain(out[0]), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("cast of 'layer/w' from float32 to int32: element 6 is nan")));
  ts = {memory_tensor("big", dtype::float64, std::vector<double>{1, 2, 3e9})};
  out = tfckpt::collect(ts | tfckpt::views::cast(dtype::int32, all));
  EXPECT_THAT(drain(out[0]), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("element 2 is 3000000000")));
  ts = {memory_tensor("edge", dtype::float64, std::vector<double>{0x1.0p63})};  // INT64_MAX + 1
  out = tfckpt::collect(ts | tfckpt::views::cast(dtype::int64, all));
  EXPECT_FALSE(drain(out[0]).ok());
  ts = {memory_tensor("n", dtype::int64, std::vector<std::int64_t>{-1, 300})};
  out = tfckpt::collect(ts | tfckpt::views::cast(dtype::uint8, all));
  EXPECT_THAT(drain(out[0]), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("element 0 is -1, which uint8 cannot hold")));
  // Through the sink: the error surfaces and nothing is written.
  tfckpt_testing::scratch_dir dir;
  ts = {memory_tensor("layer/w", dtype::float32, v)};
  EXPECT_THAT(tfckpt::write_bundle(ts | tfckpt::views::cast(dtype::int32, all), dir / "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("element 6")));
  EXPECT_FALSE(fs::exists(dir / "x.index"));
}

TEST(Cast, IntegersAndBool) {
  EXPECT_THAT(cast_values<float>(std::vector<std::int64_t>{-3, 16777217, 0}, dtype::int64, dtype::float32),
              ElementsAre(-3.0f, 16777216.0f, 0.0f));
  EXPECT_THAT(cast_values<std::int16_t>(std::vector<std::uint8_t>{0, 255}, dtype::uint8, dtype::int16), ElementsAre(0, 255));
  // Stored bools: any non-zero byte is true.
  EXPECT_THAT(cast_values<float>(std::vector<std::uint8_t>{0, 1, 7}, dtype::boolean, dtype::float32), ElementsAre(0.0f, 1.0f, 1.0f));
  EXPECT_THAT(cast_values<std::uint8_t>(std::vector<float>{0.0f, -0.0f, 0.5f, std::nanf("")}, dtype::float32, dtype::boolean),
              ElementsAre(0, 0, 1, 1));
  EXPECT_THAT(cast_values<Eigen::half>(std::vector<std::int32_t>{2049, 2051}, dtype::int32, dtype::float16),
              ElementsAre(Eigen::half(2048.0f), Eigen::half(2052.0f)));  // ties to even
}

TEST(Cast, ChunkBoundariesAndRaggedInputChunks) {
  // 10007 elements in chunks of 1000: 11 output chunks, the last one short; the input arrives in
  // 3-byte pieces, so elements straddle input chunks.
  std::vector<float> v(10007);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f - 17.0f;
  const std::string raw(reinterpret_cast<const char*>(v.data()), v.size() * 4);
  tfckpt::tensor t;
  t.name = "ragged";
  t.dtype = dtype::float32;
  t.shape = {10007};
  t.source = tfckpt::byte_source::from_producer(raw.size(), [&raw](const tfckpt::byte_source::emit_fn& emit) {
    for (std::size_t at = 0; at < raw.size(); at += 3) {
      const std::size_t n = std::min<std::size_t>(3, raw.size() - at);
      TFCKPT_RETURN_IF_ERROR(emit({reinterpret_cast<const std::byte*>(raw.data()) + at, n}));
    }
    return absl::OkStatus();
  });
  std::vector<tfckpt::tensor> ts{t};
  const auto out = tfckpt::collect(ts | tfckpt::views::cast(dtype::float64, {.chunk_elements = 1000}));
  std::vector<std::size_t> chunks;
  ASSERT_OK_AND_ASSIGN(const std::string bytes, drain(out[0], &chunks));
  EXPECT_EQ(chunks.size(), 11u);
  EXPECT_EQ(chunks.front(), 8000u);
  EXPECT_EQ(chunks.back(), 7u * 8);
  const auto d = as_vector<double>(bytes);
  ASSERT_EQ(d.size(), v.size());
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(d[i], static_cast<double>(v[i])) << i;
}

class CastCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tfckpt_testing::write_bundle(
        dir_ / "m", {
                        tfckpt_testing::float_tensor("dense/kernel", {2, 3}, {1, 2, 3, 4, 5, 1.0f / 3}),
                        typed_tensor<std::int64_t>("global_step", dtype::int64, {}, {1000}),
                        tfckpt_testing::string_tensor("names", {2}, {"a", "bc"}),
                        typed_tensor<std::complex<float>>("z", dtype::complex64, {1}, {{1, 2}}),
                        typed_tensor<double>("d", dtype::float64, {2}, {0.1, -2}),
                    });
    ASSERT_OK_AND_ASSIGN(auto c, tfckpt::open(dir_ / "m"));
    ckpt_ = std::make_unique<tfckpt::checkpoint>(std::move(c));
  }
  tfckpt_testing::scratch_dir dir_;
  std::unique_ptr<tfckpt::checkpoint> ckpt_;
};

TEST_F(CastCheckpointTest, DefaultCastsFloatingPointOnlyAndWritesWhatItPlans) {
  const auto out = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::cast(dtype::bfloat16));
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].name, "d");
  EXPECT_EQ(out[0].dtype, dtype::bfloat16);
  EXPECT_EQ(out[0].size(), 4u);
  EXPECT_EQ(out[0].stored, nullptr);
  EXPECT_EQ(out[0].origins, tfckpt::collect(tfckpt::entries(*ckpt_))[0].origins);
  EXPECT_EQ(out[1].dtype, dtype::bfloat16);                 // dense/kernel
  EXPECT_EQ(out[2].dtype, dtype::int64);                    // global_step untouched,
  EXPECT_EQ(out[2].stored, ckpt_->find("global_step"));     // still zero-copy
  EXPECT_EQ(out[3].dtype, dtype::string);
  EXPECT_EQ(out[4].dtype, dtype::complex64);
  EXPECT_OK(tfckpt::check_pipeline(out));
  ASSERT_OK(tfckpt::write_bundle(out, dir_ / "bf16"));
  ASSERT_OK_AND_ASSIGN(const auto written, tfckpt::open(dir_ / "bf16"));
  EXPECT_TRUE(written.verify().ok());
  ASSERT_OK_AND_ASSIGN(const auto k, written.find("dense/kernel")->values<Eigen::bfloat16>());
  EXPECT_EQ(static_cast<float>(k[5]), static_cast<float>(Eigen::bfloat16(1.0f / 3)));
  EXPECT_EQ(static_cast<float>(k[4]), 5.0f);
  ASSERT_OK_AND_ASSIGN(const auto step, written.find("global_step")->values<std::int64_t>());
  EXPECT_EQ(step[0], 1000);
}

TEST_F(CastCheckpointTest, UnconvertibleSelectionsAreErrorTensorsReportedTogether) {
  const auto everything = [](const tfckpt::tensor&) { return true; };
  const auto out = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::cast(dtype::float32, {.select = everything}));
  const absl::Status s = tfckpt::check_pipeline(out);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("2 problems")));
  EXPECT_THAT(s.message(), HasSubstr("cast of 'names': a string tensor cannot be cast to float32"));
  EXPECT_THAT(s.message(), HasSubstr("cast of 'z': converting complex64 to float32 is not supported"));
  EXPECT_THAT(tfckpt::check_pipeline(tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::cast(dtype::string))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("string is not a numeric dtype")));
  // Both call forms.
  EXPECT_EQ(tfckpt::collect(tfckpt::views::cast(tfckpt::entries(*ckpt_), dtype::float16))[1].dtype, dtype::float16);
}

// Laziness: collect and check_pipeline run no producer; a tensor filtered away before the cast, in
// a shard that no longer exists, is never read.
TEST(CastLaziness, PlanningReadsNothing) {
  tfckpt_testing::scratch_dir dir;
  std::vector<tfckpt_testing::tensor_spec> tensors;
  for (int i = 0; i < 100; ++i) {
    auto t = tfckpt_testing::float_tensor(absl::StrFormat("t%03d", i), {3}, {1.5f, 2.5f, static_cast<float>(i)});
    t.shard = i == 42 ? 0 : 1;
    tensors.push_back(t);
  }
  tfckpt_testing::write_bundle(dir / "m", tensors, {.num_shards = 2});
  fs::remove(tfckpt::data_file_name((dir / "m").string(), 1, 2));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  // Every tensor planned, none read: planning succeeds though 99 of them are unreadable.
  const auto planned = tfckpt::collect(tfckpt::entries(ckpt) | tfckpt::views::cast(dtype::float16));
  EXPECT_EQ(planned.size(), 100u);
  EXPECT_OK(tfckpt::check_pipeline(planned));
  EXPECT_THAT(tfckpt::describe_plan(planned), HasSubstr("t042  float16   [3]"));
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::name_glob("t042")) |
                                     tfckpt::views::cast(dtype::float16),
                                 dir / "one"));
  ASSERT_OK_AND_ASSIGN(const auto one, tfckpt::open(dir / "one"));
  ASSERT_OK_AND_ASSIGN(const auto v, one.find("t042")->values<Eigen::half>());
  EXPECT_EQ(static_cast<float>(v[2]), 42.0f);
  EXPECT_THAT(tfckpt::write_bundle(planned, dir / "all"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("'t000'")));
  // A producer that would fail is never started by planning.
  int runs = 0;
  tfckpt::tensor t;
  t.name = "p";
  t.dtype = dtype::float32;
  t.shape = {1};
  t.source = tfckpt::byte_source::from_producer(4, [&runs](const tfckpt::byte_source::emit_fn&) {
    ++runs;
    return absl::InternalError("read");
  });
  std::vector<tfckpt::tensor> ts{t};
  const auto p = tfckpt::collect(ts | tfckpt::views::cast(dtype::bfloat16));
  EXPECT_OK(tfckpt::check_pipeline(p));
  EXPECT_EQ(runs, 0);
  EXPECT_FALSE(drain(p[0]).ok());
  EXPECT_EQ(runs, 1);
}

}  // namespace

}  // namespace cast_test
