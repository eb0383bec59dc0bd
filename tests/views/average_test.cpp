// SPDX-License-Identifier: Apache-2.0
// views::average: element-wise means checked against an independent computation, 16-bit rounding,
// weights, the policy for integers and strings, mismatch reports, laziness, bounded memory while
// streaming, and TensorFlow's own TF2 checkpoints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <ranges>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/sanitizer.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/tensor/eigen.hpp"  // Eigen::half / Eigen::bfloat16 as element types
#include "tfckpt/views/average.hpp"
#include "tfckpt/views/filter.hpp"

namespace average_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt::dtype;
using tfckpt_testing::float_tensor;
using tfckpt_testing::StatusIs;
using tfckpt_testing::typed_tensor;

std::vector<std::string> names(std::span<const tfckpt::tensor> ts) {
  std::vector<std::string> v;
  for (const auto& t : ts) v.push_back(t.name);
  return v;
}

const tfckpt::tensor& find(std::span<const tfckpt::tensor> ts, std::string_view name) {
  for (const auto& t : ts)
    if (t.name == name) return t;
  static const tfckpt::tensor none;
  ADD_FAILURE() << "no tensor " << name;
  return none;
}

template <class T>
std::vector<T> values_of(const tfckpt::tensor& t) {
  std::string bytes;
  const absl::Status s = t.source.stream([&](std::span<const std::byte> b) {
    bytes.append(reinterpret_cast<const char*>(b.data()), b.size());
    return absl::OkStatus();
  });
  EXPECT_OK(s);
  std::vector<T> v(bytes.size() / sizeof(T));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
  return v;
}

// Distance in units in the last place between two finite floats of the same sign.
std::int64_t ulps(float a, float b) {
  return std::abs(static_cast<std::int64_t>(std::bit_cast<std::int32_t>(a)) - std::bit_cast<std::int32_t>(b));
}

// The 16-bit float nearest to `x`, ties to even, found by comparing neighbours in long double: an
// oracle that shares nothing with the library's round-to-odd conversion.
template <class H>
H nearest(long double x) {
  H guess = H(static_cast<float>(x));
  const std::uint16_t g = std::bit_cast<std::uint16_t>(guess);
  H best = guess;
  long double best_err = std::fabs(static_cast<long double>(static_cast<float>(guess)) - x);
  for (int d : {-1, 1}) {
    const H c = std::bit_cast<H>(static_cast<std::uint16_t>(g + d));
    const long double err = std::fabs(static_cast<long double>(static_cast<float>(c)) - x);
    if (err < best_err || (err == best_err && (std::bit_cast<std::uint16_t>(c) & 1) == 0)) {
      best = c;
      best_err = err;
    }
  }
  return best;
}

template <class H>
std::vector<H> to16(const std::vector<float>& v) {
  std::vector<H> out;
  for (float f : v) out.push_back(H(f));
  return out;
}

// Three checkpoints a, b, c with float32, float16, bfloat16, float64, int64, bool and string
// tensors. A one-byte tensor comes first in every data file, so every other tensor is misaligned
// (TensorFlow packs tensors with no padding).
class AverageTest : public ::testing::Test {
 protected:
  static constexpr int kN = 3;
  void SetUp() override {
    std::mt19937 rng(1234);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    for (int k = 0; k < kN; ++k) {
      std::vector<float> random(7 * 13), exact(40);
      for (float& x : random) x = normal(rng);
      for (std::size_t i = 0; i < exact.size(); ++i) exact[i] = static_cast<float>(i) + static_cast<float>(k);  // mean: i + 1
      std::vector<float> h(50);
      for (float& x : h) x = normal(rng);
      random_[k] = random;
      half_[k] = to16<Eigen::half>(h);
      bf16_[k] = to16<Eigen::bfloat16>(h);
      std::vector<double> d{0.1 * k, 1e300, -3.0 + k};
      double_[k] = d;
      const std::string name = std::string(1, static_cast<char>('a' + k));
      tfckpt_testing::write_bundle(
          dir_ / name,
          {
              typed_tensor<std::uint8_t>("a_flag", dtype::boolean, {}, {static_cast<std::uint8_t>(k == 2)}),
              float_tensor("dense/kernel", {7, 13}, random),
              float_tensor("exact", {40}, exact),
              typed_tensor<Eigen::half>("h", dtype::float16, {50}, half_[k]),
              typed_tensor<Eigen::bfloat16>("bf", dtype::bfloat16, {5, 10}, bf16_[k]),
              typed_tensor<double>("d", dtype::float64, {3}, d),
              typed_tensor<std::int64_t>("global_step", dtype::int64, {}, {100 * (k + 1)}),
              tfckpt_testing::string_tensor("graph", {}, {"graph of " + name}),
          });
      ASSERT_OK_AND_ASSIGN(auto c, tfckpt::open(dir_ / name));
      ckpts_[k] = std::make_unique<tfckpt::checkpoint>(std::move(c));
    }
  }
  auto joined() const { return tfckpt::entries({ckpts_[0].get(), ckpts_[1].get(), ckpts_[2].get()}); }

