// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/graph/function_inline.hpp
//
// A TF2 SavedModel keeps its computation in functions: the MetaGraphDef's top-level graph holds one
// Placeholder per signature input, the variables as VarHandleOps, and a StatefulPartitionedCall per
// signature whose attr `f` names a function of the graph's library; that function calls others.
// flatten_signature() inlines this call tree into one GraphDef, as TensorFlow's function inliner
// does, so that graph/freeze.hpp can freeze it:
//
//  - Every call node (StatefulPartitionedCall, PartitionedCall, or an op named after a library
//    function) is replaced by the function's body. Body nodes are named `<call node>/<body node>`
//    (made unique when that name is taken), so nothing collides; a NoOp keeps the call node's name
//    and depends on the function's returned and control-returned nodes, so `^call` still means
//    "after the call". Control inputs of the call reach the body's source nodes through a NoOp
//    `<call node>/input_control_node`.
//  - Body inputs are rewritten to graph form: an argument name becomes the call's matching input;
//    `node:out_arg:index` becomes `node:k`, k = the sizes of the output args before `out_arg`
//    (1, or the `number_attr` count, or the `type_list_attr` length, read from the node's attrs)
//    plus `index`, using the node's OpDef from `meta_info_def.stripped_op_list` (or the called
//    function's signature). References to an inlined call's outputs become its returned tensors.
//  - The signature's inputs become Placeholders named after their keys (dtype and shape from the
//    TensorInfo), its outputs Identity nodes named after their keys.
//  - Captured variables: a concrete function's SavedConcreteFunction (in the SavedObjectGraph,
//    MetaGraphDef.object_graph_def) lists `bound_inputs`, node ids of the SavedVariable objects it
//    captures. TensorFlow appends the captures to the caller's inputs in that order, so the last
//    bound_inputs.size() inputs of a top-level call of that function are the VarHandleOps of those
//    objects (half_plus_two: `StatefulPartitionedCall_5` has inputs `serving_default_x, a, b` and
//    its function's bound_inputs are the objects at `a` and `b`). Each such VarHandleOp gets the
//    object's path in the SavedObjectGraph; saved_model_freeze.hpp turns it into a checkpoint key.
//
// Nothing fails early: a problem (an op without an OpDef, a reference to no node, a function
// calling itself) is recorded against the flat node it concerns, so that only problems of the
// nodes a frozen graph keeps are reported.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto model, graph::load_saved_model("export/1"));
//   TFCKPT_ASSIGN_OR_RETURN(auto flat, graph::flatten_signature(model.meta_graph, "serving_default"));
//   // flat.graph: one GraphDef; flat.outputs: {"y"}; flat.variable_paths: {"a": {"a"}, ...}
#ifndef TFCKPT_GRAPH_FUNCTION_INLINE_HPP_
#define TFCKPT_GRAPH_FUNCTION_INLINE_HPP_

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/proto/function.pb.h"
#include "tfckpt/proto/graph.pb.h"
#include "tfckpt/proto/meta_graph.pb.h"
#include "tfckpt/proto/op_def.pb.h"
#include "tfckpt/proto/saved_object_graph.pb.h"

