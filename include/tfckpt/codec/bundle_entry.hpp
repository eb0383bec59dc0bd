// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/bundle_entry.hpp
//
// The two record kinds of a V2 checkpoint's `.index` table (spec/FORMAT.md §3.1-3.2), decoded by
// hand from the wire format so that opening a checkpoint makes no heap allocation per tensor:
//
//   key ""      BundleHeaderProto  { 1 num_shards:int32  2 endianness:enum  3 version:VersionDef }
//   other keys  BundleEntryProto   { 1 dtype:enum  2 shape:TensorShapeProto  3 shard_id:int32
//                                    4 offset:int64  5 size:int64  6 crc32c:fixed32 (masked)
//                                    7 slices:TensorSliceProto* }
//   VersionDef        { 1 producer:int32  2 min_consumer:int32  3 bad_consumers:int32* }
//   TensorShapeProto  { 2 dim:Dim* { 1 size:int64  2 name:string }  3 unknown_rank:bool }
//   TensorSliceProto  { 1 extent:Extent* { 1 start:int64  2 length:int64 (oneof: absent = full) } }
//
// Fields may come in any order and unknown fields are skipped, as any protobuf parser does; a known
// field with the wrong wire type is an error. The encoders write the bytes protobuf's serializer
// writes (fields in number order, proto3 defaults left out), which is what TensorFlow stores.
// tests/codec/bundle_entry_test.cpp checks both directions against the protobuf-generated classes.
//
// Example:
//   codec::bundle_entry e;
//   TFCKPT_RETURN_IF_ERROR(codec::decode_bundle_entry(file, value, at, &e, &dims, &extents, &ranks));
#ifndef TFCKPT_CODEC_BUNDLE_ENTRY_HPP_
#define TFCKPT_CODEC_BUNDLE_ENTRY_HPP_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tfckpt/codec/proto_wire.hpp"
#include "tfckpt/codec/proto_writer.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt::codec {

/// kTensorBundleVersion: the version this reader implements (tensor_bundle.h); a file whose
/// min_consumer exceeds it, or that lists it in bad_consumers, must be refused.
inline constexpr std::int32_t kTensorBundleVersion = 1;

/// One dimension of a slice: rows [start, start + length); length -1 means the whole dimension.
struct slice_extent {
  std::int64_t start = 0;
  std::int64_t length = -1;
  bool full() const { return length == -1; }
  friend bool operator==(const slice_extent&, const slice_extent&) = default;
};

struct bundle_header {
  std::int32_t num_shards = 0;
  bool big_endian = false;
  std::int32_t producer = 0;
  std::int32_t min_consumer = 0;
};

struct bundle_entry {
  std::int32_t dtype = 0;
  bool has_shape = false;
  std::uint32_t rank = 0;        // dims appended to the caller's vector
  std::int32_t shard_id = 0;
  std::int64_t offset = 0;
  std::int64_t size = 0;
  std::uint32_t masked_crc32c = 0;
  bool has_crc32c = false;
  std::uint32_t num_slices = 0;  // slices appended to the caller's vectors
};

namespace detail {

inline absl::Status expect_type(const proto_reader& in, const proto_field& f, wire_type t) {
  return f.type == t ? absl::OkStatus() : in.wrong_type(f);
}

// VersionDef: checks it against kTensorBundleVersion as TensorFlow's CheckVersions does.
TFCKPT_DECL absl::Status decode_version(std::string_view file, std::span<const std::byte> bytes, std::uint64_t at,
                                        bundle_header* h);

TFCKPT_DECL absl::Status decode_shape(std::string_view file, std::span<const std::byte> bytes, std::uint64_t at,
                                      bundle_entry* e, std::vector<std::int64_t>* dims);

TFCKPT_DECL absl::Status decode_slice(std::string_view file, std::span<const std::byte> bytes, std::uint64_t at,
                                      std::vector<slice_extent>* extents, std::vector<std::uint32_t>* ranks);

}  // namespace detail

/// Decodes the header record (key "") and checks its version, endianness and shard count.
TFCKPT_DECL absl::StatusOr<bundle_header> decode_bundle_header(std::string_view file, std::span<const std::byte> value,
                                                               std::uint64_t at);

