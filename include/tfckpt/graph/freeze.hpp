// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/graph/freeze.hpp
//
// Freezing: a graph plus a checkpoint become one self-contained GraphDef whose variables are Const
// nodes holding their checkpoint values — TensorFlow's convert_variables_to_constants /
// freeze_graph (spec/FORMAT.md §7), without TensorFlow, streaming the values from the mapped shards.
//
//  1. Prune to what the output nodes need: inputs are followed with their `^control` and `:port`
//     decorations removed, plus `_class` colocations (`loc:@x`); kept nodes stay in graph order.
//  2. Variables (`VariableV2`, `Variable`, `VarHandleOp`) that survive, pass the whitelist and are not
//     blacklisted become `Const` {dtype, value} — no inputs, device or other attributes, the value
//     encoded as TensorFlow encodes it (graph/const_node.hpp).
//  3. Their checkpoint keys: a partitioned part's VariableDef `save_slice_info_def` (the
//     MetaGraphDef's variable collections: key `full_name`, value the part's slice of the full
//     tensor), else what the graph's saver writes them under (its SaveV2/SaveSlices/Save node's
//     `tensor_names`, with `shape_and_slices` for partitioned parts), else the node's name, else a
//     VarHandleOp's `shared_name`. A part becomes a Const of its own slice: the stored slice entry
//     when the checkpoint holds exactly that slice, the whole entry when the slice is the whole
//     tensor (TensorFlow writes a one-part variable as a plain entry), else that block of the
//     (assembled) entry, streamed. Dtype and known dimensions must agree with the checkpoint.
//  4. Readers of a frozen resource variable are rewritten as TensorFlow does: ReadVariableOp becomes
//     Identity {T, _class}; an Identity on the resource path gets T = the value's dtype;
//     ResourceGather becomes GatherV2 with a new `<name>/axis` Const; ResourceGatherNd becomes
//     GatherNd. Any other consumer of a frozen resource (AssignVariableOp, functional control flow)
//     is an error naming it.
//  5. Everything else is kept exactly, except what freeze_graph's import of the graph changes:
//     `clear_devices` (the default) empties every device, and `_output_shapes` attributes go. The
//     graph's `library` is kept and `versions` dropped, as TensorFlow does.
//
// Every problem (a missing output, a variable without a checkpoint value, a dtype or shape that
// disagrees, an input naming no node, a dataflow cycle outside a while loop) is reported at once,
// each naming its node, before a byte is written.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto graph, graph::load_graph_def("model.pb"));
//   TFCKPT_ASSIGN_OR_RETURN(auto ckpt, tfckpt::open("train/model.ckpt-1000"));
//   TFCKPT_RETURN_IF_ERROR(graph::freeze(graph, ckpt, "frozen.pb", {.output_node_names = {"softmax"}}));
#ifndef TFCKPT_GRAPH_FREEZE_HPP_
#define TFCKPT_GRAPH_FREEZE_HPP_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <ranges>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/graph/const_node.hpp"
#include "tfckpt/graph/graph_writer.hpp"
#include "tfckpt/proto/graph.pb.h"
#include "tfckpt/proto/meta_graph.pb.h"
#include "tfckpt/proto/saver.pb.h"
#include "tfckpt/proto/variable.pb.h"
#include "tfckpt/views/match.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt::graph {

struct freeze_options {
  /// The nodes the frozen graph must compute (names; a ":port" suffix is ignored). Required.
  std::vector<std::string> output_node_names;
  /// Empty every node's device, as freeze_graph does by default.
  bool clear_devices = true;
  /// When not empty, only these variables are frozen (node names).
  std::vector<std::string> variable_names_whitelist{};
  /// Variables that stay variables.
  std::vector<std::string> variable_names_blacklist{};
  /// The graph's saver, when known (a MetaGraphDef's saver_def): its save op names the keys.
  std::optional<tensorflow::SaverDef> saver_def{};
  /// Checkpoint keys of variable nodes known from elsewhere (a SavedModel's object graph); tried
  /// before any other key.
  std::map<std::string, std::string, std::less<>> variable_keys{};
  /// The graph's VariableDefs, when known (variable_defs() of its MetaGraphDef): their
  /// save_slice_info_def names the key and slice of each part of a partitioned variable.
  std::vector<tensorflow::VariableDef> variable_defs{};
};

/// A variable made constant, and where its value comes from.
struct frozen_variable {
  std::string node;  // the variable node
  std::string op;    // VariableV2, Variable or VarHandleOp
  std::string key;   // its checkpoint key
  std::string slice; // a partitioned part's "shape and slice" spec; empty for a whole tensor
  dtype type = dtype::invalid;
  std::vector<std::int64_t> shape;
  std::uint64_t bytes = 0;
};

/// What freeze() will write, computed from metadata alone.
struct freeze_plan {
  std::vector<graph_node> nodes;  // the frozen graph, in order; Const values still in the checkpoint
  tensorflow::GraphDef tail;      // the rest of the graph (library)
  std::vector<frozen_variable> variables;
  std::vector<std::string> kept_variables;     // variables left as variables (white/blacklist)
  std::vector<std::string> unmatched_listed;   // whitelist/blacklist names that are no variable
  std::size_t input_nodes = 0;
  std::size_t pruned_nodes = 0;
};

