// SPDX-License-Identifier: Apache-2.0
// Partitioned (sliced) tensors, spec/FORMAT.md §3.7: a full entry carrying `slices` and no data,
// plus one stored entry per slice under an OrderedCode key. The fixtures have none (MANIFEST
// "Gaps"), so these bundles are written the way TensorFlow's BundleWriter::AddSlice writes them,
// with LevelDB's TableBuilder and the generated protos (tests/testing/bundle_builder.hpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"

namespace partitioned_test {

namespace {

namespace codec = tfckpt::codec;
namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::tfckpt_testing::float_tensor;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::StatusIs;
using ::tfckpt_testing::tensor_spec;
using ::tfckpt_testing::typed_tensor;
using ::tfckpt_testing::write_bundle;
using extents = std::vector<codec::slice_extent>;

std::string hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += absl::StrFormat("%s%02x", out.empty() ? "" : " ", c);
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Restart interval 1: every index entry is stored whole, so its offset can be found by search.
tfckpt_testing::build_options small_options() {
  tfckpt_testing::build_options o;
  o.restart_interval = 1;
  return o;
}

/// The offset of `key`'s entry in an index written with small_options(), found in the raw bytes.
std::uint64_t entry_offset(const fs::path& index, const std::string& key) {
  const std::string bytes = read_file(index);
  for (std::size_t at = bytes.find(key); at != std::string::npos; at = bytes.find(key, at + 1))
    if (at >= 3 && bytes[at - 3] == '\0' && static_cast<unsigned char>(bytes[at - 2]) == key.size()) return at - 3;
  ADD_FAILURE() << "no entry for " << key;
  return 0;
}

/// The full-tensor entry of a partitioned variable: dtype, shape and slices, no data.
tensor_spec full_entry(std::string name, tfckpt::dtype dtype, std::vector<std::int64_t> shape,
                       std::vector<extents> slices) {
  tensor_spec t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.slices = std::move(slices);
  return t;
}

/// The stored entry of one slice, under its encoded key.
template <class T>
tensor_spec slice_entry(const std::string& name, tfckpt::dtype dtype, const extents& ext,
                        std::vector<std::int64_t> slice_shape, const std::vector<T>& values) {
  return typed_tensor<T>(codec::encode_tensor_slice_key(name, ext), dtype, std::move(slice_shape), values);
}

/// Row-major values of a [rows, cols] block of the matrix m(r, c) = f(r, c).
template <class T, class F>
std::vector<T> block(std::int64_t r0, std::int64_t rows, std::int64_t c0, std::int64_t cols, F f) {
  std::vector<T> out;
  for (std::int64_t r = r0; r < r0 + rows; ++r)
    for (std::int64_t c = c0; c < c0 + cols; ++c) out.push_back(f(r, c));
  return out;
}

float w_value(std::int64_t r, std::int64_t c) { return static_cast<float>(r * 4 + c) + 0.5f; }

/// `w` [10,4] saved as two parts 0,5:0,4 and 5,5:0,4 (spec §3.7 worked example). The second part
/// is written first to the data file, so offsets, not order, must be followed.
std::vector<tensor_spec> partitioned_w() {
  const extents top = {{0, 5}, {0, 4}}, bottom = {{5, 5}, {0, 4}};
  return {full_entry("w", tfckpt::dtype::float32, {10, 4}, {top, bottom}),
          slice_entry<float>("w", tfckpt::dtype::float32, bottom, {5, 4}, block<float>(5, 5, 0, 4, w_value)),
          slice_entry<float>("w", tfckpt::dtype::float32, top, {5, 4}, block<float>(0, 5, 0, 4, w_value)),
          float_tensor("v", {2}, {7, 8})};
}

// --- Keys ---

TEST(SliceKey, SpecWorkedExample) {
  const extents top = {{0, 5}, {0, 4}}, bottom = {{5, 5}, {0, 4}};
  EXPECT_EQ(hex(codec::encode_tensor_slice_key("w", top)), "00 77 00 01 01 02 80 85 80 84");
  EXPECT_EQ(hex(codec::encode_tensor_slice_key("w", bottom)), "00 77 00 01 01 02 85 85 80 84");
  // A full extent encodes as start 0, length -1.
  EXPECT_EQ(hex(codec::encode_tensor_slice_key("w", extents{{0, -1}, {2, 4}})), "00 77 00 01 01 02 80 7f 82 84");
  // Names with 0x00 and 0xff bytes are escaped.
  EXPECT_EQ(hex(codec::encode_tensor_slice_key(std::string("a\0\xff", 3), extents{})), "00 61 00 ff ff 00 00 01 00");
}

TEST(SliceKey, SpecWorkedExampleFullEntry) {
  // The full entry bytes the builder writes equal the spec's, so the bundles below are TF's.
  const tensor_spec w = partitioned_w()[0];
  EXPECT_EQ(hex(tfckpt_testing::entry_record(w, 0)),
            "08 01 12 08 12 02 08 0a 12 02 08 04 3a 08 0a 02 10 05 0a 02 10 04 3a 0a 0a 04 08 05 10 05 0a 02 10 04");
}

TEST(SliceKey, OrderedSignedNumSpecExamples) {
  const std::vector<std::pair<std::int64_t, std::string>> examples = {
      {64, "c0 40"},   {300, "c1 2c"}, {-300, "3e d4"}, {0x424242, "f0 42 42 42"}, {-0x800, "38 00"},
      {0, "80"},       {5, "85"},      {-1, "7f"},      {63, "bf"},               {-64, "40"},
  };
  for (const auto& [v, bytes] : examples) {
    std::string out;
    codec::put_ordered_signed_num(out, v);
    EXPECT_EQ(hex(out), bytes) << v;
  }
}

TEST(SliceKey, OrderedSignedNumPreservesOrder) {
  // Encodings compare bytewise as the numbers do, across every length boundary.
  std::vector<std::int64_t> values = {INT64_MIN, INT64_MIN + 1, -(std::int64_t{1} << 62), -1000000, -8193, -8192,
                                      -65, -64, -1, 0, 1, 63, 64, 8191, 8192, 1000000, std::int64_t{1} << 62,
                                      INT64_MAX - 1, INT64_MAX};
  for (int shift = 6; shift < 63; ++shift) {
    values.push_back((std::int64_t{1} << shift) - 1);
    values.push_back(std::int64_t{1} << shift);
    values.push_back(-(std::int64_t{1} << shift));
    values.push_back(-(std::int64_t{1} << shift) - 1);
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  for (std::size_t i = 1; i < values.size(); ++i) {
    std::string a, b;
    codec::put_ordered_signed_num(a, values[i - 1]);
    codec::put_ordered_signed_num(b, values[i]);
    EXPECT_LT(a, b) << values[i - 1] << " vs " << values[i];
    EXPECT_LE(b.size(), 10u);
  }
}

// --- Reading ---

TEST(Partitioned, TwoRowBlocksAssemble) {
  scratch_dir dir;
  write_bundle(dir / "m", partitioned_w());
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  // Slice entries are hidden; `w` appears once with its full shape.
  ASSERT_EQ(ckpt.size(), 2u);
  EXPECT_EQ(ckpt.entries()[0].name(), "v");
  EXPECT_EQ(ckpt.entries()[1].name(), "w");
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* w, ckpt.get("w"));
  EXPECT_TRUE(w->is_partitioned());
  EXPECT_EQ(w->num_slices(), 2u);
  EXPECT_EQ(w->dtype(), tfckpt::dtype::float32);
  EXPECT_THAT(w->shape(), ElementsAreArray({10, 4}));
  EXPECT_EQ(w->num_elements(), 40);
  EXPECT_EQ(w->size(), 160u);
  EXPECT_EQ(ckpt.find(codec::encode_tensor_slice_key("w", extents{{0, 5}, {0, 4}})), nullptr);

  ASSERT_OK_AND_ASSIGN(auto values, w->values<float>());
  EXPECT_THAT(values.span(), ElementsAreArray(block<float>(0, 10, 0, 4, w_value)));
  EXPECT_THAT(values.shape(), ElementsAreArray({10, 4}));
  ASSERT_OK_AND_ASSIGN(auto bytes, w->bytes());
  EXPECT_EQ(bytes.size(), 160u);
  ASSERT_OK_AND_ASSIGN(auto again, w->bytes());  // assembled once, cached
  EXPECT_EQ(again.data(), bytes.data());
  EXPECT_OK(w->verify());
  EXPECT_TRUE(ckpt.verify().ok());
  EXPECT_EQ(ckpt.verify().tensors_checked, 3u);  // v and the two stored slices
}

TEST(Partitioned, ThreeDimensionsAlongTheMiddleAxisWithFullExtents) {
  // t [2,6,3] split along axis 1 into 0,2 and 2,4; axes 0 and 2 are "full" (empty Extent, -1).
  const auto f = [](std::int64_t i, std::int64_t j, std::int64_t k) { return static_cast<double>(i * 100 + j * 10 + k); };
  const auto part = [&](std::int64_t j0, std::int64_t nj) {
    std::vector<double> out;
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = j0; j < j0 + nj; ++j)
        for (std::int64_t k = 0; k < 3; ++k) out.push_back(f(i, j, k));
    return out;
  };
  const extents a = {{0, -1}, {0, 2}, {0, -1}}, b = {{0, -1}, {2, 4}, {0, -1}};
  EXPECT_EQ(hex(codec::encode_tensor_slice_key("t", b)), "00 74 00 01 01 03 80 7f 82 84 80 7f");
  scratch_dir dir;
  write_bundle(dir / "m", {full_entry("t", tfckpt::dtype::float64, {2, 6, 3}, {b, a}),
                           slice_entry<double>("t", tfckpt::dtype::float64, a, {2, 2, 3}, part(0, 2)),
                           slice_entry<double>("t", tfckpt::dtype::float64, b, {2, 4, 3}, part(2, 4))});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_EQ(ckpt.size(), 1u);
  const tfckpt::entry& t = ckpt.entries()[0];
  EXPECT_TRUE(t.is_partitioned());
  EXPECT_THAT(t.shape(), ElementsAreArray({2, 6, 3}));
  ASSERT_OK_AND_ASSIGN(auto values, t.values<double>());
  EXPECT_THAT(values.span(), ElementsAreArray(part(0, 6)));
  EXPECT_OK(t.verify());
}

TEST(Partitioned, Int64ColumnsWithExplicitExtents) {
  // x [4,3] int64 split into columns 0,1 and 1,2, with the TF1 habit of explicit (0, 4) rows.
  const auto f = [](std::int64_t r, std::int64_t c) { return (std::int64_t{1} << 40) + r * 3 + c; };
  const extents left = {{0, 4}, {0, 1}}, right = {{0, 4}, {1, 2}};
  scratch_dir dir;
  write_bundle(dir / "m", {full_entry("x", tfckpt::dtype::int64, {4, 3}, {left, right}),
                           slice_entry<std::int64_t>("x", tfckpt::dtype::int64, right, {4, 2},
                                                     block<std::int64_t>(0, 4, 1, 2, f)),
                           slice_entry<std::int64_t>("x", tfckpt::dtype::int64, left, {4, 1},
                                                     block<std::int64_t>(0, 4, 0, 1, f))});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* x, ckpt.get("x"));
  ASSERT_OK_AND_ASSIGN(auto values, x->values<std::int64_t>());
  EXPECT_THAT(values.span(), ElementsAreArray(block<std::int64_t>(0, 4, 0, 3, f)));
  EXPECT_OK(x->verify());
}

