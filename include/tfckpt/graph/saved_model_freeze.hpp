// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/graph/saved_model_freeze.hpp
//
// Freezing a TF2 SavedModel through its functions — TensorFlow's convert_variables_to_constants_v2
// without TensorFlow: the chosen signature is flattened into one GraphDef (graph/function_inline.hpp),
// its captured variables get their checkpoint keys from the object graphs, and graph/freeze.hpp
// prunes it to the outputs and turns every variable into a Const streamed from the checkpoint
// (ReadVariableOp becomes Identity).
//
// Checkpoint keys: a captured VarHandleOp is bound to a SavedObjectGraph node; the checkpoint's
// TrackableObjectGraph describes the same objects, though with other node ids (the SavedModel's
// graph has functions and signatures besides) and sometimes other edges (Keras tracks a layer's
// variables under `variables/0` in the SavedModel only). Both graphs are walked together from their
// roots, matching edges by local name, and the key is the VARIABLE_VALUE attribute's checkpoint_key
// of the matched checkpoint object; with no match (or a name-based checkpoint), it is
// `<object path>/.ATTRIBUTES/VARIABLE_VALUE`.
//
// Control dependencies that order no side effect are dropped: in the functions they order reads
// of variables (Keras's `NoOp` after each layer call), which freezing turns into constants. An op
// has side effects when its OpDef says it is stateful (a variable read or handle aside) or when it
// has no OpDef; so assignments and updates keep their order. The NoOps left without a consumer are
// pruned, which also lets importers that cannot take them (OpenCV's) read the frozen graph.
//
// Refused, each problem naming its node, all at once: an op without an OpDef or another inlining
// problem, functional control flow (If/While/Case and their stateless forms) over a resource, a
// variable without a value, any use of a variable other than a read (an assignment, an optimizer
// update).
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto model, graph::load_saved_model("export/1"));
//   TFCKPT_ASSIGN_OR_RETURN(auto ckpt, tfckpt::open(model.variables_prefix.string()));
//   TFCKPT_ASSIGN_OR_RETURN(auto plan, graph::plan_saved_model_freeze(model.meta_graph, ckpt, {}));
//   TFCKPT_RETURN_IF_ERROR(graph::write_graph_def(plan.freeze.nodes, plan.freeze.tail, "frozen.pb"));
#ifndef TFCKPT_GRAPH_SAVED_MODEL_FREEZE_HPP_
#define TFCKPT_GRAPH_SAVED_MODEL_FREEZE_HPP_

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/graph/function_inline.hpp"
#include "tfckpt/proto/meta_graph.pb.h"

namespace tfckpt::graph {

struct saved_model_freeze_options {
  /// The signature whose function is frozen.
  std::string signature = "serving_default";
  /// Nodes of the flat graph to compute; empty: the signature's outputs.
  std::vector<std::string> output_node_names{};
  bool clear_devices = true;
  std::vector<std::string> variable_names_whitelist{};
  std::vector<std::string> variable_names_blacklist{};
};

/// What freezing a signature will write.
struct saved_model_freeze_plan {
  freeze_plan freeze;                     // nodes and library to write (graph/freeze.hpp)
  std::vector<std::string> inputs;        // the Placeholders, one per signature input (key order)
  std::vector<std::string> outputs;       // the nodes computed (the signature's outputs unless chosen)
  std::vector<std::string> input_keys;    // the signature's keys of `inputs`
  std::vector<std::string> output_keys;   // the signature's output keys
};

namespace detail {

// Saved object id -> checkpoint object id, by walking both graphs from their roots along edges of
// the same local name.
TFCKPT_DECL std::map<int, int> match_objects(const tensorflow::SavedObjectGraph& saved, const tensorflow::TrackableObjectGraph& ckpt);

// Removes `^x` inputs where nothing x depends on has side effects (see the file comment).
TFCKPT_DECL void drop_pure_control_inputs(tensorflow::GraphDef& g, const tensorflow::MetaGraphDef& meta_graph);

// Control flow ops whose inputs pass into branch or body functions.
inline bool is_functional_control_flow(std::string_view op) {
  return op == "If" || op == "StatelessIf" || op == "While" || op == "StatelessWhile" || op == "Case" ||
         op == "StatelessCase" || op == "_If" || op == "_While";
}

}  // namespace detail

/// Checkpoint keys for the captured variables of `flat` (VarHandleOp node -> key), see the file comment.
TFCKPT_DECL absl::StatusOr<std::map<std::string, std::string, std::less<>>> captured_variable_keys(const flat_signature& flat,
                                                                                                   const checkpoint& ckpt);

/// Plans freezing signature `options.signature` of TF2 `meta_graph` with values from `ckpt` (see
/// the file comment). Reads no tensor byte; `ckpt` must outlive the plan.
TFCKPT_DECL absl::StatusOr<saved_model_freeze_plan> plan_saved_model_freeze(const tensorflow::MetaGraphDef& meta_graph,
                                                                            const checkpoint& ckpt,
                                                                            const saved_model_freeze_options& options);

}  // namespace tfckpt::graph

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_GRAPH_SAVED_MODEL_FREEZE)

