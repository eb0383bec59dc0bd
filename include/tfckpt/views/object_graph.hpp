// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/object_graph.hpp
//
// Pipelines over TF2 object-based checkpoints (see checkpoint/object_graph.hpp): choose and
// rename tensors by object path, and keep the checkpoint's object graph consistent with what the
// pipeline keeps, so that TensorFlow can still restore the result.
//
//   object_path_glob(graph, "actor/*")          predicate: the tensor's object path matches
//   object_path_rename(graph, "^actor/", "policy/")
//                                               name function: the key TensorFlow would give the
//                                               renamed object path (slots follow their variable)
//   views::sync_object_graph(source)            replaces `_CHECKPOINTABLE_OBJECT_GRAPH` with the
//                                               graph rewritten for the tensors that pass (dropped
//                                               keys and emptied objects removed, renamed keys and
//                                               edges followed); adds it if a filter dropped it
//
// Example: drop the optimizer state of a TF2 checkpoint and keep it restorable.
//   TFCKPT_ASSIGN_OR_RETURN(auto ckpt, tfckpt::open("training_checkpoints/ckpt-9"));
//   auto kept = tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot())
//             | tfckpt::views::sync_object_graph(ckpt);
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(kept, "export/ckpt-9"));
#ifndef TFCKPT_VIEWS_OBJECT_GRAPH_HPP_
#define TFCKPT_VIEWS_OBJECT_GRAPH_HPP_

#include <fnmatch.h>

#include <map>
#include <memory>
#include <optional>
#include <ranges>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/planning_view.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

namespace detail {
// The key a tensor had in its checkpoint (its name there), for tensors taken from one.
inline std::string_view source_key(const tensor& t) {
  return t.origins.size() == 1 ? std::string_view(t.origins.front().name) : std::string_view(t.name);
}
}  // namespace detail

/// A predicate: true when the object path of the tensor's key (see object_graph::find) matches
/// the shell glob `pattern` as a whole (`*` also matches '/'). A slot's path is
/// `<variable>/.OPTIMIZER_SLOT/<optimizer>/<slot>`. Tensors the graph does not name never match.
/// The graph must outlive the predicate.
inline auto object_path_glob(const object_graph& graph, std::string pattern) {
  return [&graph, pattern = std::move(pattern)](const tensor& t) {
    const object_key* k = graph.find(detail::source_key(t));
    return k != nullptr && ::fnmatch(pattern.c_str(), k->object_path.c_str(), 0) == 0;
  };
}

/// A name function for views::transform_names: rewrites the object path of each key the graph
/// names with std::regex_replace(path, pattern, format) and returns the key TensorFlow would give
/// that path. For a slot the variable's and the optimizer's paths are rewritten, so slots follow
/// their variable. Keys the graph does not name are returned unchanged. Throws std::regex_error
/// for a bad pattern. The graph must outlive the function.
inline auto object_path_rename(const object_graph& graph, const std::string& pattern, std::string format) {
  auto re = std::make_shared<const std::regex>(pattern);
  return [&graph, re, format = std::move(format)](std::string_view key) -> std::string {
    const object_key* k = graph.find(key);
    if (k == nullptr) return std::string(key);
    const auto renamed = [&](const std::string& path) { return split_object_path(std::regex_replace(path, *re, format)); };
    if (k->is_slot())
      return slot_attribute_key(renamed(k->variable_path), renamed(k->optimizer_path), k->slot_name, k->attribute);
    return object_attribute_key(renamed(k->object_path), k->attribute);
  };
}

namespace detail {

TFCKPT_DECL tensor object_graph_tensor(const object_graph& graph, const std::string& prefix);

TFCKPT_DECL std::vector<tensor> sync_object_graph(std::vector<tensor> in, const checkpoint& source);

// The planner behind views::sync_object_graph; `source` is borrowed.
struct sync_object_graph_planner {
  const checkpoint* source;
  std::vector<tensor> operator()(std::vector<tensor> in) const { return sync_object_graph(std::move(in), *source); }
};

}  // namespace detail

namespace views {

/// Makes the pipeline's `_CHECKPOINTABLE_OBJECT_GRAPH` agree with the tensors that reach this
/// point (see the file comment). Tensors are matched to the graph through their origin in
/// `source`; tensors from elsewhere pass untouched and no object holds them. A name-based
/// `source` (no object graph) leaves the pipeline as it is. A whole-input adaptor
/// (views/planning_view.hpp): views::sync_object_graph(r, source) or r | views::sync_object_graph(source).
/// `source` is borrowed and must outlive the view: a temporary checkpoint is refused.
struct sync_object_graph_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<std::views::all_t<R>>
  auto operator()(R&& r, const checkpoint& source ABSL_ATTRIBUTE_LIFETIME_BOUND) const {
    return planned(std::forward<R>(r), tfckpt::detail::sync_object_graph_planner{&source});
  }
  auto operator()(const checkpoint& source ABSL_ATTRIBUTE_LIFETIME_BOUND) const {
    return planned(tfckpt::detail::sync_object_graph_planner{&source});
  }
  template <std::ranges::viewable_range R>
  auto operator()(R&&, const checkpoint&&) const = delete;
  auto operator()(const checkpoint&&) const = delete;
};
inline constexpr sync_object_graph_fn sync_object_graph{};

}  // namespace views

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_OBJECT_GRAPH)

namespace tfckpt::detail {

TFCKPT_DECL tensor object_graph_tensor(const object_graph& graph, const std::string& prefix) {
  const std::string serialized = graph.serialize();
  const std::string_view element = serialized;
  tensor t;
  t.name = std::string(kObjectGraphKey);
  t.dtype = dtype::string;
  t.source = byte_source::from_bytes(codec::encode_string_tensor(std::span(&element, 1)));
  t.origins.push_back({prefix, 0, std::string(kObjectGraphKey)});
  return t;
}

TFCKPT_DECL std::vector<tensor> sync_object_graph(std::vector<tensor> in, const checkpoint& source) {
  auto graph = object_graph::load(source);
  if (!graph.ok()) {
    in.push_back(problem(graph.status(), std::string(kObjectGraphKey)));
    return in;
  }
  if (!graph->has_value()) return in;
  std::map<std::string, std::string> kept;
  std::vector<tensor> out;
  std::optional<std::size_t> graph_at;
  for (tensor& t : in) {
    const bool from_source = t.status.ok() && t.origins.size() == 1 && t.origins.front().checkpoint == source.prefix();
    if (t.name == kObjectGraphKey || (from_source && t.origins.front().name == kObjectGraphKey)) {
      if (!graph_at) graph_at = out.size();
      continue;  // replaced below
    }
    if (from_source && (*graph)->find(t.origins.front().name) != nullptr) kept.emplace(t.origins.front().name, t.name);
    out.push_back(std::move(t));
  }
  auto rewritten = (*graph)->rewrite(kept);
  tensor g = rewritten.ok() ? object_graph_tensor(*rewritten, source.prefix())
                            : problem(rewritten.status(), std::string(kObjectGraphKey));
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(graph_at.value_or(0)), std::move(g));
  return out;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_VIEWS_OBJECT_GRAPH

#endif  // TFCKPT_VIEWS_OBJECT_GRAPH_HPP_
