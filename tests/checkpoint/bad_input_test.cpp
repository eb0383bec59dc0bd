// SPDX-License-Identifier: Apache-2.0
// Hostile and corrupt checkpoints against tfckpt/checkpoint/checkpoint.hpp: every failure must be
// a clean status with the right code whose message names the file, the key (when there is one)
// and the byte offset, never a crash or a huge allocation. The hostile files are generated here
// from small bundles written by tests/testing/bundle_builder.hpp (LevelDB's TableBuilder), then
// truncated, flipped or rewritten; no binary file is committed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/proto/saved_tensor_slice.pb.h"
#include "tfckpt/proto/tensor_bundle.pb.h"

namespace bad_input_test {

namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::tfckpt_testing::float_tensor;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::StatusIs;
using ::tfckpt_testing::string_tensor;
using ::tfckpt_testing::tensor_spec;
using ::tfckpt_testing::typed_tensor;
using ::tfckpt_testing::write_bundle;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Options for small test bundles: restart interval 1, so every index entry is stored whole as
/// `00 <key length> <value length> key value` and its offset can be found independently.
tfckpt_testing::build_options small_options() {
  tfckpt_testing::build_options o;
  o.restart_interval = 1;
  return o;
}

/// The absolute offset of `key`'s entry in an index written with small_options(): found by
/// searching the raw bytes, not through the codec under test.
std::uint64_t entry_offset(const fs::path& index, const std::string& key) {
  const std::string bytes = read_file(index);
  for (std::size_t at = bytes.find(key); at != std::string::npos; at = bytes.find(key, at + 1)) {
    if (at >= 3 && bytes[at - 3] == '\0' && static_cast<unsigned char>(bytes[at - 2]) == key.size())
      return at - 3;
  }
  ADD_FAILURE() << "no entry for " << key << " in " << index;
  return 0;
}

/// The offset of the first data block's trailer: the metaindex follows it, and the footer's first
/// varint is the metaindex offset.
std::uint64_t first_data_block_trailer(const fs::path& index) {
  const std::string bytes = read_file(index);
  std::uint64_t meta = 0;
  int shift = 0;
  for (std::size_t i = bytes.size() - 48;; ++i, shift += 7) {
    meta |= std::uint64_t{static_cast<unsigned char>(bytes[i]) & 0x7fu} << shift;
    if ((static_cast<unsigned char>(bytes[i]) & 0x80) == 0) break;
  }
  return meta - 5;
}

/// Rewrites `<prefix>.index` with a one-shard header and the given (key, serialized entry) records,
/// for entries the builder cannot express.
void write_records(const fs::path& prefix, const std::vector<std::pair<std::string, std::string>>& records) {
  tensorflow::BundleHeaderProto h;
  h.set_num_shards(1);
  h.mutable_version()->set_producer(1);
  tfckpt_testing::write_table(
      prefix.string() + ".index",
      [&](auto add) {
        add("", h.SerializeAsString());
        for (const auto& [k, v] : records) add(k, v);
      },
      small_options());
}

/// The tensors of the small bundle most tests corrupt: a bool at offset 0 (so later tensors sit at
/// odd offsets), floats, a string.
std::vector<tensor_spec> small_tensors() {
  return {typed_tensor<std::uint8_t>("flag", tfckpt::dtype::boolean, {}, {1}),
          float_tensor("dense/kernel", {2, 3}, {1, 2, 3, 4, 5, 6}),
          float_tensor("dense/bias", {3}, {0.5f, -0.5f, 0.25f}),
          string_tensor("names", {2}, {"ab", ""})};
}

/// Entries as comparable values.
struct entry_summary {
  std::string name;
  tfckpt::dtype dtype;
  std::vector<std::int64_t> shape;
  std::int32_t shard;
  std::uint64_t offset, size;
  std::uint32_t crc;
  friend bool operator==(const entry_summary&, const entry_summary&) = default;
};
std::vector<entry_summary> summarize(const tfckpt::checkpoint& ckpt) {
  std::vector<entry_summary> out;
  for (const tfckpt::entry& e : ckpt.entries())
    out.push_back({std::string(e.name()), e.dtype(), {e.shape().begin(), e.shape().end()}, e.shard(), e.offset(),
                   e.size(), e.stored_crc32c()});
  return out;
}

class SmallBundle : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = dir_ / "model.ckpt-7";
    write_bundle(prefix_, small_tensors(), small_options());
    index_ = prefix_.string() + ".index";
    data_ = prefix_.string() + ".data-00000-of-00001";
    original_ = read_file(index_);
  }

  scratch_dir dir_;
  fs::path prefix_;
  std::string index_, data_, original_;
};