namespace tfckpt::graph {

/// A signature of a TF2 SavedModel as one flat GraphDef (see the file comment).
struct flat_signature {
  tensorflow::GraphDef graph;               // every top-level node, calls inlined; library: the functions still referenced
  std::vector<std::string> inputs;          // Placeholder per signature input, in key order
  std::vector<std::string> outputs;         // Identity per signature output, in key order
  std::vector<std::string> input_keys;      // the signature's input keys, in the same order
  std::vector<std::string> output_keys;     // the signature's output keys, in the same order
  /// VarHandleOp node -> the captured variable's object path in the SavedObjectGraph (components).
  std::map<std::string, std::vector<std::string>, std::less<>> variable_paths;
  /// VarHandleOp node -> the captured variable's node id in `objects`.
  std::map<std::string, int, std::less<>> variable_objects;
  /// The SavedModel's object graph, when it has one.
  std::optional<tensorflow::SavedObjectGraph> objects;
  /// Top-level call node -> the flat tensors of its outputs (the call's name is now a NoOp).
  std::map<std::string, std::vector<std::string>, std::less<>> call_outputs;
  /// Problems found while inlining, by flat node: reported only when the node is needed.
  std::map<std::string, std::vector<std::string>, std::less<>> node_problems;
};

/// The signature keys of `meta_graph`, without the `__saved_model_init_op` pseudo-signature.
TFCKPT_DECL std::vector<std::string> signature_names(const tensorflow::MetaGraphDef& meta_graph);

/// The decoded SavedObjectGraph of a TF2 MetaGraphDef; nullopt when it has none (TF1).
TFCKPT_DECL absl::StatusOr<std::optional<tensorflow::SavedObjectGraph>> saved_object_graph(
    const tensorflow::MetaGraphDef& meta_graph);

/// True for a TF2 (object-based) MetaGraphDef: one with a SavedObjectGraph, whose signatures
/// compute through the functions of its library.
inline bool is_object_based(const tensorflow::MetaGraphDef& meta_graph) { return !meta_graph.object_graph_def().empty(); }

namespace detail {

inline constexpr int kMaxCallDepth = 64;

// "name:k" for output k of flat node `name` ("name" for k = 0).
inline std::string flat_ref(std::string_view name, std::int64_t k) {
  return k == 0 ? std::string(name) : absl::StrFormat("%s:%d", name, k);
}

class inliner {
 public:
  inliner(const tensorflow::MetaGraphDef& mg, flat_signature& out) : out_(out) {
    for (const auto& op : mg.meta_info_def().stripped_op_list().op()) ops_.emplace(op.name(), &op);
    for (const auto& f : mg.graph_def().library().function()) functions_.emplace(f.signature().name(), &f);
    for (const auto& n : mg.graph_def().node()) used_.insert(n.name());
  }

  // The library function a node calls, or nullptr.
  const tensorflow::FunctionDef* called_function(const tensorflow::NodeDef& n) const {
    if (n.op() == "StatefulPartitionedCall" || n.op() == "PartitionedCall") {
      const auto f = n.attr().find("f");
      if (f == n.attr().end()) return nullptr;
      const auto it = functions_.find(f->second.func().name());
      return it == functions_.end() ? nullptr : it->second;
    }
    const auto it = functions_.find(n.op());
    return it == functions_.end() ? nullptr : it->second;
  }
  std::string_view called_name(const tensorflow::NodeDef& n) const {
    if (const auto f = n.attr().find("f"); f != n.attr().end()) return f->second.func().name();
    return n.op();
  }

  // A name not used yet, based on `want`.
  std::string unique(const std::string& want) {
    std::string name = want;
    for (int i = 1; used_.contains(name); ++i) name = absl::StrFormat("%s_%d", want, i);
    used_.insert(name);
    return name;
  }

  void problem(const std::string& node, std::string what) { out_.node_problems[node].push_back(std::move(what)); }

  // The position among a node's flat outputs of output arg `arg`, index `index`; nullopt (with a
  // problem recorded against `consumer`) when the op or the arg is unknown.
  std::optional<std::int64_t> flat_output(const tensorflow::NodeDef& producer, const std::string& producer_flat,
                                          std::string_view arg, std::int64_t index, const std::string& consumer) {
    const tensorflow::OpDef* op = nullptr;
    if (const tensorflow::FunctionDef* f = called_function(producer); f != nullptr && producer.op() == f->signature().name())
      op = &f->signature();
    if (op == nullptr) {
      const auto it = ops_.find(producer.op());
      if (it == ops_.end()) {
        problem(consumer, absl::StrFormat("its input node '%s' has op %s, which has no OpDef in the MetaGraphDef's stripped_op_list "
                                          "(its outputs cannot be numbered)",
                                          producer_flat, producer.op()));
        return std::nullopt;
      }
      op = it->second;
    }
    std::int64_t k = 0;
    for (const auto& out : op->output_arg()) {
      if (out.name() == arg) return k + index;
      if (!out.number_attr().empty()) {
        const auto a = producer.attr().find(out.number_attr());
        k += a == producer.attr().end() ? 0 : a->second.i();
      } else if (!out.type_list_attr().empty()) {
        const auto a = producer.attr().find(out.type_list_attr());
        k += a == producer.attr().end() ? 0 : a->second.list().type_size();
      } else {
        ++k;
      }
    }
    problem(consumer, absl::StrFormat("its input '%s:%s:%d' names no output of %s", producer_flat, arg, index, producer.op()));
    return std::nullopt;
  }

