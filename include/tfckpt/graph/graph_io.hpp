// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/graph/graph_io.hpp
//
// Loading and saving graphs: a GraphDef from binary `.pb` or text `.pbtxt`, a MetaGraphDef from a
// `.meta` file, and the MetaGraphDef inside a SavedModel's `saved_model.pb` chosen by its tag set,
// with the prefix of the SavedModel's `variables/variables` checkpoint. Parsing goes through
// protobuf's generated classes, which keep fields they do not know, so a graph read and written
// again loses nothing. Writing is atomic (temporary file, fsync, rename); binary output is
// serialized deterministically (map entries in key order).
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto model, graph::load_saved_model("export/1", {"serve"}));
//   // model.meta_graph.graph_def(), model.variables_prefix ("export/1/variables/variables")
#ifndef TFCKPT_GRAPH_GRAPH_IO_HPP_
#define TFCKPT_GRAPH_GRAPH_IO_HPP_

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/graph/graph_writer.hpp"
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/proto/graph.pb.h"
#include "tfckpt/proto/meta_graph.pb.h"
#include "tfckpt/proto/saved_model.pb.h"

namespace tfckpt::graph {

/// How a graph file is encoded.
enum class graph_format {
  detect,  // text when the name ends in .pbtxt/.txt/.prototxt, else binary, then the other if that fails
  binary,
  text,
};

namespace detail {

inline bool has_text_extension(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".pbtxt" || ext == ".txt" || ext == ".prototxt";
}

// Parses `bytes` as a binary message, allowing messages up to protobuf's 2 GiB ceiling.
template <class Message>
bool parse_binary(std::string_view bytes, Message* m) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(static_cast<int>(kMaxGraphDefBytes));
  return m->ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
}

// Collects TextFormat parse errors with their line and column.
class text_errors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (first_.empty()) first_ = absl::StrFormat("line %d, column %d: %s", line + 1, column + 1, message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

template <class Message>
absl::StatusOr<Message> load_message(const std::filesystem::path& path, graph_format format, std::string_view what) {
  TFCKPT_ASSIGN_OR_RETURN(const io::mapped_file file, io::mapped_file::open(path.string()));
  const std::string_view bytes(reinterpret_cast<const char*>(file.bytes().data()), file.size());
  if (bytes.size() > kMaxGraphDefBytes)
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: %d bytes, over protobuf's 2 GiB message limit: no %s can be that large", path.string(), bytes.size(), what));
  const auto as_text = [&](Message* m, std::string* error) {
    text_errors errors;
    google::protobuf::TextFormat::Parser parser;
    parser.RecordErrorsTo(&errors);
    google::protobuf::io::ArrayInputStream in(bytes.data(), static_cast<int>(bytes.size()));
    bool ok = parser.Parse(&in, m);
    *error = errors.first();
    // The text parser accepts string fields that are not UTF-8; the binary parser (and so
    // TensorFlow reading a graph written from this one) refuses them. Refuse them here too.
    Message binary;
    if (ok && !binary.ParseFromString(m->SerializeAsString())) {
      ok = false;
      *error = "a string field is not valid UTF-8";
    }
    return ok;
  };
  Message m;
  std::string text_error;
  const bool text_first = format == graph_format::text || (format == graph_format::detect && has_text_extension(path));
  if (text_first) {
    if (as_text(&m, &text_error)) return m;
    if (format == graph_format::text)
      return absl::InvalidArgumentError(absl::StrFormat("%s: not a text-format %s: %s", path.string(), what, text_error));
    m.Clear();
    if (parse_binary(bytes, &m)) return m;
  } else {
    if (parse_binary(bytes, &m)) return m;
    if (format == graph_format::binary)
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: not a binary %s (is it text? then it needs the text format)", path.string(), what));
    m.Clear();
    if (as_text(&m, &text_error)) return m;
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: neither a binary nor a text-format %s (text parse: %s)", path.string(), what, text_error));
}

}  // namespace detail

/// A GraphDef from `path` (binary or text; see graph_format).
inline absl::StatusOr<tensorflow::GraphDef> load_graph_def(const std::filesystem::path& path,
                                                           graph_format format = graph_format::detect) {
  return detail::load_message<tensorflow::GraphDef>(path, format, "GraphDef");
}

/// A MetaGraphDef from a `.meta` file (binary, or text when so named or told).
inline absl::StatusOr<tensorflow::MetaGraphDef> load_meta_graph(const std::filesystem::path& path,
                                                                graph_format format = graph_format::detect) {
  return detail::load_message<tensorflow::MetaGraphDef>(path, format, "MetaGraphDef");
}

/// One MetaGraphDef of a SavedModel and the checkpoint that holds its variables.
struct saved_model_graph {
  tensorflow::MetaGraphDef meta_graph;
  std::filesystem::path variables_prefix;  // <dir>/variables/variables
};

/// The MetaGraphDef of the SavedModel in `dir` whose tag set is exactly `tags` (as a set, like
/// TensorFlow's loader). Errors: kNotFound without `saved_model.pb` (a `saved_model.pbtxt` is read
/// too) or without a MetaGraphDef of those tags (the message lists the tag sets there are).
TFCKPT_DECL absl::StatusOr<saved_model_graph> load_saved_model(const std::filesystem::path& dir,
                                                               std::vector<std::string> tags = {"serve"});

/// Writes `graph` in protobuf text format, atomically. Text format has no way to carry fields
/// this library does not know; they are left out (binary output keeps them).
TFCKPT_DECL absl::Status save_graph_def_text(const tensorflow::GraphDef& graph, const std::filesystem::path& path);

/// Writes `graph` in binary form (deterministic), atomically.
inline absl::Status save_graph_def(const tensorflow::GraphDef& graph, const std::filesystem::path& path) {
  const std::string bytes = detail::deterministic_bytes(graph);
  if (bytes.size() > kMaxGraphDefBytes)
    return absl::FailedPreconditionError(absl::StrFormat("%s: the graph is over protobuf's 2 GiB limit", path.string()));
  return io::write_file_atomically(path, bytes);
}

}  // namespace tfckpt::graph

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_GRAPH_GRAPH_IO)

