// SPDX-License-Identifier: Apache-2.0
// Hand-built checkpoints whose numbers are hostile (the class of TensorFlow's CVE-2021-41203:
// overflowing sizes, negative dimensions, offsets past the file, absurd counts, deep nesting).
// Each must give a clean kDataLoss naming the file, never a crash and never an allocation sized by
// the hostile number. Complements bad_input_test.cpp (element-count overflow, offset + size
// overflow, unknown dtypes, 2^30 shards, string length overflows), which these cases do not repeat.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/codec/varint.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"

namespace hostile_sizes_test {

namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::tfckpt_testing::float_tensor;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::StatusIs;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

tfckpt_testing::build_options small_options() {
  tfckpt_testing::build_options o;
  o.restart_interval = 1;
  return o;
}

// `<prefix>.index` holding a one-shard header and the given raw (key, value) records.
void write_records(const fs::path& prefix, const std::vector<std::pair<std::string, std::string>>& records,
                   const std::string& header = {}) {
  tensorflow::BundleHeaderProto h;
  h.set_num_shards(1);
  h.mutable_version()->set_producer(1);
  const std::string head = header.empty() ? h.SerializeAsString() : header;
  tfckpt_testing::write_table(
      prefix.string() + ".index",
      [&](auto add) {
        add("", head);
        for (const auto& [k, v] : records) add(k, v);
      },
      small_options());
}

tensorflow::BundleEntryProto float_entry(std::vector<std::int64_t> dims, std::int64_t offset, std::int64_t size) {
  tensorflow::BundleEntryProto e;
  e.set_dtype(tensorflow::DT_FLOAT);
  for (std::int64_t d : dims) e.mutable_shape()->add_dim()->set_size(d);
  e.set_offset(offset);
  e.set_size(size);
  return e;
}

// Opens `prefix` and prints the error, so that ctest -V shows what each hostile input gives.
absl::StatusOr<tfckpt::checkpoint> open_logged(const fs::path& prefix) {
  auto c = tfckpt::open(prefix);
  std::printf("[hostile] %s\n", c.ok() ? "opened" : c.status().ToString().c_str());
  return c;
}

// A clean kDataLoss naming the index file, and the key when given.
auto data_loss_in(const std::string& file, const std::string& what, const std::string& key = {}) {
  return StatusIs(absl::StatusCode::kDataLoss,
                  AllOf(HasSubstr(file + " @"), HasSubstr(what), HasSubstr(key.empty() ? file : "for key '" + key + "'")));
}

TEST(HostileSizes, NegativeDimension) {
  scratch_dir dir;
  write_records(dir / "m", {{"x", float_entry({-1, 2}, 0, 0).SerializeAsString()}});
  EXPECT_THAT(open_logged(dir / "m"), data_loss_in((dir / "m.index").string(), "@15: shape dimension 0 has size -1", "x"));
  write_records(dir / "m", {{"x", float_entry({3, INT64_MIN}, 0, 0).SerializeAsString()}});
  EXPECT_THAT(open_logged(dir / "m"), data_loss_in((dir / "m.index").string(), "shape dimension 1 has size -9223372036854775808", "x"));
}

TEST(HostileSizes, SizeTwoToThe63) {
  scratch_dir dir;
  // 2^63 stored in the int64 field reads back as INT64_MIN.
  write_records(dir / "m", {{"x", float_entry({1}, 0, INT64_MIN).SerializeAsString()}});
  EXPECT_THAT(open_logged(dir / "m"), data_loss_in((dir / "m.index").string(), "negative size -9223372036854775808", "x"));
  // The largest positive size: the shape does not account for it.
  write_records(dir / "m", {{"x", float_entry({1}, 0, INT64_MAX).SerializeAsString()}});
  EXPECT_THAT(open_logged(dir / "m"),
              data_loss_in((dir / "m.index").string(),
                           "size 9223372036854775807 does not match shape [1] of float32 (4 bytes)", "x"));
}

TEST(HostileSizes, SizeRunningPastTheShard) {
  scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "m", {float_tensor("x", {1}, {1})}, small_options());
  // Shape and size agree (2^28 floats), the shard holds 4 bytes: reading must not allocate 1 GiB.
  write_records(dir / "m", {{"x", float_entry({std::int64_t{1} << 28}, 0, std::int64_t{1} << 30).SerializeAsString()}});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  const std::string data = (dir / "m").string() + ".data-00000-of-00001";
  const auto bytes = (*ckpt.get("x"))->bytes();
  std::printf("[hostile] %s\n", bytes.status().ToString().c_str());
  EXPECT_THAT(bytes, data_loss_in(data, "@4: data file is 4 bytes, but the index places tensor bytes up to offset 1073741824", "x"));
  EXPECT_FALSE(ckpt.verify().ok());
}

