// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/graph/summary.hpp
//
// Seeing a graph before freezing it: what to pass as output node names, and whether a checkpoint
// can fill its variables (what TensorFlow's summarize_graph and saved_model_cli show, together).
//
//   load_model_graph(path)    a GraphDef (.pb/.pbtxt), a MetaGraphDef (.meta) or a SavedModel
//                             directory (its MetaGraphDef of the given tags), with the VariableDefs
//                             of its collections and, for a SavedModel, its variables' prefix
//   summarize_graph(model)    its signatures (inputs and outputs: tensor, dtype, shape), its inputs
//                             (Placeholders), its likely outputs, its variables with the checkpoint
//                             keys they restore from and whether a checkpoint holds them, and how
//                             often each op occurs
//   signature_outputs(model)  the node names a signature's outputs come from ("y:0" -> "y"), what
//                             freezing a SavedModel computes by default
//
// Likely outputs are the nodes nothing consumes (no data or control input names them), less what
// is never an output: constants, placeholders, variables, their reads and initializers, no-ops,
// the saver's scope, and summaries.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto model, graph::load_model_graph("export/1"));
//   TFCKPT_ASSIGN_OR_RETURN(auto ckpt, tfckpt::open(model.variables_prefix));
//   graph::graph_summary s = graph::summarize_graph(model, &ckpt);
//   for (const auto& out : s.likely_outputs) std::puts(out.c_str());
#ifndef TFCKPT_GRAPH_SUMMARY_HPP_
#define TFCKPT_GRAPH_SUMMARY_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
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
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/graph/graph_io.hpp"
#include "tfckpt/graph/saved_model_freeze.hpp"
#include "tfckpt/proto/meta_graph.pb.h"

namespace tfckpt::graph {

/// What a graph file was.
enum class model_kind { graph_def, meta_graph, saved_model };

TFCKPT_DECL std::string_view model_kind_name(model_kind k);

/// A graph with what its MetaGraphDef says about it.
struct model_graph {
  std::filesystem::path path;
  model_kind kind = model_kind::graph_def;
  tensorflow::MetaGraphDef meta;  // for a GraphDef file, only graph_def is set
  std::vector<tensorflow::VariableDef> variable_defs;
  std::filesystem::path variables_prefix;  // a SavedModel's `variables/variables`; else empty

