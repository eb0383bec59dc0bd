// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/object_graph.hpp
//
// TF2 object-based checkpoints (spec/FORMAT.md §5). Besides the tensors, such a checkpoint holds
// `_CHECKPOINTABLE_OBJECT_GRAPH`: a string scalar whose element is a serialized
// TrackableObjectGraph. Its nodes are Python objects (node 0 the root), edges are named
// (`actor` -> `hidden1` -> `kernel`), each node lists the bundle keys holding its values
// (attributes), and optimizer nodes list their slot variables (`m`, `v` of each variable).
// TensorFlow restores by walking this graph and reading each attribute's `checkpoint_key`, so a
// rewritten checkpoint must carry a graph whose keys all exist.
//
//   object_graph::load(ckpt)       the decoded graph, or nullopt for a name-based checkpoint
//   graph.find(key)                what a key is: object path, attribute, and for a slot the
//                                  variable and optimizer it belongs to
//   graph.rewrite(kept)            the graph for a checkpoint holding only some keys, possibly
//                                  renamed: attributes of dropped keys go, objects left without
//                                  values go (and every reference to them), edges follow renames
//   check_object_graph(ckpt)       every key the graph names exists, and the other way round
//
// Object paths join the edges' local names with '/' from the root: `actor/hidden1/kernel`. A slot
// variable, reachable only through its optimizer's slot list, has the path
// `<variable path>/.OPTIMIZER_SLOT/<optimizer path>/<slot name>`, as TensorFlow names its keys.
// Keys escape each component ('.' -> '..', then '/' -> '.S'); paths here are unescaped.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto graph, tfckpt::object_graph::load(ckpt));
//   if (graph) for (const tfckpt::object_key& k : graph->keys())
//     std::printf("%s: %s of %s\n", k.key.c_str(), k.attribute.c_str(), k.object_path.c_str());
#ifndef TFCKPT_CHECKPOINT_OBJECT_GRAPH_HPP_
#define TFCKPT_CHECKPOINT_OBJECT_GRAPH_HPP_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/proto/trackable_object_graph.pb.h"
#include "tfckpt/status.hpp"

namespace tfckpt {

/// The bundle key of the object graph in a TF2 checkpoint.
inline constexpr std::string_view kObjectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH";

/// What the object graph says about one bundle key (one attribute of one object).
struct object_key {
  std::string key;          // the bundle key (the attribute's checkpoint_key)
  int node = -1;            // the object holding the value
  std::string object_path;  // e.g. "actor/hidden1/kernel"
  std::string attribute;    // e.g. "VARIABLE_VALUE"
  std::string full_name;    // the TF1-style name (e.g. "sequential/dense/kernel"), may be empty
  // For an optimizer slot variable (empty / -1 otherwise):
  int variable_node = -1;       // the variable the slot belongs to
  std::string variable_path;    // its object path
  int optimizer_node = -1;      // the optimizer owning the slot
  std::string optimizer_path;   // its object path
  std::string slot_name;        // e.g. "m"

  bool is_slot() const { return variable_node >= 0; }
};

/// TensorFlow's escaping of one object-path component in a key: '.' -> '..', then '/' -> '.S'.
TFCKPT_DECL std::string escape_object_name(std::string_view name);

/// The inverse of escape_object_name; nullopt when `escaped` is not a valid escaped component.
TFCKPT_DECL std::optional<std::string> unescape_object_name(std::string_view escaped);

/// The key TensorFlow gives attribute `attribute` of the object at `path` (components unescaped).
inline std::string object_attribute_key(std::span<const std::string> path, std::string_view attribute) {
  std::string key;
  for (const std::string& c : path) key += escape_object_name(c) + "/";
  return key + ".ATTRIBUTES/" + escape_object_name(attribute);
}

/// The key of slot `slot_name` of the variable at `variable_path`, owned by the optimizer at
/// `optimizer_path` (TensorFlow's naming, spec/FORMAT.md §5).
TFCKPT_DECL std::string slot_attribute_key(std::span<const std::string> variable_path, std::span<const std::string> optimizer_path,
                                           std::string_view slot_name, std::string_view attribute);

/// Splits a '/'-joined object path into components ("" -> none).
TFCKPT_DECL std::vector<std::string> split_object_path(std::string_view path);

/// A decoded TrackableObjectGraph with every node's object path (see the file comment).
class object_graph {
 public:
  /// Decodes a serialized TrackableObjectGraph. `file` and `offset` say where the bytes came
  /// from, for messages. Node references out of range are kDataLoss.
  static absl::StatusOr<object_graph> parse(std::string_view serialized, std::string_view file = "object graph",
                                            std::uint64_t offset = 0);
  /// The graph stored in `ckpt`, or nullopt when it has no `_CHECKPOINTABLE_OBJECT_GRAPH` (a
  /// name-based checkpoint). Reading or decoding errors name the data file and offset.
  static absl::StatusOr<std::optional<object_graph>> load(const checkpoint& ckpt);