  // Inlines `f` called by flat node `call_name`: `args` are the flat tensors of its inputs,
  // `controls` the call's control inputs. Returns the flat tensors of its outputs.
  std::vector<std::string> inline_call(const tensorflow::FunctionDef& f, const std::string& call_name,
                                       const std::vector<std::string>& args, const std::vector<std::string>& controls,
                                       int depth) {
    const std::string& fname = f.signature().name();
    std::vector<std::string> outputs(static_cast<std::size_t>(f.signature().output_arg_size()));
    if (depth > kMaxCallDepth || std::find(stack_.begin(), stack_.end(), fname) != stack_.end()) {
      problem(call_name, absl::StrFormat("function %s calls itself (call depth %d)", fname, depth));
      return outputs;
    }
    if (static_cast<int>(args.size()) != f.signature().input_arg_size()) {
      problem(call_name, absl::StrFormat("it passes %d inputs to function %s, which takes %d", args.size(), fname,
                                         f.signature().input_arg_size()));
      return outputs;
    }
    stack_.push_back(fname);
    body b{f, call_name + "/", args, {}, {}, {}, {}, {}, {}};
    for (int i = 0; i < f.signature().input_arg_size(); ++i)
      b.arg_index.emplace(f.signature().input_arg(i).name(), static_cast<std::size_t>(i));
    for (int i = 0; i < f.node_def_size(); ++i) b.by_name.emplace(f.node_def(i).name(), i);
    std::string input_control;
    if (!controls.empty()) {
      input_control = unique(call_name + "/input_control_node");
      tensorflow::NodeDef* n = out_.graph.add_node();
      n->set_name(input_control);
      n->set_op("NoOp");
      for (const auto& c : controls) n->add_input(c);
    }
    b.input_control = input_control;
    for (int i : body_order(b)) emit(b, i, depth);

    // The outputs: `ret` maps each output arg to a body tensor.
    std::vector<std::string> done;  // control targets of the call's NoOp
    for (int i = 0; i < f.signature().output_arg_size(); ++i) {
      const std::string& arg = f.signature().output_arg(i).name();
      const auto r = f.ret().find(arg);
      if (r == f.ret().end()) {
        problem(call_name, absl::StrFormat("function %s returns nothing for its output '%s'", fname, arg));
        continue;
      }
      outputs[static_cast<std::size_t>(i)] = resolve(b, r->second, call_name);
      if (!outputs[static_cast<std::size_t>(i)].empty()) done.push_back("^" + std::string(node_of_input(outputs[static_cast<std::size_t>(i)])));
    }
    for (const auto& [name, node] : f.control_ret()) {
      if (const auto it = b.by_name.find(node); it != b.by_name.end()) done.push_back("^" + b.control_name[it->second]);
    }
    std::sort(done.begin(), done.end());
    done.erase(std::unique(done.begin(), done.end()), done.end());
    tensorflow::NodeDef* call_done = out_.graph.add_node();
    call_done->set_name(call_name);
    call_done->set_op("NoOp");
    for (const auto& d : done) call_done->add_input(d);
    stack_.pop_back();
    return outputs;
  }

  const std::map<std::string, const tensorflow::FunctionDef*, std::less<>>& functions() const { return functions_; }

 private:
  struct body {
    const tensorflow::FunctionDef& f;
    std::string prefix;
    const std::vector<std::string>& args;
    std::map<std::string, std::size_t, std::less<>> arg_index;
    std::map<std::string, int, std::less<>> by_name;
    std::map<int, std::string> control_name;               // emitted body node -> flat node for `^` inputs
    std::map<int, std::vector<std::string>> call_outputs;  // emitted inlined call -> its flat outputs
    std::string input_control;
    std::map<int, std::string> flat_name;  // emitted plain node -> its flat name
  };

