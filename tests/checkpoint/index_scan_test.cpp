// SPDX-License-Identifier: Apache-2.0
// scan_index: the tensors open() lists, with the same metadata and the same verdict on a bad index,
// without keeping them. Checked on every TensorFlow-written index, a V1 checkpoint, partitioned
// tensors, and every single-byte corruption of a small index.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/manifest.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/index_scan.hpp"

namespace index_scan_test {

namespace {

namespace fs = std::filesystem;
using ::tfckpt_testing::float_tensor;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::tensor_spec;
using ::tfckpt_testing::write_bundle;

struct listed {
  std::string name;
  tfckpt::dtype dtype;
  std::vector<std::int64_t> shape;
  std::int32_t shard;
  std::uint64_t offset, size, index_offset;
  std::uint32_t crc, num_slices;
  friend bool operator==(const listed&, const listed&) = default;
  friend std::ostream& operator<<(std::ostream& os, const listed& l) {
    return os << tfckpt::printable_key(l.name) << " " << tfckpt::dtype_name(l.dtype) << " "
              << tfckpt::shape_string(l.shape) << " shard " << l.shard << " @" << l.offset << "+" << l.size;
  }
};

listed of(const tfckpt::index_record& r) {
  return {std::string(r.name), r.dtype, {r.shape.begin(), r.shape.end()}, r.shard, r.offset, r.size, r.index_offset,
          r.stored_crc32c, r.num_slices};
}

// What open() + entries() says: the list, or the error.
absl::StatusOr<std::vector<listed>> by_open(const fs::path& path) {
  TFCKPT_ASSIGN_OR_RETURN(const tfckpt::checkpoint ckpt, tfckpt::open(path));
  std::vector<listed> out;
  for (const tfckpt::entry& e : ckpt.entries()) out.push_back(of(tfckpt::index_record::of(e)));
  return out;
}

absl::StatusOr<std::vector<listed>> by_scan(const fs::path& path) {
  std::vector<listed> out;
  TFCKPT_RETURN_IF_ERROR(tfckpt::scan_index(path, [&](const tfckpt::index_record& r) {
    out.push_back(of(r));
    return absl::OkStatus();
  }));
  return out;
}

// The index cut into `n` parts, each scanned on its own thread at the same time, the lists joined in
// order: the list, or the error of the first part (in key order) that failed.
absl::StatusOr<std::vector<listed>> by_parts(const fs::path& path, std::size_t n) {
  TFCKPT_ASSIGN_OR_RETURN(const tfckpt::index_scanner index, tfckpt::index_scanner::open(path));
  const std::vector<tfckpt::index_part> parts = index.split(n);
  std::vector<std::vector<listed>> lists(parts.size());
  std::vector<absl::Status> results(parts.size());
  {
    std::vector<std::jthread> threads;
    for (std::size_t k = 0; k < parts.size(); ++k)
      threads.emplace_back([&, k] {
        results[k] = index.scan(parts[k], [&](const tfckpt::index_record& r) {
          lists[k].push_back(of(r));
          return absl::OkStatus();
        });
      });
  }
  std::vector<listed> out;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    TFCKPT_RETURN_IF_ERROR(results[k]);
    out.insert(out.end(), lists[k].begin(), lists[k].end());
  }
  return out;
}

void expect_same_list_or_error(const absl::StatusOr<std::vector<listed>>& expected,
                               const absl::StatusOr<std::vector<listed>>& got, const std::string& what) {
  ASSERT_EQ(expected.ok(), got.ok()) << what << ": open says " << expected.status() << ", scan says " << got.status();
  if (expected.ok()) {
    EXPECT_EQ(*expected, *got) << what;
  } else {
    EXPECT_EQ(expected.status(), got.status()) << what;
  }
}

// open(), one scan, and the index scanned in 3 parts on 3 threads all give the same list or the same
// error.
void expect_same_verdict(const fs::path& path, const std::string& what) {
  const auto opened = by_open(path);
  expect_same_list_or_error(opened, by_scan(path), what);
  expect_same_list_or_error(opened, by_parts(path, 3), what + " (in 3 parts)");
}

}  // namespace

TEST(ScanIndex, ListsWhatOpenListsForEveryTensorFlowIndex) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto indexes = tfckpt_testing::read_manifest(tfckpt_testing::fixtures_dir());
  ASSERT_FALSE(indexes.empty());
  for (const auto& idx : indexes) {
    fs::path prefix = idx.index;
    prefix.replace_extension();
    const auto scanned = by_scan(prefix);
    ASSERT_TRUE(scanned.ok()) << prefix << ": " << scanned.status();
    EXPECT_EQ(scanned->size(), idx.num_entries) << prefix;
    expect_same_verdict(prefix, prefix.string());
  }
}

TEST(ScanIndex, AV1CheckpointIsListedThroughTheLoader) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path prefix = tfckpt_testing::fixtures_dir() / "nxt_v1_adam" / "model.ckpt";
  const auto scanned = by_scan(prefix);
  ASSERT_TRUE(scanned.ok()) << scanned.status();
  EXPECT_EQ(scanned->size(), 14u);
  expect_same_verdict(prefix, "V1");
}

