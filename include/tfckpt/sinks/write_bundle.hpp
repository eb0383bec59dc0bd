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

#include <cstdint>
#include <filesystem>
#include <functional>

#include "absl/status/status.h"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

struct write_bundle_options {
  bundle_writer_options writer{};
  /// Called after each tensor with (bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
};

/// Writes the tensors planned by a pipeline (see collect/check_pipeline).
inline absl::Status write_bundle(std::span<const tensor> planned, const std::filesystem::path& prefix,
                                 const write_bundle_options& options = {}) {
  TFCKPT_RETURN_IF_ERROR(check_pipeline(planned));
  std::uint64_t total = 0;
  for (const tensor& t : planned) total += t.size();
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
    } else {
      TFCKPT_RETURN_IF_ERROR(writer.add(t.name, t.dtype, t.shape, t.source));
    }
    done += t.size();
    if (options.progress) options.progress(done, total);
  }
  return writer.finish();
}

/// Walks the pipeline, checks it, and writes it as a checkpoint at `prefix`.
template <tensor_range R>
absl::Status write_bundle(R&& range, const std::filesystem::path& prefix, const write_bundle_options& options = {}) {
  const std::vector<tensor> planned = collect(std::forward<R>(range));
  return write_bundle(std::span<const tensor>(planned), prefix, options);
}

}  // namespace tfckpt

#endif  // TFCKPT_SINKS_WRITE_BUNDLE_HPP_