namespace detail {

inline bool is_variable_op(std::string_view op) { return op == "VariableV2" || op == "Variable" || op == "VarHandleOp"; }

// "^x" -> "x", "x:1" -> "x".
inline std::string_view node_of_input(std::string_view input) {
  if (!input.empty() && input.front() == '^') input.remove_prefix(1);
  if (const auto colon = input.find(':'); colon != std::string_view::npos) input = input.substr(0, colon);
  return input;
}

inline bool is_control_input(std::string_view input) { return !input.empty() && input.front() == '^'; }

TFCKPT_DECL std::vector<std::string_view> colocations(const tensorflow::NodeDef& node);

inline std::string shape_of_attr(const tensorflow::TensorShapeProto& s) {
  if (s.unknown_rank()) return "<unknown>";
  std::string out = "[";
  for (int i = 0; i < s.dim_size(); ++i) absl::StrAppendFormat(&out, "%s%d", i ? "," : "", s.dim(i).size());
  return out + "]";
}

// True when a variable's declared shape admits the checkpoint's.
TFCKPT_DECL bool shape_admits(const tensorflow::TensorShapeProto& declared, std::span<const std::int64_t> actual);

// The strings of a DT_STRING Const node's value (string_val, or the tensor_content form is not
// used by TensorFlow for strings).
TFCKPT_DECL std::vector<std::string> const_strings(const tensorflow::NodeDef& node);

struct saved_as {
  std::string key;
  std::string slice;
};

class graph_index {
 public:
  explicit graph_index(const tensorflow::GraphDef& g) : graph_(g) {
    for (int i = 0; i < g.node_size(); ++i) by_name_.emplace(g.node(i).name(), i);
  }
  const tensorflow::NodeDef* find(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &graph_.node(it->second);
  }
  std::optional<int> index(std::string_view name) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) return std::nullopt;
    return it->second;
  }

  // Follows Identity / ReadVariableOp / Snapshot chains from `input` to a variable node.
  const tensorflow::NodeDef* variable_behind(std::string_view input) const {
    std::set<std::string_view> seen;
    const tensorflow::NodeDef* n = find(node_of_input(input));
    while (n != nullptr && !is_variable_op(n->op())) {
      if ((n->op() != "Identity" && n->op() != "ReadVariableOp" && n->op() != "Snapshot") || n->input_size() == 0 ||
          !seen.insert(n->name()).second)
        return nullptr;
      n = find(node_of_input(n->input(0)));
    }
    return n;
  }

  // Checkpoint keys the graph's save ops use for each variable node. With a SaverDef, only the save
  // ops of its scope; else all (the first to name a variable wins).
  std::map<std::string, saved_as, std::less<>> saver_keys(const std::optional<tensorflow::SaverDef>& saver) const {
    std::string scope;
    if (saver && !saver->save_tensor_name().empty()) {
      const std::string_view name = node_of_input(saver->save_tensor_name());
      if (const auto slash = name.find('/'); slash != std::string_view::npos) scope = std::string(name.substr(0, slash + 1));
    }
    std::map<std::string, saved_as, std::less<>> out;
    for (const tensorflow::NodeDef& n : graph_.node()) {
      const bool v2 = n.op() == "SaveV2" || n.op() == "SaveSlices";
      if ((!v2 && n.op() != "Save") || (!scope.empty() && n.name().rfind(scope, 0) != 0)) continue;
      const int first_tensor = v2 ? 3 : 2;
      if (n.input_size() < first_tensor) continue;
      const tensorflow::NodeDef* names = find(node_of_input(n.input(1)));
      const tensorflow::NodeDef* slices = v2 ? find(node_of_input(n.input(2))) : nullptr;
      if (names == nullptr || names->op() != "Const") continue;
      const std::vector<std::string> keys = const_strings(*names);
      const std::vector<std::string> specs =
          slices != nullptr && slices->op() == "Const" ? const_strings(*slices) : std::vector<std::string>{};
      for (int i = first_tensor; i < n.input_size(); ++i) {
        const std::size_t k = static_cast<std::size_t>(i - first_tensor);
        if (is_control_input(n.input(i)) || k >= keys.size()) continue;
        const tensorflow::NodeDef* var = variable_behind(n.input(i));
        if (var == nullptr) continue;
        out.emplace(var->name(), saved_as{keys[k], k < specs.size() ? specs[k] : std::string()});
      }
    }
    return out;
  }

 private:
  const tensorflow::GraphDef& graph_;
  std::map<std::string, int, std::less<>> by_name_;
};

// The stored slice entry of partitioned `e` that is exactly `spec`.
TFCKPT_DECL absl::StatusOr<const entry*> find_slice(const entry& e, const std::string& spec);

