// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/graph/to_constants.hpp
//
// Tensors to GraphDef `Const` nodes, lazily (the one adaptor that lives in graph/: it yields graph
// nodes, not tensors): views::to_constants turns each pipeline tensor into a
// graph::const_node named after it. Nothing is read or encoded until a graph sink writes the nodes
// (sinks/write_graph.hpp), and then each tensor's bytes stream from its source into the file.
//
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_graph(
//       tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot()) | tfckpt::views::to_constants(),
//       "weights.pb"));
#ifndef TFCKPT_GRAPH_TO_CONSTANTS_HPP_
#define TFCKPT_GRAPH_TO_CONSTANTS_HPP_

#include <ranges>
#include <string>
#include <utility>

#include "tfckpt/graph/const_node.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

struct to_constants_options {
  std::string device{};  // NodeDef.device of every Const; empty leaves it unset
};

namespace detail {
struct to_constant_function {
  to_constants_options options;
  graph::const_node operator()(tensor t) const {
    std::string name = t.name;
    return graph::const_node{.name = std::move(name), .device = options.device, .value = std::move(t)};
  }
};
}  // namespace detail

/// The adaptor object behind views::to_constants.
struct to_constants_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<R>
  auto operator()(R&& r, to_constants_options options = {}) const {
    return std::views::transform(std::forward<R>(r), detail::to_constant_function{std::move(options)});
  }
  auto operator()(to_constants_options options = {}) const {
    return std::views::transform(detail::to_constant_function{std::move(options)});
  }
};

namespace views {
/// Each tensor as a Const node of the same name, its value streamed when written.
inline constexpr to_constants_fn to_constants{};
}  // namespace views

}  // namespace tfckpt

#endif  // TFCKPT_GRAPH_TO_CONSTANTS_HPP_