  // A body input (`arg`, `node:out:index`, `^node`) as a flat input; "" when unresolvable.
  std::string resolve(body& b, const std::string& input, const std::string& consumer) {
    if (input.empty()) {
      problem(consumer, "it has an empty input name");
      return "";
    }
    const bool control = !input.empty() && input.front() == '^';
    const std::string_view ref = control ? std::string_view(input).substr(1) : std::string_view(input);
    const std::size_t colon = ref.find(':');
    const std::string_view node = ref.substr(0, colon);
    if (colon == std::string_view::npos && !control) {
      if (const auto a = b.arg_index.find(node); a != b.arg_index.end()) return b.args[a->second];
    }
    const auto it = b.by_name.find(node);
    if (it == b.by_name.end()) {
      problem(consumer, absl::StrFormat("input '%s' names no node or argument of function %s", input, b.f.signature().name()));
      return "";
    }
    if (!b.control_name.contains(it->second)) return "";  // a cycle, reported where it was found
    if (control) return "^" + b.control_name[it->second];
    std::string_view arg = "output";
    std::int64_t index = 0;
    bool named_arg = false;
    if (colon != std::string_view::npos) {
      std::string_view rest = ref.substr(colon + 1);
      const std::size_t second = rest.find(':');
      if (second == std::string_view::npos) {
        // "node:k": already a flat position (graph form).
        std::int64_t k = 0;
        for (char c : rest) k = c >= '0' && c <= '9' ? k * 10 + (c - '0') : -1;
        if (k < 0) {
          arg = rest;
          named_arg = true;
        } else {
          index = k;
        }
      } else {
        arg = rest.substr(0, second);
        named_arg = true;
        for (char c : rest.substr(second + 1)) index = c >= '0' && c <= '9' ? index * 10 + (c - '0') : index;
      }
    }
    const tensorflow::NodeDef& producer = b.f.node_def(it->second);
    std::int64_t k = index;
    if (named_arg) {
      const auto pos = flat_output(producer, b.control_name[it->second], arg, index, consumer);
      if (!pos) return "";
      k = *pos;
    }
    if (const auto c = b.call_outputs.find(it->second); c != b.call_outputs.end()) {
      if (k < 0 || static_cast<std::size_t>(k) >= c->second.size()) {
        problem(consumer, absl::StrFormat("input '%s' asks for output %d of a call with %d outputs", input, k, c->second.size()));
        return "";
      }
      return c->second[static_cast<std::size_t>(k)];
    }
    return flat_ref(b.flat_name[it->second], k);
  }

  // The body node an input reads (not an argument), or -1.
  static int producer_of(const body& b, const std::string& in) {
    if (in.empty()) return -1;
    const bool control = in.front() == '^';
    const std::string_view ref = control ? std::string_view(in).substr(1) : std::string_view(in);
    const std::size_t colon = ref.find(':');
    const std::string_view node = ref.substr(0, colon);
    if (!control && colon == std::string_view::npos && b.arg_index.contains(node)) return -1;
    const auto it = b.by_name.find(node);
    return it == b.by_name.end() ? -1 : it->second;
  }

  // The body's nodes, each after those it reads (an iterative depth-first walk: bodies can be
  // long chains). A node closing a cycle is reported and comes without that input.
  std::vector<int> body_order(body& b) {
    const int count = b.f.node_def_size();
    std::vector<int> order, state(static_cast<std::size_t>(count), 0);  // 0 new, 1 open, 2 done
    std::vector<std::pair<int, int>> stack;                              // node, next input to look at
    for (int root = 0; root < count; ++root) {
      if (state[static_cast<std::size_t>(root)] != 0) continue;
      stack.emplace_back(root, 0);
      state[static_cast<std::size_t>(root)] = 1;
      while (!stack.empty()) {
        auto& [i, next] = stack.back();
        const tensorflow::NodeDef& n = b.f.node_def(i);
        if (next < n.input_size()) {
          const int p = producer_of(b, n.input(next++));
          if (p < 0) continue;
          if (state[static_cast<std::size_t>(p)] == 1) {
            problem(b.prefix + n.name(),
                    absl::StrFormat("function %s has a cycle through node '%s'", b.f.signature().name(), n.name()));
          } else if (state[static_cast<std::size_t>(p)] == 0) {
            state[static_cast<std::size_t>(p)] = 1;
            stack.emplace_back(p, 0);
          }
          continue;
        }
        state[static_cast<std::size_t>(i)] = 2;
        order.push_back(i);
        stack.pop_back();
      }
    }
    return order;
  }