  tfckpt_testing::scratch_dir dir_;
  std::unique_ptr<tfckpt::checkpoint> ckpts_[kN];
  std::vector<float> random_[kN];
  std::vector<Eigen::half> half_[kN];
  std::vector<Eigen::bfloat16> bf16_[kN];
  std::vector<double> double_[kN];
};

static_assert(std::ranges::view<decltype(tfckpt::entries({nullptr}) | tfckpt::views::average())>);
static_assert(tfckpt::tensor_range<decltype(tfckpt::entries({nullptr}) | tfckpt::views::average())>);

TEST_F(AverageTest, Float32MeansMatchAnIndependentComputation) {
  const auto out = tfckpt::collect(joined() | tfckpt::views::average());
  EXPECT_THAT(names(out), ElementsAre("a_flag", "bf", "d", "dense/kernel", "exact", "global_step", "graph", "h"));
  ASSERT_OK(tfckpt::check_pipeline(out));
  // Representable means are exact: (i + (i+1) + (i+2)) / 3 = i + 1.
  const auto exact = values_of<float>(find(out, "exact"));
  for (std::size_t i = 0; i < exact.size(); ++i) EXPECT_EQ(exact[i], static_cast<float>(i + 1)) << i;
  // Random values: the reference sums in long double and rounds once to float. The library sums in
  // double; its only rounding that can show in a float32 result is the final one (the double
  // intermediates carry 29 more bits), so it may differ from the reference by at most one ulp, and
  // only when the true mean lies within 2^-29 ulp of a rounding boundary.
  const auto mean = values_of<float>(find(out, "dense/kernel"));
  ASSERT_EQ(mean.size(), random_[0].size());
  int exact_matches = 0;
  for (std::size_t i = 0; i < mean.size(); ++i) {
    const long double ref = (static_cast<long double>(random_[0][i]) + random_[1][i] + random_[2][i]) / 3;
    const float want = static_cast<float>(ref);
    EXPECT_LE(ulps(mean[i], want), 1) << i << ": " << mean[i] << " vs " << want;
    exact_matches += mean[i] == want;
  }
  EXPECT_EQ(exact_matches, static_cast<int>(mean.size()));
  // float64 stays float64 (1e300 * 3 would overflow a float32 accumulator).
  const auto d = values_of<double>(find(out, "d"));
  EXPECT_DOUBLE_EQ(d[0], (0.0 + 0.1 + 0.2) / 3);
  EXPECT_EQ(d[1], 1e300);
  EXPECT_EQ(d[2], -2.0);
  // Computed tensors: no stored entry, one origin per checkpoint, in checkpoint order.
  const auto& k = find(out, "dense/kernel");
  EXPECT_EQ(k.stored, nullptr);
  ASSERT_EQ(k.origins.size(), 3u);
  EXPECT_EQ(k.origins[2].checkpoint, ckpts_[2]->prefix());
  EXPECT_EQ(k.origins[2].checkpoint_index, 2u);
}