// --- Files that are missing or not a bundle index ---

TEST(MissingFiles, MissingIndexIsNotFound) {
  scratch_dir dir;
  const std::string prefix = (dir / "model.ckpt-1").string();
  EXPECT_THAT(tfckpt::open(prefix),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(prefix + ".index not found")));
  EXPECT_THAT(tfckpt::open(prefix + ".index"), StatusIs(absl::StatusCode::kNotFound, HasSubstr(prefix + ".index")));
  // Only the data file present: still the index that is missing.
  write_file(prefix + ".data-00000-of-00001", "abcd");
  EXPECT_THAT(tfckpt::open(prefix), StatusIs(absl::StatusCode::kNotFound, HasSubstr(prefix + ".index")));
}

TEST_F(SmallBundle, EmptyIndexFile) {
  write_file(index_, "");
  EXPECT_THAT(tfckpt::open(prefix_),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(index_ + " @0: 0 bytes is too short for an SSTable")));
}

TEST_F(SmallBundle, EveryTruncationFailsCleanly) {
  ASSERT_GT(original_.size(), 100u);
  for (std::size_t n = 0; n < original_.size(); ++n) {
    write_file(index_, original_.substr(0, n));
    EXPECT_THAT(tfckpt::open(prefix_), StatusIs(absl::StatusCode::kDataLoss, ContainsRegex(index_ + " @[0-9]+: ")))
        << "truncated to " << n << " bytes";
  }
  write_file(index_, original_);
  EXPECT_OK(tfckpt::open(prefix_).status());
}

TEST_F(SmallBundle, BadMagic) {
  std::string bad = original_;
  bad[bad.size() - 1] = 'x';
  write_file(index_, bad);
  EXPECT_THAT(tfckpt::open(prefix_),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrFormat("%s @%d: bad table magic", index_, bad.size() - 8))));
  // An index that is not an SSTable at all (text of the same length).
  write_file(index_, std::string(original_.size(), 'a'));
  EXPECT_THAT(tfckpt::open(prefix_), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not an SSTable")));
}

TEST_F(SmallBundle, EveryFlippedByteFailsOrChangesNothing) {
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint good, tfckpt::open(prefix_));
  const auto expected = summarize(good);
  ASSERT_EQ(expected.size(), 4u);
  const std::size_t footer_at = original_.size() - 48;
  std::size_t passed = 0;
  for (std::size_t i = 0; i < original_.size(); ++i) {
    for (unsigned char mask : {0x01, 0x10, 0x80, 0xff}) {
      std::string bad = original_;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      write_file(index_, bad);
      auto r = tfckpt::open(prefix_);
      if (r.ok()) {
        // Only footer bytes no reader checks (the padding, or an overlong encoding of the same
        // handle) may change without being noticed, and then nothing else changed either.
        EXPECT_GE(i, footer_at) << "flip at " << i << " mask " << int{mask} << " went unnoticed";
        EXPECT_LT(i, original_.size() - 8);
        EXPECT_EQ(summarize(*r), expected) << i;
        ++passed;
      } else {
        EXPECT_THAT(r, StatusIs(absl::StatusCode::kDataLoss, ContainsRegex(index_ + " @[0-9]+: "))) << i;
      }
    }
  }
  EXPECT_GT(passed, 0u);  // the padding flips
}

TEST_F(SmallBundle, CorruptDataBlockIsDataLossAtItsTrailer) {
  std::string bad = original_;
  const std::uint64_t at = entry_offset(index_, "dense/kernel");
  bad[at + 5] = 'N';  // "dense" -> "deNse"
  write_file(index_, bad);
  EXPECT_THAT(tfckpt::open(prefix_),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrFormat("%s @%d: checksum mismatch in data block 0", index_,
                                                       first_data_block_trailer(index_))),
                             HasSubstr("the file is corrupt"))));
}

