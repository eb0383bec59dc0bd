// SPDX-License-Identifier: Apache-2.0
// parse_v1_record (include/tfckpt/codec/v1_record.hpp): the one place the V1 reader needs protobuf,
// compiled once here instead of in every translation unit that opens a checkpoint.
#include "tfckpt/codec/v1_record.hpp"

#include <climits>

#include "tfckpt/proto/saved_tensor_slice.pb.h"

namespace tfckpt::codec {

namespace {
template <class T, class Field>
std::vector<T> to_vector(const Field& field) {
  return std::vector<T>(field.begin(), field.end());
}
}  // namespace

std::optional<v1_record> parse_v1_record(std::span<const std::byte> bytes) {
  tensorflow::SavedTensorSlices slices;
  if (bytes.size() > static_cast<std::size_t>(INT_MAX) ||
      !slices.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return std::nullopt;
  v1_record record;
  if (slices.has_meta()) {
    auto& meta = record.meta.emplace();
    meta.reserve(static_cast<std::size_t>(slices.meta().tensor_size()));
    for (const tensorflow::SavedSliceMeta& m : slices.meta().tensor()) {
      v1_tensor_meta t;
      t.name = m.name();
      t.type = m.type();
      for (const auto& d : m.shape().dim()) t.dims.push_back(d.size());
      t.slice_count = static_cast<std::size_t>(m.slice_size());
      meta.push_back(std::move(t));
    }
  }
  if (slices.has_data()) {
    tensorflow::SavedSlice* data = slices.mutable_data();
    v1_slice& s = record.data.emplace();
    s.name = data->name();
    for (const auto& e : data->slice().extent()) {
      v1_extent x;
      x.start = e.start();
      if (e.has_length_case() == tensorflow::TensorSliceProto::Extent::kLength) x.length = e.length();
      s.extents.push_back(x);
    }
    tensorflow::TensorProto* t = data->mutable_data();
    v1_values& v = s.values;
    v.tensor_content = std::move(*t->mutable_tensor_content());
    v.float_val = to_vector<float>(t->float_val());
    v.double_val = to_vector<double>(t->double_val());
    v.int_val = to_vector<std::int32_t>(t->int_val());
    v.int64_val = to_vector<std::int64_t>(t->int64_val());
    v.uint32_val = to_vector<std::uint32_t>(t->uint32_val());
    v.uint64_val = to_vector<std::uint64_t>(t->uint64_val());
    v.bool_val = to_vector<bool>(t->bool_val());
    v.half_val = to_vector<std::int32_t>(t->half_val());
    v.scomplex_val = to_vector<float>(t->scomplex_val());
    v.dcomplex_val = to_vector<double>(t->dcomplex_val());
    v.string_val.reserve(static_cast<std::size_t>(t->string_val_size()));
    for (std::string& str : *t->mutable_string_val()) v.string_val.push_back(std::move(str));
  }
  return record;
}

}  // namespace tfckpt::codec