namespace tfckpt::graph {

TFCKPT_DECL absl::StatusOr<saved_model_graph> load_saved_model(const std::filesystem::path& dir,
                                                               std::vector<std::string> tags) {
  std::filesystem::path file = dir / "saved_model.pb";
  graph_format format = graph_format::binary;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec) && std::filesystem::exists(dir / "saved_model.pbtxt", ec)) {
    file = dir / "saved_model.pbtxt";
    format = graph_format::text;
  }
  TFCKPT_ASSIGN_OR_RETURN(tensorflow::SavedModel model, detail::load_message<tensorflow::SavedModel>(file, format, "SavedModel"));
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  std::vector<std::string> available;
  for (tensorflow::MetaGraphDef& mg : *model.mutable_meta_graphs()) {
    std::vector<std::string> have(mg.meta_info_def().tags().begin(), mg.meta_info_def().tags().end());
    std::sort(have.begin(), have.end());
    have.erase(std::unique(have.begin(), have.end()), have.end());
    if (have == tags) return saved_model_graph{std::move(mg), dir / "variables" / "variables"};
    available.push_back("{" + absl::StrJoin(have, ",") + "}");
  }
  return absl::NotFoundError(absl::StrFormat("%s: no MetaGraphDef tagged {%s}; there are: %s", file.string(),
                                             absl::StrJoin(tags, ","),
                                             available.empty() ? "none" : absl::StrJoin(available, " ")));
}

TFCKPT_DECL absl::Status save_graph_def_text(const tensorflow::GraphDef& graph, const std::filesystem::path& path) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetHideUnknownFields(true);
  if (!printer.PrintToString(graph, &text))
    return absl::InternalError(absl::StrFormat("%s: the graph cannot be printed as text", path.string()));
  return io::write_file_atomically(path, text);
}

}  // namespace tfckpt::graph
#endif  // TFCKPT_COMPILE_GRAPH_GRAPH_IO

#endif  // TFCKPT_GRAPH_GRAPH_IO_HPP_