TEST_F(SmallBundle, MissingHeaderRecord) {
  tfckpt_testing::build_options o = small_options();
  o.omit_header = true;
  write_bundle(prefix_, small_tensors(), o);
  EXPECT_THAT(tfckpt::open(prefix_),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrFormat("%s @0: the first key is 'dense/bias'", index_)),
                             HasSubstr("not the bundle header"))));
}

// --- Tensor data ---

TEST_F(SmallBundle, CorruptTensorBytesAreCaughtByVerify) {
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix_));
  EXPECT_TRUE(ckpt.verify().ok());
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* kernel, ckpt.get("dense/kernel"));
  ASSERT_EQ(kernel->offset(), 1u);
  std::string data = read_file(data_);
  data[kernel->offset() + 5] ^= 0x40;
  // A new file (rename over the old one) rather than rewriting the mapped one in place.
  write_file(data_ + ".new", data);
  fs::rename(data_ + ".new", data_);
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint reopened, tfckpt::open(prefix_));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* k2, reopened.get("dense/kernel"));
  EXPECT_THAT(k2->verify(), StatusIs(absl::StatusCode::kDataLoss,
                                     AllOf(HasSubstr(data_ + " @1: checksum mismatch over 24 bytes"),
                                           HasSubstr("for key 'dense/kernel'"))));
  const tfckpt::verify_report report = reopened.verify();
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_THAT(report.problems[0], StatusIs(absl::StatusCode::kDataLoss, HasSubstr("for key 'dense/kernel'")));
  EXPECT_EQ(report.tensors_checked, 4u);
}

TEST_F(SmallBundle, EntryRunningPastItsShard) {
  // The data file is shorter than the index claims: the last tensor in it runs past the end.
  const std::string data = read_file(data_);
  write_file(data_, data.substr(0, data.size() - 3));
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix_));  // open reads no data
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* names, ckpt.get("names"));
  EXPECT_THAT(names->bytes(),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrFormat("%s @%d: data file is %d bytes, but the index places tensor "
                                                       "bytes up to offset %d",
                                                       data_, data.size() - 3, data.size() - 3, data.size())),
                             HasSubstr("for key 'names'"))));
  EXPECT_THAT(names->strings(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(data_)));
  const auto report = ckpt.verify();
  ASSERT_EQ(report.problems.size(), 1u);  // the shard, reported once
  EXPECT_THAT(report.problems[0], StatusIs(absl::StatusCode::kDataLoss, HasSubstr(data_ + " @")));
}

TEST(HostileEntries, ShapeWhoseElementCountOverflows) {
  scratch_dir dir;
  tensor_spec t = float_tensor("huge", {std::int64_t{1} << 40, std::int64_t{1} << 40}, {1});
  write_bundle(dir / "m", {float_tensor("a", {1}, {1}), t}, small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrFormat("%s @%d: ", index, entry_offset(index, "huge"))),
                             HasSubstr("element count of shape [1099511627776,1099511627776] overflows"),
                             HasSubstr("for key 'huge'"))));
  // Elements fit int64, bytes do not: 2^62 floats.
  tensor_spec t2 = float_tensor("big", {std::int64_t{1} << 31, std::int64_t{1} << 31}, {1});
  write_bundle(dir / "m", {t2}, small_options());
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrFormat("%s @%d: size 4 does not match", index, entry_offset(index, "big"))),
                             HasSubstr("overflow"), HasSubstr("for key 'big'"))));
}

TEST(HostileEntries, ShapeThatDisagreesWithTheByteSize) {
  scratch_dir dir;
  tensor_spec t = float_tensor("w", {2, 3}, {1, 2, 3, 4, 5});  // 5 floats for 6 elements
  write_bundle(dir / "m", {float_tensor("a", {1}, {1}), t}, small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrFormat("%s @%d: size 20 does not match shape [2,3] of float32 (24 bytes)",
                                                       index, entry_offset(index, "w"))),
                             HasSubstr("for key 'w'"))));
}

TEST(HostileEntries, UnknownDtype) {
  scratch_dir dir;
  tensor_spec t = float_tensor("odd", {1}, {1});
  t.dtype = static_cast<tfckpt::dtype>(99);
  write_bundle(dir / "m", {t}, small_options());
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrFormat("%s @%d: unknown or unstorable dtype 99 for key 'odd'", index,
                                                 entry_offset(index, "odd")))));
  t.dtype = tfckpt::dtype::resource;  // never saved by TensorFlow
  write_bundle(dir / "m", {t}, small_options());
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unknown or unstorable dtype 20 for key 'odd'")));
}