// A SaveSliceInfoDef as the "shape and slice" spec TensorFlow's saver writes for it
// ("10 4 0,5:0,4"); empty when it names no full tensor.
TFCKPT_DECL std::string slice_spec(const tensorflow::SaveSliceInfoDef& info);

// Variable node -> the key and slice its VariableDef's save_slice_info_def names.
TFCKPT_DECL std::map<std::string, saved_as, std::less<>> slice_info_keys(const std::vector<tensorflow::VariableDef>& defs);

// `spec`'s extents with whole dimensions spelled out as (0, full).
inline std::vector<codec::slice_extent> concrete_extents(const codec::shape_and_slice& spec) {
  std::vector<codec::slice_extent> out = spec.extents;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].full()) out[i] = {0, spec.full_shape[i]};
  return out;
}

// The block `extents` (concrete) of `e`'s row-major value, streamed from the entry's bytes (the
// assembled tensor for a partitioned entry): each contiguous run of the block is passed on as the
// full tensor's bytes go by, so nothing is copied. Ranges can also be read (for views that read
// them, such as a transpose), each piece from its run. Fixed-size dtypes only.
TFCKPT_DECL tensor block_of(const entry& e, const std::string& prefix, std::vector<codec::slice_extent> extents);

// The value of the part `spec` of `e`: the stored slice entry that is exactly that part, the
// entry itself when the part is all of it, else that block of the entry. Errors name the variable.
TFCKPT_DECL absl::StatusOr<tensor> part_value(const entry& e, const std::string& prefix, const std::string& node,
                                              const std::string& spec);

}  // namespace detail

/// The VariableDefs in `meta`'s variable collections (global, trainable, local and model
/// variables), each once. Errors: kDataLoss naming a collection whose bytes are no VariableDef.
TFCKPT_DECL absl::StatusOr<std::vector<tensorflow::VariableDef>> variable_defs(const tensorflow::MetaGraphDef& meta);

/// A variable of a graph, with the checkpoint key its saver uses (or its name).
struct graph_variable {
  std::string node;
  std::string op;
  std::string key;
  tfckpt::dtype dtype = tfckpt::dtype::invalid;
  std::vector<std::int64_t> shape{};  // -1 for an unknown dimension
  bool unknown_rank = false;
  /// For a part of a partitioned variable: its "shape and slice" spec within `key`'s full tensor.
  std::string slice{};
  std::vector<std::int64_t> full_shape{};  // the shape of `key`'s tensor, when `slice` is set
};

/// Every variable node of `graph` (VariableV2, Variable, VarHandleOp), in graph order, with its
/// checkpoint key: for a part of a partitioned variable, the full tensor its VariableDef (from
/// `defs`, see variable_defs()) names; else the key the graph's save op (of `saver`, when given)
/// writes it under (with its slice for a part); else the node's name.
TFCKPT_DECL std::vector<graph_variable> graph_variables(const tensorflow::GraphDef& graph,
                                                        const std::optional<tensorflow::SaverDef>& saver = std::nullopt,
                                                        const std::vector<tensorflow::VariableDef>& defs = {});

/// What a checkpoint must hold to restore `variables` (see match_variables): one spec per key, a
/// partitioned variable's parts as their full tensor.
TFCKPT_DECL std::vector<variable_spec> variable_specs(std::span<const graph_variable> variables);

namespace detail {
// plan_freeze's work: the plan, with every problem appended to `problems` (callers that have
// findings of their own join them into one list).
TFCKPT_DECL freeze_plan plan_freeze_collecting(const tensorflow::GraphDef& graph, const checkpoint& ckpt,
                                               const freeze_options& options, std::vector<absl::Status>& problems);
}  // namespace detail

/// Plans the freeze of `graph` with values from `ckpt` (see the file comment). Reads no tensor
/// byte; the Const values in the plan stream from `ckpt`, which must outlive the plan.
inline absl::StatusOr<freeze_plan> plan_freeze(const tensorflow::GraphDef& graph, const checkpoint& ckpt,
                                               const freeze_options& options) {
  std::vector<absl::Status> problems;
  freeze_plan plan = detail::plan_freeze_collecting(graph, ckpt, options, problems);
  TFCKPT_RETURN_IF_ERROR(tfckpt::detail::problems_status("the graph cannot be frozen", problems));
  return plan;
}

/// Freezes `graph` with values from `ckpt` into a binary GraphDef at `path` (atomically; the Const
/// values stream from the checkpoint's mapped shards).
inline absl::Status freeze(const tensorflow::GraphDef& graph, const checkpoint& ckpt, const std::filesystem::path& path,
                           const freeze_options& options, const graph_write_options& write = {}) {
  TFCKPT_ASSIGN_OR_RETURN(const freeze_plan plan, plan_freeze(graph, ckpt, options));
  return write_graph_def(plan.nodes, plan.tail, path, write);
}

}  // namespace tfckpt::graph

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_GRAPH_FREEZE)

