// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/graph/graph_writer.hpp
//
// Writes a binary GraphDef node by node, atomically. Each node is either a NodeDef kept as it is or
// a const_node whose tensor streams from its source into the file (graph/const_node.hpp), so a
// graph holding gigabytes of weights is written with a few buffers of memory.
//
// The file is the GraphDef protobuf would serialize: the `node` fields (1) in the order given, then
// the rest of the graph (`library`, `versions`, ... from `tail`, a GraphDef without nodes), every
// message serialized deterministically (map entries in key order).
//
// Before any byte is written every node is encoded and checked: nodes whose tensor carries an error,
// duplicate or empty node names, and a graph over protobuf's 2 GiB message limit (TensorFlow cannot
// parse such a file) are reported together, the size problem naming the largest constants, unless
// graph_write_options::allow_over_2gib is set.
//
// Example:
//   std::vector<graph::graph_node> nodes;
//   nodes.push_back(graph::const_node{.name = "w", .value = t});
//   TFCKPT_RETURN_IF_ERROR(graph::write_graph_def(nodes, {}, "frozen.pb"));
#ifndef TFCKPT_GRAPH_GRAPH_WRITER_HPP_
#define TFCKPT_GRAPH_GRAPH_WRITER_HPP_

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tfckpt/codec/proto_writer.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/graph/const_node.hpp"
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/proto/graph.pb.h"
#include "tfckpt/proto/node_def.pb.h"
#include "tfckpt/status.hpp"
#include "tfckpt/views/plan.hpp"

namespace tfckpt::graph {

/// One node of a GraphDef being written.
using graph_node = std::variant<tensorflow::NodeDef, const_node>;

/// protobuf refuses to parse a message larger than this (INT_MAX bytes), and so does TensorFlow.
inline constexpr std::uint64_t kMaxGraphDefBytes = 2147483647;

struct graph_write_options {
  bool overwrite = false;        // replace an existing file at the path
  bool allow_over_2gib = false;  // write a graph over kMaxGraphDefBytes anyway
  bool sync = true;              // fsync the file and its directory
  io::write_hook write_hook{};   // failure injection (tests)
  /// Called after each node with (bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
};

/// What a graph would be, from metadata: its size and its constants, largest first.
struct graph_plan {
  std::uint64_t bytes = 0;
  std::size_t nodes = 0;
  struct constant {
    std::string name;
    std::uint64_t bytes = 0;  // the NodeDef's size
  };
  std::vector<constant> constants;
};

namespace detail {

// A message serialized as protobuf does with deterministic order (sorted map keys).
template <class Message>
std::string deterministic_bytes(const Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

// A node ready to write: the bytes of a kept NodeDef, or a Const's streaming encoding.
struct prepared_node {
  std::string name;
  std::string bytes;                  // a kept NodeDef
  std::optional<encoded_const> value;  // a Const
  std::uint64_t size() const { return value ? value->size() : bytes.size(); }
};

inline std::string human_bytes(std::uint64_t n) {
  if (n >= (std::uint64_t{1} << 30)) return absl::StrFormat("%.2f GiB", static_cast<double>(n) / (1 << 30));
  if (n >= (std::uint64_t{1} << 20)) return absl::StrFormat("%.1f MiB", static_cast<double>(n) / (1 << 20));
  return absl::StrFormat("%d bytes", n);
}

// Every node encoded and the tail serialized, ready to stream.
struct prepared_graph {
  std::vector<prepared_node> nodes;
  std::string tail;
  graph_plan plan;
};

}  // namespace detail

/// Encodes every node and checks the graph (see the file comment), reading no tensor byte except
/// where a Const needs a variable-length typed field. `path` names the file in messages.
TFCKPT_DECL absl::StatusOr<detail::prepared_graph> prepare_graph(std::span<const graph_node> nodes,
                                                                 const tensorflow::GraphDef& tail, std::string_view path,
                                                                 bool allow_over_2gib);

/// The size and constants of the graph write_graph_def would write, checked the same way; no file
/// is touched. What `--dry-run` prints.
inline absl::StatusOr<graph_plan> plan_graph(std::span<const graph_node> nodes, const tensorflow::GraphDef& tail,
                                             std::string_view path, bool allow_over_2gib = false) {
  TFCKPT_ASSIGN_OR_RETURN(detail::prepared_graph prepared, prepare_graph(nodes, tail, path, allow_over_2gib));
  return std::move(prepared.plan);
}

/// Writes `nodes` and then `tail` (a GraphDef without nodes: library, versions, ...) as a binary
/// GraphDef at `path`, atomically: a failure leaves whatever was at `path` untouched.
TFCKPT_DECL absl::Status write_graph_def(std::span<const graph_node> nodes, const tensorflow::GraphDef& tail,
                                         const std::filesystem::path& path, const graph_write_options& options = {});

}  // namespace tfckpt::graph

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_GRAPH_GRAPH_WRITER)