TEST(HostileEntries, EntryInAShardTheHeaderDoesNotDeclare) {
  scratch_dir dir;
  tensor_spec t = float_tensor("x", {1}, {1});
  tensorflow::BundleHeaderProto h;
  h.set_num_shards(1);
  h.mutable_version()->set_producer(1);
  // Rewrite the entry record with shard 5 through a second bundle that has 6 shards.
  tfckpt_testing::build_options o = small_options();
  o.num_shards = 6;
  t.shard = 5;
  h.SerializeToString(&o.raw_header.emplace());
  write_bundle(dir / "m", {t}, o);
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrFormat("%s @%d: entry is in shard 5, but the header declares 1 shards for key 'x'",
                                                 index, entry_offset(index, "x")))));
}

TEST(HostileEntries, OffsetsThatOverflowOrRunFarPastTheShard) {
  scratch_dir dir;
  const tensor_spec x = float_tensor("x", {1}, {1});
  write_bundle(dir / "m", {x}, small_options());
  const std::string index = (dir / "m.index").string();
  const std::string data = (dir / "m").string() + ".data-00000-of-00001";
  tensorflow::BundleEntryProto e;
  e.set_dtype(tensorflow::DT_FLOAT);
  e.mutable_shape()->add_dim()->set_size(1);
  e.set_size(4);
  e.set_crc32c(tfckpt_testing::payload_masked_crc(x.dtype, x.data, 1));
  e.set_offset(INT64_MAX - 2);
  write_records(dir / "m", {{"x", e.SerializeAsString()}});
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrFormat("%s @%d: offset %d + size 4 overflows for key 'x'", index,
                                                 entry_offset(index, "x"), INT64_MAX - 2))));
  e.set_offset(-4);
  write_records(dir / "m", {{"x", e.SerializeAsString()}});
  EXPECT_THAT(tfckpt::open(dir / "m"), StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(index + " @"),
                                                                                   HasSubstr("negative offset -4"),
                                                                                   HasSubstr("for key 'x'"))));
  e.set_offset(std::int64_t{1} << 40);
  write_records(dir / "m", {{"x", e.SerializeAsString()}});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  EXPECT_THAT((*ckpt.get("x"))->values<float>(),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(data + " @4: data file is 4 bytes, but the index places tensor bytes up to "
                                              "offset 1099511627780"),
                             HasSubstr("for key 'x'"))));
}

// --- Shards ---

TEST(Shards, HeaderClaimsThreeShardsWhenOneExists) {
  scratch_dir dir;
  tfckpt_testing::build_options o = small_options();
  o.num_shards = 3;
  tensor_spec a = float_tensor("a", {2}, {1, 2});
  tensor_spec b = float_tensor("b", {1}, {3});
  tensor_spec c = float_tensor("c", {1}, {4});
  tensor_spec d = float_tensor("d", {1}, {5});
  b.shard = 1;
  c.shard = 2;
  d.shard = 2;
  write_bundle(dir / "m", {a, b, c, d}, o);
  const std::string shard1 = (dir / "m").string() + ".data-00001-of-00003";
  const std::string shard2 = (dir / "m").string() + ".data-00002-of-00003";
  fs::remove(shard1);
  fs::remove(shard2);

  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  EXPECT_EQ(ckpt.num_shards(), 3);
  ASSERT_EQ(ckpt.size(), 4u);
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* ea, ckpt.get("a"));
  ASSERT_OK_AND_ASSIGN(auto va, ea->values<float>());
  EXPECT_THAT(va.span(), ::testing::ElementsAre(1.0f, 2.0f));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* ec, ckpt.get("c"));
  EXPECT_THAT(ec->values<float>(),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(shard2 + ": data shard 2 of 3 is missing (2 tensors live there)"),
                             HasSubstr("data files present for this prefix: m.data-00000-of-00003"),
                             HasSubstr("for key 'c'"))));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* eb, ckpt.get("b"));
  EXPECT_THAT(eb->bytes(), StatusIs(absl::StatusCode::kNotFound, HasSubstr(shard1)));

  const tfckpt::verify_report report = ckpt.verify();
  ASSERT_EQ(report.problems.size(), 2u);  // one per missing shard, not one per tensor
  EXPECT_THAT(report.problems[0], StatusIs(absl::StatusCode::kNotFound, HasSubstr(shard1)));
  EXPECT_THAT(report.problems[1], StatusIs(absl::StatusCode::kNotFound, HasSubstr(shard2)));
  EXPECT_EQ(report.tensors_checked, 1u);
  EXPECT_EQ(report.bytes_checked, 8u);
}

