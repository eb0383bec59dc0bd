// SPDX-License-Identifier: Apache-2.0
// Graph loading (graph/graph_io.hpp) and freezing (graph/freeze.hpp). The first input byte picks
// what the rest is — a binary or text GraphDef, a MetaGraphDef, or a SavedModel's saved_model.pb
// or .pbtxt — and how to freeze it (every node as an output or only the last, devices cleared or
// kept, a whitelist). The graph is frozen against a small checkpoint written once per process
// with bundle_writer (every kind of value: float, int64, string, half, bool, a partitioned
// tensor). A plan that succeeds is written, and the written graph must load back with exactly the
// planned nodes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/graph/graph_io.hpp"
#include "tfckpt/graph/graph_writer.hpp"

namespace {

namespace fs = std::filesystem;

template <class T>
tfckpt::byte_source bytes_of(const std::vector<T>& v) {
  return tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
}

// The checkpoint every input freezes against; the names are those a seed graph (or the
// dictionary) gives variables.
const tfckpt::checkpoint& fixed_checkpoint() {
  static const tfckpt::checkpoint ckpt = [] {
    const std::string prefix = (tfckpt_fuzz::scratch_dir() / "vars" / "model.ckpt").string();
    fs::create_directories(tfckpt_fuzz::scratch_dir() / "vars");
    auto w = tfckpt::bundle_writer::create(prefix, {.sync = false, .overwrite = true});
    const auto must = [](const absl::Status& s) {
      if (!s.ok()) tfckpt_fuzz::broken_promise("cannot write the fixed checkpoint", s);
    };
    must(w.status());
    const std::vector<std::int64_t> s23{2, 3}, s3{3}, s2{2}, s1{1}, s0{}, s42{4, 2};
    must(w->add("b", tfckpt::dtype::float32, s3, bytes_of(std::vector<float>{1, 2, 3})));
    must(w->add("flag", tfckpt::dtype::boolean, s1, bytes_of(std::vector<std::uint8_t>{1})));
    must(w->add("h", tfckpt::dtype::float16, s2, bytes_of(std::vector<std::uint16_t>{0x3c00, 0x4000})));
    must(w->add_strings("names", s2, {"a", "bc"}));
    must(w->add("scope/v", tfckpt::dtype::float64, s2, bytes_of(std::vector<double>{0.5, -1})));
    must(w->add("step", tfckpt::dtype::int64, s0, bytes_of(std::vector<std::int64_t>{42})));
    must(w->add("w", tfckpt::dtype::float32, s23, bytes_of(std::vector<float>{1, 2, 3, 4, 5, 6})));
    const std::vector<tfckpt::codec::slice_extent> top{{0, 2}, {}}, bottom{{2, 2}, {}};
    must(w->add_slice("p", s42, top, tfckpt::dtype::float32, bytes_of(std::vector<float>{1, 2, 3, 4})));
    must(w->add_slice("p", s42, bottom, tfckpt::dtype::float32, bytes_of(std::vector<float>{5, 6, 7, 8})));
    must(w->finish());
    auto opened = tfckpt::open(prefix);
    must(opened.status());
    return *std::move(opened);
  }();
  return ckpt;
}

void freeze(const tensorflow::GraphDef& graph, const std::optional<tensorflow::SaverDef>& saver, std::uint8_t how) {
  tfckpt::graph::freeze_options options;
  if ((how & 0x08) != 0) {
    for (int i = 0; i < graph.node_size() && i < 64; ++i) options.output_node_names.push_back(graph.node(i).name());
  } else if (graph.node_size() > 0) {
    options.output_node_names.push_back(graph.node(graph.node_size() - 1).name() + ":0");
  }
  if (options.output_node_names.empty()) options.output_node_names.push_back("out");
  options.clear_devices = (how & 0x10) == 0;
  if ((how & 0x20) != 0) options.variable_names_whitelist = {"w", "p"};
  if ((how & 0x40) != 0) options.variable_names_blacklist = {"b"};
  options.saver_def = saver;
  const auto plan = tfckpt::graph::plan_freeze(graph, fixed_checkpoint(), options);
  if (!plan.ok()) return;
  const fs::path out = tfckpt_fuzz::scratch_dir() / "frozen.pb";
  const absl::Status written =
      tfckpt::graph::write_graph_def(plan->nodes, plan->tail, out, {.overwrite = true, .sync = false});
  if (!written.ok()) {
    // The writer checks what the plan does not (an empty node name, say) before writing a byte;
    // its refusal must be clean and name the file.
    tfckpt_fuzz::expect_names(written, out.string());
    if (written.code() == absl::StatusCode::kInvalidArgument || written.code() == absl::StatusCode::kFailedPrecondition)
      return;
    tfckpt_fuzz::broken_promise("a planned freeze failed to write", written);
  }
  const auto again = tfckpt::graph::load_graph_def(out, tfckpt::graph::graph_format::binary);
  if (!again.ok()) tfckpt_fuzz::broken_promise("the frozen graph does not load", again.status());
  if (static_cast<std::size_t>(again->node_size()) != plan->nodes.size())
    tfckpt_fuzz::broken_promise("the frozen graph lost or gained nodes", absl::OkStatus());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)fixed_checkpoint();
  tfckpt_fuzz::input_reader in(data, size);
  const std::uint8_t how = in.byte();
  const std::string_view rest = in.rest();
  const fs::path& dir = tfckpt_fuzz::scratch_dir();
  switch (how % 5) {
    case 0:
    case 1: {
      const fs::path path = dir / (how % 5 == 0 ? "graph.pb" : "graph.pbtxt");
      tfckpt_fuzz::write_file(path, rest);
      const auto graph = tfckpt::graph::load_graph_def(path);
      tfckpt_fuzz::expect_names(graph.status(), path.string());
      if (graph.ok()) freeze(*graph, std::nullopt, how);
      break;
    }
    case 2: {
      const fs::path path = dir / "model.meta";
      tfckpt_fuzz::write_file(path, rest);
      const auto meta = tfckpt::graph::load_meta_graph(path);
      tfckpt_fuzz::expect_names(meta.status(), path.string());
      if (meta.ok())
        freeze(meta->graph_def(), meta->has_saver_def() ? std::optional(meta->saver_def()) : std::nullopt, how);
      break;
    }
    default: {
      const fs::path model = dir / (how % 5 == 3 ? "saved_binary" : "saved_text");
      fs::create_directories(model);
      const fs::path path = model / (how % 5 == 3 ? "saved_model.pb" : "saved_model.pbtxt");
      tfckpt_fuzz::write_file(path, rest);
      const auto saved = tfckpt::graph::load_saved_model(model, {"serve"});
      tfckpt_fuzz::expect_names(saved.status(), path.string());
      if (saved.ok()) {
        const auto& meta = saved->meta_graph;
        freeze(meta.graph_def(), meta.has_saver_def() ? std::optional(meta.saver_def()) : std::nullopt, how);
      }
      break;
    }
  }
  return 0;
}
