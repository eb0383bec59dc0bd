// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/v1_record.hpp
//
// One record of a V1 checkpoint's SSTable (spec/FORMAT.md §4): a serialized SavedTensorSlices
// message, either the table of contents (key "": every tensor's name, dtype, shape and slice count)
// or one slice (the tensor's name, the slice's extents and its values as a TensorProto). Decoded
// into plain structs by the compiled `tfckpt::proto` library (which tfckpt::tfckpt links), so that
// including the checkpoint reader never includes protobuf.
//
// Example:
//   std::optional<tfckpt::codec::v1_record> r = tfckpt::codec::parse_v1_record(value);
//   if (!r) { /* not a SavedTensorSlices message */ }
//   if (r->meta) for (const auto& t : *r->meta) use(t.name, t.type, t.dims);
#ifndef TFCKPT_CODEC_V1_RECORD_HPP_
#define TFCKPT_CODEC_V1_RECORD_HPP_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tfckpt::codec {

/// One tensor listed by the table of contents (SavedSliceMeta).
struct v1_tensor_meta {
  std::string name;
  std::int32_t type = 0;             // DataType number, unchecked
  std::vector<std::int64_t> dims;    // unchecked: may be negative
  std::size_t slice_count = 0;       // slices the writer listed
};

/// One extent of a slice (TensorSliceProto.Extent); no length means the whole dimension.
struct v1_extent {
  std::int64_t start = 0;
  std::optional<std::int64_t> length;
};

/// A slice's values (TensorProto): only the typed fields V1 writers set.
struct v1_values {
  std::string tensor_content;
  std::vector<float> float_val;
  std::vector<double> double_val;
  std::vector<std::int32_t> int_val;  // also int8, uint8, int16, uint16 and the quantized types
  std::vector<std::int64_t> int64_val;
  std::vector<std::uint32_t> uint32_val;
  std::vector<std::uint64_t> uint64_val;
  std::vector<bool> bool_val;
  std::vector<std::int32_t> half_val;  // float16 / bfloat16 bits
  std::vector<float> scomplex_val;     // real, imag interleaved
  std::vector<double> dcomplex_val;
  std::vector<std::string> string_val;
};

/// One slice (SavedSlice).
struct v1_slice {
  std::string name;
  std::vector<v1_extent> extents;  // empty: the whole tensor
  v1_values values;
};

/// A SavedTensorSlices record: the table of contents, a slice, both or (malformed) neither.
struct v1_record {
  std::optional<std::vector<v1_tensor_meta>> meta;
  std::optional<v1_slice> data;
};

/// Decodes one record; std::nullopt when the bytes are not a SavedTensorSlices message (or exceed
/// protobuf's 2 GiB message limit). Defined in the compiled tfckpt::proto library.
std::optional<v1_record> parse_v1_record(std::span<const std::byte> bytes);

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_V1_RECORD_HPP_
