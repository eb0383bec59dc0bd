// SPDX-License-Identifier: Apache-2.0
// Partitioned variables (codec/slice_key.hpp and the slice checks and assembly of
// checkpoint.hpp). The first input byte chooses:
//   even: the rest is a shape-and-slice spec for parse_shape_and_slice ("10 4 0,5:-"); a parse that
//         succeeds must give one extent per dimension, inside the shape.
//   odd:  the rest describes a partitioned tensor — dtype, shape, slices with arbitrary extents
//         (overlapping, outside the shape, wrong rank), stored slice entries whose key, dtype,
//         shape or size may disagree — written as an index with codec::table_builder and a data
//         file, then opened, assembled, read and verified. Whatever assembles must be the slices'
//         bytes at their places.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/codec/table_builder.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"

namespace {

namespace codec = tfckpt::codec;

void parse_spec(std::string_view spec) {
  const auto parsed = codec::parse_shape_and_slice(spec);
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument)
      tfckpt_fuzz::broken_promise("a bad spec is not kInvalidArgument", parsed.status());
    return;
  }
  if (parsed->extents.size() != parsed->full_shape.size()) tfckpt_fuzz::broken_promise("rank mismatch accepted", parsed.status());
  for (std::size_t d = 0; d < parsed->extents.size(); ++d) {
    const codec::slice_extent& x = parsed->extents[d];
    if (!x.full() && (x.start < 0 || x.length < 0 || x.start > parsed->full_shape[d] || x.length > parsed->full_shape[d] - x.start))
      tfckpt_fuzz::broken_promise("an extent outside the shape was accepted", parsed.status());
  }
  (void)codec::encode_tensor_slice_key("w", parsed->extents);
}

const tfckpt::dtype kTypes[] = {tfckpt::dtype::float32, tfckpt::dtype::int8,    tfckpt::dtype::int64,
                                tfckpt::dtype::boolean, tfckpt::dtype::string,  tfckpt::dtype::float16};

struct stored_slice {
  std::vector<codec::slice_extent> extents;
  std::string key;
  tfckpt::dtype type;
  std::vector<std::int64_t> shape;
  std::int64_t offset = 0, size = 0;
};

void set_shape(tensorflow::TensorShapeProto* p, const std::vector<std::int64_t>& dims) {
  for (std::int64_t d : dims) p->add_dim()->set_size(d);
}