TEST(Shards, HeaderClaimingTwoToThe30ShardsFailsAtOpen) {
  scratch_dir dir;
  tfckpt_testing::build_options o = small_options();
  tensorflow::BundleHeaderProto h;
  h.set_num_shards(1 << 30);
  h.mutable_version()->set_producer(1);
  h.SerializeToString(&o.raw_header.emplace());
  write_bundle(dir / "m", {float_tensor("a", {1}, {1})}, o);
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr((dir / "m.index").string() + " @0: the bundle header claims 1073741824 shards")));
  // INT32_MAX and a value that does not fit int32 at all.
  h.set_num_shards(INT32_MAX);
  h.SerializeToString(&o.raw_header.emplace());
  write_bundle(dir / "m", {float_tensor("a", {1}, {1})}, o);
  EXPECT_THAT(tfckpt::open(dir / "m"), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("2147483647 shards")));
  h.set_num_shards(-1);
  h.SerializeToString(&o.raw_header.emplace());
  write_bundle(dir / "m", {float_tensor("a", {1}, {1})}, o);
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr((dir / "m.index").string() + " @0: bundle header has -1 shards")));
}

// --- Strings and bools ---

TEST(StringTensors, CorruptLengthChecksum) {
  scratch_dir dir;
  tensor_spec s = string_tensor("names", {2}, {"ab", "cde"});
  s.data[2] ^= 0x01;  // lengths are 02 03, then the 4-byte masked length CRC
  write_bundle(dir / "m", {float_tensor("a", {1}, {1}), s}, small_options());
  const std::string data = (dir / "m").string() + ".data-00000-of-00001";
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get("names"));
  ASSERT_EQ(e->offset(), 4u);
  EXPECT_THAT(e->strings(), StatusIs(absl::StatusCode::kDataLoss,
                                     AllOf(HasSubstr(data + " @6: string length checksum mismatch"),
                                           HasSubstr("for key 'names'"))));
  EXPECT_THAT(e->verify(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(data + " @6")));
}

TEST(StringTensors, LengthsClaimMoreBytesThanExist) {
  scratch_dir dir;
  tensor_spec s = string_tensor("names", {2}, {"ab", "cd"});
  // Lengths 02 02 -> 02 7f: 127 bytes claimed for the second element, 2 present.
  s.data[1] = 0x7f;
  write_bundle(dir / "m", {float_tensor("a", {1}, {1}), s}, small_options());
  const std::string data = (dir / "m").string() + ".data-00000-of-00001";
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get("names"));
  EXPECT_THAT(e->strings(), StatusIs(absl::StatusCode::kDataLoss,
                                     AllOf(HasSubstr(data + " @6: string element 1 of 127 bytes runs past the tensor's "
                                                            "10 bytes"),
                                           HasSubstr("for key 'names'"))));
  // A huge varint length must not be used to allocate either.
  tensor_spec s2 = string_tensor("names", {1}, {"ab"});
  s2.data = std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9) + s2.data.substr(1);
  write_bundle(dir / "m", {s2}, small_options());
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt2, tfckpt::open(dir / "m"));
  EXPECT_THAT((*ckpt2.get("names"))->strings(),
              StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(data + " @9: "), HasSubstr("runs past"))));
}

TEST(StringTensors, MoreElementsThanBytesFailsAtOpen) {
  scratch_dir dir;
  // The builder cannot compute a CRC over 1000 lengths that are not there: write the record by hand.
  tensor_spec s = string_tensor("names", {1}, {"a"});
  write_bundle(dir / "m", {s}, small_options());
  tensorflow::BundleEntryProto e;
  e.set_dtype(tensorflow::DT_STRING);
  e.mutable_shape()->add_dim()->set_size(1000);
  e.set_size(static_cast<std::int64_t>(s.data.size()));
  e.set_crc32c(tfckpt_testing::payload_masked_crc(s.dtype, s.data, 1));
  write_records(dir / "m", {{"names", e.SerializeAsString()}});
  const std::string index = (dir / "m.index").string();
  EXPECT_THAT(tfckpt::open(dir / "m"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrFormat("%s @%d: string tensor of 1000 elements cannot fit in 6 bytes for key "
                                                 "'names'",
                                                 index, entry_offset(index, "names")))));
}

