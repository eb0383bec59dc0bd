// SPDX-License-Identifier: Apache-2.0
// Test-only construction of tensor bundles with an independent SSTable writer: LevelDB's
// TableBuilder writes the `.index` (the same table format TensorFlow uses), the protobuf-generated
// BundleEntryProto/BundleHeaderProto serialize the records. Nothing here shares code with the
// library's own codec, so reading what this writes is a real cross-check.
//
// Example:
//   tfckpt_testing::write_bundle(dir / "model", {
//       float_tensor("w", {2, 3}, {1, 2, 3, 4, 5, 6}),
//       string_tensor("names", {2}, {"a", "bc"}),
//   });
#ifndef TFCKPT_TESTING_BUNDLE_BUILDER_HPP_
#define TFCKPT_TESTING_BUNDLE_BUILDER_HPP_

#include <leveldb/env.h>
#include <leveldb/options.h>
#include <leveldb/table_builder.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/bundle_entry.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/codec/varint.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"
#include "tfckpt/tensor/dtype.hpp"

namespace tfckpt_testing {

struct tensor_spec {
  std::string name;
  tfckpt::dtype dtype = tfckpt::dtype::float32;
  std::vector<std::int64_t> shape;
  std::string data;  // the payload exactly as stored (strings: see encode_strings)
  std::int32_t shard = 0;
  // Non-empty: a partitioned full-tensor entry (dtype, shape, slices, no data of its own).
  std::vector<std::vector<tfckpt::codec::slice_extent>> slices;
  std::optional<std::uint32_t> masked_crc_override;  // store this instead of the real CRC
};

struct build_options {
  std::int32_t num_shards = 1;          // shards named in the header and written to disk
  std::size_t block_size = 262144;      // TensorFlow's table options
  int restart_interval = 16;
  bool snappy = false;
  std::size_t data_alignment = 1;       // zero padding after each tensor, as BundleWriter's option
  std::optional<std::string> raw_header{};  // serialized header to store instead of the usual one
  bool omit_header = false;
};

/// The stored form of a string tensor (spec §3.5): varint lengths, masked length CRC, bytes.
inline std::string encode_strings(const std::vector<std::string>& elements) {
  std::string out;
  std::uint32_t length_crc = 0;
  for (const std::string& s : elements) {
    tfckpt::codec::put_varint64(out, s.size());
    const auto len = static_cast<std::uint32_t>(s.size());
    length_crc = tfckpt::codec::crc32c_extend(length_crc, &len, 4);  // little-endian host
  }
  const std::uint32_t masked = tfckpt::codec::crc32c_mask(length_crc);
  out.append(reinterpret_cast<const char*>(&masked), 4);
  for (const std::string& s : elements) out += s;
  return out;
}

/// The CRC TensorFlow stores for a payload (for strings, the continued length CRC; see §3.5).
inline std::uint32_t payload_masked_crc(tfckpt::dtype dtype, const std::string& data, std::size_t num_elements) {
  if (dtype != tfckpt::dtype::string) return tfckpt::codec::crc32c_mask(tfckpt::codec::crc32c(data));
  const auto* p = reinterpret_cast<const std::byte*>(data.data());
  const auto* limit = p + data.size();
  std::uint32_t crc = 0;
  for (std::size_t i = 0; i < num_elements; ++i) {
    std::uint64_t len = 0;
    p = tfckpt::codec::get_varint64(p, limit, &len);
    if (p == nullptr) throw std::runtime_error("bad string tensor");
    const auto len32 = static_cast<std::uint32_t>(len);
    crc = tfckpt::codec::crc32c_extend(crc, &len32, 4);
  }
  return tfckpt::codec::crc32c_mask(tfckpt::codec::crc32c_extend(crc, p, static_cast<std::size_t>(limit - p)));
}

template <class T>
tensor_spec typed_tensor(std::string name, tfckpt::dtype dtype, std::vector<std::int64_t> shape,
                         const std::vector<T>& values) {
  tensor_spec t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return t;
}
inline tensor_spec float_tensor(std::string name, std::vector<std::int64_t> shape, const std::vector<float>& v) {
  return typed_tensor(std::move(name), tfckpt::dtype::float32, std::move(shape), v);
}
inline tensor_spec string_tensor(std::string name, std::vector<std::int64_t> shape,
                                 const std::vector<std::string>& v) {
  tensor_spec t;
  t.name = std::move(name);
  t.dtype = tfckpt::dtype::string;
  t.shape = std::move(shape);
  t.data = encode_strings(v);
  return t;
}

inline std::size_t element_count(const std::vector<std::int64_t>& shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

/// A serialized BundleEntryProto, canonical as TensorFlow writes it.
inline std::string entry_record(const tensor_spec& t, std::int64_t offset) {
  tensorflow::BundleEntryProto e;
  e.set_dtype(static_cast<tensorflow::DataType>(t.dtype));
  auto* shape = e.mutable_shape();  // always present, even for scalars
  for (auto d : t.shape) shape->add_dim()->set_size(d);
  if (!t.slices.empty()) {
    for (const auto& slice : t.slices) {
      auto* s = e.add_slices();
      for (const auto& x : slice) {
        auto* ext = s->add_extent();
        if (!x.full()) {
          ext->set_start(x.start);
          ext->set_length(x.length);
        }
      }
    }
  } else {
    e.set_shard_id(t.shard);
    e.set_offset(offset);
    e.set_size(static_cast<std::int64_t>(t.data.size()));
    e.set_crc32c(t.masked_crc_override.value_or(payload_masked_crc(t.dtype, t.data, element_count(t.shape))));
  }
  std::string out;
  e.SerializeToString(&out);
  return out;
}

/// Writes an SSTable with LevelDB's TableBuilder; `fill(add)` calls add(key, value) in key order.
template <class Fill>
void write_table(const std::string& path, Fill fill, const build_options& options = {}) {
  leveldb::Options opts;
  opts.block_size = options.block_size;
  opts.block_restart_interval = options.restart_interval;
  opts.compression = options.snappy ? leveldb::kSnappyCompression : leveldb::kNoCompression;
  leveldb::WritableFile* file = nullptr;
  if (!leveldb::Env::Default()->NewWritableFile(path, &file).ok()) throw std::runtime_error("cannot create " + path);
  {
    leveldb::TableBuilder builder(opts, file);
    fill([&](const std::string& k, const std::string& v) { builder.Add(k, v); });
    if (!builder.Finish().ok()) throw std::runtime_error("TableBuilder failed for " + path);
  }
  file->Close();
  delete file;
}

/// Writes `<prefix>.index` and its data shards. Tensors are laid out in the order given; the index
/// is sorted by key.
inline void write_bundle(const std::filesystem::path& prefix, const std::vector<tensor_spec>& tensors,
                         const build_options& options = {}) {
  std::filesystem::create_directories(prefix.parent_path());
  std::vector<std::string> data(static_cast<std::size_t>(options.num_shards));
  std::map<std::string, std::string> records;
  for (const tensor_spec& t : tensors) {
    if (!t.slices.empty()) {
      records[t.name] = entry_record(t, 0);
      continue;
    }
    std::string& shard = data.at(static_cast<std::size_t>(t.shard));
    const auto offset = static_cast<std::int64_t>(shard.size());
    shard += t.data;
    if (options.data_alignment > 1)
      while (shard.size() % options.data_alignment != 0) shard.push_back('\0');
    records[t.name] = entry_record(t, offset);
  }
  for (std::int32_t i = 0; i < options.num_shards; ++i) {
    std::ofstream out(tfckpt::data_file_name(prefix.string(), i, options.num_shards), std::ios::binary);
    out.write(data[static_cast<std::size_t>(i)].data(), static_cast<std::streamsize>(data[static_cast<std::size_t>(i)].size()));
  }
  std::string header;
  if (options.raw_header) {
    header = *options.raw_header;
  } else {
    tensorflow::BundleHeaderProto h;
    h.set_num_shards(options.num_shards);
    h.mutable_version()->set_producer(1);
    h.SerializeToString(&header);
  }
  write_table(prefix.string() + ".index",
              [&](auto add) {
                if (!options.omit_header) add("", header);
                for (const auto& [k, v] : records) add(k, v);
              },
              options);
}

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_BUNDLE_BUILDER_HPP_