TEST_F(AverageTest, HalfAndBfloat16AreRoundedOnceToNearestEven) {
  const auto out = tfckpt::collect(joined() | tfckpt::views::average());
  const auto h = values_of<Eigen::half>(find(out, "h"));
  const auto bf = values_of<Eigen::bfloat16>(find(out, "bf"));
  ASSERT_EQ(h.size(), 50u);
  ASSERT_EQ(bf.size(), 50u);
  for (std::size_t i = 0; i < 50; ++i) {
    const long double mh = (static_cast<long double>(static_cast<float>(half_[0][i])) + static_cast<float>(half_[1][i]) +
                            static_cast<float>(half_[2][i])) / 3;
    EXPECT_EQ(std::bit_cast<std::uint16_t>(h[i]), std::bit_cast<std::uint16_t>(nearest<Eigen::half>(mh))) << i;
    const long double mb = (static_cast<long double>(static_cast<float>(bf16_[0][i])) + static_cast<float>(bf16_[1][i]) +
                            static_cast<float>(bf16_[2][i])) / 3;
    EXPECT_EQ(std::bit_cast<std::uint16_t>(bf[i]), std::bit_cast<std::uint16_t>(nearest<Eigen::bfloat16>(mb))) << i;
  }
  EXPECT_EQ(find(out, "h").dtype, dtype::float16);
  EXPECT_EQ(find(out, "bf").dtype, dtype::bfloat16);
}