  // Emits body node `i`; the nodes it reads are emitted already (body_order).
  void emit(body& b, int i, int depth) {
    const tensorflow::NodeDef& n = b.f.node_def(i);
    const std::string flat = unique(b.prefix + n.name());
    std::vector<std::string> data, controls;
    for (const std::string& in : n.input()) {
      std::string r = resolve(b, in, flat);
      if (r.empty()) continue;
      (r.front() == '^' ? controls : data).push_back(std::move(r));
    }
    if (const tensorflow::FunctionDef* f = called_function(n)) {
      b.control_name[i] = flat;
      b.call_outputs[i] = inline_call(*f, flat, data, controls, depth + 1);
      return;
    }
    if (n.op() == "StatefulPartitionedCall" || n.op() == "PartitionedCall")
      problem(flat, absl::StrFormat("it calls function '%s', which is not in the graph's library", called_name(n)));
    tensorflow::NodeDef* out = out_.graph.add_node();
    *out = n;
    out->set_name(flat);
    out->clear_input();
    for (auto& d : data) out->add_input(std::move(d));
    for (auto& c : controls) out->add_input(std::move(c));
    if (n.input_size() == 0 && !b.input_control.empty()) out->add_input("^" + b.input_control);
    // Colocations in a body name nodes of the graph the function was traced from: kept only when
    // they name a node of the body.
    if (auto c = out->mutable_attr()->find("_class"); c != out->mutable_attr()->end()) {
      auto* list = c->second.mutable_list()->mutable_s();
      std::vector<std::string> kept;
      for (const std::string& s : *list) {
        if (s.rfind("loc:@", 0) != 0) {
          kept.push_back(s);
          continue;
        }
        const auto at = b.by_name.find(std::string_view(s).substr(5));
        if (at == b.by_name.end()) continue;
        const auto named = b.flat_name.find(at->second);
        kept.push_back("loc:@" + (named != b.flat_name.end() ? named->second : b.prefix + at->first));
      }
      list->Clear();
      for (auto& s : kept) list->Add(std::move(s));
      if (list->empty()) out->mutable_attr()->erase(c);
    }
    b.control_name[i] = flat;
    b.flat_name[i] = flat;
  }

  flat_signature& out_;
  std::map<std::string, const tensorflow::OpDef*, std::less<>> ops_;
  std::map<std::string, const tensorflow::FunctionDef*, std::less<>> functions_;
  std::set<std::string, std::less<>> used_;
  std::vector<std::string> stack_;
};

// Rewrites every reference to a renamed node (inputs, `^` inputs, `_class` colocations).
TFCKPT_DECL void rename_nodes(tensorflow::GraphDef& g, const std::map<std::string, std::string, std::less<>>& renamed);

// Object paths of the SavedObjectGraph's nodes: the first path a breadth-first walk of the
// children edges finds from the root.
TFCKPT_DECL std::vector<std::vector<std::string>> saved_object_paths(const tensorflow::SavedObjectGraph& g);

}  // namespace detail

/// Flattens signature `signature` of a TF2 MetaGraphDef into one GraphDef (see the file comment).
/// Errors: kNotFound for an unknown signature (the message lists the others); kDataLoss for an
/// undecodable object graph; kInvalidArgument when a signature tensor names no node. Problems of
/// single nodes are in `node_problems`.
TFCKPT_DECL absl::StatusOr<flat_signature> flatten_signature(const tensorflow::MetaGraphDef& meta_graph,
                                                             std::string_view signature = "serving_default");

}  // namespace tfckpt::graph

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_GRAPH_FUNCTION_INLINE)