  const tensorflow::TrackableObjectGraph& proto() const { return proto_; }
  int num_nodes() const { return proto_.nodes_size(); }
  /// The node's object path ("" for the root and for nodes nothing reaches).
  const std::string& path(int node) const { return paths_[static_cast<std::size_t>(node)]; }
  /// The node's path as components (unescaped local names; a slot's includes ".OPTIMIZER_SLOT").
  std::span<const std::string> path_components(int node) const { return components_[static_cast<std::size_t>(node)]; }
  /// False for nodes that no child edge or slot reference reaches from the root.
  bool reachable(int node) const { return node == 0 || parent_[static_cast<std::size_t>(node)] >= 0; }
  /// The node through which the breadth-first walk first reached `node` (-1 for the root and
  /// unreachable nodes); for a slot variable, its optimizer.
  int parent(int node) const { return parent_[static_cast<std::size_t>(node)]; }

  /// Every attribute of every node, in node order.
  std::span<const object_key> keys() const { return keys_; }
  /// The attribute stored under bundle key `key`, or nullptr.
  const object_key* find(std::string_view key) const {
    const auto it = by_key_.find(std::string(key));
    return it == by_key_.end() ? nullptr : &keys_[it->second];
  }

  /// The serialized graph (deterministic field order; unknown fields kept).
  std::string serialize() const {
    std::string out;
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    proto_.SerializeToCodedStream(&coded);
    coded.Trim();
    return out;
  }

  /// The graph for a checkpoint that keeps, of this graph's keys, exactly those in `kept`
  /// (old key -> new key). Attributes of other keys are removed; an object whose values were
  /// all removed (with its children and slots) is removed together with every edge and slot
  /// reference to it, unless a kept slot still refers to it as its variable. When every kept
  /// key under an edge was renamed the same way — the key of the new object path — the edge's
  /// local name follows, so that the graph's paths and keys agree; other renames change only
  /// `checkpoint_key` (which is what TensorFlow reads). `has_checkpoint_values`, where present,
  /// is recomputed. Fails only for a key of `kept` the graph does not name.
  absl::StatusOr<object_graph> rewrite(const std::map<std::string, std::string>& kept) const;

 private:
  absl::Status index(std::string_view file, std::uint64_t offset);

  tensorflow::TrackableObjectGraph proto_;
  std::vector<std::string> paths_;
  std::vector<std::vector<std::string>> components_;
  std::vector<int> parent_;
  std::vector<object_key> keys_;
  std::unordered_map<std::string, std::size_t> by_key_;
};

/// Problems between `ckpt` and its object graph: keys the graph names that the checkpoint lacks,
/// and checkpoint tensors no object holds. Empty for a consistent (or name-based) checkpoint.
absl::StatusOr<std::vector<std::string>> check_object_graph(const checkpoint& ckpt);

// --- implementation ---

namespace detail {
// For a plain attribute key "<c1>/.../<cn>/.ATTRIBUTES/<attr>": its unescaped path components and
// attribute; nullopt for anything else (slot keys included).
TFCKPT_DECL std::optional<std::pair<std::vector<std::string>, std::string>> parse_attribute_key(std::string_view key);
}  // namespace detail

TFCKPT_DECL absl::StatusOr<std::vector<std::string>> check_object_graph(const checkpoint& ckpt);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_OBJECT_GRAPH)

namespace tfckpt {

TFCKPT_DECL std::string escape_object_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '.') {
      out += "..";
    } else if (c == '/') {
      out += ".S";
    } else {
      out += c;
    }
  }
  return out;
}

