// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/sinks/write_bundle.hpp
//
// The checkpoint sink: writes a pipeline's tensors as a V2 checkpoint through bundle_writer
// (byte-exact, sharded, atomic). The pipeline's metadata is walked and checked first; if anything
// is wrong, every problem is reported at once and no byte is written. Then each tensor's bytes are
// streamed from its source in pipeline order: straight from mapped shards for stored tensors,
// chunk by chunk for computed ones. A stored partitioned tensor keeps its slices.
//
// Example:
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(
//       tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot()), "out/model.ckpt"));
#ifndef TFCKPT_SINKS_WRITE_BUNDLE_HPP_
#define TFCKPT_SINKS_WRITE_BUNDLE_HPP_

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "tfckpt/checkpoint/bundle.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

/// How write_bundle may reuse the data files of the checkpoint a pipeline reads.
enum class data_reuse {
  none,  // stream every byte through the writer
  copy,  // copies of whole data files made by the kernel (copy_file_range)
  link,  // hard links (checkpoint data files are never modified in place), else kernel copies
};

struct write_bundle_options {
  bundle_writer_options writer{};
  /// Called after each tensor with (bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
  /// When the pipeline is every tensor of one checkpoint, each with its stored bytes, dtype and
  /// shape (a rename), keep its data files as they are (same shards, offsets and checksums) and
  /// write only a new index. Ignored for any other pipeline, or a size budget, or another byte order.
  data_reuse reuse_data = data_reuse::none;
};

namespace detail {

// The checkpoint whose data files `planned` can keep as they are, or nullptr.
TFCKPT_DECL const bundle* reusable_source(std::span<const tensor> planned, const bundle_writer_options& w);

// The mapped data shard holding `t`'s bytes when the writer can take them as they are stored (a
// stored tensor, unchanged, in a local shard, in the writer's byte order) and the writer's options
// let the kernel copy it (copy_by_kernel); else nullptr, and the bytes are streamed.
TFCKPT_DECL const io::mapped_file* copyable_shard(const tensor& t, const bundle_writer_options& w);

}  // namespace detail

/// Writes the tensors planned by a pipeline (see collect/check_pipeline).
TFCKPT_DECL absl::Status write_bundle(std::span<const tensor> planned, const std::filesystem::path& prefix,
                                      const write_bundle_options& options = {});

/// Walks the pipeline, checks it, and writes it as a checkpoint at `prefix`.
template <tensor_range R>
absl::Status write_bundle(R&& range, const std::filesystem::path& prefix, const write_bundle_options& options = {}) {
  const std::vector<tensor> planned = collect(std::forward<R>(range));
  return write_bundle(std::span<const tensor>(planned), prefix, options);
}

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_SINKS_WRITE_BUNDLE)

namespace tfckpt::detail {

TFCKPT_DECL const bundle* reusable_source(std::span<const tensor> planned, const bundle_writer_options& w) {
  if (planned.empty() || planned[0].stored == nullptr) return nullptr;
  const bundle& src = entry_access::owner(*planned[0].stored);
  if (src.v1 || src.store != nullptr || src.payload_order() != w.payload_order || w.max_shard_bytes > 0 || planned.size() != src.all.size())
    return nullptr;
  std::vector<bool> seen(src.all.size(), false);
  for (const tensor& t : planned) {
    const entry* e = t.stored;
    if (e == nullptr || &entry_access::owner(*e) != &src || e->is_partitioned() || t.dtype != e->dtype() ||
        !std::ranges::equal(t.shape, e->shape()))
      return nullptr;
    const auto i = static_cast<std::size_t>(e - src.all.data());
    if (seen[i]) return nullptr;
    seen[i] = true;
  }
  for (std::int32_t s = 0; s < src.header.num_shards; ++s)
    if (!src.shard_bytes(s).ok()) return nullptr;  // missing or short: the full rewrite reports it
  return &src;
}

TFCKPT_DECL const io::mapped_file* copyable_shard(const tensor& t, const bundle_writer_options& w) {
  const entry* e = t.stored;
  if (e == nullptr || t.dtype != e->dtype() || t.size() != e->size() || !std::ranges::equal(t.shape, e->shape()) ||
      entry_access::owner(*e).payload_order() != w.payload_order)
    return nullptr;
  const io::mapped_file* shard = mapped_shard_of(*e);
  return shard != nullptr && copy_by_kernel(w, e->size()) ? shard : nullptr;
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL absl::Status write_bundle(std::span<const tensor> planned, const std::filesystem::path& prefix,
                                      const write_bundle_options& options) {
  TFCKPT_RETURN_IF_ERROR(check_pipeline(planned));
  std::uint64_t total = 0;
  for (const tensor& t : planned) total += t.size();
  if (const detail::bundle* src = options.reuse_data == data_reuse::none ? nullptr : detail::reusable_source(planned, options.writer)) {
    bundle_writer_options o = options.writer;
    o.num_shards = src->header.num_shards;
    TFCKPT_ASSIGN_OR_RETURN(bundle_writer writer, bundle_writer::create(prefix, o));
    for (std::int32_t s = 0; s < o.num_shards; ++s)
      TFCKPT_RETURN_IF_ERROR(writer.adopt_shard(s, data_file_name(src->prefix, s, o.num_shards), options.reuse_data == data_reuse::link));
    for (const tensor& t : planned) {
      const entry& e = *t.stored;
      TFCKPT_RETURN_IF_ERROR(writer.add_placed(t.name, t.dtype, t.shape, e.shard(), e.offset(), e.size(), e.stored_crc32c()));
    }
    if (options.progress) options.progress(total, total);
    return writer.finish();
  }
  TFCKPT_ASSIGN_OR_RETURN(bundle_writer writer, bundle_writer::create(prefix, options.writer));
  std::uint64_t done = 0;
  for (const tensor& t : planned) {
    if (t.stored != nullptr && t.stored->is_partitioned() && t.dtype == t.stored->dtype()) {
      // Keep TensorFlow's partitioning: each stored slice is written as a slice again.
      for (std::uint32_t i = 0; i < t.stored->num_slices(); ++i) {
        const entry& part = t.stored->slice_entry(i);
        TFCKPT_RETURN_IF_ERROR(
            writer.add_slice(t.name, t.shape, t.stored->slice_extents(i), t.dtype, part.host_order_source()));
      }
    } else if (const io::mapped_file* shard = detail::copyable_shard(t, options.writer)) {
      const entry& e = *t.stored;
      TFCKPT_RETURN_IF_ERROR(writer.add_copied(t.name, t.dtype, t.shape, *shard, e.offset(), e.size(), e.stored_crc32c()));
    } else {
      TFCKPT_RETURN_IF_ERROR(writer.add(t.name, t.dtype, t.shape, t.source));
    }
    done += t.size();
    if (options.progress) options.progress(done, total);
  }
  return writer.finish();
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_SINKS_WRITE_BUNDLE

#endif  // TFCKPT_SINKS_WRITE_BUNDLE_HPP_