  const tensorflow::GraphDef& graph() const { return meta.graph_def(); }
  std::optional<tensorflow::SaverDef> saver() const {
    if (!meta.has_saver_def()) return std::nullopt;
    return meta.saver_def();
  }
  /// True for a TF2 SavedModel: its computation and variables live in functions and an object graph.
  bool object_based() const { return !meta.object_graph_def().empty(); }
};

/// Reads `path`: a SavedModel directory (or its saved_model.pb/.pbtxt; the MetaGraphDef tagged
/// `tags`), a `.meta` MetaGraphDef, or else a GraphDef (binary or text).
TFCKPT_DECL absl::StatusOr<model_graph> load_model_graph(const std::filesystem::path& path,
                                                         std::vector<std::string> tags = {"serve"});

/// A tensor a signature takes or gives, or a graph input.
struct tensor_summary {
  std::string key;     // its name in the signature (a graph input: the node's name)
  std::string tensor;  // the graph tensor ("x:0"); for a sparse or composite tensor, empty
  tfckpt::dtype dtype = tfckpt::dtype::invalid;
  std::vector<std::int64_t> shape{};  // -1 for an unknown dimension
  bool unknown_rank = false;
};

struct signature_summary {
  std::string key;
  std::string method;
  std::vector<tensor_summary> inputs{};   // by key
  std::vector<tensor_summary> outputs{};  // by key
};

/// Whether the checkpoint holds a variable.
enum class variable_status {
  unchecked,   // no checkpoint was given
  held,        // under its key, with a dtype and shape the variable takes
  missing,     // its key is not in the checkpoint
  mismatched,  // its key is there, with another dtype or shape
};

TFCKPT_DECL std::string_view variable_status_name(variable_status s);

struct variable_summary {
  graph_variable variable;
  variable_status status = variable_status::unchecked;
  tfckpt::dtype checkpoint_dtype = tfckpt::dtype::invalid;  // when held or mismatched
  std::vector<std::int64_t> checkpoint_shape{};
};

struct op_count {
  std::string op;
  std::size_t count = 0;
};

/// A graph's summary. For a TF2 SavedModel (object_based()), a variable a signature captures is
/// keyed through the object graphs, as freezing does (captured_variable_keys); one no signature
/// captures stays unchecked (its key is an object path only the object graph knows; see `notes`).
struct graph_summary {
  model_kind kind = model_kind::graph_def;
  std::vector<std::string> tags;  // a MetaGraphDef's
  std::size_t nodes = 0;
  std::size_t functions = 0;  // in the graph's function library
  std::vector<signature_summary> signatures;  // by key
  std::vector<tensor_summary> inputs;         // Placeholder nodes outside the saver, in graph order
  std::vector<std::string> likely_outputs;    // in graph order
  std::vector<variable_summary> variables;    // in graph order
  std::string checkpoint;                     // the prefix the variables were checked against
  std::vector<op_count> ops;                  // most frequent first, then by name
  std::vector<std::string> notes;             // what the user should know reading the above
};

namespace detail {

TFCKPT_DECL tensor_summary summarize_tensor_info(const std::string& key, const tensorflow::TensorInfo& info);

// Ops that are never what a user wants computed: values, feeds, state and bookkeeping.
TFCKPT_DECL bool is_plumbing_op(std::string_view op);

}  // namespace detail

/// Summarizes `model` (see the file comment). With `ckpt`, each variable says whether the
/// checkpoint holds it under the key it restores from.
TFCKPT_DECL graph_summary summarize_graph(const model_graph& model, const checkpoint* ckpt = nullptr);

/// The node names whose outputs signature `key` of `meta` (read from `where`, for messages)
/// returns ("y:0" -> "y"), in output-key order. Errors: kNotFound naming the signatures there are;
/// kInvalidArgument for an output that is not a plain tensor.
TFCKPT_DECL absl::StatusOr<std::vector<std::string>> signature_outputs(const tensorflow::MetaGraphDef& meta,
                                                                       const std::string& key,
                                                                       const std::filesystem::path& where);

/// signature_outputs() of a loaded model.
inline absl::StatusOr<std::vector<std::string>> signature_outputs(const model_graph& model, const std::string& key) {
  return signature_outputs(model.meta, key, model.path);
}

}  // namespace tfckpt::graph

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_GRAPH_SUMMARY)

namespace tfckpt::graph {

TFCKPT_DECL std::string_view model_kind_name(model_kind k) {
  switch (k) {
    case model_kind::graph_def: return "GraphDef";
    case model_kind::meta_graph: return "MetaGraphDef";
    case model_kind::saved_model: return "SavedModel";
  }
  return "?";
}

TFCKPT_DECL absl::StatusOr<model_graph> load_model_graph(const std::filesystem::path& path,
                                                         std::vector<std::string> tags) {
  namespace fs = std::filesystem;
  std::error_code ec;
  model_graph m;
  m.path = path;
  const std::string file = path.filename().string();
  if (fs::is_directory(path, ec) || file == "saved_model.pb" || file == "saved_model.pbtxt") {
    const fs::path dir = fs::is_directory(path, ec) ? path : path.parent_path();
    TFCKPT_ASSIGN_OR_RETURN(saved_model_graph sm, load_saved_model(dir, std::move(tags)));
    m.kind = model_kind::saved_model;
    m.meta = std::move(sm.meta_graph);
    m.variables_prefix = std::move(sm.variables_prefix);
  } else if (path.extension() == ".meta") {
    TFCKPT_ASSIGN_OR_RETURN(m.meta, load_meta_graph(path));
    m.kind = model_kind::meta_graph;
  } else {
    TFCKPT_ASSIGN_OR_RETURN(*m.meta.mutable_graph_def(), load_graph_def(path));
  }
  auto defs = variable_defs(m.meta);
  if (!defs.ok()) return absl::Status(defs.status().code(), absl::StrFormat("%s: %s", path.string(), defs.status().message()));
  m.variable_defs = std::move(*defs);
  return m;
}

TFCKPT_DECL std::string_view variable_status_name(variable_status s) {
  switch (s) {
    case variable_status::unchecked: return "unchecked";
    case variable_status::held: return "held";
    case variable_status::missing: return "missing";
    case variable_status::mismatched: return "mismatched";
  }
  return "?";
}
}  // namespace tfckpt::graph