TFCKPT_DECL std::optional<std::string> unescape_object_name(std::string_view escaped) {
  std::string out;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '.') {
      out += escaped[i];
      continue;
    }
    if (i + 1 == escaped.size()) return std::nullopt;
    const char next = escaped[++i];
    if (next == '.') {
      out += '.';
    } else if (next == 'S') {
      out += '/';
    } else {
      return std::nullopt;
    }
  }
  return out;
}

TFCKPT_DECL std::string slot_attribute_key(std::span<const std::string> variable_path, std::span<const std::string> optimizer_path,
                                           std::string_view slot_name, std::string_view attribute) {
  std::string key;
  for (const std::string& c : variable_path) key += escape_object_name(c) + "/";
  key += ".OPTIMIZER_SLOT/";
  for (const std::string& c : optimizer_path) key += escape_object_name(c) + "/";
  return key + escape_object_name(slot_name) + "/.ATTRIBUTES/" + escape_object_name(attribute);
}

TFCKPT_DECL std::vector<std::string> split_object_path(std::string_view path) {
  std::vector<std::string> parts;
  if (path.empty()) return parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    parts.emplace_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

TFCKPT_DECL absl::StatusOr<object_graph> object_graph::parse(std::string_view serialized, std::string_view file,
                                                             std::uint64_t offset) {
  object_graph g;
  // Protobuf's parser bounds nesting and sizes; the graph holds no recursive messages anyway.
  if (!g.proto_.ParseFromArray(serialized.data(), static_cast<int>(serialized.size())) ||
      serialized.size() > static_cast<std::size_t>(INT32_MAX))
    return data_loss(file, offset, "'%s' does not hold a valid TrackableObjectGraph (%d bytes)", kObjectGraphKey,
                     serialized.size());
  TFCKPT_RETURN_IF_ERROR(g.index(file, offset));
  return g;
}

TFCKPT_DECL absl::Status object_graph::index(std::string_view file, std::uint64_t offset) {
  const int n = proto_.nodes_size();
  if (n == 0) return data_loss(file, offset, "'%s' has no nodes (a root object is required)", kObjectGraphKey);
  const auto in_range = [n](int id) { return id >= 0 && id < n; };
  for (int i = 0; i < n; ++i) {
    const auto& node = proto_.nodes(i);
    for (const auto& c : node.children())
      if (!in_range(c.node_id()))
        return data_loss(file, offset, "object graph node %d has child '%s' -> node %d, but there are %d nodes", i,
                         c.local_name(), c.node_id(), n);
    for (const auto& s : node.slot_variables())
      if (!in_range(s.original_variable_node_id()) || !in_range(s.slot_variable_node_id()))
        return data_loss(file, offset, "object graph node %d has slot '%s' referring to nodes %d and %d, but there are %d nodes",
                         i, s.slot_name(), s.original_variable_node_id(), s.slot_variable_node_id(), n);
  }
  const auto size = static_cast<std::size_t>(n);
  paths_.assign(size, {});
  components_.assign(size, {});
  parent_.assign(size, -1);
  // Breadth-first through child edges: the first path reaching a node names it (spec/FORMAT.md §5).
  std::vector<bool> seen(size, false);
  seen[0] = true;
  std::deque<int> queue{0};
  std::vector<int> order;
  while (!queue.empty()) {
    const int id = queue.front();
    queue.pop_front();
    order.push_back(id);
    for (const auto& c : proto_.nodes(id).children()) {
      const auto child = static_cast<std::size_t>(c.node_id());
      if (seen[child]) continue;
      seen[child] = true;
      parent_[child] = id;
      components_[child] = components_[static_cast<std::size_t>(id)];
      components_[child].push_back(c.local_name());
      queue.push_back(c.node_id());
    }
  }
  // Slot variables hang off their variable, through their optimizer. A slot of a slot would need
  // another round; TensorFlow does not make those.
  for (const int opt : order) {
    for (const auto& s : proto_.nodes(opt).slot_variables()) {
      const auto slot = static_cast<std::size_t>(s.slot_variable_node_id());
      const auto var = static_cast<std::size_t>(s.original_variable_node_id());
      if (seen[slot] || !seen[var]) continue;
      seen[slot] = true;
      parent_[slot] = opt;
      components_[slot] = components_[var];
      components_[slot].push_back(".OPTIMIZER_SLOT");
      const auto& opt_path = components_[static_cast<std::size_t>(opt)];
      components_[slot].insert(components_[slot].end(), opt_path.begin(), opt_path.end());
      components_[slot].push_back(s.slot_name());
    }
  }
  for (std::size_t i = 0; i < size; ++i) {
    for (const std::string& c : components_[i]) paths_[i] += (paths_[i].empty() ? "" : "/") + c;
  }
  // Keys, with slot ownership.
  std::vector<const tensorflow::TrackableObjectGraph::TrackableObject::SlotVariableReference*> slot_ref(size, nullptr);
  std::vector<int> slot_owner(size, -1);
  for (int opt = 0; opt < n; ++opt)
    for (const auto& s : proto_.nodes(opt).slot_variables()) {
      const auto slot = static_cast<std::size_t>(s.slot_variable_node_id());
      if (slot_ref[slot] != nullptr) continue;
      slot_ref[slot] = &s;
      slot_owner[slot] = opt;
    }
  for (int i = 0; i < n; ++i) {
    for (const auto& a : proto_.nodes(i).attributes()) {
      object_key k;
      k.key = a.checkpoint_key();
      k.node = i;
      k.object_path = paths_[static_cast<std::size_t>(i)];
      k.attribute = a.name();
      k.full_name = a.full_name();
      if (const auto* s = slot_ref[static_cast<std::size_t>(i)]) {
        k.variable_node = s->original_variable_node_id();
        k.variable_path = paths_[static_cast<std::size_t>(k.variable_node)];
        k.optimizer_node = slot_owner[static_cast<std::size_t>(i)];
        k.optimizer_path = paths_[static_cast<std::size_t>(k.optimizer_node)];
        k.slot_name = s->slot_name();
      }
      if (by_key_.count(k.key))
        return data_loss(file, offset, "object graph names key '%s' twice (nodes %d and %d)", printable_key(k.key),
                         keys_[by_key_[k.key]].node, i);
      by_key_.emplace(k.key, keys_.size());
      keys_.push_back(std::move(k));
    }
  }
  return absl::OkStatus();
}

TFCKPT_DECL absl::StatusOr<std::optional<object_graph>> object_graph::load(const checkpoint& ckpt) {
  const entry* e = ckpt.find(kObjectGraphKey);
  if (e == nullptr) return std::optional<object_graph>();
  const std::string file = ckpt.is_v1() ? ckpt.prefix() : data_file_name(ckpt.prefix(), e->shard(), ckpt.num_shards());
  if (e->dtype() != dtype::string || e->num_elements() != 1)
    return with_key(data_loss(file, e->offset(), "the object graph entry is %s %s, not a string scalar",
                              dtype_name(e->dtype()), shape_string(e->shape())),
                    e->name());
  TFCKPT_ASSIGN_OR_RETURN(const std::vector<std::string_view> strings, e->strings());
  auto g = parse(strings.at(0), file, e->offset());
  if (!g.ok()) return with_key(g.status(), e->name());
  return std::optional<object_graph>(*std::move(g));
}
}  // namespace tfckpt