namespace detail {

// The fast path: a record serialized canonically, as TensorFlow and protobuf write it (fields 1-6
// in order, each at most once, dims with only a size). Plain pointer walking with no Status per
// field; it runs for every tensor at open (bench/index_bench.cpp). Returns false, leaving `dims` as
// it found it, for anything else, and the general decoder below takes over.
inline bool decode_canonical_bundle_entry(const std::byte* p, const std::byte* const limit, bundle_entry* e,
                                          std::vector<std::int64_t>* dims) {
  const std::size_t dims_before = dims->size();
  const auto give_up = [&] {
    dims->resize(dims_before);
    return false;
  };
  const auto next_is = [&](std::uint8_t tag) { return p < limit && static_cast<std::uint8_t>(*p) == tag; };
  std::uint64_t v = 0;
  if (next_is(0x08)) {  // dtype
    if ((p = get_varint64(p + 1, limit, &v)) == nullptr || v > 0x7fffffff) return give_up();
    e->dtype = static_cast<std::int32_t>(v);
  }
  if (next_is(0x12)) {  // shape
    if ((p = get_varint64(p + 1, limit, &v)) == nullptr || v > static_cast<std::uint64_t>(limit - p)) return give_up();
    const std::byte* const shape_end = p + v;
    e->has_shape = true;
    while (p < shape_end) {
      if (static_cast<std::uint8_t>(*p) != 0x12) return give_up();  // only dims
      if ((p = get_varint64(p + 1, shape_end, &v)) == nullptr || v > static_cast<std::uint64_t>(shape_end - p))
        return give_up();
      const std::byte* const dim_end = p + v;
      std::uint64_t size = 0;
      if (p < dim_end) {
        if (static_cast<std::uint8_t>(*p) != 0x08 || (p = get_varint64(p + 1, dim_end, &size)) != dim_end ||
            size > static_cast<std::uint64_t>(INT64_MAX))
          return give_up();
      }
      dims->push_back(static_cast<std::int64_t>(size));
      ++e->rank;
    }
  }
  if (next_is(0x18)) {  // shard_id
    if ((p = get_varint64(p + 1, limit, &v)) == nullptr || v > 0x7fffffff) return give_up();
    e->shard_id = static_cast<std::int32_t>(v);
  }
  if (next_is(0x20)) {  // offset
    if ((p = get_varint64(p + 1, limit, &v)) == nullptr || v > static_cast<std::uint64_t>(INT64_MAX)) return give_up();
    e->offset = static_cast<std::int64_t>(v);
  }
  if (next_is(0x28)) {  // size
    if ((p = get_varint64(p + 1, limit, &v)) == nullptr || v > static_cast<std::uint64_t>(INT64_MAX)) return give_up();
    e->size = static_cast<std::int64_t>(v);
  }
  if (next_is(0x35)) {  // crc32c
    if (limit - p < 5) return give_up();
    e->masked_crc32c = tfckpt::detail::load_le<std::uint32_t>(p + 1);
    e->has_crc32c = true;
    p += 5;
  }
  return p == limit ? true : give_up();
}

// decode_bundle_entry for a record in any field order.
TFCKPT_DECL absl::Status decode_bundle_entry_fields(std::string_view file, std::span<const std::byte> value,
                                                    std::uint64_t at, bundle_entry* e, std::vector<std::int64_t>* dims,
                                                    std::vector<slice_extent>* extents,
                                                    std::vector<std::uint32_t>* slice_ranks);

}  // namespace detail

/// Decodes one entry record. Appends its dimensions to `dims`, and for a partitioned tensor each
/// slice's extents to `extents` and its extent count to `slice_ranks`. Checks wire structure and
/// non-negative numbers only; the caller checks the entry against the header and the shard files.
inline absl::Status decode_bundle_entry(std::string_view file, std::span<const std::byte> value, std::uint64_t at,
                                        bundle_entry* e, std::vector<std::int64_t>* dims,
                                        std::vector<slice_extent>* extents, std::vector<std::uint32_t>* slice_ranks) {
  // Once per record of an index: TensorFlow's own field order is decoded here, inline in the scan;
  // any other order field by field.
  *e = bundle_entry{};
  if (detail::decode_canonical_bundle_entry(value.data(), value.data() + value.size(), e, dims)) return absl::OkStatus();
  return detail::decode_bundle_entry_fields(file, value, at, e, dims, extents, slice_ranks);
}

/// The header record's value: BundleHeaderProto with `num_shards`, the byte order, and version
/// producer kTensorBundleVersion.
TFCKPT_DECL std::string encode_bundle_header(std::int32_t num_shards, bool big_endian);

