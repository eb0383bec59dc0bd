// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tfckpt.hpp
//
// Umbrella header: includes every public header of the library and declares nothing itself.
#ifndef TFCKPT_TFCKPT_HPP_
#define TFCKPT_TFCKPT_HPP_

// IWYU pragma: begin_exports
#include "tfckpt/version.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/codec/varint.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/proto_wire.hpp"
#include "tfckpt/codec/block.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/codec/bundle_entry.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/codec/v1_values.hpp"
#include "tfckpt/codec/table_builder.hpp"
#include "tfckpt/codec/zip.hpp"
#include "tfckpt/codec/proto_writer.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/tensor_values.hpp"
#include "tfckpt/tensor/eigen.hpp"
#include "tfckpt/tensor/xtensor.hpp"
#include "tfckpt/checkpoint/state_file.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/copy.hpp"
#include "tfckpt/checkpoint/diff.hpp"
#include "tfckpt/checkpoint/stats.hpp"
#include "tfckpt/checkpoint/manager.hpp"
#include "tfckpt/checkpoint/merge.hpp"
#include "tfckpt/views/tensor.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/transform_names.hpp"
#include "tfckpt/views/match.hpp"
#include "tfckpt/views/cast.hpp"
#include "tfckpt/views/average.hpp"
#include "tfckpt/views/concat_by_group.hpp"
#include "tfckpt/views/to_constants.hpp"
#include "tfckpt/graph/const_node.hpp"
#include "tfckpt/graph/graph_writer.hpp"
#include "tfckpt/graph/graph_io.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/sinks/npy.hpp"
#include "tfckpt/sinks/safetensors.hpp"
#include "tfckpt/sinks/write_graph.hpp"
// IWYU pragma: end_exports

#endif  // TFCKPT_TFCKPT_HPP_