namespace tfckpt::detail {

TFCKPT_DECL std::optional<std::pair<std::vector<std::string>, std::string>> parse_attribute_key(std::string_view key) {
  constexpr std::string_view kAttributes = ".ATTRIBUTES/";
  const std::size_t at = key.rfind(kAttributes);
  if (at == std::string_view::npos || (at != 0 && key[at - 1] != '/')) return std::nullopt;
  if (key.find(".OPTIMIZER_SLOT/") != std::string_view::npos) return std::nullopt;
  auto attribute = unescape_object_name(key.substr(at + kAttributes.size()));
  if (!attribute) return std::nullopt;
  std::vector<std::string> path;
  for (const std::string& c : split_object_path(key.substr(0, at == 0 ? 0 : at - 1))) {
    auto u = unescape_object_name(c);
    if (!u) return std::nullopt;
    path.push_back(*std::move(u));
  }
  return std::pair(std::move(path), *std::move(attribute));
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<object_graph> object_graph::rewrite(const std::map<std::string, std::string>& kept) const {
  for (const auto& [old_key, new_key] : kept)
    if (find(old_key) == nullptr)
      return absl::InvalidArgumentError(absl::StrFormat("object graph rewrite: key '%s' is not in the object graph",
                                                        printable_key(old_key)));
  const int n = num_nodes();
  const auto size = static_cast<std::size_t>(n);
  tensorflow::TrackableObjectGraph out = proto_;

  // 1. Keep only the attributes of kept keys, under their new keys.
  std::vector<bool> had_values(size, false), has_values(size, false);
  for (int i = 0; i < n; ++i) {
    auto* attrs = out.mutable_nodes(i)->mutable_attributes();
    had_values[static_cast<std::size_t>(i)] = !attrs->empty();
    for (int a = attrs->size() - 1; a >= 0; --a) {
      const auto it = kept.find(attrs->Get(a).checkpoint_key());
      if (it == kept.end()) {
        attrs->DeleteSubrange(a, 1);
      } else {
        attrs->Mutable(a)->set_checkpoint_key(it->second);
      }
    }
    has_values[static_cast<std::size_t>(i)] = !attrs->empty();
  }

  // 2. Which objects stay. Values propagate up child edges and from slots to their optimizer; an
  // object whose subtree held values before and holds none now goes. Objects that never held any
  // (an InputLayer, `signatures`) stay as structure, wherever their parent stays.
  const auto propagate = [&](std::vector<bool>& v) {
    for (bool changed = true; changed;) {
      changed = false;
      for (int i = 0; i < n; ++i) {
        if (v[static_cast<std::size_t>(i)]) continue;
        bool any = false;
        for (const auto& c : proto_.nodes(i).children()) any = any || v[static_cast<std::size_t>(c.node_id())];
        for (const auto& s : proto_.nodes(i).slot_variables())
          any = any || v[static_cast<std::size_t>(s.slot_variable_node_id())];
        if (any) v[static_cast<std::size_t>(i)] = changed = true;
      }
    }
  };
  propagate(had_values);
  propagate(has_values);
  std::vector<bool> keep(size, false);
  for (std::size_t i = 0; i < size; ++i) keep[i] = i == 0 || has_values[i] || !had_values[i];
  // A kept slot keeps its variable (even one whose value was dropped) and its optimizer.
  for (int opt = 0; opt < n; ++opt)
    for (const auto& s : proto_.nodes(opt).slot_variables())
      if (has_values[static_cast<std::size_t>(s.slot_variable_node_id())]) {
        keep[static_cast<std::size_t>(s.original_variable_node_id())] = true;
        keep[static_cast<std::size_t>(opt)] = true;
      }
  // Only what is still reachable from the root through kept objects stays.
  std::vector<bool> reached(size, false);
  reached[0] = true;
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < n; ++i) {
      if (!reached[static_cast<std::size_t>(i)]) continue;
      const auto reach = [&](int id) {
        if (keep[static_cast<std::size_t>(id)] && !reached[static_cast<std::size_t>(id)])
          reached[static_cast<std::size_t>(id)] = changed = true;
      };
      for (const auto& c : proto_.nodes(i).children()) reach(c.node_id());
      for (const auto& s : proto_.nodes(i).slot_variables())
        if (reached[static_cast<std::size_t>(s.original_variable_node_id())]) reach(s.slot_variable_node_id());
    }
  }
  for (int i = 0; i < n; ++i)
    if (has_values[static_cast<std::size_t>(i)] && !reached[static_cast<std::size_t>(i)] && !out.nodes(i).attributes().empty())
      return absl::InvalidArgumentError(absl::StrFormat(
          "object graph rewrite: object '%s' keeps values but nothing that reaches it from the root is kept",
          paths_[static_cast<std::size_t>(i)]));

