// SPDX-License-Identifier: Apache-2.0
// The hand-written BundleEntryProto/BundleHeaderProto decoders and encoders against protobuf's
// generated code.
#include "tfckpt/codec/bundle_entry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "testing/status_matchers.hpp"
#include "tfckpt/codec/varint.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"

namespace bundle_entry_test {

namespace {
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using tfckpt::codec::as_bytes;
using tfckpt_testing::StatusIs;

struct decoded {
  tfckpt::codec::bundle_entry e;
  std::vector<std::int64_t> dims;
  std::vector<tfckpt::codec::slice_extent> extents;
  std::vector<std::uint32_t> ranks;
};

absl::StatusOr<decoded> decode(const std::string& bytes) {
  decoded d;
  TFCKPT_RETURN_IF_ERROR(tfckpt::codec::decode_bundle_entry("t.index", as_bytes(bytes), 100, &d.e, &d.dims,
                                                            &d.extents, &d.ranks));
  return d;
}

TEST(BundleEntry, MatchesProtobufOnRandomEntries) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 2000; ++iter) {
    tensorflow::BundleEntryProto p;
    p.set_dtype(static_cast<tensorflow::DataType>(1 + rng() % 23));
    auto* shape = p.mutable_shape();
    const int rank = static_cast<int>(rng() % 5);
    for (int d = 0; d < rank; ++d) {
      auto* dim = shape->add_dim();
      dim->set_size(static_cast<std::int64_t>(rng() % 5000));
      if (rng() % 7 == 0) dim->set_name("n");  // a field the decoder skips
    }
    p.set_shard_id(static_cast<int>(rng() % 3));
    p.set_offset(static_cast<std::int64_t>(rng() >> 20));
    p.set_size(static_cast<std::int64_t>(rng() >> 30));
    if (rng() % 3) p.set_crc32c(static_cast<std::uint32_t>(rng()));
    const bool sliced = rng() % 10 == 0;
    if (sliced) {
      for (int s = 0; s < 2; ++s) {
        auto* slice = p.add_slices();
        for (int d = 0; d < rank; ++d) {
          auto* x = slice->add_extent();
          if (rng() % 2) {
            x->set_start(static_cast<std::int64_t>(rng() % 10));
            x->set_length(static_cast<std::int64_t>(rng() % 10));
          }
        }
      }
    }
    std::string bytes;
    ASSERT_TRUE(p.SerializeToString(&bytes));
    ASSERT_OK_AND_ASSIGN(const decoded d, decode(bytes));
    EXPECT_EQ(d.e.dtype, p.dtype());
    EXPECT_EQ(d.e.rank, static_cast<std::uint32_t>(p.shape().dim_size()));
    for (int i = 0; i < p.shape().dim_size(); ++i) EXPECT_EQ(d.dims[static_cast<std::size_t>(i)], p.shape().dim(i).size());
    EXPECT_EQ(d.e.shard_id, p.shard_id());
    EXPECT_EQ(d.e.offset, p.offset());
    EXPECT_EQ(d.e.size, p.size());
    EXPECT_EQ(d.e.masked_crc32c, p.crc32c());
    EXPECT_EQ(d.e.num_slices, static_cast<std::uint32_t>(p.slices_size()));
    std::size_t k = 0;
    for (const auto& slice : p.slices())
      for (const auto& x : slice.extent()) {
        EXPECT_EQ(d.extents[k].start, x.start());
        EXPECT_EQ(d.extents[k].length, x.has_length_case() == tensorflow::TensorSliceProto::Extent::kLength ? x.length() : -1);
        ++k;
      }
  }
}

TEST(BundleEntry, SpecExampleBytes) {
  // float32 [1] at offset 4, size 4 (spec §3.2).
  const std::string bytes("\x08\x01\x12\x04\x12\x02\x08\x01\x20\x04\x28\x04\x35\x11\x22\x33\x44", 17);
  ASSERT_OK_AND_ASSIGN(const decoded d, decode(bytes));
  EXPECT_EQ(d.e.dtype, 1);
  EXPECT_THAT(d.dims, ElementsAreArray({1}));
  EXPECT_EQ(d.e.offset, 4);
  EXPECT_EQ(d.e.size, 4);
  EXPECT_EQ(d.e.masked_crc32c, 0x44332211u);
}

TEST(BundleEntry, FieldsInAnyOrderAndUnknownFieldsSkipped) {
  // size, unknown field 15 (varint), shape, dtype: reversed order as some TensorFlow builds write.
  const std::string bytes("\x28\x08\x78\x05\x12\x02\x12\x00\x08\x09", 10);
  ASSERT_OK_AND_ASSIGN(const decoded d, decode(bytes));
  EXPECT_EQ(d.e.dtype, 9);
  EXPECT_EQ(d.e.size, 8);
  EXPECT_THAT(d.dims, ElementsAreArray({0}));
}