TEST(HostileSizes, VarintsOfElevenBytesInAnEntry) {
  scratch_dir dir;
  // Field 4 (offset, varint) with eleven bytes: longer than any 64-bit varint.
  std::string record = float_entry({1}, 0, 4).SerializeAsString();
  record += '\x20';
  record += std::string(10, '\xff');
  record += '\x01';
  write_records(dir / "m", {{"x", record}});
  EXPECT_THAT(open_logged(dir / "m"),
              data_loss_in((dir / "m.index").string(), "truncated or overlong varint in bundle entry", "x"));
  // Ten bytes whose last carries more than the 64th bit.
  record = float_entry({1}, 0, 4).SerializeAsString() + '\x20' + std::string(9, '\xff') + '\x7f';
  write_records(dir / "m", {{"x", record}});
  EXPECT_THAT(open_logged(dir / "m"),
              data_loss_in((dir / "m.index").string(), "truncated or overlong varint in bundle entry", "x"));
}

TEST(HostileSizes, HeaderClaimingTwoToThe31Shards) {
  scratch_dir dir;
  // num_shards (field 1, int32) = 2^31 as a varint: wraps to INT32_MIN when read as int32.
  std::string header = "\x08";
  header += std::string("\x80\x80\x80\x80\x08", 5);
  header += "\x12\x02\x08\x01";  // version { producer: 1 }
  write_records(dir / "m", {{"x", float_entry({1}, 0, 4).SerializeAsString()}}, header);
  EXPECT_THAT(open_logged(dir / "m"), StatusIs(absl::StatusCode::kDataLoss,
                                                AllOf(HasSubstr((dir / "m.index").string() + " @0: bundle header num_shards 2147483648 overflows int32"))));
  // INT32_MAX shards: beyond what any header may claim before a shard is touched.
  tensorflow::BundleHeaderProto h;
  h.set_num_shards(INT32_MAX);
  h.mutable_version()->set_producer(1);
  write_records(dir / "m", {{"x", float_entry({1}, 0, 4).SerializeAsString()}}, h.SerializeAsString());
  EXPECT_THAT(open_logged(dir / "m"), StatusIs(absl::StatusCode::kDataLoss,
                                                AllOf(HasSubstr((dir / "m.index").string() + " @0: the bundle header claims 2147483647 shards (more than 1048576)"))));
}

TEST(HostileSizes, SliceExtentsThatOverflowOrLeaveTheShape) {
  scratch_dir dir;
  tfckpt_testing::tensor_spec full;
  full.name = "p";
  full.shape = {10};
  for (const auto& [start, length] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {INT64_MAX - 1, 10}, {8, 5}, {-3, 2}, {0, -1 - 1}, {0, INT64_MAX}}) {
    SCOPED_TRACE(testing::Message() << "extent (" << start << ", " << length << ")");
    full.slices = {{tfckpt::codec::slice_extent{start, length}}};
    tfckpt_testing::write_bundle(dir / "m", {full}, small_options());
    EXPECT_THAT(open_logged(dir / "m"), StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr((dir / "m.index").string() + " @"),
                                                                    HasSubstr("slice extent ("),
                                                                    testing::AnyOf(HasSubstr("lies outside shape [10]"),
                                                                                   HasSubstr("is negative")),
                                                                    HasSubstr("for key 'p'"))));
  }
}