namespace tfckpt::graph::detail {

TFCKPT_DECL std::map<int, int> match_objects(const tensorflow::SavedObjectGraph& saved, const tensorflow::TrackableObjectGraph& ckpt) {
  std::map<int, int> out;
  if (saved.nodes_size() == 0 || ckpt.nodes_size() == 0) return out;
  out.emplace(0, 0);
  std::set<int> used{0};
  std::deque<std::pair<int, int>> queue{{0, 0}};
  while (!queue.empty()) {
    const auto [s, c] = queue.front();
    queue.pop_front();
    std::map<std::string_view, int> ckpt_children;
    for (const auto& ch : ckpt.nodes(c).children()) ckpt_children.emplace(ch.local_name(), ch.node_id());
    for (const auto& ch : saved.nodes(s).children()) {
      const auto it = ckpt_children.find(ch.local_name());
      const int sid = ch.node_id(), cid = it == ckpt_children.end() ? -1 : it->second;
      if (cid < 0 || cid >= ckpt.nodes_size() || sid < 0 || sid >= saved.nodes_size() || out.contains(sid) ||
          used.contains(cid))
        continue;
      out.emplace(sid, cid);
      used.insert(cid);
      queue.emplace_back(sid, cid);
    }
  }
  return out;
}

TFCKPT_DECL void drop_pure_control_inputs(tensorflow::GraphDef& g, const tensorflow::MetaGraphDef& meta_graph) {
  std::map<std::string_view, bool> stateful_op;
  for (const auto& op : meta_graph.meta_info_def().stripped_op_list().op())
    stateful_op.emplace(op.name(), op.is_stateful() && op.name() != "ReadVariableOp" && op.name() != "VarHandleOp");
  stateful_op["NoOp"] = false;
  stateful_op["Const"] = false;
  stateful_op["Identity"] = false;
  stateful_op["Placeholder"] = false;
  const graph_index index(g);
  std::map<std::string, bool, std::less<>> effects;  // node -> it or what it depends on has side effects
  const auto has_effects = [&](std::string_view root) {
    // Iterative post-order walk; a node on a cycle counts as having effects.
    std::vector<std::pair<std::string, bool>> stack{{std::string(root), false}};
    std::set<std::string, std::less<>> open;
    while (!stack.empty()) {
      auto [name, expanded] = stack.back();
      stack.pop_back();
      if (effects.contains(name)) continue;
      const tensorflow::NodeDef* n = index.find(name);
      if (n == nullptr) {
        effects[name] = true;
        continue;
      }
      if (!expanded) {
        if (!open.insert(name).second) {
          effects[name] = true;
          continue;
        }
        stack.emplace_back(name, true);
        for (const auto& in : n->input()) stack.emplace_back(std::string(node_of_input(in)), false);
        continue;
      }
      const auto op = stateful_op.find(n->op());
      bool e = op == stateful_op.end() || op->second;
      for (const auto& in : n->input()) {
        const auto it = effects.find(node_of_input(in));
        e = e || it == effects.end() || it->second;
      }
      effects[name] = e;
    }
    return effects.find(root)->second;
  };
  for (auto& n : *g.mutable_node()) {
    std::vector<std::string> kept;
    bool dropped = false;
    for (const auto& in : n.input()) {
      if (is_control_input(in) && !has_effects(node_of_input(in))) {
        dropped = true;
        continue;
      }
      kept.push_back(in);
    }
    if (!dropped) continue;
    n.clear_input();
    for (auto& in : kept) n.add_input(std::move(in));
  }
}
}  // namespace tfckpt::graph::detail