namespace tfckpt::graph::detail {

TFCKPT_DECL std::vector<std::string_view> colocations(const tensorflow::NodeDef& node) {
  std::vector<std::string_view> out;
  const auto it = node.attr().find("_class");
  if (it == node.attr().end()) return out;
  for (const std::string& s : it->second.list().s())
    if (s.rfind("loc:@", 0) == 0) out.emplace_back(std::string_view(s).substr(5));
  return out;
}

TFCKPT_DECL bool shape_admits(const tensorflow::TensorShapeProto& declared, std::span<const std::int64_t> actual) {
  if (declared.unknown_rank()) return true;
  if (declared.dim_size() == 0 && !actual.empty()) return false;
  if (static_cast<std::size_t>(declared.dim_size()) != actual.size()) return false;
  for (int i = 0; i < declared.dim_size(); ++i)
    if (declared.dim(i).size() >= 0 && declared.dim(i).size() != actual[static_cast<std::size_t>(i)]) return false;
  return true;
}

TFCKPT_DECL std::vector<std::string> const_strings(const tensorflow::NodeDef& node) {
  std::vector<std::string> out;
  const auto it = node.attr().find("value");
  if (it == node.attr().end()) return out;
  const tensorflow::TensorProto& t = it->second.tensor();
  out.assign(t.string_val().begin(), t.string_val().end());
  std::int64_t n = 1;
  for (const auto& d : t.tensor_shape().dim()) n *= d.size();
  if (out.size() == 1 && n > 1) out.resize(static_cast<std::size_t>(n), out.front());  // a repeated last value
  return out;
}

TFCKPT_DECL absl::StatusOr<const entry*> find_slice(const entry& e, const std::string& spec) {
  TFCKPT_ASSIGN_OR_RETURN(const codec::shape_and_slice want, codec::parse_shape_and_slice(spec));
  const auto normalized = [](std::span<const codec::slice_extent> ext, std::span<const std::int64_t> full) {
    std::vector<codec::slice_extent> out(ext.begin(), ext.end());
    for (std::size_t i = 0; i < out.size() && i < full.size(); ++i)
      if (out[i].full()) out[i] = {0, full[i]};
    return out;
  };
  if (!std::equal(want.full_shape.begin(), want.full_shape.end(), e.shape().begin(), e.shape().end()))
    return absl::InvalidArgumentError(absl::StrFormat("slice spec '%s' does not match the stored shape %s", spec,
                                                      shape_string(e.shape())));
  const auto target = normalized(want.extents, want.full_shape);
  for (std::uint32_t i = 0; i < e.num_slices(); ++i)
    if (normalized(e.slice_extents(i), e.shape()) == target) return &e.slice_entry(i);
  return absl::NotFoundError(absl::StrFormat("no stored slice '%s'", spec));
}

TFCKPT_DECL std::string slice_spec(const tensorflow::SaveSliceInfoDef& info) {
  if (info.full_name().empty()) return {};
  std::string out = absl::StrJoin(info.full_shape(), " ") + " ";
  for (int i = 0; i < info.var_offset_size() && i < info.var_shape_size(); ++i)
    absl::StrAppendFormat(&out, "%s%d,%d", i ? ":" : "", info.var_offset(i), info.var_shape(i));
  return out;
}

TFCKPT_DECL std::map<std::string, saved_as, std::less<>> slice_info_keys(const std::vector<tensorflow::VariableDef>& defs) {
  std::map<std::string, saved_as, std::less<>> out;
  for (const tensorflow::VariableDef& d : defs)
    if (d.has_save_slice_info_def() && !d.save_slice_info_def().full_name().empty())
      out.emplace(std::string(node_of_input(d.variable_name())),
                  saved_as{d.save_slice_info_def().full_name(), slice_spec(d.save_slice_info_def())});
  return out;
}

TFCKPT_DECL tensor block_of(const entry& e, const std::string& prefix, std::vector<codec::slice_extent> extents) {
  tensor t = to_tensor(e, prefix);
  t.stored = nullptr;
  const std::vector<std::int64_t> full(e.shape().begin(), e.shape().end());
  t.shape.clear();
  std::uint64_t bytes = element_size(e.dtype());
  for (const codec::slice_extent& x : extents) {
    t.shape.push_back(x.length);
    bytes *= static_cast<std::uint64_t>(x.length);
  }
  // The block is contiguous from dimension `inner` on: every later dimension is whole.
  std::size_t inner = extents.size() - 1;
  while (inner > 0 && extents[inner].start == 0 && extents[inner].length == full[inner]) --inner;
  std::vector<std::uint64_t> stride(full.size(), element_size(e.dtype()));  // bytes per step of each dimension
  for (std::size_t d = full.size() - 1; d > 0; --d) stride[d - 1] = stride[d] * static_cast<std::uint64_t>(full[d]);
  const std::uint64_t run = stride[inner] * static_cast<std::uint64_t>(extents[inner].length);
  // Random access: block bytes [offset, offset + out.size()) are pieces of runs, each read from
  // where its run lies in the full tensor.
  auto read_range = [whole = e.host_order_source(), extents, stride, inner, run](std::uint64_t offset,
                                                                                 std::span<std::byte> out) -> absl::Status {
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t at = offset + done, within = at % run;
      std::uint64_t r = at / run;  // the run's index over the outer dimensions, row-major
      std::uint64_t from = stride[inner] * static_cast<std::uint64_t>(extents[inner].start);
      for (std::size_t d = inner; d-- > 0;) {
        const auto length = static_cast<std::uint64_t>(extents[d].length);
        from += stride[d] * (static_cast<std::uint64_t>(extents[d].start) + r % length);
        r /= length;
      }
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(run - within, out.size() - done));
      TFCKPT_RETURN_IF_ERROR(whole.read(from + within, out.subspan(done, take)));
      done += take;
    }
    return absl::OkStatus();
  };
  t.source = byte_source::from_reader(
      bytes, std::move(read_range), [whole = e.host_order_source(), extents = std::move(extents), stride, inner, run,
              bytes](const byte_source::emit_fn& emit) -> absl::Status {
        std::vector<std::int64_t> at(inner);  // position in the outer dimensions, from each extent's start
        const auto run_begin = [&] {
          std::uint64_t off = stride[inner] * static_cast<std::uint64_t>(extents[inner].start);
          for (std::size_t d = 0; d < inner; ++d)
            off += stride[d] * static_cast<std::uint64_t>(extents[d].start + at[d]);
          return off;
        };
        const auto next_run = [&] {  // false after the last run
          for (std::size_t d = inner; d-- > 0;) {
            if (++at[d] < extents[d].length) return true;
            at[d] = 0;
          }
          return false;
        };
        bool more = bytes > 0;
        std::uint64_t begin = more ? run_begin() : 0;
        std::uint64_t pos = 0;
        return whole.stream([&](std::span<const std::byte> chunk) -> absl::Status {
          const std::uint64_t chunk_begin = pos, chunk_end = pos + chunk.size();
          pos = chunk_end;
          while (more && begin < chunk_end) {
            const std::uint64_t lo = std::max(begin, chunk_begin), hi = std::min(begin + run, chunk_end);
            if (lo < hi) TFCKPT_RETURN_IF_ERROR(emit(chunk.subspan(lo - chunk_begin, hi - lo)));
            if (begin + run > chunk_end) break;
            more = next_run();
            if (more) begin = run_begin();
          }
          return absl::OkStatus();
        });
      });
  return t;
}