namespace detail {

inline std::uint64_t extent_size(const slice_extent& x) {
  if (x.full()) return 0;  // a whole dimension: an empty Extent
  return (x.start != 0 ? varint_field_size(1, static_cast<std::uint64_t>(x.start)) : 0) +
         varint_field_size(2, static_cast<std::uint64_t>(x.length));  // in a oneof: written even when 0
}

inline std::uint64_t dim_size(std::int64_t d) { return d != 0 ? varint_field_size(1, static_cast<std::uint64_t>(d)) : 0; }

}  // namespace detail

/// A tensor record's value, into `out` (cleared first): BundleEntryProto with `e`'s dtype, the
/// shape `dims` (always present, even for a scalar, as TensorFlow writes it), and either the
/// payload's place (shard, offset, size, masked CRC) or, for a partitioned tensor, one
/// TensorSliceProto per element of `slices` (extents in dimension order). e.rank, e.num_slices
/// and e.has_crc32c are not read.
TFCKPT_DECL void encode_bundle_entry(const bundle_entry& e, std::span<const std::int64_t> dims,
                                     const std::vector<std::vector<slice_extent>>& slices, std::string& out);

}  // namespace tfckpt::codec

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CODEC_BUNDLE_ENTRY)

namespace tfckpt::codec::detail {

TFCKPT_DECL absl::Status decode_version(std::string_view file, std::span<const std::byte> bytes, std::uint64_t at,
                                        bundle_header* h) {
  proto_reader in(file, bytes, at, "bundle header version");
  while (!in.done()) {
    TFCKPT_ASSIGN_OR_RETURN(const proto_field f, in.next());
    if (f.number == 1 || f.number == 2) {
      TFCKPT_RETURN_IF_ERROR(expect_type(in, f, wire_type::varint));
      (f.number == 1 ? h->producer : h->min_consumer) = f.as_int32();
    } else if (f.number == 3) {
      auto check = [&](std::int64_t bad) -> absl::Status {
        if (bad == kTensorBundleVersion)
          return absl::UnimplementedError(absl::StrFormat(
              "%s @%d: this bundle lists version %d, the one this reader implements, as a bad consumer",
              file, f.offset, kTensorBundleVersion));
        return absl::OkStatus();
      };
      if (f.type == wire_type::varint) {
        TFCKPT_RETURN_IF_ERROR(check(f.as_int32()));
      } else if (f.type == wire_type::length_delimited) {  // packed
        byte_reader packed(file, f.bytes, at + static_cast<std::uint64_t>(f.bytes.data() - bytes.data()));
        while (!packed.empty()) {
          TFCKPT_ASSIGN_OR_RETURN(const std::uint64_t v, packed.varint64("bad_consumers"));
          TFCKPT_RETURN_IF_ERROR(check(static_cast<std::int32_t>(v)));
        }
      } else {
        return in.wrong_type(f);
      }
    }
  }
  if (h->producer < 0)
    return data_loss(file, at, "bundle version has negative producer %d", h->producer);
  if (h->min_consumer > kTensorBundleVersion)
    return absl::UnimplementedError(absl::StrFormat(
        "%s @%d: bundle requires reader version >= %d; this reader implements version %d (written by a "
        "newer TensorFlow)",
        file, at, h->min_consumer, kTensorBundleVersion));
  return absl::OkStatus();
}

TFCKPT_DECL absl::Status decode_shape(std::string_view file, std::span<const std::byte> bytes, std::uint64_t at,
                                      bundle_entry* e, std::vector<std::int64_t>* dims) {
  proto_reader in(file, bytes, at, "tensor shape");
  while (!in.done()) {
    TFCKPT_ASSIGN_OR_RETURN(const proto_field f, in.next());
    if (f.number == 2) {
      TFCKPT_RETURN_IF_ERROR(expect_type(in, f, wire_type::length_delimited));
      const std::uint64_t dim_at = at + static_cast<std::uint64_t>(f.bytes.data() - bytes.data());
      proto_reader dim(file, f.bytes, dim_at, "shape dimension");
      std::int64_t size = 0;
      while (!dim.done()) {
        TFCKPT_ASSIGN_OR_RETURN(const proto_field d, dim.next());
        if (d.number == 1) {
          TFCKPT_RETURN_IF_ERROR(expect_type(dim, d, wire_type::varint));
          size = d.as_int64();
        }
      }
      if (size < 0) return data_loss(file, dim_at, "shape dimension %d has size %d", e->rank, size);
      dims->push_back(size);
      ++e->rank;
    } else if (f.number == 3) {
      TFCKPT_RETURN_IF_ERROR(expect_type(in, f, wire_type::varint));
      if (f.value != 0) return data_loss(file, f.offset, "stored tensor has a shape of unknown rank");
    }
  }
  return absl::OkStatus();
}

TFCKPT_DECL absl::Status decode_slice(std::string_view file, std::span<const std::byte> bytes, std::uint64_t at,
                                      std::vector<slice_extent>* extents, std::vector<std::uint32_t>* ranks) {
  proto_reader in(file, bytes, at, "tensor slice");
  std::uint32_t rank = 0;
  while (!in.done()) {
    TFCKPT_ASSIGN_OR_RETURN(const proto_field f, in.next());
    if (f.number != 1) continue;
    TFCKPT_RETURN_IF_ERROR(expect_type(in, f, wire_type::length_delimited));
    const std::uint64_t extent_at = at + static_cast<std::uint64_t>(f.bytes.data() - bytes.data());
    proto_reader ex(file, f.bytes, extent_at, "slice extent");
    slice_extent e;
    while (!ex.done()) {
      TFCKPT_ASSIGN_OR_RETURN(const proto_field x, ex.next());
      if (x.number == 1 || x.number == 2) {
        TFCKPT_RETURN_IF_ERROR(expect_type(ex, x, wire_type::varint));
        (x.number == 1 ? e.start : e.length) = x.as_int64();
      }
    }
    if (e.start < 0 || e.length < -1)
      return data_loss(file, extent_at, "slice extent (%d, %d) is negative", e.start, e.length);
    extents->push_back(e);
    ++rank;
  }
  ranks->push_back(rank);
  return absl::OkStatus();
}
}  // namespace tfckpt::codec::detail