TEST_F(AverageTest, WeightsAreNormalised) {
  const auto out = tfckpt::collect(joined() | tfckpt::views::average({.weights = {1, 2, 5}}));
  ASSERT_OK(tfckpt::check_pipeline(out));
  const auto exact = values_of<float>(find(out, "exact"));
  for (std::size_t i = 0; i < exact.size(); ++i)  // (i + 2(i+1) + 5(i+2)) / 8 = i + 1.5
    EXPECT_EQ(exact[i], static_cast<float>(i) + 1.5f) << i;
  const auto mean = values_of<float>(find(out, "dense/kernel"));
  for (std::size_t i = 0; i < mean.size(); ++i) {
    const long double ref = (static_cast<long double>(random_[0][i]) + 2.0L * random_[1][i] + 5.0L * random_[2][i]) / 8;
    EXPECT_LE(ulps(mean[i], static_cast<float>(ref)), 1) << i;
  }
  // A zero weight: that checkpoint does not count (and is not read).
  const auto two = tfckpt::collect(joined() | tfckpt::views::average({.weights = {0, 1, 1}}));
  EXPECT_EQ(values_of<float>(find(two, "exact"))[0], 1.5f);
  // Bad weights: every problem is reported.
  const absl::Status s = tfckpt::check_pipeline(tfckpt::collect(joined() | tfckpt::views::average({.weights = {1, 2}})));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 weights for 3 checkpoints")));
  const absl::Status neg = tfckpt::check_pipeline(tfckpt::collect(joined() | tfckpt::views::average({.weights = {1, -1, NAN}})));
  EXPECT_THAT(neg.message(), HasSubstr("the weight of " + ckpts_[1]->prefix() + " is -1"));
  EXPECT_THAT(neg.message(), HasSubstr("is nan"));
  EXPECT_THAT(tfckpt::check_pipeline(tfckpt::collect(joined() | tfckpt::views::average({.weights = {0, 0, 0}}))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sum to 0")));
}

TEST_F(AverageTest, IntegersBoolsAndStringsFollowThePolicy) {
  auto out = tfckpt::collect(joined() | tfckpt::views::average());
  // Default: the last checkpoint's tensor, unchanged and still zero-copy.
  EXPECT_EQ(find(out, "global_step").stored, ckpts_[2]->find("global_step"));
  EXPECT_EQ(values_of<std::int64_t>(find(out, "global_step"))[0], 300);
  EXPECT_EQ(find(out, "graph").stored, ckpts_[2]->find("graph"));
  EXPECT_EQ(values_of<std::uint8_t>(find(out, "a_flag"))[0], 1);
  out = tfckpt::collect(joined() | tfckpt::views::average({.unaveraged = tfckpt::unaveraged_policy::first}));
  EXPECT_EQ(values_of<std::int64_t>(find(out, "global_step"))[0], 100);
  EXPECT_EQ(find(out, "graph").stored, ckpts_[0]->find("graph"));
  const absl::Status s =
      tfckpt::check_pipeline(tfckpt::collect(joined() | tfckpt::views::average({.unaveraged = tfckpt::unaveraged_policy::error})));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 problems")));
  EXPECT_THAT(s.message(), HasSubstr("'global_step' is int64, which is not averaged"));
  EXPECT_THAT(s.message(), HasSubstr("'graph' is string"));
  EXPECT_THAT(s.message(), HasSubstr("'a_flag' is bool"));
}

TEST_F(AverageTest, TheWrittenCheckpointVerifiesAndHoldsTheMeans) {
  ASSERT_OK(tfckpt::write_bundle(joined() | tfckpt::views::average(), dir_ / "avg"));
  ASSERT_OK_AND_ASSIGN(const auto avg, tfckpt::open(dir_ / "avg"));
  EXPECT_TRUE(avg.verify().ok());
  EXPECT_EQ(avg.size(), 8u);
  ASSERT_OK_AND_ASSIGN(const auto e, avg.find("exact")->values<float>());
  EXPECT_EQ(e[39], 40.0f);
  ASSERT_OK_AND_ASSIGN(const auto g, avg.find("graph")->strings());
  EXPECT_THAT(g, ElementsAre("graph of c"));
}

TEST(AverageComplex, RealAndImaginaryPartsAreAveraged) {
  tfckpt_testing::scratch_dir dir;
  for (int k = 0; k < 2; ++k)
    tfckpt_testing::write_bundle(dir / absl::StrFormat("c%d", k),
                                 {typed_tensor<std::complex<float>>("z", dtype::complex64, {2}, {{1.0f + k, -1.0f}, {0.5f, 2.0f * k}})});
  ASSERT_OK_AND_ASSIGN(const auto a, tfckpt::open(dir / "c0"));
  ASSERT_OK_AND_ASSIGN(const auto b, tfckpt::open(dir / "c1"));
  const auto out = tfckpt::collect(tfckpt::entries({&a, &b}) | tfckpt::views::average({.weights = {3, 1}}));
  ASSERT_OK(tfckpt::check_pipeline(out));
  EXPECT_THAT(values_of<std::complex<float>>(out[0]),
              ElementsAre(std::complex<float>(1.25f, -1.0f), std::complex<float>(0.5f, 0.5f)));
}

// Mismatches: a name missing from some checkpoints, a shape and a dtype that differ, a name twice in
// one checkpoint. All are reported at once, each naming every checkpoint involved.
TEST(AverageMismatch, EveryProblemIsReportedTogether) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "a", {float_tensor("w", {2, 3}, std::vector<float>(6, 1)), float_tensor("v", {2}, {1, 2}),
                                           float_tensor("only_a", {1}, {1}), float_tensor("ab", {1}, {1})});
  tfckpt_testing::write_bundle(dir / "b", {float_tensor("w", {3, 2}, std::vector<float>(6, 1)),
                                           typed_tensor<double>("v", dtype::float64, {2}, {1, 2}), float_tensor("ab", {1}, {2})});
  tfckpt_testing::write_bundle(dir / "c", {float_tensor("w", {2, 3}, std::vector<float>(6, 1)), float_tensor("v", {2}, {1, 2})});
  ASSERT_OK_AND_ASSIGN(const auto a, tfckpt::open(dir / "a"));
  ASSERT_OK_AND_ASSIGN(const auto b, tfckpt::open(dir / "b"));
  ASSERT_OK_AND_ASSIGN(const auto c, tfckpt::open(dir / "c"));
  const auto out = tfckpt::collect(tfckpt::entries({&a, &b, &c}) | tfckpt::views::average());
  const absl::Status s = tfckpt::check_pipeline(out);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("4 problems")));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat("'w' differs in dtype or shape across checkpoints: %s: float32 [2,3]; "
                                                     "%s: float32 [3,2]; %s: float32 [2,3]",
                                                     a.prefix(), b.prefix(), c.prefix())));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat("%s: float64 [2]", b.prefix())));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat("'only_a' is in 1 of 3 checkpoints, missing from %s, %s", b.prefix(), c.prefix())));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat("'ab' is in 2 of 3 checkpoints, missing from %s", c.prefix())));
  // The plan shows them too, and a dry run reads nothing.
  EXPECT_THAT(tfckpt::describe_plan(out), HasSubstr("ERROR: average: 'w' differs"));
  // allow_partial: averaged over the checkpoints that have the name.
  const auto partial = tfckpt::collect(tfckpt::entries({&a, &b, &c}) | tfckpt::views::filter(tfckpt::name_glob("*a*")) |
                                       tfckpt::views::average({.allow_partial = true}));
  ASSERT_OK(tfckpt::check_pipeline(partial));
  EXPECT_EQ(values_of<float>(find(partial, "ab"))[0], 1.5f);
  EXPECT_EQ(values_of<float>(find(partial, "only_a"))[0], 1.0f);
  EXPECT_EQ(find(partial, "ab").origins.size(), 2u);
  // The same checkpoint joined twice is fine (indices differ); a name twice under one index is not.
  std::vector<tfckpt::tensor> twice = tfckpt::collect(tfckpt::entries(a));
  twice.push_back(twice[0]);
  EXPECT_THAT(tfckpt::check_pipeline(tfckpt::collect(twice | tfckpt::views::average())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'ab' occurs twice in " + a.prefix())));
  // Computed members are read in ranges: a cast before the average is fine.
  const auto casted = tfckpt::collect(tfckpt::entries({&a, &c}) | tfckpt::views::filter(tfckpt::name_glob("v")) |
                                      tfckpt::views::cast(dtype::float16) | tfckpt::views::average());
  ASSERT_OK(tfckpt::check_pipeline(casted));
  ASSERT_EQ(casted.size(), 1u);
  EXPECT_EQ(casted[0].dtype, dtype::float16);
  const auto halves = values_of<Eigen::half>(casted[0]);
  ASSERT_EQ(halves.size(), 2u);
  EXPECT_EQ(static_cast<float>(halves[0]), 1.0f);
  EXPECT_EQ(static_cast<float>(halves[1]), 2.0f);
  // A producer-only member (user code) cannot be read piecewise: an error tensor naming it.
  auto produced = tfckpt::collect(tfckpt::entries({&a, &c}) | tfckpt::views::filter(tfckpt::name_glob("v")));
  produced[1].stored = nullptr;  // computed now
  produced[1].source = tfckpt::byte_source::from_producer(8, [](const tfckpt::byte_source::emit_fn& emit) {
    const float v[2] = {1, 2};
    return emit(std::as_bytes(std::span(v)));
  });
  EXPECT_THAT(tfckpt::check_pipeline(tfckpt::collect(produced | tfckpt::views::average())),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("producer-only byte source")));
}