TFCKPT_DECL absl::StatusOr<tensor> part_value(const entry& e, const std::string& prefix, const std::string& node,
                                              const std::string& spec) {
  auto parsed = codec::parse_shape_and_slice(spec);
  if (!parsed.ok())
    return absl::Status(parsed.status().code(), absl::StrFormat("variable '%s': %s", node, parsed.status().message()));
  const codec::shape_and_slice& part = *parsed;
  if (!std::ranges::equal(part.full_shape, e.shape()))
    return absl::InvalidArgumentError(absl::StrFormat(
        "variable '%s' is the part '%s' of '%s', a tensor of shape %s, but the checkpoint's '%s' is %s", node, spec,
        e.name(), shape_string(part.full_shape), e.name(), shape_string(e.shape())));
  const std::vector<codec::slice_extent> extents = concrete_extents(part);
  const bool whole = std::ranges::all_of(std::views::iota(std::size_t{0}, extents.size()), [&](std::size_t d) {
    return extents[d].start == 0 && extents[d].length == part.full_shape[d];
  });
  if (whole) return to_tensor(e, prefix);
  if (e.is_partitioned())
    if (auto stored = find_slice(e, spec); stored.ok()) {
      tensor t = to_tensor(**stored, prefix);
      t.name = std::string(e.name());
      return t;
    }
  if (!is_fixed_size(e.dtype()))
    return absl::UnimplementedError(absl::StrFormat(
        "variable '%s': the part '%s' of %s tensor '%s' is not stored as a slice of its own, and %s tensors cannot be "
        "cut", node, spec, dtype_name(e.dtype()), e.name(), dtype_name(e.dtype())));
  return block_of(e, prefix, extents);
}
}  // namespace tfckpt::graph::detail

