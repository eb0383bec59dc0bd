// SPDX-License-Identifier: Apache-2.0
// The hand-written BundleEntryProto / BundleHeaderProto decoders (codec/bundle_entry.hpp) on
// arbitrary bytes, checked against protobuf's generated classes: whatever our decoder accepts,
// protobuf must read the same way (dtype, dims, shard, offset, size, crc, slice extents; header
// shards, endianness, version). Our decoder may refuse more (negative sizes, groups, unknown
// versions); it must never accept something protobuf reads differently.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tfckpt/codec/bundle_entry.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"

namespace {

constexpr std::string_view kFile = "fuzz.index";
constexpr std::uint64_t kAt = 1000;  // an offset, so that errors can be checked to carry one

void check_entry(std::span<const std::byte> bytes) {
  namespace codec = tfckpt::codec;
  codec::bundle_entry e;
  std::vector<std::int64_t> dims;
  std::vector<codec::slice_extent> extents;
  std::vector<std::uint32_t> ranks;
  const absl::Status s = codec::decode_bundle_entry(kFile, bytes, kAt, &e, &dims, &extents, &ranks);
  tfckpt_fuzz::expect_names(s, kFile);
  if (!s.ok()) return;
  if (dims.size() != e.rank || ranks.size() != e.num_slices)
    tfckpt_fuzz::broken_promise("dims/slices appended disagree with the counts", s);
  std::size_t extent_total = 0;
  for (std::uint32_t r : ranks) extent_total += r;
  if (extent_total != extents.size()) tfckpt_fuzz::broken_promise("slice ranks disagree with the extents", s);

  tensorflow::BundleEntryProto p;
  if (!p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;  // e.g. a dim name that is not UTF-8
  bool same = p.dtype() == e.dtype && p.shard_id() == e.shard_id && p.offset() == e.offset && p.size() == e.size &&
              p.crc32c() == e.masked_crc32c && p.has_shape() == e.has_shape &&
              static_cast<std::size_t>(p.shape().dim_size()) == dims.size() &&
              static_cast<std::size_t>(p.slices_size()) == ranks.size();
  for (int i = 0; same && i < p.shape().dim_size(); ++i) same = p.shape().dim(i).size() == dims[static_cast<std::size_t>(i)];
  std::size_t x = 0;
  for (int i = 0; same && i < p.slices_size(); ++i) {
    const auto& slice = p.slices(i);
    same = static_cast<std::uint32_t>(slice.extent_size()) == ranks[static_cast<std::size_t>(i)];
    for (int j = 0; same && j < slice.extent_size(); ++j, ++x) {
      const auto& ext = slice.extent(j);
      const std::int64_t length = ext.has_length_case() == tensorflow::TensorSliceProto::Extent::kLength ? ext.length() : -1;
      same = extents[x].start == ext.start() && extents[x].length == length;
    }
  }
  if (!same) tfckpt_fuzz::broken_promise("decode_bundle_entry disagrees with protobuf: " + p.ShortDebugString(), s);
}

void check_header(std::span<const std::byte> bytes) {
  const auto h = tfckpt::codec::decode_bundle_header(kFile, bytes, kAt);
  tfckpt_fuzz::expect_names(h.status(), kFile);
  if (!h.ok()) return;
  if (h->num_shards < 0) tfckpt_fuzz::broken_promise("a header with negative shards was accepted", h.status());
  tensorflow::BundleHeaderProto p;
  if (!p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  if (p.num_shards() != h->num_shards || (p.endianness() == tensorflow::BundleHeaderProto::BIG) != h->big_endian ||
      p.version().producer() != h->producer || p.version().min_consumer() != h->min_consumer)
    tfckpt_fuzz::broken_promise("decode_bundle_header disagrees with protobuf: " + p.ShortDebugString(), h.status());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1u << 20)) return 0;  // records are small; protobuf takes int sizes
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  check_entry(bytes);
  check_header(bytes);
  return 0;
}