namespace tfckpt::graph::detail {

TFCKPT_DECL tensor_summary summarize_tensor_info(const std::string& key, const tensorflow::TensorInfo& info) {
  tensor_summary t{key, info.has_name() ? info.name() : std::string()};
  t.dtype = static_cast<tfckpt::dtype>(info.dtype());
  t.unknown_rank = info.tensor_shape().unknown_rank();
  for (const auto& d : info.tensor_shape().dim()) t.shape.push_back(d.size());
  return t;
}

TFCKPT_DECL bool is_plumbing_op(std::string_view op) {
  static const std::set<std::string_view> ops = {
      "Const", "Placeholder", "PlaceholderWithDefault", "NoOp", "VariableV2", "Variable", "VarHandleOp",
      "Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
      "IsVariableInitialized", "VarIsInitializedOp", "SaveV2", "Save", "SaveSlices", "RestoreV2", "Restore",
      "RestoreSlice", "MergeV2Checkpoints", "ShardedFilename", "StringJoin", "MergeSummary"};
  return ops.contains(op) || op.ends_with("Summary") || op.ends_with("SummaryV2");
}
}  // namespace tfckpt::graph::detail

namespace tfckpt::graph {

TFCKPT_DECL graph_summary summarize_graph(const model_graph& model, const checkpoint* ckpt) {
  const tensorflow::GraphDef& g = model.graph();
  graph_summary s;
  s.kind = model.kind;
  s.tags.assign(model.meta.meta_info_def().tags().begin(), model.meta.meta_info_def().tags().end());
  s.nodes = static_cast<std::size_t>(g.node_size());
  s.functions = static_cast<std::size_t>(g.library().function_size());

  // Protobuf maps have no order: signatures and their tensors go by key.
  std::map<std::string, const tensorflow::SignatureDef*> signatures;
  for (const auto& [key, sig] : model.meta.signature_def()) signatures.emplace(key, &sig);
  for (const auto& [key, sig] : signatures) {
    signature_summary out{key, sig->method_name()};
    std::map<std::string, const tensorflow::TensorInfo*> inputs;
    for (const auto& [k, v] : sig->inputs()) inputs.emplace(k, &v);
    for (const auto& [k, v] : inputs) out.inputs.push_back(detail::summarize_tensor_info(k, *v));
    std::map<std::string, const tensorflow::TensorInfo*> outputs;
    for (const auto& [k, v] : sig->outputs()) outputs.emplace(k, &v);
    for (const auto& [k, v] : outputs) out.outputs.push_back(detail::summarize_tensor_info(k, *v));
    s.signatures.push_back(std::move(out));
  }

  // Consumers, and the saver's scope ("save/" of "save/Const:0").
  const detail::graph_index index(g);
  std::set<std::string_view> consumed;
  for (const auto& n : g.node())
    for (const std::string& in : n.input()) consumed.insert(detail::node_of_input(in));
  // The saver: its scope ("save/" of TF1's "save/Const:0"), or (TF2, unscoped) the nodes it names.
  std::string saver_scope;
  std::set<std::string_view> saver_nodes;
  if (model.meta.has_saver_def()) {
    const tensorflow::SaverDef& saver = model.meta.saver_def();
    const std::string_view name = detail::node_of_input(saver.filename_tensor_name());
    if (const auto slash = name.find('/'); slash != std::string_view::npos) saver_scope = std::string(name.substr(0, slash + 1));
    for (const std::string* n : {&saver.filename_tensor_name(), &saver.save_tensor_name(), &saver.restore_op_name()})
      if (!n->empty()) saver_nodes.insert(detail::node_of_input(*n));
  }
  std::map<std::string, std::size_t> counts;
  for (const auto& n : g.node()) {
    ++counts[n.op()];
    const bool saver_node = (!saver_scope.empty() && n.name().starts_with(saver_scope)) || n.name().starts_with("save/") ||
                            saver_nodes.contains(n.name());
    if ((n.op() == "Placeholder" || n.op() == "PlaceholderWithDefault") && !saver_node) {
      tensor_summary in{n.name(), n.name() + ":0"};
      if (const auto t = n.attr().find("dtype"); t != n.attr().end()) in.dtype = static_cast<tfckpt::dtype>(t->second.type());
      if (const auto sh = n.attr().find("shape"); sh != n.attr().end()) {
        in.unknown_rank = sh->second.shape().unknown_rank();
        for (const auto& d : sh->second.shape().dim()) in.shape.push_back(d.size());
      } else {
        in.unknown_rank = true;
      }
      s.inputs.push_back(std::move(in));
    }
    const bool variable_read = (n.op() == "Identity" || n.op() == "ReadVariableOp") && index.variable_behind(n.name()) != nullptr;
    if (!consumed.contains(n.name()) && !detail::is_plumbing_op(n.op()) && !saver_node && !variable_read &&
        !n.name().starts_with("init") && !n.name().starts_with("report_uninitialized"))
      s.likely_outputs.push_back(n.name());
  }
  for (const auto& [op, count] : counts) s.ops.push_back({op, count});
  std::stable_sort(s.ops.begin(), s.ops.end(), [](const op_count& a, const op_count& b) { return a.count > b.count; });

  if (ckpt != nullptr) s.checkpoint = ckpt->prefix();
  // A TF2 SavedModel's variables: the keys of those its signatures capture, through the object graphs.
  std::map<std::string, std::string, std::less<>> object_keys;
  if (ckpt != nullptr && model.object_based())
    for (const std::string& signature : signature_names(model.meta))
      if (auto flat = flatten_signature(model.meta, signature); flat.ok())
        if (auto keys = captured_variable_keys(*flat, *ckpt); keys.ok()) object_keys.merge(*keys);
  for (graph_variable& v : graph_variables(g, model.saver(), model.variable_defs)) {
    variable_summary out{std::move(v)};
    if (const auto k = object_keys.find(out.variable.node); k != object_keys.end()) out.variable.key = k->second;
    if (ckpt != nullptr) {
      const entry* e = ckpt->find(out.variable.key);
      if (e == nullptr && model.object_based() && !object_keys.contains(out.variable.node)) {
        // Keyed by object path, which only the object graph knows (see the note): left unchecked.
      } else if (e == nullptr) {
        out.status = variable_status::missing;
      } else {
        out.checkpoint_dtype = e->dtype();
        out.checkpoint_shape.assign(e->shape().begin(), e->shape().end());
        const std::vector<std::int64_t>& want = out.variable.slice.empty() ? out.variable.shape : out.variable.full_shape;
        const bool shape_ok = (out.variable.slice.empty() && out.variable.unknown_rank) ||
                              std::ranges::equal(want, out.checkpoint_shape, [](std::int64_t w, std::int64_t have) {
                                return w < 0 || w == have;
                              });
        const bool dtype_ok = out.variable.dtype == tfckpt::dtype::invalid || out.variable.dtype == e->dtype();
        out.status = shape_ok && dtype_ok ? variable_status::held : variable_status::mismatched;
      }
    }
    s.variables.push_back(std::move(out));
  }
  if (model.object_based())
    s.notes.push_back(
        "a TF2 SavedModel: the signatures compute in functions of the graph's library, and the variables they "
        "capture are restored through the object graph (keys '<object path>/.ATTRIBUTES/VARIABLE_VALUE'); a "
        "variable no signature captures is left unchecked");
  return s;
}

TFCKPT_DECL absl::StatusOr<std::vector<std::string>> signature_outputs(const tensorflow::MetaGraphDef& meta,
                                                                       const std::string& key,
                                                                       const std::filesystem::path& where) {
  const auto it = meta.signature_def().find(key);
  if (it == meta.signature_def().end()) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : meta.signature_def()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    return absl::NotFoundError(absl::StrFormat("%s: no signature '%s'; there are: %s", where.string(), key,
                                               keys.empty() ? "none" : absl::StrJoin(keys, ", ")));
  }
  std::map<std::string, const tensorflow::TensorInfo*> outputs;
  for (const auto& [k, v] : it->second.outputs()) outputs.emplace(k, &v);
  std::vector<std::string> nodes;
  for (const auto& [k, v] : outputs) {
    if (!v->has_name())
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: output '%s' of signature '%s' is a sparse or composite tensor, not one graph tensor", where.string(), k,
          key));
    const std::string node(detail::node_of_input(v->name()));
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
  }
  return nodes;
}

}  // namespace tfckpt::graph
#endif  // TFCKPT_COMPILE_GRAPH_SUMMARY

#endif  // TFCKPT_GRAPH_SUMMARY_HPP_