TEST(BoolTensors, ByteValueTwoIsDataLoss) {
  scratch_dir dir;
  write_bundle(dir / "m",
               {float_tensor("a", {1}, {1}), typed_tensor<std::uint8_t>("mask", tfckpt::dtype::boolean, {4}, {1, 0, 2, 1})},
               small_options());
  const std::string data = (dir / "m").string() + ".data-00000-of-00001";
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get("mask"));
  EXPECT_OK(e->verify());  // the CRC is right: the bytes are what was written
  EXPECT_THAT(e->values<bool>(), StatusIs(absl::StatusCode::kDataLoss,
                                          AllOf(HasSubstr(data + " @6: bool element 2 has byte value 2"),
                                                HasSubstr("for key 'mask'"))));
  // The raw bytes are still available.
  ASSERT_OK_AND_ASSIGN(auto raw, e->bytes());
  EXPECT_EQ(raw.size(), 4u);
}

// --- Paths that are not a checkpoint prefix ---

TEST(Paths, DataShardPathSuggestsThePrefix) {
  scratch_dir dir;
  write_bundle(dir / "model.ckpt-5", {float_tensor("a", {1}, {1})});
  const std::string prefix = (dir / "model.ckpt-5").string();
  EXPECT_THAT(tfckpt::open(prefix + ".data-00000-of-00001"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("is a data shard, not a checkpoint"),
                             HasSubstr("pass the prefix '" + prefix + "'"))));
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix + ".index"));
  EXPECT_EQ(ckpt.prefix(), prefix);
}

TEST(Paths, DirectoryWithoutStateFileListsPrefixes) {
  scratch_dir dir;
  write_bundle(dir / "ckpt-1", {float_tensor("a", {1}, {1})});
  write_bundle(dir / "ckpt-2", {float_tensor("a", {1}, {2})});
  EXPECT_THAT(tfckpt::open(dir.path()),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(dir.path().string()), HasSubstr("no 'checkpoint' state file"),
                             HasSubstr("ckpt-1, ckpt-2"))));
  scratch_dir empty;
  EXPECT_THAT(tfckpt::open(empty.path()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no 'checkpoint' state file and no *.index file")));
}

/// A V1 checkpoint table (spec §4): key "" holds SavedTensorSlices{meta}, then one slice record.
void write_v1_table(const fs::path& path) {
  tensorflow::SavedTensorSlices meta;
  auto* t = meta.mutable_meta()->add_tensor();
  t->set_name("w");
  t->mutable_shape()->add_dim()->set_size(2);
  t->set_type(tensorflow::DT_FLOAT);
  t->add_slice()->add_extent();  // a full extent
  meta.mutable_meta()->mutable_versions()->set_producer(1);
  tensorflow::SavedTensorSlices data;
  data.mutable_data()->set_name("w");
  data.mutable_data()->mutable_slice()->add_extent();
  data.mutable_data()->mutable_data()->set_dtype(tensorflow::DT_FLOAT);
  data.mutable_data()->mutable_data()->add_float_val(1);
  data.mutable_data()->mutable_data()->add_float_val(2);
  const std::vector<tfckpt::codec::slice_extent> full = {{0, -1}};
  std::string meta_bytes, data_bytes;
  meta.SerializeToString(&meta_bytes);
  data.SerializeToString(&data_bytes);
  ASSERT_EQ(meta_bytes[0], '\x0a');
  tfckpt_testing::write_table(path.string(), [&](auto add) {
    add("", meta_bytes);
    add(tfckpt::codec::encode_tensor_slice_key("w", full), data_bytes);
  });
}

TEST(Paths, V1CheckpointsOpenByFileStateFileOrShards) {
  scratch_dir dir;
  const fs::path v1 = dir / "model.ckpt";
  write_v1_table(v1);
  const auto expect_w = [](const absl::StatusOr<tfckpt::checkpoint>& c) {
    ASSERT_OK(c.status());
    EXPECT_TRUE(c->is_v1());
    ASSERT_OK_AND_ASSIGN(const auto w, c->find("w")->values<float>());
    EXPECT_EQ(w[1], 2.0f);
  };
  expect_w(tfckpt::open(v1));
  // Through the directory's state file, as TF1 Savers leave it.
  write_file(dir / "checkpoint", "model_checkpoint_path: \"model.ckpt\"\nall_model_checkpoint_paths: \"model.ckpt\"\n");
  expect_w(tfckpt::open(dir.path()));
  // Sharded V1: the prefix names no file, its shards do.
  scratch_dir sharded;
  write_v1_table(sharded / "model.ckpt-00000-of-00001");
  expect_w(tfckpt::open(sharded / "model.ckpt"));
  // A V1 table saved under a V2 index name: its header record is a V1 table of contents.
  scratch_dir renamed;
  write_v1_table(renamed / "m.index");
  EXPECT_THAT(tfckpt::open(renamed / "m"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr((renamed / "m.index").string() + " @"), HasSubstr("V1 checkpoint"))));
}