namespace tfckpt::codec {

TFCKPT_DECL absl::StatusOr<bundle_header> decode_bundle_header(std::string_view file, std::span<const std::byte> value,
                                                               std::uint64_t at) {
  bundle_header h;
  proto_reader in(file, value, at, "bundle header");
  while (!in.done()) {
    TFCKPT_ASSIGN_OR_RETURN(const proto_field f, in.next());
    if (f.number == 1) {
      if (f.type == wire_type::length_delimited)  // SavedTensorSlices.meta: a V1 table of contents
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s @%d: the header record is a V1 checkpoint's table of contents, not a V2 bundle header", file,
            f.offset));
      TFCKPT_RETURN_IF_ERROR(detail::expect_type(in, f, wire_type::varint));
      if (!f.fits_int32()) return data_loss(file, f.offset, "bundle header num_shards %d overflows int32", f.as_int64());
      h.num_shards = f.as_int32();
    } else if (f.number == 2) {
      TFCKPT_RETURN_IF_ERROR(detail::expect_type(in, f, wire_type::varint));
      if (f.value > 1) return data_loss(file, f.offset, "bundle header has unknown endianness %d", f.value);
      h.big_endian = f.value == 1;
    } else if (f.number == 3) {
      TFCKPT_RETURN_IF_ERROR(detail::expect_type(in, f, wire_type::length_delimited));
      TFCKPT_RETURN_IF_ERROR(detail::decode_version(file, f.bytes, in.payload_offset(f, value, at), &h));
    }
  }
  if (h.num_shards < 0) return data_loss(file, at, "bundle header has %d shards", h.num_shards);
  return h;
}