void partitioned(tfckpt_fuzz::input_reader& in) {
  const tfckpt::dtype type = kTypes[in.byte() % std::size(kTypes)];
  const std::size_t rank = in.byte() % 4;
  std::vector<std::int64_t> shape(rank);
  for (auto& d : shape) d = in.small_int();
  const std::size_t num_slices = in.byte() % 5;
  std::vector<stored_slice> slices(num_slices);
  for (stored_slice& s : slices) {
    const std::uint8_t flags = in.byte();
    const std::size_t slice_rank = (flags & 0x01) ? in.byte() % 4 : rank;
    for (std::size_t d = 0; d < slice_rank; ++d) {
      codec::slice_extent x;
      if (in.byte() & 1) {  // a part of the dimension, else the whole of it
        x.start = in.small_int();
        x.length = in.small_int();
      }
      s.extents.push_back(x);
    }
    s.key = codec::encode_tensor_slice_key((flags & 0x02) ? "v" : "w", s.extents);
    s.type = (flags & 0x04) ? kTypes[in.byte() % std::size(kTypes)] : type;
    // The shape the slice's extents describe, or an arbitrary one.
    for (std::size_t d = 0; d < s.extents.size(); ++d)
      s.shape.push_back((flags & 0x08) ? in.small_int()
                                       : (s.extents[d].full() ? (d < rank ? shape[d] : 1) : s.extents[d].length));
    s.offset = (flags & 0x10) ? in.small_int() : -1;   // -1: right after the previous slice
    s.size = (flags & 0x20) ? in.small_int() : -1;     // -1: what the shape needs
  }
  std::string data(in.rest());

  // Lay the slices out and give each a CRC that matches its bytes when they are in the file.
  std::int64_t next = 0;
  for (stored_slice& s : slices) {
    if (s.size == -1) {
      const auto n = tfckpt::checked_num_elements(s.shape);
      s.size = n && *n < (1 << 20) ? *n * static_cast<std::int64_t>(tfckpt::element_size(s.type)) : 0;
      if (s.type == tfckpt::dtype::string) s.size = n && *n < (1 << 20) ? *n + 4 : 4;
    }
    if (s.offset == -1) s.offset = next;
    if (s.offset >= 0 && s.size >= 0 && s.offset <= INT64_MAX - s.size) next = s.offset + s.size;
  }

  std::map<std::string, std::string> records;
  {
    tensorflow::BundleHeaderProto header;
    header.set_num_shards(1);
    header.mutable_version()->set_producer(1);
    records[""] = header.SerializeAsString();
  }
  tensorflow::BundleEntryProto full;
  full.set_dtype(static_cast<tensorflow::DataType>(type));
  set_shape(full.mutable_shape(), shape);
  for (const stored_slice& s : slices) {
    auto* p = full.add_slices();
    for (const codec::slice_extent& x : s.extents) {
      auto* e = p->add_extent();
      e->set_start(x.start);
      if (!x.full()) e->set_length(x.length);
    }
  }
  records["w"] = full.SerializeAsString();
  for (const stored_slice& s : slices) {
    tensorflow::BundleEntryProto p;
    p.set_dtype(static_cast<tensorflow::DataType>(s.type));
    set_shape(p.mutable_shape(), s.shape);
    p.set_offset(s.offset);
    p.set_size(s.size);
    if (s.offset >= 0 && s.size >= 0 && static_cast<std::uint64_t>(s.offset) + static_cast<std::uint64_t>(s.size) <= data.size())
      p.set_crc32c(codec::crc32c_mask(codec::crc32c(
          std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.data()) + s.offset, static_cast<std::size_t>(s.size)))));
    records[s.key] = p.SerializeAsString();
  }
  std::string index;
  codec::table_builder table({}, [&](std::string_view bytes) {
    index.append(bytes);
    return absl::OkStatus();
  });
  for (const auto& [key, value] : records)
    if (!table.add(key, value).ok()) std::abort();
  if (!table.finish().ok()) std::abort();

  const std::filesystem::path& dir = tfckpt_fuzz::scratch_dir();
  const std::string prefix = (dir / "part.ckpt").string();
  tfckpt_fuzz::write_file(prefix + ".index", index);
  tfckpt_fuzz::write_file(prefix + ".data-00000-of-00001", data);
  auto ckpt = tfckpt::open(prefix);
  tfckpt_fuzz::expect_names(ckpt.status(), dir.string());
  if (!ckpt.ok()) return;
  const tfckpt::entry* w = ckpt->find("w");
  if (w == nullptr) tfckpt_fuzz::broken_promise("the partitioned tensor is missing", absl::OkStatus());
  const auto bytes = w->bytes();
  tfckpt_fuzz::expect_names(bytes.status(), dir.string());
  if (bytes.ok()) {
    if (bytes->size() != w->size()) tfckpt_fuzz::broken_promise("assembled size differs from size()", bytes.status());
    // A one-dimensional tensor: each slice's bytes must sit at its start.
    if (w->shape().size() == 1) {
      const std::size_t elem = tfckpt::element_size(w->dtype());
      for (std::uint32_t i = 0; i < w->num_slices(); ++i) {
        const auto part = w->slice_entry(i).bytes();
        if (!part.ok()) tfckpt_fuzz::broken_promise("an assembled slice cannot be read", part.status());
        const codec::slice_extent x = w->slice_extents(i)[0];
        const std::size_t at = x.full() ? 0 : static_cast<std::size_t>(x.start) * elem;
        if (part->empty()) continue;
        if (at + part->size() > bytes->size() || std::memcmp(bytes->data() + at, part->data(), part->size()) != 0)
          tfckpt_fuzz::broken_promise("a slice is not at its place in the assembled tensor", absl::OkStatus());
      }
    }
  }
  const absl::Status visited = w->visit_values([](const auto& values) {
    volatile std::size_t n = values.size();
    (void)n;
  });
  if (visited.code() != absl::StatusCode::kUnimplemented) tfckpt_fuzz::expect_names(visited, dir.string());
  for (const absl::Status& s : ckpt->verify().problems) tfckpt_fuzz::expect_names(s, dir.string());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tfckpt_fuzz::input_reader in(data, size);
  if ((in.byte() & 1) == 0) {
    parse_spec(in.rest());
  } else {
    partitioned(in);
  }
  return 0;
}