TEST(Partitioned, CorruptSliceIsCaughtByVerify) {
  scratch_dir dir;
  auto tensors = partitioned_w();
  tensors[1].masked_crc_override = 0x12345678;  // the bottom slice's stored CRC is wrong
  write_bundle(dir / "m", tensors);
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* w, ckpt.get("w"));
  EXPECT_THAT(w->verify(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum mismatch")));
  EXPECT_EQ(ckpt.verify().problems.size(), 1u);
}

// --- Errors ---

TEST(PartitionedErrors, MissingSliceEntry) {
  scratch_dir dir;
  auto tensors = partitioned_w();
  tensors.erase(tensors.begin() + 1);  // the bottom slice's data entry
  write_bundle(dir / "m", tensors, small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrFormat("%s @%d: slice 1 of this partitioned tensor has no stored entry for key 'w'",
                                                 index, entry_offset(index, "w")))));
}

TEST(PartitionedErrors, SlicesNotCoveringTheTensor) {
  scratch_dir dir;
  auto tensors = partitioned_w();
  tensors[0].slices.pop_back();  // only rows 0-4 are listed
  write_bundle(dir / "m", tensors, small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrFormat("%s @%d: slices hold 20 elements, but shape [10,4] has 40 for key 'w'",
                                                 index, entry_offset(index, "w")))));
}