namespace tfckpt::graph {

TFCKPT_DECL absl::StatusOr<std::vector<tensorflow::VariableDef>> variable_defs(const tensorflow::MetaGraphDef& meta) {
  std::vector<tensorflow::VariableDef> out;
  std::set<std::string> seen;
  for (const char* name : {"variables", "trainable_variables", "local_variables", "model_variables"}) {
    const auto it = meta.collection_def().find(name);
    if (it == meta.collection_def().end() || !it->second.has_bytes_list()) continue;
    const auto& values = it->second.bytes_list().value();
    for (int i = 0; i < values.size(); ++i) {
      tensorflow::VariableDef d;
      if (!d.ParseFromString(values.Get(i)))
        return absl::DataLossError(
            absl::StrFormat("collection '%s': value %d is not a serialized VariableDef", name, i));
      if (seen.insert(d.variable_name()).second) out.push_back(std::move(d));
    }
  }
  return out;
}

TFCKPT_DECL std::vector<graph_variable> graph_variables(const tensorflow::GraphDef& graph,
                                                        const std::optional<tensorflow::SaverDef>& saver,
                                                        const std::vector<tensorflow::VariableDef>& defs) {
  const detail::graph_index index(graph);
  auto keys = detail::slice_info_keys(defs);
  keys.merge(index.saver_keys(saver));  // the VariableDefs win
  std::vector<graph_variable> out;
  for (const tensorflow::NodeDef& n : graph.node()) {
    if (!detail::is_variable_op(n.op())) continue;
    graph_variable v{n.name(), n.op(), n.name()};
    if (const auto k = keys.find(n.name()); k != keys.end()) {
      const auto part = k->second.slice.empty() ? absl::StatusOr<codec::shape_and_slice>()
                                                : codec::parse_shape_and_slice(k->second.slice);
      if (k->second.slice.empty() || part.ok()) v.key = k->second.key;
      if (part.ok()) {
        v.slice = k->second.slice;
        v.full_shape = part->full_shape;
      }
    }
    if (const auto t = n.attr().find("dtype"); t != n.attr().end()) v.dtype = static_cast<tfckpt::dtype>(t->second.type());
    if (const auto sh = n.attr().find("shape"); sh != n.attr().end()) {
      v.unknown_rank = sh->second.shape().unknown_rank();
      for (const auto& d : sh->second.shape().dim()) v.shape.push_back(d.size());
    } else {
      v.unknown_rank = true;
    }
    out.push_back(std::move(v));
  }
  return out;
}

TFCKPT_DECL std::vector<variable_spec> variable_specs(std::span<const graph_variable> variables) {
  std::vector<variable_spec> out;
  std::set<std::string_view> seen;
  for (const graph_variable& v : variables) {
    if (!seen.insert(v.key).second) continue;
    variable_spec spec{v.key, v.dtype, v.slice.empty() ? v.shape : v.full_shape};
    spec.any_shape = v.slice.empty() && (v.unknown_rank || std::ranges::any_of(v.shape, [](std::int64_t d) { return d < 0; }));
    out.push_back(std::move(spec));
  }
  return out;
}
}  // namespace tfckpt::graph