// Laziness: every tensor but one lives in a shard that is deleted in all three checkpoints.
// Planning (collect, check, describe) reads nothing, and averaging the one readable tensor works.
TEST(AverageLaziness, OnlyKeptTensorsAreRead) {
  tfckpt_testing::scratch_dir dir;
  std::vector<std::unique_ptr<tfckpt::checkpoint>> ckpts;
  for (int k = 0; k < 3; ++k) {
    std::vector<tfckpt_testing::tensor_spec> tensors;
    for (int i = 0; i < 200; ++i) {
      auto t = float_tensor(absl::StrFormat("t%03d", i), {2}, {static_cast<float>(k), static_cast<float>(i)});
      t.shard = i == 42 ? 0 : 1;
      tensors.push_back(t);
    }
    const std::string prefix = (dir / absl::StrFormat("c%d", k)).string();
    tfckpt_testing::write_bundle(prefix, tensors, {.num_shards = 2});
    fs::remove(tfckpt::data_file_name(prefix, 1, 2));
    ASSERT_OK_AND_ASSIGN(auto c, tfckpt::open(prefix));
    ckpts.push_back(std::make_unique<tfckpt::checkpoint>(std::move(c)));
  }
  const auto planned = tfckpt::collect(tfckpt::entries({ckpts[0].get(), ckpts[1].get(), ckpts[2].get()}) | tfckpt::views::average());
  EXPECT_EQ(planned.size(), 200u);
  EXPECT_OK(tfckpt::check_pipeline(planned));
  EXPECT_THAT(tfckpt::describe_plan(planned), HasSubstr("t007  float32   [2]"));
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries({ckpts[0].get(), ckpts[1].get(), ckpts[2].get()}) |
                                     tfckpt::views::filter(tfckpt::name_glob("t042")) | tfckpt::views::average(),
                                 dir / "avg"));
  ASSERT_OK_AND_ASSIGN(const auto avg, tfckpt::open(dir / "avg"));
  ASSERT_OK_AND_ASSIGN(const auto v, avg.find("t042")->values<float>());
  EXPECT_THAT(std::vector<float>(v.begin(), v.end()), ElementsAre(1.0f, 42.0f));
  // Writing everything does need the missing shard: the error names the tensor, nothing is left.
  EXPECT_THAT(tfckpt::write_bundle(planned, dir / "all"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("'t000'")));
  EXPECT_FALSE(fs::exists(dir / "all.index"));
}