  // 3. Edges follow renames: for each child edge on a node's first path, collect what the new
  // keys below it say its local name is; rename when they all agree.
  std::map<std::pair<int, std::string>, std::optional<std::string>> edge_name;  // (parent, old name) -> new name
  for (const auto& [old_key, new_key] : kept) {
    if (old_key == new_key) continue;
    const object_key& k = *find(old_key);
    if (k.is_slot()) continue;
    const auto parsed = detail::parse_attribute_key(new_key);
    const auto& old_path = components_[static_cast<std::size_t>(k.node)];
    if (!parsed || parsed->first.size() != old_path.size() || parsed->second != k.attribute) continue;
    int node = k.node;
    for (std::size_t d = old_path.size(); d-- > 0;) {
      const int up = parent_[static_cast<std::size_t>(node)];
      auto [it, fresh] = edge_name.try_emplace({up, old_path[d]}, parsed->first[d]);
      if (!fresh && it->second && *it->second != parsed->first[d]) {
        it->second.reset();  // two renames disagree: keep the old name
      }
      node = up;
    }
  }
  // An edge is renamed only if no kept, unrenamed key sits under it.
  for (const auto& [old_key, new_key] : kept) {
    const object_key& k = *find(old_key);
    if (k.is_slot() || old_key != new_key) continue;
    int node = k.node;
    const auto& old_path = components_[static_cast<std::size_t>(k.node)];
    for (std::size_t d = old_path.size(); d-- > 0;) {
      const int up = parent_[static_cast<std::size_t>(node)];
      const auto it = edge_name.find({up, old_path[d]});
      if (it != edge_name.end() && it->second && *it->second != old_path[d]) it->second.reset();
      node = up;
    }
  }