namespace tfckpt::graph {

TFCKPT_DECL std::vector<std::string> signature_names(const tensorflow::MetaGraphDef& meta_graph) {
  std::vector<std::string> out;
  for (const auto& [name, sig] : meta_graph.signature_def())
    if (name != "__saved_model_init_op") out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

TFCKPT_DECL absl::StatusOr<std::optional<tensorflow::SavedObjectGraph>> saved_object_graph(
    const tensorflow::MetaGraphDef& meta_graph) {
  if (meta_graph.object_graph_def().empty()) return std::nullopt;
  tensorflow::SavedObjectGraph g;
  if (!g.ParseFromString(meta_graph.object_graph_def()))
    return absl::DataLossError("the MetaGraphDef's object_graph_def is not a SavedObjectGraph");
  return g;
}
}  // namespace tfckpt::graph

namespace tfckpt::graph::detail {

TFCKPT_DECL void rename_nodes(tensorflow::GraphDef& g, const std::map<std::string, std::string, std::less<>>& renamed) {
  if (renamed.empty()) return;
  for (auto& n : *g.mutable_node()) {
    if (const auto it = renamed.find(n.name()); it != renamed.end()) n.set_name(it->second);
    for (auto& in : *n.mutable_input()) {
      const bool control = !in.empty() && in.front() == '^';
      const std::string_view ref = control ? std::string_view(in).substr(1) : std::string_view(in);
      const std::size_t colon = ref.find(':');
      const auto it = renamed.find(ref.substr(0, colon));
      if (it == renamed.end()) continue;
      in = (control ? "^" : "") + it->second + (colon == std::string_view::npos ? "" : std::string(ref.substr(colon)));
    }
    if (auto c = n.mutable_attr()->find("_class"); c != n.mutable_attr()->end())
      for (auto& s : *c->second.mutable_list()->mutable_s())
        if (s.rfind("loc:@", 0) == 0)
          if (const auto it = renamed.find(std::string_view(s).substr(5)); it != renamed.end()) s = "loc:@" + it->second;
  }
}

TFCKPT_DECL std::vector<std::vector<std::string>> saved_object_paths(const tensorflow::SavedObjectGraph& g) {
  std::vector<std::vector<std::string>> paths(static_cast<std::size_t>(g.nodes_size()));
  std::vector<bool> seen(static_cast<std::size_t>(g.nodes_size()), false);
  if (g.nodes_size() == 0) return paths;
  std::vector<int> queue{0};
  seen[0] = true;
  for (std::size_t q = 0; q < queue.size(); ++q) {
    const int id = queue[q];
    for (const auto& child : g.nodes(id).children()) {
      const int c = child.node_id();
      if (c < 0 || c >= g.nodes_size() || seen[static_cast<std::size_t>(c)]) continue;
      seen[static_cast<std::size_t>(c)] = true;
      paths[static_cast<std::size_t>(c)] = paths[static_cast<std::size_t>(id)];
      paths[static_cast<std::size_t>(c)].push_back(child.local_name());
      queue.push_back(c);
    }
  }
  return paths;
}
}  // namespace tfckpt::graph::detail

namespace tfckpt::graph {

TFCKPT_DECL absl::StatusOr<flat_signature> flatten_signature(const tensorflow::MetaGraphDef& meta_graph,
                                                             std::string_view signature) {
  const auto sig_it = meta_graph.signature_def().find(std::string(signature));
  if (sig_it == meta_graph.signature_def().end()) {
    const auto names = signature_names(meta_graph);
    return absl::NotFoundError(absl::StrFormat("no signature '%s' in the SavedModel; there are: %s", signature,
                                               names.empty() ? "none" : absl::StrJoin(names, ", ")));
  }
  const tensorflow::SignatureDef& sig = sig_it->second;
  TFCKPT_ASSIGN_OR_RETURN(std::optional<tensorflow::SavedObjectGraph> objects, saved_object_graph(meta_graph));

  flat_signature out;
  detail::inliner in(meta_graph, out);
  const tensorflow::GraphDef& top = meta_graph.graph_def();
  std::map<std::string, const tensorflow::NodeDef*, std::less<>> top_by_name;
  for (const auto& n : top.node()) top_by_name.emplace(n.name(), &n);

  // Captured variables: the last bound_inputs.size() inputs of a call of a concrete function.
  if (objects) {
    const auto paths = detail::saved_object_paths(*objects);
    for (const auto& n : top.node()) {
      const auto cf = objects->concrete_functions().find(std::string(in.called_name(n)));
      if (cf == objects->concrete_functions().end() || in.called_function(n) == nullptr) continue;
      std::vector<std::string_view> data;
      for (const auto& i : n.input())
        if (!detail::is_control_input(i)) data.push_back(detail::node_of_input(i));
      const auto& bound = cf->second.bound_inputs();
      if (static_cast<std::size_t>(bound.size()) > data.size()) continue;
      for (int j = 0; j < bound.size(); ++j) {
        const std::string_view input = data[data.size() - static_cast<std::size_t>(bound.size()) + static_cast<std::size_t>(j)];
        const auto node = top_by_name.find(input);
        const int id = bound[j];
        if (node == top_by_name.end() || node->second->op() != "VarHandleOp" || id < 0 || id >= objects->nodes_size() ||
            !objects->nodes(id).has_variable())
          continue;
        const auto& path = paths[static_cast<std::size_t>(id)];
        if (path.empty()) continue;
        const auto [at, inserted] = out.variable_paths.emplace(std::string(input), path);
        out.variable_objects.emplace(std::string(input), id);
        if (!inserted && at->second != path)
          in.problem(std::string(input), absl::StrFormat("the object graph binds it to two objects, '%s' and '%s'",
                                                         absl::StrJoin(at->second, "/"), absl::StrJoin(path, "/")));
      }
    }
  }

  // The top-level graph, calls inlined, in order.
  std::map<std::string, std::string, std::less<>> top_refs;  // "call:k" -> flat tensor
  for (const auto& n : top.node()) {
    const tensorflow::FunctionDef* f = in.called_function(n);
    if (f == nullptr) {
      if (n.op() == "StatefulPartitionedCall" || n.op() == "PartitionedCall")
        in.problem(n.name(), absl::StrFormat("it calls function '%s', which is not in the graph's library", in.called_name(n)));
      *out.graph.add_node() = n;
      continue;
    }
    std::vector<std::string> data, controls;
    for (const auto& i : n.input()) (detail::is_control_input(i) ? controls : data).push_back(i);
    // Inputs may be outputs of calls inlined before (graph order puts producers first in practice).
    for (auto& d : data)
      if (const auto r = top_refs.find(d); r != top_refs.end()) d = r->second;
    const std::vector<std::string>& outputs = out.call_outputs[n.name()] = in.inline_call(*f, n.name(), data, controls, 0);
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      top_refs[detail::flat_ref(n.name(), static_cast<std::int64_t>(k))] = outputs[k];
      if (k == 0) top_refs[n.name() + ":0"] = outputs[k];
    }
  }
  // Consumers of top-level calls read the returned tensors.
  for (auto& node : *out.graph.mutable_node())
    for (auto& i : *node.mutable_input())
      if (const auto r = top_refs.find(i); r != top_refs.end() && !r->second.empty()) i = r->second;