namespace tfckpt::graph {

TFCKPT_DECL absl::StatusOr<detail::prepared_graph> prepare_graph(std::span<const graph_node> nodes,
                                                                 const tensorflow::GraphDef& tail, std::string_view path,
                                                                 bool allow_over_2gib) {
  detail::prepared_graph out;
  std::vector<detail::prepared_node>* prepared = &out.nodes;
  std::string* tail_bytes = &out.tail;
  graph_plan* plan = &out.plan;
  std::vector<absl::Status> problems;
  if (tail.node_size() != 0)
    problems.push_back(absl::InvalidArgumentError(
        absl::StrFormat("the graph's tail (library, versions) must hold no nodes; it holds %d", tail.node_size())));
  std::map<std::string_view, std::size_t> seen;
  prepared->reserve(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    detail::prepared_node p;
    if (const auto* def = std::get_if<tensorflow::NodeDef>(&nodes[i])) {
      p.name = def->name();
      p.bytes = detail::deterministic_bytes(*def);
    } else {
      const const_node& c = std::get<const_node>(nodes[i]);
      p.name = c.name;
      auto encoded = encode_const(c);
      if (!encoded.ok()) {
        problems.push_back(encoded.status());
      } else {
        plan->constants.push_back({c.name, encoded->size()});
        p.value = std::move(encoded).value();
      }
    }
    if (p.name.empty()) problems.push_back(absl::InvalidArgumentError(absl::StrFormat("node %d has an empty name", i)));
    prepared->push_back(std::move(p));
  }
  for (std::size_t i = 0; i < prepared->size(); ++i) {
    const std::string& name = (*prepared)[i].name;
    if (!name.empty() && !seen.emplace(name, i).second)
      problems.push_back(absl::AlreadyExistsError(absl::StrFormat("two nodes are named '%s'", printable_key(name))));
  }
  *tail_bytes = detail::deterministic_bytes(tail);
  plan->nodes = prepared->size();
  plan->bytes = tail_bytes->size();
  for (const detail::prepared_node& p : *prepared) plan->bytes += codec::length_delimited_size(1, p.size());
  std::sort(plan->constants.begin(), plan->constants.end(),
            [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
  if (plan->bytes > kMaxGraphDefBytes && !allow_over_2gib) {
    std::string largest;
    for (std::size_t i = 0; i < std::min<std::size_t>(plan->constants.size(), 5); ++i)
      absl::StrAppendFormat(&largest, "%s'%s' (%s)", i ? ", " : "", printable_key(plan->constants[i].name),
                            detail::human_bytes(plan->constants[i].bytes));
    problems.push_back(absl::FailedPreconditionError(absl::StrFormat(
        "the GraphDef would be %d bytes (%s), over protobuf's 2 GiB message limit: TensorFlow cannot load it. "
        "Largest constants: %s. Keep some as variables, or allow a file over 2 GiB explicitly",
        plan->bytes, detail::human_bytes(plan->bytes), largest.empty() ? "none" : largest)));
  }
  TFCKPT_RETURN_IF_ERROR(tfckpt::detail::problems_status(absl::StrFormat("%s cannot be written", path), problems));
  return out;
}

TFCKPT_DECL absl::Status write_graph_def(std::span<const graph_node> nodes, const tensorflow::GraphDef& tail,
                                         const std::filesystem::path& path, const graph_write_options& options) {
  TFCKPT_ASSIGN_OR_RETURN(const detail::prepared_graph prepared,
                          prepare_graph(nodes, tail, path.string(), options.allow_over_2gib));
  std::error_code ec;
  if (!options.overwrite && std::filesystem::exists(path, ec))
    return absl::AlreadyExistsError(
        absl::StrFormat("%s already exists (graph_write_options::overwrite replaces it)", path.string()));
  TFCKPT_ASSIGN_OR_RETURN(io::temp_file file, io::temp_file::create(path.string(), options.write_hook));
  std::uint64_t done = 0;
  const auto append = [&](std::span<const std::byte> bytes) { return file.append(bytes); };
  for (const detail::prepared_node& p : prepared.nodes) {
    std::string header;
    codec::put_length_delimited_header(header, 1, p.size());
    TFCKPT_RETURN_IF_ERROR(file.append(header));
    if (p.value) {
      const std::uint64_t before = file.size();
      absl::Status s = p.value->stream(append);
      if (s.ok() && file.size() - before != p.size())
        s = absl::InternalError(absl::StrFormat("Const '%s' streamed %d bytes, not the %d it was sized at",
                                                printable_key(p.name), file.size() - before, p.size()));
      if (!s.ok())
        return absl::Status(s.code(), absl::StrFormat("%s: node '%s': %s", path.string(), printable_key(p.name), s.message()));
    } else {
      TFCKPT_RETURN_IF_ERROR(file.append(p.bytes));
    }
    done += codec::length_delimited_size(1, p.size());
    if (options.progress) options.progress(done, prepared.plan.bytes);
  }
  TFCKPT_RETURN_IF_ERROR(file.append(prepared.tail));
  TFCKPT_RETURN_IF_ERROR(file.finish(options.sync));
  TFCKPT_RETURN_IF_ERROR(file.commit());
  return options.sync ? io::sync_directory(path.parent_path()) : absl::OkStatus();
}

}  // namespace tfckpt::graph
#endif  // TFCKPT_COMPILE_GRAPH_GRAPH_WRITER

#endif  // TFCKPT_GRAPH_GRAPH_WRITER_HPP_