TEST(PartitionedErrors, OverlappingSlicesWithTheRightTotalAreRejected) {
  // Rows 0-5 and 4-7: 24 + 16 = 40 elements, as many as [10,4] has, yet rows 8-9 are missing.
  const extents a = {{0, 6}, {0, 4}}, b = {{4, 4}, {0, 4}};
  scratch_dir dir;
  write_bundle(dir / "m",
               {full_entry("w", tfckpt::dtype::float32, {10, 4}, {a, b}),
                slice_entry<float>("w", tfckpt::dtype::float32, a, {6, 4}, block<float>(0, 6, 0, 4, w_value)),
                slice_entry<float>("w", tfckpt::dtype::float32, b, {4, 4}, block<float>(4, 4, 0, 4, w_value))},
               small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrFormat("%s @%d: ", index, entry_offset(index, "w"))),
                             HasSubstr("overlap"), HasSubstr("for key 'w'"))));
  // The same slice listed twice (as MergeBundles would append a duplicate): 20 + 20 = 40.
  const extents top = {{0, 5}, {0, 4}};
  write_bundle(dir / "m",
               {full_entry("w", tfckpt::dtype::float32, {10, 4}, {top, top}),
                slice_entry<float>("w", tfckpt::dtype::float32, top, {5, 4}, block<float>(0, 5, 0, 4, w_value))},
               small_options());
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr("overlap"), HasSubstr("for key 'w'"))));
}