TEST(BundleEntry, RejectsMalformedRecordsWithOffsets) {
  EXPECT_THAT(decode(std::string("\x08", 1)), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @101")));
  EXPECT_THAT(decode(std::string("\x0a\x01\x00", 3)),  // dtype as length-delimited
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("wire type")));
  EXPECT_THAT(decode(std::string("\x12\x05\x12\x02", 4)),  // shape longer than the record
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated")));
  EXPECT_THAT(decode(std::string("\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)),  // offset -1
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("negative offset")));
  EXPECT_THAT(decode(std::string("\x12\x02\x18\x01", 4)),  // unknown rank
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unknown rank")));
  EXPECT_THAT(decode(std::string("\x0b", 1)), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("wire type 3")));
}

TEST(BundleHeader, DecodesAndChecksVersions) {
  const std::string tf("\x08\x01\x1a\x02\x08\x01", 6);  // what TensorFlow writes (spec §3.2)
  ASSERT_OK_AND_ASSIGN(const auto h, tfckpt::codec::decode_bundle_header("t.index", as_bytes(tf), 0));
  EXPECT_EQ(h.num_shards, 1);
  EXPECT_FALSE(h.big_endian);
  EXPECT_EQ(h.producer, 1);

  tensorflow::BundleHeaderProto p;
  p.set_num_shards(3);
  p.set_endianness(tensorflow::BundleHeaderProto::BIG);
  p.mutable_version()->set_producer(2);
  std::string s = p.SerializeAsString();
  ASSERT_OK_AND_ASSIGN(const auto big, tfckpt::codec::decode_bundle_header("t.index", as_bytes(s), 0));
  EXPECT_TRUE(big.big_endian);
  EXPECT_EQ(big.num_shards, 3);

  p.mutable_version()->set_min_consumer(2);
  s = p.SerializeAsString();
  EXPECT_THAT(tfckpt::codec::decode_bundle_header("t.index", as_bytes(s), 0),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("newer TensorFlow")));
  p.mutable_version()->set_min_consumer(0);
  p.mutable_version()->add_bad_consumers(1);
  s = p.SerializeAsString();
  EXPECT_THAT(tfckpt::codec::decode_bundle_header("t.index", as_bytes(s), 0),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("bad consumer")));
  const std::string v1("\x0a\x02\x0a\x00", 4);  // SavedTensorSlices{meta: ...}
  EXPECT_THAT(tfckpt::codec::decode_bundle_header("t.index", as_bytes(v1), 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("V1")));
}
// --- encoding: the bytes protobuf's serializer writes, which is what TensorFlow stores ---

std::int64_t random_int64(std::mt19937_64& rng) {
  switch (rng() % 5) {
    case 0: return 0;
    case 1: return static_cast<std::int64_t>(rng() % 200);
    case 2: return static_cast<std::int64_t>(rng() % 100000000000);
    case 3: return -static_cast<std::int64_t>(1 + rng() % 1000);  // never stored, but encoded as protobuf does
    default: return static_cast<std::int64_t>(rng() >> 1);
  }
}

TEST(BundleEntryEncoding, MatchesProtobufOnRandomEntries) {
  std::mt19937_64 rng(7);
  std::string ours;
  for (int iter = 0; iter < 5000; ++iter) {
    tfckpt::codec::bundle_entry e;
    e.dtype = static_cast<std::int32_t>(rng() % 24);
    std::vector<std::int64_t> dims(rng() % 5);
    for (std::int64_t& d : dims) d = random_int64(rng);
    std::vector<std::vector<tfckpt::codec::slice_extent>> slices;
    if (rng() % 4 == 0) {
      slices.resize(1 + rng() % 3);
      for (auto& slice : slices) {
        slice.resize(dims.size());
        for (auto& x : slice) x = rng() % 3 == 0 ? tfckpt::codec::slice_extent{0, -1} : tfckpt::codec::slice_extent{random_int64(rng), random_int64(rng)};
      }
    } else {
      e.shard_id = rng() % 3 == 0 ? 0 : static_cast<std::int32_t>(rng() % 70000);
      e.offset = random_int64(rng);
      e.size = random_int64(rng);
      e.masked_crc32c = rng() % 4 == 0 ? 0 : static_cast<std::uint32_t>(rng());
    }

    tensorflow::BundleEntryProto p;
    p.set_dtype(static_cast<tensorflow::DataType>(e.dtype));
    auto* shape = p.mutable_shape();
    for (const std::int64_t d : dims) shape->add_dim()->set_size(d);
    for (const auto& slice : slices) {
      auto* s = p.add_slices();
      for (const auto& x : slice) {
        auto* ext = s->add_extent();
        if (x.full()) continue;
        ext->set_start(x.start);
        ext->set_length(x.length);
      }
    }
    if (slices.empty()) {
      p.set_shard_id(e.shard_id);
      p.set_offset(e.offset);
      p.set_size(e.size);
      p.set_crc32c(e.masked_crc32c);
    }
    tfckpt::codec::encode_bundle_entry(e, dims, slices, ours);
    ASSERT_EQ(ours, p.SerializeAsString()) << "record " << iter;
  }
}

TEST(BundleEntryEncoding, HeaderMatchesProtobuf) {
  for (const std::int32_t shards : {0, 1, 2, 127, 128, 1 << 20}) {
    for (const bool big : {false, true}) {
      tensorflow::BundleHeaderProto h;
      h.set_num_shards(shards);
      if (big) h.set_endianness(tensorflow::BundleHeaderProto::BIG);
      h.mutable_version()->set_producer(tfckpt::codec::kTensorBundleVersion);
      EXPECT_EQ(tfckpt::codec::encode_bundle_header(shards, big), h.SerializeAsString()) << shards << " " << big;
    }
  }
}

}  // namespace

}  // namespace bundle_entry_test