// Anonymous resident memory (heap, not the page cache behind mapped files), in bytes.
std::int64_t rss_anon() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::stoll(line.substr(8)) * 1024;
  return -1;
}

// Streaming: three 64 MiB tensors are averaged in 64 KiB chunks; heap use stays flat.
TEST(AverageMemory, ThreeLargeTensorsStreamInBoundedChunks) {
  constexpr std::int64_t kElements = 16 << 20;  // 64 MiB of float32
  tfckpt_testing::scratch_dir dir;
  std::vector<std::unique_ptr<tfckpt::checkpoint>> ckpts;
  for (int k = 0; k < 3; ++k) {
    // Written through a producer too, so that the test itself never holds a tensor.
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / absl::StrFormat("big%d", k), {.sync = false}));
    const auto gen = [k](const tfckpt::byte_source::emit_fn& emit) -> absl::Status {
      std::vector<float> buf(1 << 16);
      for (std::int64_t at = 0; at < kElements; at += static_cast<std::int64_t>(buf.size())) {
        for (std::size_t j = 0; j < buf.size(); ++j) buf[j] = static_cast<float>((at + static_cast<std::int64_t>(j)) % 4096 + k);
        TFCKPT_RETURN_IF_ERROR(emit({reinterpret_cast<const std::byte*>(buf.data()), buf.size() * 4}));
      }
      return absl::OkStatus();
    };
    const std::vector<std::int64_t> shape{kElements};
    ASSERT_OK(w.add("big", dtype::float32, shape, tfckpt::byte_source::from_producer(kElements * 4, gen)));
    ASSERT_OK(w.finish());
    ASSERT_OK_AND_ASSIGN(auto c, tfckpt::open(dir / absl::StrFormat("big%d", k)));
    ckpts.push_back(std::make_unique<tfckpt::checkpoint>(std::move(c)));
  }
  const auto out = tfckpt::collect(tfckpt::entries({ckpts[0].get(), ckpts[1].get(), ckpts[2].get()}) | tfckpt::views::average());
  ASSERT_EQ(out.size(), 1u);
  const std::int64_t before = rss_anon();
  ASSERT_GT(before, 0);
  std::int64_t peak = before;
  std::size_t chunks = 0, largest = 0;
  std::int64_t at = 0, wrong = 0;
  ASSERT_OK(out[0].source.stream([&](std::span<const std::byte> b) {
    ++chunks;
    largest = std::max(largest, b.size());
    for (std::size_t j = 0; j < b.size() / 4; ++j, ++at) {
      float x;
      std::memcpy(&x, b.data() + 4 * j, 4);
      wrong += x != static_cast<float>(at % 4096 + 1);
    }
    if (chunks % 64 == 1) peak = std::max(peak, rss_anon());
    return absl::OkStatus();
  }));
  EXPECT_EQ(at, kElements);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(chunks, static_cast<std::size_t>(kElements / 16384));
  EXPECT_EQ(largest, 16384u * 4);
  // The producer's buffers are a few chunk-sized arrays (< 1 MiB); a materialised tensor would be
  // 64 MiB (float32) or 128 MiB (a float64 accumulator). Under AddressSanitizer, checking each load
  // reads its shadow byte, one per 8 bytes read: where the kernel backs those reads with fresh pages
  // rather than its zero page (as some hosts do), the 192 MiB read add 24 MiB of anonymous memory.
  const std::int64_t shadow = tfckpt_testing::kAddressSanitizer ? 3 * kElements * 4 / 8 : 0;
  EXPECT_LT(peak - before, (8 << 20) + shadow) << "before " << before << ", peak " << peak;
}

