// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/copy.hpp
//
// Rewriting a checkpoint through our reader and writer: tensors are added in their original data
// order, straight from the source's mapped shards (no copy in memory), so that with the same
// number of shards the result is byte-identical to the input — a TensorFlow-written one included
// (a snappy-compressed index is compressed likewise). With another shard count, tensors are spread
// over the new shards in data order, balanced by bytes. Partitioned tensors keep their slices.
// The copy keeps the source's byte order unless asked for another (then payloads are swapped as
// they stream and checksums recomputed over the new bytes). Tensors of 1 MiB or more kept in their
// byte order are copied by the kernel (copy_file_range) with their stored checksums (unless
// copy_options::copy_stored says never); the others stream through the writer, which
// checksums them again.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto src, tfckpt::open("train/model.ckpt-1000"));
//   TFCKPT_RETURN_IF_ERROR(tfckpt::copy_checkpoint(src, "export/model", {.num_shards = 4}));
#ifndef TFCKPT_CHECKPOINT_COPY_HPP_
#define TFCKPT_CHECKPOINT_COPY_HPP_

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "tfckpt/checkpoint/bundle.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt {

struct copy_options {
  /// Number of data shards of the copy; the source's by default (each tensor keeps its shard).
  std::optional<std::int32_t> num_shards{};
  /// Replace a checkpoint that exists at the destination (the source's own prefix included).
  bool overwrite = false;
  bool sync = true;
  /// Called after each tensor with (bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
  /// Byte order of the copy's payloads; the source's by default.
  std::optional<byte_order> payload_order{};
  /// Whether tensors kept in their byte order are copied by the kernel (bundle_writer_options).
  bundle_writer_options::kernel_copy copy_stored = bundle_writer_options::kernel_copy::when_faster;
};

/// Writes a copy of `src` at `dst` (see the file comment). Atomic: on error nothing changes at `dst`.
TFCKPT_DECL absl::Status copy_checkpoint(const checkpoint& src, const std::filesystem::path& dst,
                                         const copy_options& options = {});

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_COPY)

namespace tfckpt {

TFCKPT_DECL absl::Status copy_checkpoint(const checkpoint& src, const std::filesystem::path& dst,
                                         const copy_options& options) {
  // Which partitioned tensor, and which of its slices, each hidden slice entry holds.
  std::map<const entry*, std::pair<const entry*, std::uint32_t>> slice_owner;
  for (const entry& e : src.entries())
    for (std::uint32_t i = 0; i < e.num_slices(); ++i) slice_owner[&e.slice_entry(i)] = {&e, i};

  std::vector<const entry*> order;  // every record that holds bytes, in data order
  std::uint64_t total = 0;
  for (const entry& e : src.stored_entries()) {
    if (e.is_partitioned()) continue;
    order.push_back(&e);
    total += e.size();
  }
  std::stable_sort(order.begin(), order.end(), [](const entry* a, const entry* b) {
    return std::pair(a->shard(), a->offset()) < std::pair(b->shard(), b->offset());
  });

  const std::int32_t num_shards = options.num_shards.value_or(src.num_shards());
  bundle_writer_options w;
  w.num_shards = num_shards;
  w.overwrite = options.overwrite;
  w.sync = options.sync;
  w.index_options.snappy = src.index_compressed();
  w.payload_order = options.payload_order.value_or(src.payload_order());
  w.copy_stored = options.copy_stored;
  TFCKPT_ASSIGN_OR_RETURN(bundle_writer writer, bundle_writer::create(dst, w));
  const bool same_layout = num_shards == src.num_shards();
  std::uint64_t done = 0;
  for (const entry* e : order) {
    // Another shard count: fill shards in data order, each with about total / num_shards bytes.
    const std::int32_t shard =
        same_layout ? e->shard()
                    : static_cast<std::int32_t>(std::min<std::uint64_t>(
                          static_cast<std::uint64_t>(num_shards) - 1,
                          total == 0 ? 0 : static_cast<std::uint64_t>((static_cast<long double>(done) * num_shards) / total)));
    // The writer takes host order (swapped as the bytes stream when the stored order differs).
    // The source emits 4 MiB pieces read into one buffer, so that copying a tensor of any size
    // keeps a few MiB resident.
    const byte_source source = e->host_order_source();
    if (const auto it = slice_owner.find(e); it != slice_owner.end()) {
      const entry& full = *it->second.first;
      TFCKPT_RETURN_IF_ERROR(
          writer.add_slice(full.name(), full.shape(), full.slice_extents(it->second.second), full.dtype(), source, shard));
    } else if (const io::mapped_file* file = w.payload_order == src.payload_order() ? detail::mapped_shard_of(*e) : nullptr;
               file != nullptr && detail::copy_by_kernel(w, e->size())) {
      // The same bytes in the same order: the kernel copies them, and the stored checksum stays.
      TFCKPT_RETURN_IF_ERROR(
          writer.add_copied(e->name(), e->dtype(), e->shape(), *file, e->offset(), e->size(), e->stored_crc32c(), shard));
    } else {
      TFCKPT_RETURN_IF_ERROR(writer.add(e->name(), e->dtype(), e->shape(), source, shard));
    }
    done += e->size();
    if (options.progress) options.progress(done, total);
  }
  return writer.finish();
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_COPY

#endif  // TFCKPT_CHECKPOINT_COPY_HPP_
