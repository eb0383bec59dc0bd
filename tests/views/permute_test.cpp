// SPDX-License-Identifier: Apache-2.0
// views::permute / views::transpose: against a naive index-arithmetic reference for ranks 1-5 and
// every element size, reads of arbitrary sub-ranges, errors, laziness (a counting source), and
// composition with cast, byte-swapped entries, average and concat_by_group.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/views/average.hpp"
#include "tfckpt/views/cast.hpp"
#include "tfckpt/views/concat_by_group.hpp"
#include "tfckpt/views/permute.hpp"

namespace permute_test {

namespace {
using ::testing::HasSubstr;
using tfckpt::dtype;
using tfckpt_testing::StatusIs;

// The permuted bytes by index arithmetic: output element o (multi-index) is input element
// in[axes[0]] = o[0], ...
std::string reference_permute(const std::string& in, const std::vector<std::int64_t>& shape, const std::vector<int>& axes,
                              std::size_t es) {
  const std::size_t rank = shape.size();
  std::vector<std::int64_t> in_stride(rank, 1), out_shape(rank);
  for (std::size_t k = rank; k-- > 1;) in_stride[k - 1] = in_stride[k] * shape[k];
  for (std::size_t i = 0; i < rank; ++i) out_shape[i] = shape[static_cast<std::size_t>(axes[i])];
  const std::size_t n = in.size() / es;
  std::string out(in.size(), '\0');
  std::vector<std::int64_t> idx(rank, 0);
  for (std::size_t o = 0; o < n; ++o) {
    std::int64_t at = 0;
    for (std::size_t i = 0; i < rank; ++i) at += idx[i] * in_stride[static_cast<std::size_t>(axes[i])];
    std::memcpy(out.data() + o * es, in.data() + static_cast<std::size_t>(at) * es, es);
    for (std::size_t i = rank; i-- > 0;) {
      if (++idx[i] < out_shape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

std::string random_bytes(std::size_t n, std::mt19937& rng) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::size_t count_elements(const std::vector<std::int64_t>& shape) {
  return static_cast<std::size_t>(std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>()));
}

// A computed tensor: held in memory (contiguous) or, with `via_reader`, only readable through a
// reader (so the permutation takes its non-direct path).
tfckpt::tensor memory_tensor(std::string name, dtype type, std::vector<std::int64_t> shape, std::string bytes,
                             bool via_reader = false) {
  tfckpt::tensor t;
  t.name = std::move(name);
  t.dtype = type;
  t.shape = std::move(shape);
  if (via_reader) {
    auto held = std::make_shared<const std::string>(std::move(bytes));
    t.source = tfckpt::byte_source::from_reader(held->size(), [held](std::uint64_t offset, std::span<std::byte> out) {
      std::memcpy(out.data(), held->data() + offset, out.size());
      return absl::OkStatus();
    });
  } else {
    t.source = tfckpt::byte_source::from_bytes(std::move(bytes));
  }
  t.origins.push_back({"mem", 0, t.name});
  return t;
}

absl::StatusOr<std::string> drain(const tfckpt::tensor& t) {
  std::string out;
  absl::Status s = t.source.stream([&](std::span<const std::byte> b) {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> read_range(const tfckpt::tensor& t, std::uint64_t offset, std::size_t n) {
  std::string out(n, '\0');
  absl::Status s = t.source.read(offset, {reinterpret_cast<std::byte*>(out.data()), n});
  if (!s.ok()) return s;
  return out;
}

dtype dtype_of_size(std::size_t es) {
  switch (es) {
    case 1: return dtype::uint8;
    case 2: return dtype::float16;
    case 4: return dtype::float32;
    case 8: return dtype::int64;
    default: return dtype::complex128;
  }
}

// Every permutation of 0..rank-1 for small ranks; for larger ones a few, including the reversal.
std::vector<std::vector<int>> permutations_of(std::size_t rank, std::mt19937& rng) {
  std::vector<int> axes(rank);
  std::iota(axes.begin(), axes.end(), 0);
  std::vector<std::vector<int>> all;
  if (rank <= 3) {
    do all.push_back(axes);
    while (std::next_permutation(axes.begin(), axes.end()));
    return all;
  }
  all.push_back(std::vector<int>(axes.rbegin(), axes.rend()));
  for (int k = 0; k < 5; ++k) {
    std::shuffle(axes.begin(), axes.end(), rng);
    all.push_back(axes);
  }
  return all;
}

void check_against_reference(const std::vector<std::int64_t>& shape, const std::vector<int>& axes, std::size_t es,
                             std::uint64_t tile_bytes, bool via_reader, std::mt19937& rng) {
  SCOPED_TRACE(::testing::Message() << tfckpt::shape_string(shape) << " axes " << ::testing::PrintToString(axes) << " es " << es
                                    << " tile " << tile_bytes << (via_reader ? " reader" : " span"));
  const std::string in = random_bytes(count_elements(shape) * es, rng);
  const std::string want = reference_permute(in, shape, axes, es);
  const tfckpt::tensor t =
      tfckpt::permuted(memory_tensor("x", dtype_of_size(es), shape, in, via_reader), axes, tile_bytes);
  ASSERT_OK(t.status);
  std::vector<std::int64_t> out_shape;
  for (int a : axes) out_shape.push_back(shape[static_cast<std::size_t>(a)]);
  EXPECT_EQ(t.shape, out_shape);
  ASSERT_EQ(t.size(), in.size());
  ASSERT_OK_AND_ASSIGN(const std::string streamed, drain(t));
  EXPECT_TRUE(streamed == want);
  ASSERT_OK_AND_ASSIGN(const std::string whole, read_range(t, 0, want.size()));
  EXPECT_TRUE(whole == want);
  // Sub-ranges at arbitrary offsets: not on element or row boundaries.
  std::uniform_int_distribution<std::size_t> pick(0, want.size());
  for (int k = 0; k < 12 && !want.empty(); ++k) {
    std::size_t a = pick(rng), b = pick(rng);
    if (a > b) std::swap(a, b);
    ASSERT_OK_AND_ASSIGN(const std::string part, read_range(t, a, b - a));
    ASSERT_TRUE(part == want.substr(a, b - a)) << "bytes [" << a << ", " << b << ")";
  }
}

TEST(Permute, MatchesTheReferenceForRanksOneToFiveAndEveryElementSize) {
  std::mt19937 rng(7);
  const std::vector<std::vector<std::int64_t>> shapes = {
      {7},       {1, 13},      {13, 1},         {5, 7},       {31, 17},     {0, 4},         {4, 0},
      {3, 1, 5}, {2, 3, 4},    {7, 11, 2},      {1, 1, 1},    {2, 0, 3},    {2, 3, 5, 7},   {3, 1, 4, 2},
      {1, 5, 1, 3}, {2, 3, 2, 3, 2}, {3, 2, 1, 5, 2}};
  for (const auto& shape : shapes)
    for (const auto& axes : permutations_of(shape.size(), rng))
      for (const std::size_t es : {1u, 2u, 4u, 8u, 16u}) {
        check_against_reference(shape, axes, es, 1 << 20, false, rng);
        check_against_reference(shape, axes, es, 48, true, rng);  // tiny tiles, reads through the source
      }
}

TEST(Permute, LargeTransposeInSmallTilesMatchesTheReference) {
  std::mt19937 rng(11);
  for (const std::uint64_t tile : {std::uint64_t{1}, std::uint64_t{4096}, std::uint64_t{1} << 20}) {
    check_against_reference({257, 131}, {1, 0}, 4, tile, false, rng);
    check_against_reference({3, 97, 61}, {0, 2, 1}, 2, tile, true, rng);
    check_against_reference({5, 6, 7, 8}, {3, 2, 0, 1}, 4, tile, false, rng);
  }
}

TEST(Permute, ProblemsBecomeErrorTensorsNamingTheTensorShapeAndAxes) {
  const auto t = memory_tensor("dense/kernel", dtype::float32, {2, 3}, std::string(24, '\1'));
  const auto rank = tfckpt::permuted(t, std::vector<int>{0, 2, 1});
  EXPECT_THAT(rank.status, StatusIs(absl::StatusCode::kInvalidArgument,
                                    HasSubstr("permute of 'dense/kernel' [2,3] by axes {0, 2, 1}: 3 axes for a tensor of rank 2")));
  EXPECT_EQ(rank.shape, t.shape);
  EXPECT_THAT(tfckpt::permuted(t, std::vector<int>{1, 1}).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a permutation of 0..1")));
  EXPECT_THAT(tfckpt::permuted(t, std::vector<int>{-1, 0}).status, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  tfckpt::tensor s;
  s.name = "vocab";
  s.dtype = dtype::string;
  s.shape = {2, 2};
  s.source = tfckpt::byte_source::from_bytes("whatever");
  EXPECT_THAT(tfckpt::permuted(s, std::vector<int>{1, 0}).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'vocab' [2,2] by axes {1, 0}")));
  auto wrong_size = memory_tensor("w", dtype::float32, {2, 3}, std::string(20, '\0'));
  EXPECT_THAT(tfckpt::permuted(wrong_size, std::vector<int>{1, 0}).status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not match its 20 bytes")));
  // An error tensor passes as it is.
  tfckpt::tensor bad = t;
  bad.status = absl::NotFoundError("upstream");
  EXPECT_THAT(tfckpt::permuted(bad, std::vector<int>{1, 0}).status, StatusIs(absl::StatusCode::kNotFound, ::testing::Eq("upstream")));
}

TEST(Permute, UnselectedAndIdentityTensorsPassUnchangedZeroCopy) {
  std::vector<tfckpt::tensor> in{memory_tensor("a/kernel", dtype::float32, {2, 3}, std::string(24, '\2')),
                                 memory_tensor("a/bias", dtype::float32, {3}, std::string(12, '\3'))};
  const auto* kernel_bytes = in[0].source.contiguous()->data();
  const auto* bias_bytes = in[1].source.contiguous()->data();
  const auto out = tfckpt::collect(in | tfckpt::views::transpose({.select = [](const tfckpt::tensor& t) { return t.shape.size() == 2; }}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_FALSE(out[0].source.contiguous().has_value());
  ASSERT_TRUE(out[1].source.contiguous().has_value());
  EXPECT_EQ(out[1].source.contiguous()->data(), bias_bytes);
  const auto same = tfckpt::permuted(in[0], std::vector<int>{0, 1});
  ASSERT_TRUE(same.source.contiguous().has_value());
  EXPECT_EQ(same.source.contiguous()->data(), kernel_bytes);
  // Moving only size-1 axes keeps the bytes where they are.
  const auto moved = tfckpt::permuted(memory_tensor("v", dtype::float32, {1, 4}, std::string(16, '\4')), std::vector<int>{1, 0});
  EXPECT_EQ(moved.shape, (std::vector<std::int64_t>{4, 1}));
  EXPECT_TRUE(moved.source.contiguous().has_value());
  // transpose() without select applies to every tensor: the rank-1 one is an error.
  const auto all = tfckpt::collect(in | tfckpt::views::transpose());
  EXPECT_THAT(all[1].status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 axes for a tensor of rank 1")));
}

// A reader that counts what it is asked for.
struct counting_source {
  std::shared_ptr<const std::string> bytes;
  std::shared_ptr<std::uint64_t> calls = std::make_shared<std::uint64_t>(0);
  std::shared_ptr<std::uint64_t> read_bytes = std::make_shared<std::uint64_t>(0);
  tfckpt::byte_source source() const {
    return tfckpt::byte_source::from_reader(bytes->size(), [*this](std::uint64_t offset, std::span<std::byte> out) {
      ++*calls;
      *read_bytes += out.size();
      std::memcpy(out.data(), bytes->data() + offset, out.size());
      return absl::OkStatus();
    });
  }
};

TEST(Permute, ReadsNothingAtConstructionAndOnlyTheRangesItNeeds) {
  std::mt19937 rng(3);
  const std::int64_t rows = 300, cols = 200;
  counting_source counter{std::make_shared<const std::string>(random_bytes(rows * cols * 4, rng))};
  std::vector<tfckpt::tensor> in(1);
  in[0].name = "w";
  in[0].dtype = dtype::float32;
  in[0].shape = {rows, cols};
  in[0].source = counter.source();
  auto view = in | tfckpt::views::permute({1, 0}, {.tile_bytes = 4096});
  const auto out = tfckpt::collect(view);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_OK(out[0].status);
  EXPECT_EQ(*counter.calls, 0u);
  const std::string want = reference_permute(*counter.bytes, {rows, cols}, {1, 0}, 4);
  // Output rows 5 and 6 (input columns 5 and 6): exactly those 2 x 300 elements are read.
  ASSERT_OK_AND_ASSIGN(const std::string two_rows, read_range(out[0], 5 * rows * 4, 2 * rows * 4));
  EXPECT_TRUE(two_rows == want.substr(5 * rows * 4, 2 * rows * 4));
  EXPECT_EQ(*counter.read_bytes, 2u * rows * 4);
  // Three bytes inside one element: that element only.
  *counter.read_bytes = 0;
  ASSERT_OK_AND_ASSIGN(const std::string three, read_range(out[0], 1001 * 4 + 1, 3));
  EXPECT_EQ(three, want.substr(1001 * 4 + 1, 3));
  EXPECT_EQ(*counter.read_bytes, 4u);
  // Streaming reads the input exactly once.
  *counter.read_bytes = 0;
  ASSERT_OK_AND_ASSIGN(const std::string all, drain(out[0]));
  EXPECT_TRUE(all == want);
  EXPECT_EQ(*counter.read_bytes, counter.bytes->size());
}

// ---- composition, on checkpoints written for the test ----

std::string big_endian_header() {
  tensorflow::BundleHeaderProto h;
  h.set_num_shards(1);
  h.set_endianness(tensorflow::BundleHeaderProto::BIG);
  h.mutable_version()->set_producer(1);
  return h.SerializeAsString();
}

template <class T>
std::vector<T> transposed(const std::vector<T>& v, std::size_t rows, std::size_t cols) {
  std::vector<T> t(v.size());
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) t[c * rows + r] = v[r * cols + c];
  return t;
}

std::vector<float> ramp(std::size_t n, float scale) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(i) - 7.25f;
  return v;
}

TEST(PermuteComposition, PermuteOfACastOfASwappedBigEndianEntry) {
  tfckpt_testing::scratch_dir dir;
  const std::size_t rows = 37, cols = 23;
  std::vector<double> values(rows * cols);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.5 * static_cast<double>(i) - 100.0;
  std::vector<double> stored = values;  // as a big-endian writer stores them
  for (double& d : stored) d = std::bit_cast<double>(__builtin_bswap64(std::bit_cast<std::uint64_t>(d)));
  tfckpt_testing::build_options o;
  o.raw_header = big_endian_header();
  tfckpt_testing::write_bundle(dir / "be", {tfckpt_testing::typed_tensor("w", dtype::float64, {rows, cols}, stored)}, o);
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "be"));
  ASSERT_FALSE(ckpt.entries()[0].bytes_in_host_order());

  const auto out = tfckpt::collect(tfckpt::entries(ckpt) | tfckpt::views::cast(dtype::float32) |
                                   tfckpt::views::permute({1, 0}, {.tile_bytes = 256}));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_OK(out[0].status);
  EXPECT_EQ(out[0].stored, nullptr);
  EXPECT_EQ(out[0].origins, (tfckpt::tensor_origins{{(dir / "be").string(), 0, "w"}}));
  std::vector<float> as_float(values.begin(), values.end());
  const auto want = transposed(as_float, rows, cols);
  const std::string want_bytes(reinterpret_cast<const char*>(want.data()), want.size() * 4);
  ASSERT_OK_AND_ASSIGN(const std::string streamed, drain(out[0]));
  EXPECT_TRUE(streamed == want_bytes);
  ASSERT_OK_AND_ASSIGN(const std::string part, read_range(out[0], 333, 1001));
  EXPECT_TRUE(part == want_bytes.substr(333, 1001));
  // The swapped entry itself reads any range, starting and ending inside elements.
  const tfckpt::tensor raw = tfckpt::to_tensor(ckpt.entries()[0], "be");
  ASSERT_OK_AND_ASSIGN(const std::string host, read_range(raw, 5, 50));
  EXPECT_EQ(host, std::string(reinterpret_cast<const char*>(values.data()) + 5, 50));
}

// A big-endian string tensor reads in ranges as its host-order encoding (lengths, checksum, bytes).
TEST(PermuteComposition, BigEndianStringEntriesReadRangesInHostOrder) {
  tfckpt_testing::scratch_dir dir;
  const std::vector<std::string_view> elements{"ab", "", "xyz"};
  tfckpt_testing::tensor_spec names;
  names.name = "names";
  names.dtype = dtype::string;
  names.shape = {3};
  names.data = tfckpt::codec::encode_string_tensor(elements, tfckpt::byte_order::big);
  tfckpt_testing::build_options o;
  o.raw_header = big_endian_header();
  tfckpt_testing::write_bundle(dir / "be", {names}, o);
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "be"));
  const tfckpt::tensor t = tfckpt::to_tensor(ckpt.entries()[0], "be");
  const std::string host = tfckpt::codec::encode_string_tensor(elements, tfckpt::host_byte_order);
  ASSERT_EQ(t.size(), host.size());
  for (std::size_t offset = 0; offset < host.size(); offset += 3) {
    ASSERT_OK_AND_ASSIGN(const std::string part, read_range(t, offset, host.size() - offset));
    EXPECT_EQ(part, host.substr(offset)) << offset;
  }
}

TEST(PermuteComposition, AverageOfPermutedMembers) {
  tfckpt_testing::scratch_dir dir;
  const auto a = ramp(6 * 5, 1.0f), b = ramp(6 * 5, 3.0f);
  tfckpt_testing::write_bundle(dir / "a", {tfckpt_testing::float_tensor("w", {6, 5}, a)});
  tfckpt_testing::write_bundle(dir / "b", {tfckpt_testing::float_tensor("w", {6, 5}, b)});
  ASSERT_OK_AND_ASSIGN(const auto ca, tfckpt::open(dir / "a"));
  ASSERT_OK_AND_ASSIGN(const auto cb, tfckpt::open(dir / "b"));
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries({&ca, &cb}) | tfckpt::views::transpose() | tfckpt::views::average(), dir / "avg"));
  ASSERT_OK_AND_ASSIGN(const auto avg, tfckpt::open(dir / "avg"));
  ASSERT_EQ(avg.entries().size(), 1u);
  EXPECT_EQ(std::vector<std::int64_t>(avg.entries()[0].shape().begin(), avg.entries()[0].shape().end()),
            (std::vector<std::int64_t>{5, 6}));
  ASSERT_OK_AND_ASSIGN(const auto got, avg.entries()[0].values<float>());
  std::vector<float> mean(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) mean[i] = static_cast<float>((static_cast<double>(a[i]) + b[i]) / 2);
  EXPECT_EQ(std::vector<float>(got.begin(), got.end()), transposed(mean, 6, 5));
  // The averaged tensor reads any range of itself, ends inside elements included.
  const auto planned = tfckpt::collect(tfckpt::entries({&ca, &cb}) | tfckpt::views::transpose() | tfckpt::views::average());
  ASSERT_EQ(planned.size(), 1u);
  const auto want = transposed(mean, 6, 5);
  const std::string want_bytes(reinterpret_cast<const char*>(want.data()), want.size() * 4);
  ASSERT_OK_AND_ASSIGN(const std::string part, read_range(planned[0], 6, 97));
  EXPECT_TRUE(part == want_bytes.substr(6, 97));
}

TEST(PermuteComposition, ConcatOfComputedMembersAlongEitherAxis) {
  tfckpt_testing::scratch_dir dir;
  const auto a = ramp(4 * 3, 1.0f), b = ramp(4 * 3, -2.0f);
  tfckpt_testing::write_bundle(dir / "a", {tfckpt_testing::float_tensor("out0/w", {4, 3}, a)});
  tfckpt_testing::write_bundle(dir / "b", {tfckpt_testing::float_tensor("out1/w", {4, 3}, b)});
  ASSERT_OK_AND_ASSIGN(const auto ca, tfckpt::open(dir / "a"));
  ASSERT_OK_AND_ASSIGN(const auto cb, tfckpt::open(dir / "b"));
  const auto ta = transposed(a, 4, 3), tb = transposed(b, 4, 3);  // [3, 4] each
  for (const int axis : {0, 1}) {
    SCOPED_TRACE(axis);
    const auto out = tfckpt::collect(tfckpt::entries({&ca, &cb}) | tfckpt::views::transpose() |
                                     tfckpt::views::concat_by_group(tfckpt::group_by_regex(R"(^out\d+/w$)", "out/w"), {.axis = axis}));
    ASSERT_EQ(out.size(), 1u);
    ASSERT_OK(out[0].status);
    std::vector<float> want;
    if (axis == 0) {
      want = ta;
      want.insert(want.end(), tb.begin(), tb.end());
      EXPECT_EQ(out[0].shape, (std::vector<std::int64_t>{6, 4}));
    } else {
      for (std::size_t r = 0; r < 3; ++r) {
        want.insert(want.end(), ta.begin() + r * 4, ta.begin() + r * 4 + 4);
        want.insert(want.end(), tb.begin() + r * 4, tb.begin() + r * 4 + 4);
      }
      EXPECT_EQ(out[0].shape, (std::vector<std::int64_t>{3, 8}));
    }
    const std::string want_bytes(reinterpret_cast<const char*>(want.data()), want.size() * 4);
    ASSERT_OK_AND_ASSIGN(const std::string streamed, drain(out[0]));
    EXPECT_TRUE(streamed == want_bytes);
    for (const auto& [offset, n] : std::vector<std::pair<std::size_t, std::size_t>>{{0, 96}, {1, 94}, {17, 30}, {50, 3}}) {
      ASSERT_OK_AND_ASSIGN(const std::string part, read_range(out[0], offset, n));
      EXPECT_TRUE(part == want_bytes.substr(offset, n)) << offset << "+" << n;
    }
  }
}

// Mapped checkpoint entries: long input runs are read with pread, short ones copied from the
// mapping; streamed and in sub-ranges, both give the reference's bytes.
TEST(PermuteComposition, StoredEntriesMatchTheReferenceWhateverTheRunLength) {
  tfckpt_testing::scratch_dir dir;
  std::mt19937 rng(5);
  const std::vector<std::pair<std::vector<std::int64_t>, std::vector<int>>> cases = {
      {{600, 500}, {1, 0}},            // rows of 2000 bytes: long runs, by pread
      {{5000, 3}, {1, 0}},             // rows of 12 bytes: copied from the mapping
      {{3, 40, 70, 9}, {3, 2, 0, 1}},  // HWIO -> OIHW
      {{64, 2, 300}, {2, 1, 0}}};
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto& [shape, axes] = cases[c];
    SCOPED_TRACE(tfckpt::shape_string(shape));
    const std::string in = random_bytes(count_elements(shape) * 4, rng);
    const std::string want = reference_permute(in, shape, axes, 4);
    tfckpt_testing::tensor_spec spec;
    spec.name = "t";
    spec.shape = shape;
    spec.data = in;
    const auto prefix = dir / ("c" + std::to_string(c));
    tfckpt_testing::write_bundle(prefix, {spec});
    ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(prefix));
    const auto permuted = tfckpt::collect(tfckpt::entries(ckpt) | tfckpt::views::permute(axes));
    ASSERT_EQ(permuted.size(), 1u);
    ASSERT_OK_AND_ASSIGN(const std::string streamed, drain(permuted[0]));
    EXPECT_TRUE(streamed == want);
    std::uniform_int_distribution<std::size_t> pick(0, want.size());
    for (int k = 0; k < 8; ++k) {
      std::size_t a = pick(rng), b = pick(rng);
      if (a > b) std::swap(a, b);
      ASSERT_OK_AND_ASSIGN(const std::string part, read_range(permuted[0], a, b - a));
      ASSERT_TRUE(part == want.substr(a, b - a)) << "bytes [" << a << ", " << b << ")";
    }
  }
}

TEST(PermuteComposition, APipelineWritesTheTransposedValues) {
  tfckpt_testing::scratch_dir dir;
  const auto kernel = ramp(64 * 48, 0.25f);
  const auto conv = ramp(3 * 3 * 4 * 5, 1.0f);  // HWIO
  const auto bias = ramp(48, 2.0f);
  tfckpt_testing::write_bundle(dir / "in", {tfckpt_testing::float_tensor("dense/kernel", {64, 48}, kernel),
                                            tfckpt_testing::float_tensor("dense/bias", {48}, bias),
                                            tfckpt_testing::float_tensor("conv/kernel", {3, 3, 4, 5}, conv)});
  ASSERT_OK_AND_ASSIGN(const auto in, tfckpt::open(dir / "in"));
  const auto is = [](std::string name) { return [name](const tfckpt::tensor& t) { return t.name == name; }; };
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(in) | tfckpt::views::transpose({.select = is("dense/kernel"), .tile_bytes = 1000}) |
                                     tfckpt::views::permute({3, 2, 0, 1}, {.select = is("conv/kernel")}),
                                 dir / "out"));
  ASSERT_OK_AND_ASSIGN(const auto out, tfckpt::open(dir / "out"));
  EXPECT_TRUE(out.verify().ok());
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* k, out.get("dense/kernel"));
  EXPECT_EQ(std::vector<std::int64_t>(k->shape().begin(), k->shape().end()), (std::vector<std::int64_t>{48, 64}));
  ASSERT_OK_AND_ASSIGN(const auto kv, k->values<float>());
  EXPECT_EQ(std::vector<float>(kv.begin(), kv.end()), transposed(kernel, 64, 48));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* c, out.get("conv/kernel"));
  EXPECT_EQ(std::vector<std::int64_t>(c->shape().begin(), c->shape().end()), (std::vector<std::int64_t>{5, 4, 3, 3}));
  ASSERT_OK_AND_ASSIGN(const auto cv, c->values<float>());
  const std::string conv_bytes(reinterpret_cast<const char*>(conv.data()), conv.size() * 4);
  const std::string want = reference_permute(conv_bytes, {3, 3, 4, 5}, {3, 2, 0, 1}, 4);
  EXPECT_TRUE(std::string(reinterpret_cast<const char*>(cv.data()), cv.size() * 4) == want);
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* b, out.get("dense/bias"));
  ASSERT_OK_AND_ASSIGN(const auto bv, b->values<float>());
  EXPECT_EQ(std::vector<float>(bv.begin(), bv.end()), bias);
}

}  // namespace

}  // namespace permute_test