// TensorFlow's own TF2 checkpoints: three steps of an actor-critic model with two Adam optimizers.
TEST(AverageFixtures, ThreeTf2CheckpointsOfTheA2cModel) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = tfckpt_testing::fixtures_dir() / "a2c_tf2_checkpoint_manager" / "training_checkpoints";
  if (!fs::exists(dir / "ckpt-9.index")) GTEST_SKIP() << "fixture a2c_tf2_checkpoint_manager not found in " << dir;
  ASSERT_OK_AND_ASSIGN(const auto c7, tfckpt::open(dir / "ckpt-7"));
  ASSERT_OK_AND_ASSIGN(const auto c8, tfckpt::open(dir / "ckpt-8"));
  ASSERT_OK_AND_ASSIGN(const auto c9, tfckpt::open(dir / "ckpt-9"));
  tfckpt_testing::scratch_dir out_dir;
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries({&c7, &c8, &c9}) | tfckpt::views::average(), out_dir / "avg"));
  ASSERT_OK_AND_ASSIGN(const auto avg, tfckpt::open(out_dir / "avg"));
  EXPECT_TRUE(avg.verify().ok());
  ASSERT_EQ(avg.size(), c9.size());
  int floats = 0, others = 0;
  for (std::size_t i = 0; i < avg.size(); ++i) {
    const tfckpt::entry& e = avg.entries()[i];
    const tfckpt::entry& in9 = c9.entries()[i];
    SCOPED_TRACE(std::string(e.name()));
    ASSERT_EQ(e.name(), in9.name());
    EXPECT_EQ(e.dtype(), in9.dtype());
    EXPECT_TRUE(std::ranges::equal(e.shape(), in9.shape()));
    if (e.dtype() == dtype::float32) {
      ++floats;
      ASSERT_OK_AND_ASSIGN(const auto got, e.values<float>());
      ASSERT_OK_AND_ASSIGN(const auto a, c7.find(e.name())->values<float>());
      ASSERT_OK_AND_ASSIGN(const auto b, c8.find(e.name())->values<float>());
      ASSERT_OK_AND_ASSIGN(const auto c, in9.values<float>());
      for (std::size_t j = 0; j < got.size(); ++j) {
        const float want = static_cast<float>((static_cast<long double>(a[j]) + b[j] + c[j]) / 3);
        ASSERT_LE(ulps(got[j], want), 1) << j;  // see Float32MeansMatchAnIndependentComputation
      }
    } else {
      // int64 counters (save_counter, optimizer iterations), the int32 episode counter and the
      // _CHECKPOINTABLE_OBJECT_GRAPH string: ckpt-9's bytes, as the default policy says.
      ++others;
      ASSERT_OK_AND_ASSIGN(const auto got, e.bytes());
      ASSERT_OK_AND_ASSIGN(const auto want, in9.bytes());
      EXPECT_TRUE(std::ranges::equal(got, want));
    }
  }
  EXPECT_EQ(floats, 62);
  EXPECT_EQ(others, 5);
  ASSERT_OK_AND_ASSIGN(const auto graph, avg.find("_CHECKPOINTABLE_OBJECT_GRAPH")->strings());
  ASSERT_OK_AND_ASSIGN(const auto graph9, c9.find("_CHECKPOINTABLE_OBJECT_GRAPH")->strings());
  EXPECT_EQ(graph, graph9);
}

}  // namespace

}  // namespace average_test
