// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/v1_reader.hpp
//
// Reading a V1 checkpoint (one SSTable of tensor slices, or `<prefix>-NNNNN-of-NNNNN` shards of it)
// into a `detail::bundle`. Part of checkpoint/checkpoint.hpp; clients should ignore it.
#ifndef TFCKPT_CHECKPOINT_V1_READER_HPP_
#define TFCKPT_CHECKPOINT_V1_READER_HPP_

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tfckpt/checkpoint/bundle.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/codec/v1_record.hpp"
#include "tfckpt/codec/v1_values.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"

namespace tfckpt {

namespace detail {

// V1 (spec/FORMAT.md §4): each file is an SSTable whose key "" holds the table of contents (every
// tensor's name, dtype, shape and saved slices) and whose other keys are slice keys holding that
// slice's values as a TensorProto. The values are decoded here, once, into bundle bytes: a tensor
// saved as one whole slice becomes a plain entry, a partitioned one keeps its slices as hidden
// entries, as in a V2 bundle. Allocation is bounded by the records' own bytes: a slice must hold
// exactly its element count of values.
}  // namespace detail

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_V1_READER)

namespace tfckpt::detail {

TFCKPT_DECL absl::StatusOr<std::unique_ptr<bundle>> bundle::load_v1(std::string prefix, const std::vector<std::string>& files,
                                                                    io::remote_store* store) {
  auto b = std::make_unique<bundle>();
  b->prefix = std::move(prefix);
  b->index_file = files.front();
  b->v1 = true;
  b->header.num_shards = 1;
  b->header.producer = 1;
  struct tensor_meta {
    tfckpt::dtype type = tfckpt::dtype::invalid;
    std::vector<std::int64_t> shape;
    std::string file;
    std::uint64_t at = 0;
    std::size_t listed_slices = 0;
  };
  struct slice_record {
    std::string key;   // the encoded slice key
    std::string name;  // the tensor's
    std::vector<codec::slice_extent> extents;
    std::vector<std::int64_t> shape;  // the slice's
    std::uint64_t offset = 0, size = 0, at = 0;
    std::uint32_t masked_crc = 0;
  };
  std::map<std::string, tensor_meta, std::less<>> tensors;
  std::vector<slice_record> records;
  for (const std::string& file : files) {
    // A local file is mapped; a remote one (a URL, read through `store`) is fetched whole.
    io::mapped_file mapped;
    std::string fetched;
    std::span<const std::byte> bytes;
    if (store != nullptr) {
      TFCKPT_ASSIGN_OR_RETURN(fetched, store->read_all(file, std::uint64_t{4} << 30));
      bytes = std::as_bytes(std::span<const char>(fetched));
    } else {
      TFCKPT_ASSIGN_OR_RETURN(mapped, io::mapped_file::open(file));
      bytes = mapped.bytes();
    }
    bool have_meta = false;
    codec::table_stats stats;
    absl::Status walked = codec::for_each_table_entry(
        file, bytes, [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) -> absl::Status {
          std::optional<codec::v1_record> slices = codec::parse_v1_record(value);
          if (!slices) return with_key(data_loss(file, at, "the V1 record does not parse as SavedTensorSlices"), key);
          if (key.empty()) {
            if (!slices->meta) return data_loss(file, at, "the V1 table of contents (key \"\") has no meta");
            for (const codec::v1_tensor_meta& m : *slices->meta) {
              tensor_meta t;
              t.type = static_cast<tfckpt::dtype>(m.type);
              t.file = file;
              t.at = at;
              t.listed_slices = m.slice_count;
              if (!is_known_dtype(m.type) || t.type == tfckpt::dtype::resource || t.type == tfckpt::dtype::variant)
                return with_key(data_loss(file, at, "unknown or unstorable dtype %d", m.type), m.name);
              for (const std::int64_t d : m.dims) {
                if (d < 0) return with_key(data_loss(file, at, "negative dimension %d", d), m.name);
                t.shape.push_back(d);
              }
              if (!checked_num_elements(t.shape))
                return with_key(data_loss(file, at, "the element count of shape %s overflows", shape_string(t.shape)), m.name);
              auto [it, fresh] = tensors.emplace(m.name, t);
              if (!fresh) {  // listed again by another shard file: it must agree
                if (it->second.type != t.type || it->second.shape != t.shape)
                  return with_key(data_loss(file, at, "the tensor is %s %s here but %s %s in %s", dtype_name(t.type),
                                            shape_string(t.shape), dtype_name(it->second.type),
                                            shape_string(it->second.shape), it->second.file),
                                  m.name);
                it->second.listed_slices = std::max(it->second.listed_slices, t.listed_slices);
              }
            }
            have_meta = true;
            return absl::OkStatus();
          }
          if (!have_meta) return with_key(data_loss(file, at, "a V1 slice before the table of contents"), key);
          if (!slices->data) return with_key(data_loss(file, at, "the V1 record holds no slice data"), key);
          const codec::v1_slice& data = *slices->data;
          const auto t = tensors.find(data.name);
          if (t == tensors.end())
            return with_key(data_loss(file, at, "slice of '%s', which the table of contents does not list", data.name), key);
          slice_record r;
          r.key = std::string(key);
          r.name = data.name;
          r.at = at;
          const std::size_t rank = t->second.shape.size();
          if (!data.extents.empty() && data.extents.size() != rank)
            return with_key(data_loss(file, at, "the slice has %d extents for rank %d", data.extents.size(), rank), key);
          std::int64_t count = 1;
          for (std::size_t d = 0; d < rank; ++d) {
            codec::slice_extent x;
            if (!data.extents.empty()) {
              const codec::v1_extent& e = data.extents[d];
              x.start = e.start;
              if (e.length) x.length = *e.length;
            }
            const std::int64_t dim = t->second.shape[d];
            if (!x.full() && (x.start < 0 || x.length < 0 || x.start > dim || x.length > dim - x.start))
              return with_key(data_loss(file, at, "slice extent (%d, %d) lies outside dimension %d of %s", x.start, x.length,
                                        d, shape_string(t->second.shape)),
                              key);
            if (x.full() && x.start != 0)
              return with_key(data_loss(file, at, "a whole-dimension extent starts at %d", x.start), key);
            r.extents.push_back(x);
            r.shape.push_back(x.full() ? dim : x.length);
            count *= r.shape.back();  // no overflow: each length is at most its dimension
          }
          if (codec::encode_tensor_slice_key(r.name, r.extents) != key)
            return with_key(data_loss(file, at, "the record's key is not the slice key of '%s' %s", r.name,
                                      shape_string(r.shape)),
                            key);
          r.offset = b->v1_values.size();
          TFCKPT_RETURN_IF_ERROR(codec::append_v1_values(data.values, t->second.type, static_cast<std::uint64_t>(count), file,
                                                         at, key, b->v1_values));
          r.size = b->v1_values.size() - r.offset;
          const std::span<const std::byte> stored(reinterpret_cast<const std::byte*>(b->v1_values.data()) + r.offset, r.size);
          std::uint32_t crc = 0;
          if (t->second.type == tfckpt::dtype::string) {
            TFCKPT_ASSIGN_OR_RETURN(const auto decoded, codec::decode_string_tensor(file, key, at, stored,
                                                                                    static_cast<std::uint64_t>(count)));
            crc = decoded.crc32c;
          } else {
            crc = codec::crc32c(stored);
          }
          r.masked_crc = codec::crc32c_mask(crc);
          records.push_back(std::move(r));
          return absl::OkStatus();
        },
        &stats);
    TFCKPT_RETURN_IF_ERROR(walked);
    if (!have_meta) return data_loss(file, 0, "no V1 table of contents (key \"\"): not a V1 checkpoint");
    b->index_stats.data_blocks += stats.data_blocks;
    b->index_stats.snappy_blocks += stats.snappy_blocks;
    b->index_stats.entries += stats.entries;
    if (b->index.size() == 0) b->index = std::move(mapped);
  }

  // Entries: one per tensor, plus hidden slice entries for partitioned ones.
  std::map<std::string_view, std::vector<const slice_record*>> by_tensor;
  for (const slice_record& r : records) by_tensor[r.name].push_back(&r);
  std::size_t key_bytes = 0, dims_count = 0;
  for (const auto& [name, t] : tensors) {
    key_bytes += name.size() + 1;  // each name is followed by a NUL
    dims_count += t.shape.size();
    for (const slice_record* r : by_tensor[name]) key_bytes += r->key.size() + 1, dims_count += r->shape.size();
  }
  // Entries address these arenas by 32-bit positions.
  if (key_bytes > UINT32_MAX || dims_count > UINT32_MAX)
    return data_loss(b->index_file, 0, "the names or shapes of the checkpoint exceed 4 GiB");
  b->keys.reserve(key_bytes);
  b->dims.reserve(dims_count);
  const auto add_entry = [&b](std::string_view name, tfckpt::dtype type, std::span<const std::int64_t> shape,
                              std::uint64_t at) -> entry& {
    entry e;
    e.owner_ = b.get();
    e.dtype_ = type;
    e.index_offset_ = at;
    const std::size_t key_pos = b->keys.size(), dims_pos = b->dims.size();
    b->keys.append(name);
    b->keys.push_back('\0');
    b->dims.insert(b->dims.end(), shape.begin(), shape.end());
    e.name_at_ = static_cast<std::uint32_t>(key_pos);
    e.name_size_ = static_cast<std::uint32_t>(name.size());
    e.dims_at_ = static_cast<std::uint32_t>(dims_pos);
    e.rank_ = static_cast<std::uint32_t>(shape.size());
    b->all.push_back(e);
    return b->all.back();
  };
  for (const auto& [name, t] : tensors) {
    const std::vector<const slice_record*>& parts = by_tensor[name];
    if (parts.size() < t.listed_slices)
      return with_key(data_loss(t.file, t.at, "the table of contents lists %d slices, but %d are stored", t.listed_slices,
                                parts.size()),
                      name);
    const bool whole = parts.size() == 1 && std::ranges::equal(parts[0]->shape, t.shape);
    if (whole) {
      entry& e = add_entry(name, t.type, t.shape, parts[0]->at);
      e.offset_ = parts[0]->offset;
      e.size_ = parts[0]->size;
      e.masked_crc32c_ = parts[0]->masked_crc;
      continue;
    }
    if (parts.empty()) return with_key(data_loss(t.file, t.at, "no slice of this tensor is stored"), name);
    entry& e = add_entry(name, t.type, t.shape, t.at);
    e.offset_ = b->slices.size();  // first_slice()
    e.num_slices_ = static_cast<std::uint32_t>(parts.size());
    const auto bytes = checked_mul(e.num_elements(), static_cast<std::int64_t>(element_size(t.type)));
    if (!bytes) return with_key(data_loss(t.file, t.at, "shape %s is too large", shape_string(t.shape)), name);
    e.size_ = static_cast<std::uint64_t>(*bytes);
    for (const slice_record* r : parts) {
      b->slices.push_back(slice_ref{static_cast<std::uint32_t>(b->extents.size()), 0});
      b->extents.insert(b->extents.end(), r->extents.begin(), r->extents.end());
      entry& part = add_entry(r->key, t.type, r->shape, r->at);
      part.offset_ = r->offset;
      part.size_ = r->size;
      part.masked_crc32c_ = r->masked_crc;
    }
  }
  std::sort(b->all.begin(), b->all.end(), [](const entry& x, const entry& y) { return x.name() < y.name(); });
  TFCKPT_RETURN_IF_ERROR(b->finish_load());
  return b;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_CHECKPOINT_V1_READER

#endif  // TFCKPT_CHECKPOINT_V1_READER_HPP_