  // Signature inputs: Placeholders named after their keys.
  std::set<std::string, std::less<>> names;
  for (const auto& n : out.graph.node()) names.insert(n.name());
  const auto free_name = [&](const std::string& want, std::string_view except) {
    std::string name = want;
    for (int i = 1; names.contains(name) && name != except; ++i) name = absl::StrFormat("%s_%d", want, i);
    names.insert(name);
    return name;
  };
  std::vector<std::string> input_keys, output_keys;
  for (const auto& [key, info] : sig.inputs()) input_keys.push_back(key);
  for (const auto& [key, info] : sig.outputs()) output_keys.push_back(key);
  std::sort(input_keys.begin(), input_keys.end());
  std::sort(output_keys.begin(), output_keys.end());
  std::map<std::string, std::string, std::less<>> renamed;
  for (const std::string& key : input_keys) {
    const tensorflow::TensorInfo& info = sig.inputs().at(key);
    const std::string node(detail::node_of_input(info.name()));
    auto it = std::find_if(out.graph.mutable_node()->begin(), out.graph.mutable_node()->end(),
                           [&](const tensorflow::NodeDef& n) { return n.name() == node; });
    if (info.name().empty() || it == out.graph.mutable_node()->end())
      return absl::InvalidArgumentError(absl::StrFormat("signature '%s': input '%s' names tensor '%s', which is not in the graph",
                                                        signature, key, info.name()));
    names.erase(node);
    const std::string name = free_name(key, node);
    tensorflow::NodeDef placeholder;
    placeholder.set_name(node);
    placeholder.set_op("Placeholder");
    (*placeholder.mutable_attr())["dtype"].set_type(info.dtype());
    *(*placeholder.mutable_attr())["shape"].mutable_shape() = info.tensor_shape();
    *it = std::move(placeholder);
    if (name != node) renamed.emplace(node, name);
    out.inputs.push_back(name);
  }
  // Signature outputs: Identity nodes named after their keys.
  for (const std::string& key : output_keys) {
    const tensorflow::TensorInfo& info = sig.outputs().at(key);
    std::string source = info.name();
    if (const auto r = top_refs.find(source); r != top_refs.end()) source = r->second;
    if (source.ends_with(":0")) source.resize(source.size() - 2);
    if (info.name().empty() || !names.contains(detail::node_of_input(source)))
      return absl::InvalidArgumentError(absl::StrFormat(
          "signature '%s': output '%s' names tensor '%s', which is not in the graph", signature, key, info.name()));
    tensorflow::NodeDef* id = out.graph.add_node();
    id->set_name(free_name(key, ""));
    id->set_op("Identity");
    id->add_input(source);
    (*id->mutable_attr())["T"].set_type(info.dtype());
    out.outputs.push_back(id->name());
  }
  detail::rename_nodes(out.graph, renamed);
  for (auto& [old_name, new_name] : renamed) {
    if (auto v = out.variable_paths.extract(old_name)) {
      v.key() = new_name;
      out.variable_paths.insert(std::move(v));
    }
    if (auto v = out.variable_objects.extract(old_name)) {
      v.key() = new_name;
      out.variable_objects.insert(std::move(v));
    }
    if (auto p = out.node_problems.extract(old_name)) {
      p.key() = new_name;
      out.node_problems.insert(std::move(p));
    }
  }
  out.input_keys = std::move(input_keys);
  out.output_keys = std::move(output_keys);