TFCKPT_DECL absl::Status detail::decode_bundle_entry_fields(std::string_view file, std::span<const std::byte> value,
                                                            std::uint64_t at, bundle_entry* e, std::vector<std::int64_t>* dims,
                                                            std::vector<slice_extent>* extents,
                                                            std::vector<std::uint32_t>* slice_ranks) {
  *e = bundle_entry{};
  proto_reader in(file, value, at, "bundle entry");
  while (!in.done()) {
    TFCKPT_ASSIGN_OR_RETURN(const proto_field f, in.next());
    switch (f.number) {
      case 1:
        TFCKPT_RETURN_IF_ERROR(detail::expect_type(in, f, wire_type::varint));
        e->dtype = f.as_int32();
        break;
      case 2: {
        TFCKPT_RETURN_IF_ERROR(detail::expect_type(in, f, wire_type::length_delimited));
        // A repeated embedded message merges into the first, appending its dims, as protobuf does.
        e->has_shape = true;
        TFCKPT_RETURN_IF_ERROR(detail::decode_shape(file, f.bytes, in.payload_offset(f, value, at), e, dims));
        break;
      }
      case 3:
        TFCKPT_RETURN_IF_ERROR(detail::expect_type(in, f, wire_type::varint));
        if (!f.fits_int32() || f.as_int64() < 0)
          return data_loss(file, f.offset, "bad shard id %d", f.as_int64());
        e->shard_id = f.as_int32();
        break;
      case 4:
      case 5:
        TFCKPT_RETURN_IF_ERROR(detail::expect_type(in, f, wire_type::varint));
        if (f.as_int64() < 0)
          return data_loss(file, f.offset, "negative %s %d", f.number == 4 ? "offset" : "size", f.as_int64());
        (f.number == 4 ? e->offset : e->size) = f.as_int64();
        break;
      case 6:
        TFCKPT_RETURN_IF_ERROR(detail::expect_type(in, f, wire_type::fixed32));
        e->masked_crc32c = static_cast<std::uint32_t>(f.value);
        e->has_crc32c = true;
        break;
      case 7:
        TFCKPT_RETURN_IF_ERROR(detail::expect_type(in, f, wire_type::length_delimited));
        TFCKPT_RETURN_IF_ERROR(
            detail::decode_slice(file, f.bytes, in.payload_offset(f, value, at), extents, slice_ranks));
        ++e->num_slices;
        break;
      default:
        break;  // unknown field: skipped, as protobuf does
    }
  }
  return absl::OkStatus();
}

TFCKPT_DECL std::string encode_bundle_header(std::int32_t num_shards, bool big_endian) {
  std::string out;
  if (num_shards != 0) put_varint_field(out, 1, int32_wire_value(num_shards));
  if (big_endian) put_varint_field(out, 2, 1);  // Endianness BIG; LITTLE is the default
  const std::uint64_t producer = int32_wire_value(kTensorBundleVersion);
  put_length_delimited_header(out, 3, varint_field_size(1, producer));
  put_varint_field(out, 1, producer);
  return out;
}

TFCKPT_DECL void encode_bundle_entry(const bundle_entry& e, std::span<const std::int64_t> dims,
                                     const std::vector<std::vector<slice_extent>>& slices, std::string& out) {
  out.clear();
  if (e.dtype != 0) put_varint_field(out, 1, int32_wire_value(e.dtype));
  std::uint64_t shape_bytes = 0;
  for (const std::int64_t d : dims) shape_bytes += length_delimited_size(2, detail::dim_size(d));
  put_length_delimited_header(out, 2, shape_bytes);
  for (const std::int64_t d : dims) {
    put_length_delimited_header(out, 2, detail::dim_size(d));
    if (d != 0) put_varint_field(out, 1, static_cast<std::uint64_t>(d));
  }
  if (!slices.empty()) {
    for (const auto& slice : slices) {
      std::uint64_t slice_bytes = 0;
      for (const slice_extent& x : slice) slice_bytes += length_delimited_size(1, detail::extent_size(x));
      put_length_delimited_header(out, 7, slice_bytes);
      for (const slice_extent& x : slice) {
        put_length_delimited_header(out, 1, detail::extent_size(x));
        if (x.full()) continue;
        if (x.start != 0) put_varint_field(out, 1, static_cast<std::uint64_t>(x.start));
        put_varint_field(out, 2, static_cast<std::uint64_t>(x.length));
      }
    }
    return;
  }
  if (e.shard_id != 0) put_varint_field(out, 3, int32_wire_value(e.shard_id));
  if (e.offset != 0) put_varint_field(out, 4, static_cast<std::uint64_t>(e.offset));
  if (e.size != 0) put_varint_field(out, 5, static_cast<std::uint64_t>(e.size));
  if (e.masked_crc32c != 0) put_fixed32_field(out, 6, e.masked_crc32c);
}

}  // namespace tfckpt::codec
#endif  // TFCKPT_COMPILE_CODEC_BUNDLE_ENTRY

#endif  // TFCKPT_CODEC_BUNDLE_ENTRY_HPP_