  // 4. Renumber the kept objects (in their old order) and drop references to the others.
  std::vector<int> new_id(size, -1);
  int next = 0;
  for (std::size_t i = 0; i < size; ++i)
    if (reached[i]) new_id[i] = next++;
  tensorflow::TrackableObjectGraph result;
  for (int i = 0; i < n; ++i) {
    if (!reached[static_cast<std::size_t>(i)]) continue;
    auto* node = result.add_nodes();
    *node = std::move(*out.mutable_nodes(i));
    node->clear_children();
    for (const auto& c : proto_.nodes(i).children()) {
      if (!reached[static_cast<std::size_t>(c.node_id())]) continue;
      auto* child = node->add_children();
      *child = c;
      child->set_node_id(new_id[static_cast<std::size_t>(c.node_id())]);
      const auto it = edge_name.find({i, c.local_name()});
      if (it != edge_name.end() && it->second && parent_[static_cast<std::size_t>(c.node_id())] == i)
        child->set_local_name(*it->second);
    }
    node->clear_slot_variables();
    for (const auto& s : proto_.nodes(i).slot_variables()) {
      const auto slot = static_cast<std::size_t>(s.slot_variable_node_id());
      const auto var = static_cast<std::size_t>(s.original_variable_node_id());
      if (!reached[slot] || !reached[var]) continue;
      auto* ref = node->add_slot_variables();
      *ref = s;
      ref->set_slot_variable_node_id(new_id[slot]);
      ref->set_original_variable_node_id(new_id[var]);
    }
    if (node->has_has_checkpoint_values()) node->mutable_has_checkpoint_values()->set_value(has_values[static_cast<std::size_t>(i)]);
  }
  object_graph g;
  g.proto_ = std::move(result);
  TFCKPT_RETURN_IF_ERROR(g.index("rewritten object graph", 0));
  return g;
}

TFCKPT_DECL absl::StatusOr<std::vector<std::string>> check_object_graph(const checkpoint& ckpt) {
  TFCKPT_ASSIGN_OR_RETURN(const std::optional<object_graph> graph, object_graph::load(ckpt));
  std::vector<std::string> problems;
  if (!graph) return problems;
  for (const object_key& k : graph->keys())
    if (ckpt.find(k.key) == nullptr)
      problems.push_back(absl::StrFormat("object '%s' (%s) names key '%s', which the checkpoint lacks", k.object_path,
                                         k.attribute, printable_key(k.key)));
  for (const entry& e : ckpt.entries())
    if (e.name() != kObjectGraphKey && graph->find(e.name()) == nullptr)
      problems.push_back(absl::StrFormat("tensor '%s' belongs to no object of the object graph", printable_key(e.name())));
  return problems;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_OBJECT_GRAPH

#endif  // TFCKPT_CHECKPOINT_OBJECT_GRAPH_HPP_