namespace tfckpt::graph::detail {

TFCKPT_DECL freeze_plan plan_freeze_collecting(const tensorflow::GraphDef& graph, const checkpoint& ckpt,
                                               const freeze_options& options, std::vector<absl::Status>& problems) {
  const detail::graph_index index(graph);
  freeze_plan plan;
  plan.input_nodes = static_cast<std::size_t>(graph.node_size());
  {
    std::set<std::string_view> names;
    for (const auto& n : graph.node())
      if (!names.insert(n.name()).second)
        problems.push_back(absl::InvalidArgumentError(absl::StrFormat("two nodes are named '%s'", n.name())));
  }

  // 1. Prune.
  if (options.output_node_names.empty())
    problems.push_back(absl::InvalidArgumentError("no output node names: a frozen graph needs at least one"));
  std::vector<bool> keep(static_cast<std::size_t>(graph.node_size()), false);
  std::deque<int> queue;
  for (const std::string& out : options.output_node_names) {
    const auto at = index.index(detail::node_of_input(out));
    if (!at) {
      problems.push_back(absl::NotFoundError(absl::StrFormat("output node '%s' is not in the graph", out)));
    } else if (!keep[static_cast<std::size_t>(*at)]) {
      keep[static_cast<std::size_t>(*at)] = true;
      queue.push_back(*at);
    }
  }
  while (!queue.empty()) {
    const tensorflow::NodeDef& n = graph.node(queue.front());
    queue.pop_front();
    std::vector<std::string_view> deps;
    for (const std::string& in : n.input()) deps.push_back(detail::node_of_input(in));
    for (std::string_view c : detail::colocations(n)) deps.push_back(c);
    for (std::string_view d : deps) {
      const auto at = index.index(d);
      if (!at) {
        problems.push_back(absl::NotFoundError(
            absl::StrFormat("node '%s' (%s) has input '%s', which is not in the graph", n.name(), n.op(), d)));
        continue;
      }
      if (!keep[static_cast<std::size_t>(*at)]) {
        keep[static_cast<std::size_t>(*at)] = true;
        queue.push_back(*at);
      }
    }
  }

  // A dataflow cycle makes the graph unrunnable; loops are legal only through NextIteration -> Merge.
  {
    std::vector<int> pending(static_cast<std::size_t>(graph.node_size()), 0);
    std::vector<std::vector<int>> consumers(static_cast<std::size_t>(graph.node_size()));
    for (int i = 0; i < graph.node_size(); ++i) {
      if (!keep[static_cast<std::size_t>(i)]) continue;
      for (const std::string& in : graph.node(i).input()) {
        const auto at = index.index(detail::node_of_input(in));
        if (!at || graph.node(*at).op() == "NextIteration") continue;
        ++pending[static_cast<std::size_t>(i)];
        consumers[static_cast<std::size_t>(*at)].push_back(i);
      }
    }
    std::vector<int> ready;
    for (int i = 0; i < graph.node_size(); ++i)
      if (keep[static_cast<std::size_t>(i)] && pending[static_cast<std::size_t>(i)] == 0) ready.push_back(i);
    while (!ready.empty()) {
      const int i = ready.back();
      ready.pop_back();
      for (int c : consumers[static_cast<std::size_t>(i)])
        if (--pending[static_cast<std::size_t>(c)] == 0) ready.push_back(c);
    }
    for (int i = 0; i < graph.node_size(); ++i)
      if (keep[static_cast<std::size_t>(i)] && pending[static_cast<std::size_t>(i)] > 0) {
        problems.push_back(absl::InvalidArgumentError(absl::StrFormat(
            "the graph has a cycle through node '%s' (%s)", graph.node(i).name(), graph.node(i).op())));
        break;
      }
  }

  // 2. Which variables become constants.
  const std::set<std::string, std::less<>> whitelist(options.variable_names_whitelist.begin(),
                                                     options.variable_names_whitelist.end());
  const std::set<std::string, std::less<>> blacklist(options.variable_names_blacklist.begin(),
                                                     options.variable_names_blacklist.end());
  for (const std::set<std::string, std::less<>>* list : {&whitelist, &blacklist})
    for (const std::string& name : *list) {
      const tensorflow::NodeDef* n = index.find(name);
      if (n == nullptr || !detail::is_variable_op(n->op())) plan.unmatched_listed.push_back(name);
    }
  const auto part_keys = detail::slice_info_keys(options.variable_defs);
  const auto saver_keys = index.saver_keys(options.saver_def);
  std::map<std::string, tensor, std::less<>> frozen;  // variable node -> its value
  for (int i = 0; i < graph.node_size(); ++i) {
    const tensorflow::NodeDef& n = graph.node(i);
    if (!keep[static_cast<std::size_t>(i)] || !detail::is_variable_op(n.op())) continue;
    if ((!whitelist.empty() && !whitelist.contains(n.name())) || blacklist.contains(n.name())) {
      plan.kept_variables.push_back(n.name());
      continue;
    }
    // 3. Its checkpoint key.
    std::vector<detail::saved_as> candidates;
    if (const auto it = options.variable_keys.find(n.name()); it != options.variable_keys.end())
      candidates.push_back({it->second, ""});
    if (const auto it = part_keys.find(n.name()); it != part_keys.end()) candidates.push_back(it->second);
    if (const auto it = saver_keys.find(n.name()); it != saver_keys.end()) candidates.push_back(it->second);
    candidates.push_back({n.name(), ""});
    if (const auto sn = n.attr().find("shared_name"); sn != n.attr().end() && !sn->second.s().empty())
      candidates.push_back({sn->second.s(), ""});
    std::optional<tensor> found;
    bool reported = false;  // a slice was named but is unusable
    detail::saved_as used;
    std::vector<std::string> tried;
    for (const detail::saved_as& c : candidates) {
      tried.push_back("'" + c.key + "'");
      const entry* e = ckpt.find(c.key);
      if (e == nullptr) continue;
      if (!c.slice.empty()) {
        auto part = detail::part_value(*e, ckpt.prefix(), n.name(), c.slice);
        if (!part.ok()) {
          problems.push_back(part.status());
          reported = true;
          break;
        }
        found = std::move(*part);
      } else {
        found = to_tensor(*e, ckpt.prefix());
      }
      used = c;
      break;
    }
    if (!found) {
      if (!reported)
        problems.push_back(absl::NotFoundError(absl::StrFormat("variable '%s' (%s) has no value in %s (looked for %s)",
                                                               n.name(), n.op(), ckpt.prefix(), absl::StrJoin(tried, ", "))));
      continue;
    }
    const auto dt = n.attr().find("dtype");
    const dtype declared = dt == n.attr().end() ? dtype::invalid : static_cast<dtype>(dt->second.type());
    if (declared != found->dtype) {
      problems.push_back(absl::InvalidArgumentError(absl::StrFormat(
          "variable '%s' is %s in the graph but '%s' is %s in the checkpoint", n.name(),
          dt == n.attr().end() ? "untyped" : std::string(dtype_name(declared)), used.key, dtype_name(found->dtype))));
      continue;
    }
    if (const auto sh = n.attr().find("shape"); sh != n.attr().end() && !detail::shape_admits(sh->second.shape(), found->shape)) {
      problems.push_back(absl::InvalidArgumentError(absl::StrFormat(
          "variable '%s' has shape %s in the graph but '%s'%s is %s in the checkpoint", n.name(),
          detail::shape_of_attr(sh->second.shape()), used.key, used.slice.empty() ? "" : " [" + used.slice + "]",
          shape_string(found->shape))));
      continue;
    }
    plan.variables.push_back({n.name(), n.op(), used.key, used.slice, found->dtype, found->shape, found->size()});
    frozen.emplace(n.name(), std::move(*found));
  }

  // 4. The resource path of frozen VarHandleOps: the handles and Identity nodes passing them on.
  std::map<std::string, dtype, std::less<>> resource_of;  // node on a frozen resource path -> value dtype
  for (const auto& [name, value] : frozen)
    if (index.find(name)->op() == "VarHandleOp") resource_of.emplace(name, value.dtype);
  for (bool grew = true; grew;) {
    grew = false;
    for (int i = 0; i < graph.node_size(); ++i) {
      const tensorflow::NodeDef& n = graph.node(i);
      if (!keep[static_cast<std::size_t>(i)] || n.op() != "Identity" || n.input_size() == 0 || resource_of.contains(n.name()))
        continue;
      const auto it = resource_of.find(detail::node_of_input(n.input(0)));
      if (it == resource_of.end()) continue;
      resource_of.emplace(n.name(), it->second);
      grew = true;
    }
  }

  // 5. Rewrite, in graph order.
  for (int i = 0; i < graph.node_size(); ++i) {
    if (!keep[static_cast<std::size_t>(i)]) {
      ++plan.pruned_nodes;
      continue;
    }
    const tensorflow::NodeDef& n = graph.node(i);
    if (const auto it = frozen.find(n.name()); it != frozen.end()) {
      plan.nodes.emplace_back(const_node{.name = n.name(), .value = it->second});
      continue;
    }
    // The frozen resource this node reads, if any (first data input on the resource path).
    const dtype* read = nullptr;
    for (const std::string& in : n.input()) {
      if (detail::is_control_input(in)) continue;
      if (const auto r = resource_of.find(detail::node_of_input(in)); r != resource_of.end()) {
        read = &r->second;
        break;
      }
    }
    tensorflow::NodeDef out;
    if (read == nullptr) {
      out = n;
    } else if (n.op() == "ReadVariableOp") {
      out.set_name(n.name());
      out.set_op("Identity");
      out.add_input(n.input(0));
      (*out.mutable_attr())["T"].set_type(static_cast<tensorflow::DataType>(*read));
      if (const auto c = n.attr().find("_class"); c != n.attr().end()) (*out.mutable_attr())["_class"] = c->second;
    } else if (n.op() == "Identity") {
      out = n;
      (*out.mutable_attr())["T"].set_type(static_cast<tensorflow::DataType>(*read));
      out.mutable_attr()->erase("_output_shapes");
    } else if (n.op() == "ResourceGather" || n.op() == "ResourceGatherNd") {
      const auto attr = [&](const char* k) { return n.attr().count(k) ? n.attr().at(k) : tensorflow::AttrValue(); };
      if (n.op() == "ResourceGather" && attr("batch_dims").i() != 0) {
        problems.push_back(absl::UnimplementedError(
            absl::StrFormat("node '%s' (ResourceGather) has batch_dims %d; only 0 can be frozen", n.name(), attr("batch_dims").i())));
        continue;
      }
      if (n.input_size() < 2) {
        problems.push_back(absl::InvalidArgumentError(absl::StrFormat("node '%s' (%s) has fewer than 2 inputs", n.name(), n.op())));
        continue;
      }
      out.set_name(n.name());
      out.add_input(n.input(0));
      out.add_input(n.input(1));
      (*out.mutable_attr())["Tparams"].set_type(static_cast<tensorflow::DataType>(*read));
      (*out.mutable_attr())["Tindices"] = attr("Tindices");
      if (n.op() == "ResourceGather") {
        out.set_op("GatherV2");
        const tensorflow::DataType index_type = attr("Tindices").type();
        tensorflow::NodeDef axis;
        axis.set_name(n.name() + "/axis");
        axis.set_op("Const");
        (*axis.mutable_attr())["dtype"].set_type(index_type);
        tensorflow::TensorProto* zero = (*axis.mutable_attr())["value"].mutable_tensor();
        zero->set_dtype(index_type);
        zero->mutable_tensor_shape();
        if (index_type == tensorflow::DT_INT64) zero->add_int64_val(0); else zero->add_int_val(0);
        plan.nodes.emplace_back(std::move(axis));
        out.add_input(n.name() + "/axis");
        (*out.mutable_attr())["Taxis"] = attr("Tindices");
      } else {
        out.set_op("GatherNd");
      }
      if (const auto c = n.attr().find("_class"); c != n.attr().end()) (*out.mutable_attr())["_class"] = c->second;
    } else {
      problems.push_back(absl::UnimplementedError(absl::StrFormat(
          "node '%s' (%s) uses a frozen resource variable in a way that cannot be frozen (only reads and gathers can)",
          n.name(), n.op())));
      continue;
    }
    if (options.clear_devices) out.clear_device();
    // freeze_graph imports the graph before converting it, and importing consumes `_output_shapes`.
    out.mutable_attr()->erase("_output_shapes");
    plan.nodes.emplace_back(std::move(out));
  }
  if (graph.has_library()) *plan.tail.mutable_library() = graph.library();
  return plan;
}

}  // namespace tfckpt::graph::detail
#endif  // TFCKPT_COMPILE_GRAPH_FREEZE

#endif  // TFCKPT_GRAPH_FREEZE_HPP_