namespace tfckpt::graph {

TFCKPT_DECL absl::StatusOr<std::map<std::string, std::string, std::less<>>> captured_variable_keys(const flat_signature& flat,
                                                                                                   const checkpoint& ckpt) {
  std::map<std::string, std::string, std::less<>> keys;
  TFCKPT_ASSIGN_OR_RETURN(const std::optional<object_graph> ckpt_objects, object_graph::load(ckpt));
  std::map<int, int> matched;
  if (ckpt_objects && flat.objects) matched = detail::match_objects(*flat.objects, ckpt_objects->proto());
  for (const auto& [node, path] : flat.variable_paths) {
    std::string key = object_attribute_key(path, "VARIABLE_VALUE");
    if (const auto id = flat.variable_objects.find(node); id != flat.variable_objects.end())
      if (const auto m = matched.find(id->second); m != matched.end())
        for (const auto& attr : ckpt_objects->proto().nodes(m->second).attributes())
          if (attr.name() == "VARIABLE_VALUE") key = attr.checkpoint_key();
    keys.emplace(node, std::move(key));
  }
  return keys;
}

TFCKPT_DECL absl::StatusOr<saved_model_freeze_plan> plan_saved_model_freeze(const tensorflow::MetaGraphDef& meta_graph,
                                                                            const checkpoint& ckpt,
                                                                            const saved_model_freeze_options& options) {
  TFCKPT_ASSIGN_OR_RETURN(flat_signature flat, flatten_signature(meta_graph, options.signature));
  detail::drop_pure_control_inputs(flat.graph, meta_graph);
  saved_model_freeze_plan out;
  out.inputs = flat.inputs;
  out.input_keys = flat.input_keys;
  out.output_keys = flat.output_keys;
  out.outputs = options.output_node_names.empty() ? flat.outputs : options.output_node_names;
  // A top-level call named as an output (what a TF1 habit or a graph summary suggests) means its
  // returned tensor.
  for (std::string& o : out.outputs) {
    const std::size_t colon = o.find(':');
    const auto call = flat.call_outputs.find(std::string_view(o).substr(0, colon));
    if (call == flat.call_outputs.end()) continue;
    std::size_t k = 0;
    if (colon != std::string::npos)
      for (char c : std::string_view(o).substr(colon + 1)) k = c >= '0' && c <= '9' ? k * 10 + static_cast<std::size_t>(c - '0') : k;
    if (k < call->second.size() && !call->second[k].empty()) o = call->second[k];
  }

  // The nodes the outputs need, for the problems found while flattening.
  std::vector<absl::Status> problems;
  const detail::graph_index index(flat.graph);
  std::set<std::string_view> keep;
  std::vector<std::string_view> todo;
  for (const auto& o : out.outputs) todo.push_back(detail::node_of_input(o));
  while (!todo.empty()) {
    const std::string_view name = todo.back();
    todo.pop_back();
    const tensorflow::NodeDef* n = index.find(name);
    if (n == nullptr || !keep.insert(n->name()).second) continue;
    for (const auto& in : n->input()) todo.push_back(detail::node_of_input(in));
    for (std::string_view c : detail::colocations(*n)) todo.push_back(c);
  }
  for (const auto& n : flat.graph.node()) {
    if (!keep.contains(n.name())) continue;
    if (const auto p = flat.node_problems.find(n.name()); p != flat.node_problems.end())
      for (const auto& what : p->second)
        problems.push_back(absl::InvalidArgumentError(absl::StrFormat("node '%s' (%s): %s", n.name(), n.op(), what)));
    if (detail::is_functional_control_flow(n.op())) {
      for (const auto& in : n.input()) {
        if (detail::is_control_input(in)) continue;
        const tensorflow::NodeDef* v = index.variable_behind(in);
        if (v == nullptr || v->op() != "VarHandleOp") continue;
        problems.push_back(absl::UnimplementedError(absl::StrFormat(
            "node '%s' (%s) passes variable '%s' into its functions: functional control flow over resources cannot be "
            "frozen",
            n.name(), n.op(), v->name())));
        break;
      }
    }
  }

  freeze_options fo;
  fo.output_node_names = out.outputs;
  fo.clear_devices = options.clear_devices;
  fo.variable_names_whitelist = options.variable_names_whitelist;
  fo.variable_names_blacklist = options.variable_names_blacklist;
  TFCKPT_ASSIGN_OR_RETURN(fo.variable_keys, captured_variable_keys(flat, ckpt));
  freeze_plan plan = detail::plan_freeze_collecting(flat.graph, ckpt, fo, problems);  // its problems join these
  TFCKPT_RETURN_IF_ERROR(tfckpt::detail::problems_status(
      absl::StrFormat("signature '%s' cannot be frozen", options.signature), problems));
  out.freeze = std::move(plan);
  return out;
}

}  // namespace tfckpt::graph
#endif  // TFCKPT_COMPILE_GRAPH_SAVED_MODEL_FREEZE

#endif  // TFCKPT_GRAPH_SAVED_MODEL_FREEZE_HPP_
