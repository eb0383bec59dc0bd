// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/sinks/write_graph.hpp
//
// The GraphDef sink: writes a range of nodes (graph::const_node from views::to_constants, kept
// tensorflow::NodeDefs, or graph::graph_node holding either) as a binary GraphDef, streaming each
// Const's tensor from its source (graph/graph_writer.hpp). Every problem is reported before any
// byte is written; the file appears whole or not at all.
//
// Example:
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_graph(tfckpt::entries(ckpt) | tfckpt::views::to_constants(), "w.pb"));
#ifndef TFCKPT_SINKS_WRITE_GRAPH_HPP_
#define TFCKPT_SINKS_WRITE_GRAPH_HPP_

#include <filesystem>
#include <ranges>
#include <vector>

#include "absl/status/status.h"
#include "tfckpt/graph/graph_writer.hpp"

namespace tfckpt {

/// Writes the nodes of `range`, then `tail` (a GraphDef without nodes: library, versions), to `path`.
template <std::ranges::input_range R>
  requires std::convertible_to<std::ranges::range_reference_t<R>, graph::graph_node>
absl::Status write_graph(R&& range, const std::filesystem::path& path, const graph::graph_write_options& options = {},
                         const tensorflow::GraphDef& tail = tensorflow::GraphDef::default_instance()) {
  std::vector<graph::graph_node> nodes;
  for (auto&& n : range) nodes.emplace_back(static_cast<graph::graph_node>(n));
  return graph::write_graph_def(nodes, tail, path, options);
}

}  // namespace tfckpt

#endif  // TFCKPT_SINKS_WRITE_GRAPH_HPP_