TEST(PartitionedErrors, ManyHugeSlicesCannotOverflowTheCount) {
  // `big` int8 [2^62] lists the same full slice four times; its one stored entry claims 2^62 bytes
  // (open reads no data). 4 x 2^62 elements overflows int64: this must be an error, not a wrap.
  const extents full = {{0, -1}};
  const tensor_spec big = full_entry("big", tfckpt::dtype::int8, {std::int64_t{1} << 62}, {full, full, full, full});
  tensorflow::BundleEntryProto part;
  part.set_dtype(tensorflow::DT_INT8);
  part.mutable_shape()->add_dim()->set_size(std::int64_t{1} << 62);
  part.set_size(std::int64_t{1} << 62);
  tensorflow::BundleHeaderProto header;
  header.set_num_shards(1);
  header.mutable_version()->set_producer(1);
  scratch_dir dir;
  tfckpt_testing::write_table(
      (dir / "m.index").string(),
      [&](auto add) {
        add("", header.SerializeAsString());
        add(codec::encode_tensor_slice_key("big", full), part.SerializeAsString());
        add("big", tfckpt_testing::entry_record(big, 0));
      },
      small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrFormat("%s @%d: slices hold more than the 4611686018427387904 elements of "
                                                 "shape [4611686018427387904] for key 'big'",
                                                 index, entry_offset(index, "big")))));
}