  // The library keeps what the flat graph still names (functional control flow's branches).
  std::set<std::string, std::less<>> needed;
  std::vector<std::string> todo;
  const auto note_functions = [&](const google::protobuf::Map<std::string, tensorflow::AttrValue>& attrs) {
    for (const auto& [k, v] : attrs) {
      if (v.has_func()) todo.push_back(v.func().name());
      for (const auto& f : v.list().func()) todo.push_back(f.name());
    }
  };
  for (const auto& n : out.graph.node()) {
    note_functions(n.attr());
    if (in.functions().contains(n.op())) todo.push_back(n.op());
  }
  while (!todo.empty()) {
    const std::string name = std::move(todo.back());
    todo.pop_back();
    const auto it = in.functions().find(name);
    if (it == in.functions().end() || !needed.insert(name).second) continue;
    for (const auto& n : it->second->node_def()) {
      note_functions(n.attr());
      if (in.functions().contains(n.op())) todo.push_back(n.op());
    }
  }
  for (const auto& f : top.library().function())
    if (needed.contains(f.signature().name())) *out.graph.mutable_library()->add_function() = f;
  if (top.has_versions()) *out.graph.mutable_versions() = top.versions();
  out.objects = std::move(objects);
  return out;
}

}  // namespace tfckpt::graph
#endif  // TFCKPT_COMPILE_GRAPH_FUNCTION_INLINE

#endif  // TFCKPT_GRAPH_FUNCTION_INLINE_HPP_