TEST(Paths, DataFileFromAnotherStep) {
  scratch_dir dir;
  write_bundle(dir / "ckpt-1", {float_tensor("w", {4}, {1, 2, 3, 4}), float_tensor("b", {1}, {0})});
  write_bundle(dir / "ckpt-2", {float_tensor("w", {4}, {1.5f, 2.5f, 3.5f, 4.5f}), float_tensor("b", {1}, {0})});
  const std::string data1 = (dir / "ckpt-1").string() + ".data-00000-of-00001";
  fs::copy_file(dir / "ckpt-2.data-00000-of-00001", data1, fs::copy_options::overwrite_existing);
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "ckpt-1"));
  const tfckpt::verify_report report = ckpt.verify();
  ASSERT_EQ(report.problems.size(), 1u);  // b is equal in both steps
  EXPECT_THAT(report.problems[0],
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(data1 + " @0: checksum mismatch over 16 bytes"), HasSubstr("another checkpoint"),
                             HasSubstr("for key 'w'"))));
  EXPECT_EQ(report.tensors_checked, 2u);
  EXPECT_EQ(report.bytes_checked, 20u);
}

// --- Scale ---

TEST(Scale, HundredThousandEntriesAllFound) {
  scratch_dir dir;
  constexpr int kCount = 100000;
  std::vector<tensor_spec> tensors;
  tensors.reserve(kCount);
  for (int i = 0; i < kCount; ++i) {
    tensor_spec t;
    t.name = absl::StrFormat("layer_%06d/kernel", (i * 7919) % kCount);  // added out of key order
    t.dtype = tfckpt::dtype::int32;
    t.shape = {1};
    t.data.assign(reinterpret_cast<const char*>(&i), 4);
    tensors.push_back(std::move(t));
  }
  write_bundle(dir / "big", tensors);
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "big"));
  ASSERT_EQ(ckpt.size(), static_cast<std::size_t>(kCount));
  EXPECT_TRUE(std::is_sorted(ckpt.entries().begin(), ckpt.entries().end(),
                             [](const tfckpt::entry& a, const tfckpt::entry& b) { return a.name() < b.name(); }));
  for (int i = 0; i < kCount; ++i) {
    const tensor_spec& t = tensors[static_cast<std::size_t>(i)];
    const tfckpt::entry* e = ckpt.find(t.name);
    ASSERT_NE(e, nullptr) << t.name;
    ASSERT_EQ(e->name(), t.name);
    ASSERT_EQ(e->offset(), 4u * static_cast<std::uint64_t>(i));
  }
  EXPECT_EQ(ckpt.find("layer_100000/kernel"), nullptr);
  EXPECT_EQ(ckpt.find("layer_000000/kerne"), nullptr);
  EXPECT_EQ(ckpt.find(""), nullptr);
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* last, ckpt.get("layer_099999/kernel"));
  ASSERT_OK_AND_ASSIGN(auto v, last->values<std::int32_t>());
  EXPECT_EQ(v[0] * 7919 % kCount, 99999);
  EXPECT_TRUE(ckpt.verify().ok());
}

}  // namespace

}  // namespace bad_input_test