TEST(PartitionedErrors, HugeTensorWhoseSliceDataIsMissingFailsBeforeAllocating) {
  // `w` float [2^38] (1 TiB) in one explicit slice whose stored entry claims 1 TiB at offset 0 of a
  // 4-byte data file. Open reads no data, so it succeeds; reading must report the short shard, not
  // try to allocate the assembled terabyte first.
  const std::int64_t n = std::int64_t{1} << 38;
  const extents all = {{0, n}};
  const tensor_spec w = full_entry("w", tfckpt::dtype::float32, {n}, {all});
  tensorflow::BundleEntryProto part;
  part.set_dtype(tensorflow::DT_FLOAT);
  part.mutable_shape()->add_dim()->set_size(n);
  part.set_size(4 * n);
  tensorflow::BundleHeaderProto header;
  header.set_num_shards(1);
  header.mutable_version()->set_producer(1);
  scratch_dir dir;
  const std::string data = (dir / "m").string() + ".data-00000-of-00001";
  std::ofstream(data, std::ios::binary) << "abcd";
  tfckpt_testing::write_table((dir / "m.index").string(), [&](auto add) {
    add("", header.SerializeAsString());
    add(codec::encode_tensor_slice_key("w", all), part.SerializeAsString());
    add("w", tfckpt_testing::entry_record(w, 0));
  });
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get("w"));
  EXPECT_EQ(e->size(), std::uint64_t{1} << 40);
  EXPECT_THAT(e->values<float>(), StatusIs(absl::StatusCode::kDataLoss,
                                           AllOf(HasSubstr(data + " @4: data file is 4 bytes"), HasSubstr("for key"))));
}

TEST(PartitionedErrors, SliceEntryThatIsItselfPartitioned) {
  // The stored entry of w's top rows is another partitioned entry (whose own slice is stored):
  // TensorFlow never nests slices, and following the chain would re-enter assembly.
  const extents top = {{0, 5}, {0, 4}}, bottom = {{5, 5}, {0, 4}};
  const std::string top_key = codec::encode_tensor_slice_key("w", top);
  scratch_dir dir;
  write_bundle(dir / "m",
               {full_entry("w", tfckpt::dtype::float32, {10, 4}, {top, bottom}),
                full_entry(top_key, tfckpt::dtype::float32, {5, 4}, {top}),
                slice_entry<float>(top_key, tfckpt::dtype::float32, top, {5, 4}, block<float>(0, 5, 0, 4, w_value)),
                slice_entry<float>("w", tfckpt::dtype::float32, bottom, {5, 4}, block<float>(5, 5, 0, 4, w_value))},
               small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrFormat("%s @%d: ", index, entry_offset(index, top_key))),
                             HasSubstr("itself partitioned"), HasSubstr("for key 'w'"))));
}

TEST(PartitionedErrors, SliceEntryWithTheWrongShape) {
  // The stored entry under the key of rows 5-9 holds a [4,4] tensor.
  scratch_dir dir;
  auto tensors = partitioned_w();
  tensors[1].shape = {4, 4};
  tensors[1].data.resize(64);
  write_bundle(dir / "m", tensors, small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrFormat("%s @%d: slice entry is float32 [4,4], expected float32 [5,4]",
                                                       index, entry_offset(index, tensors[1].name))),
                             HasSubstr("for key 'w'"))));
}

TEST(PartitionedErrors, SliceOutsideTheShape) {
  scratch_dir dir;
  const extents a = {{0, 5}, {0, 4}}, b = {{8, 5}, {0, 4}};
  write_bundle(dir / "m",
               {full_entry("w", tfckpt::dtype::float32, {10, 4}, {a, b}),
                slice_entry<float>("w", tfckpt::dtype::float32, a, {5, 4}, block<float>(0, 5, 0, 4, w_value)),
                slice_entry<float>("w", tfckpt::dtype::float32, b, {5, 4}, block<float>(0, 5, 0, 4, w_value))},
               small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrFormat("%s @%d: slice extent (8, 5) of dimension 0 lies outside shape [10,4] "
                                                 "for key 'w'",
                                                 index, entry_offset(index, "w")))));
}

TEST(PartitionedErrors, SliceOfTheWrongRank) {
  scratch_dir dir;
  const extents a = {{0, 10}};
  write_bundle(dir / "m",
               {full_entry("w", tfckpt::dtype::float32, {10, 4}, {a}),
                slice_entry<float>("w", tfckpt::dtype::float32, a, {10}, block<float>(0, 10, 0, 1, w_value))},
               small_options());
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("a slice has 1 extents, but the tensor has rank 2"), HasSubstr("for key 'w'"))));
}

}  // namespace

}  // namespace partitioned_test