TEST(HostileSizes, DeeplyNestedGroupsInAnEntry) {
  scratch_dir dir;
  // 100,000 nested start-group tags of an unknown field (field 15, wire type 3): a recursive
  // skipper would overflow the stack.
  std::string record = float_entry({1}, 0, 4).SerializeAsString();
  for (int i = 0; i < 100000; ++i) record += '\x7b';
  write_records(dir / "m", {{"x", record}});
  EXPECT_THAT(open_logged(dir / "m"),
              data_loss_in((dir / "m.index").string(), "unsupported wire type 3 for field 15 in bundle entry", "x"));
}

// Rewrites the footer's index handle and keeps the magic.
void set_index_handle(const fs::path& index, std::uint64_t offset, std::uint64_t size) {
  std::string bytes = read_file(index);
  const std::size_t footer = bytes.size() - tfckpt::codec::kFooterSize;
  tfckpt::codec::block_handle meta;
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data() + footer);
  ASSERT_NE(tfckpt::codec::get_block_handle(p, p + 40, &meta), nullptr);
  std::string handles;
  tfckpt::codec::put_block_handle(handles, meta);
  tfckpt::codec::put_block_handle(handles, {offset, size});
  handles.resize(40, '\0');
  bytes.replace(footer, 40, handles);
  write_file(index, bytes);
}

TEST(HostileSizes, BlockHandlesPointingPastTheFile) {
  scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "m", {float_tensor("x", {1}, {1})}, small_options());
  const fs::path index = dir / "m.index";
  for (const auto& [offset, size] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {std::uint64_t{1} << 40, 10}, {0, std::uint64_t{1} << 40}, {UINT64_MAX - 2, 8}, {8, UINT64_MAX}}) {
    SCOPED_TRACE(testing::Message() << "handle (" << offset << ", " << size << ")");
    set_index_handle(index, offset, size);
    EXPECT_THAT(open_logged(dir / "m"), StatusIs(absl::StatusCode::kDataLoss,
                                                  AllOf(HasSubstr(index.string() + " @"), HasSubstr("index block ["),
                                                        HasSubstr("overlaps the footer"))));
  }
}

TEST(HostileSizes, RestartArrayWithAbsurdCount) {
  scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "m", {float_tensor("x", {1}, {1})}, small_options());
  const fs::path index = dir / "m.index";
  const std::string pristine = read_file(index);
  // The index block: the footer's second handle. Its last 4 bytes are the restart count.
  const std::size_t footer = pristine.size() - tfckpt::codec::kFooterSize;
  const auto* p = reinterpret_cast<const std::byte*>(pristine.data() + footer);
  tfckpt::codec::block_handle meta, idx;
  p = tfckpt::codec::get_block_handle(p, p + 40, &meta);
  ASSERT_NE(p, nullptr);
  ASSERT_NE(tfckpt::codec::get_block_handle(p, p + 20, &idx), nullptr);
  for (const std::uint32_t count : {0xffffffffu, 0x40000000u, 0u}) {
    SCOPED_TRACE(testing::Message() << "restart count " << count);
    std::string bytes = pristine;
    const std::size_t at = static_cast<std::size_t>(idx.offset + idx.size - 4);
    for (int i = 0; i < 4; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>(count >> (8 * i));
    // A valid checksum, so that the block parser itself meets the count.
    const std::string stored = bytes.substr(static_cast<std::size_t>(idx.offset), static_cast<std::size_t>(idx.size));
    const std::uint32_t crc = tfckpt::codec::crc32c_mask(
        tfckpt::codec::crc32c_extend(tfckpt::codec::crc32c(stored), "\0", 1));
    for (int i = 0; i < 4; ++i)
      bytes[static_cast<std::size_t>(idx.offset + idx.size) + 1 + static_cast<std::size_t>(i)] =
          static_cast<char>(crc >> (8 * i));
    write_file(index, bytes);
    EXPECT_THAT(open_logged(dir / "m"), StatusIs(absl::StatusCode::kDataLoss,
                                                  AllOf(HasSubstr(index.string() + " @"),
                                                        HasSubstr(absl::StrFormat("bad restart count %d for a block", count)))));
  }
}

}  // namespace

}  // namespace hostile_sizes_test