TEST(ScanIndex, PartitionedTensorsAreListedWhole) {
  scratch_dir dir;
  using extents = std::vector<tfckpt::codec::slice_extent>;
  const extents top = {{0, 5}, {0, 4}}, bottom = {{5, 5}, {0, 4}};
  tensor_spec w;
  w.name = "w";
  w.shape = {10, 4};
  w.slices = {top, bottom};
  std::vector<tensor_spec> tensors = {w, float_tensor("v", {2}, {7, 8})};
  for (const extents& part : {top, bottom}) {
    tensor_spec s = float_tensor(tfckpt::codec::encode_tensor_slice_key("w", part), {5, 4}, std::vector<float>(20, 1.5f));
    tensors.push_back(s);
  }
  write_bundle(dir / "m", tensors);
  const auto scanned = by_scan(dir / "m");
  ASSERT_TRUE(scanned.ok()) << scanned.status();
  ASSERT_EQ(scanned->size(), 2u);  // the slices stay hidden
  EXPECT_EQ((*scanned)[1].name, "w");
  EXPECT_EQ((*scanned)[1].num_slices, 2u);
  EXPECT_EQ((*scanned)[1].size, 160u);
  expect_same_verdict(dir / "m", "partitioned");
}

TEST(ScanIndex, APartitionedTensorWithoutSlicesIsRefusedAsOpenRefusesIt) {
  scratch_dir dir;
  tensor_spec w;
  w.name = "w";
  w.shape = {10, 4};
  w.slices = {{{0, 10}, {0, 4}}};
  write_bundle(dir / "m", {float_tensor("a", {1}, {1}), w});
  EXPECT_FALSE(by_scan(dir / "m").ok());
  expect_same_verdict(dir / "m", "slices missing");
}

TEST(ScanIndex, TheVisitorsErrorStopsTheScan) {
  scratch_dir dir;
  write_bundle(dir / "m", {float_tensor("a", {1}, {1}), float_tensor("b", {1}, {2}), float_tensor("c", {1}, {3})});
  int visits = 0;
  const absl::Status s = tfckpt::scan_index(dir / "m", [&](const tfckpt::index_record& r) {
    ++visits;
    return r.name == "b" ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(s, absl::CancelledError("enough"));
  EXPECT_EQ(visits, 2);
}

TEST(ScanIndex, AMissingCheckpointIsReportedAsOpenReportsIt) {
  scratch_dir dir;
  expect_same_verdict(dir / "nothing", "missing");
  expect_same_verdict(dir.path(), "empty directory");
}

// Every byte of a small index flipped in turn: scan_index and open() agree on every outcome, list
// or error (the same status, message included).
TEST(ScanIndex, AgreesWithOpenOnEveryByteFlipOfAnIndex) {
  scratch_dir dir;
  std::vector<tensor_spec> tensors;
  for (int i = 0; i < 40; ++i)
    tensors.push_back(float_tensor("layer" + std::to_string(i) + "/kernel", {2, i % 3 + 1},
                                   std::vector<float>(static_cast<std::size_t>(2 * (i % 3 + 1)), 0.5f * i)));
  tfckpt_testing::build_options options;
  options.block_size = 512;  // several blocks
  write_bundle(dir / "m", tensors, options);
  const fs::path index = dir / "m.index";
  const std::string original = tfckpt_testing::file_bytes(index);
  int failures = 0;
  for (std::size_t at = 0; at < original.size() && failures < 5; ++at) {
    std::string bytes = original;
    bytes[at] = static_cast<char>(bytes[at] ^ 0xff);
    tfckpt_testing::set_file_bytes(index, bytes);
    const bool before = testing::Test::HasFailure();
    expect_same_verdict(dir / "m", "byte " + std::to_string(at) + " flipped");
    if (!before && testing::Test::HasFailure()) ++failures;
  }
}

// However the index is cut, the parts cover its tensors once each, in order, and a part can be
// empty of tensors (the header's block) without breaking the order.
TEST(ScanIndex, EveryWayOfCuttingTheIndexListsTheSameTensors) {
  scratch_dir dir;
  std::vector<tensor_spec> tensors;
  for (int i = 0; i < 300; ++i)
    tensors.push_back(float_tensor("t" + std::to_string(1000 + i), {1}, {static_cast<float>(i)}));
  tfckpt_testing::build_options options;
  options.block_size = 256;  // dozens of blocks
  write_bundle(dir / "m", tensors, options);
  const auto whole = by_scan(dir / "m");
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(whole->size(), 300u);
  const auto index = tfckpt::index_scanner::open(dir / "m");
  ASSERT_TRUE(index.ok()) << index.status();
  for (const std::size_t n : {1, 2, 3, 7, 16, 1000}) {
    const std::vector<tfckpt::index_part> parts = index->split(n);
    ASSERT_FALSE(parts.empty());
    EXPECT_LE(parts.size(), n);
    EXPECT_EQ(parts.front().begin, 0u);
    for (std::size_t k = 1; k < parts.size(); ++k) {
      EXPECT_EQ(parts[k].begin, parts[k - 1].end) << n;
      EXPECT_LT(parts[k].begin, parts[k].end) << n;
    }
    const auto in_parts = by_parts(dir / "m", n);
    ASSERT_TRUE(in_parts.ok()) << in_parts.status();
    EXPECT_EQ(*in_parts, *whole) << n << " parts";
  }
  EXPECT_GT(index->split(1000).size(), 10u);  // one part per block at most
  EXPECT_EQ(index->index_size(), fs::file_size(dir / "m.index"));
}

// A V1 checkpoint's entries (decoded at open) are cut by count.
TEST(ScanIndex, ALoadedIndexIsCutByEntries) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path prefix = tfckpt_testing::fixtures_dir() / "nxt_v1_adam" / "model.ckpt";
  const auto in_parts = by_parts(prefix, 4);
  ASSERT_TRUE(in_parts.ok()) << in_parts.status();
  EXPECT_EQ(in_parts->size(), 14u);
  expect_same_list_or_error(by_open(prefix), in_parts, "V1 in 4 parts");
}

}  // namespace index_scan_test
