// SPDX-License-Identifier: Apache-2.0
// Seeds 002/003, "ckpt to pb": a graph and its checkpoint become one frozen GraphDef whose variables
// are constants, ready for an inference engine (TensorFlow, OpenCV's DNN module, ...).
//
//   example_freeze_graph GRAPH CKPT OUTPUTS OUT   GRAPH: .pb, .pbtxt or .meta; OUTPUTS: a,b,...
//   example_freeze_graph [DIR]                    build a tiny model in DIR (default freeze-demo/) and freeze it
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tfckpt/tfckpt.hpp"

namespace {

// The freeze itself.
absl::Status freeze(const std::filesystem::path& graph_file, const std::string& checkpoint,
                    std::vector<std::string> outputs, const std::filesystem::path& out) {
  tensorflow::GraphDef graph;
  tfckpt::graph::freeze_options options{.output_node_names = std::move(outputs)};
  if (graph_file.extension() == ".meta") {  // a MetaGraphDef also tells which checkpoint keys its saver used
    TFCKPT_ASSIGN_OR_RETURN(auto meta, tfckpt::graph::load_meta_graph(graph_file));
    graph = meta.graph_def();
    options.saver_def = meta.saver_def();
  } else {
    TFCKPT_ASSIGN_OR_RETURN(graph, tfckpt::graph::load_graph_def(graph_file));
  }
  TFCKPT_ASSIGN_OR_RETURN(const tfckpt::checkpoint ckpt, tfckpt::open(checkpoint));
  TFCKPT_ASSIGN_OR_RETURN(const auto plan, tfckpt::graph::plan_freeze(graph, ckpt, options));  // metadata only
  for (const auto& v : plan.variables)
    std::printf("%-12s %s %s <- %s\n", v.node.c_str(), std::string(tfckpt::dtype_name(v.type)).c_str(),
                tfckpt::shape_string(v.shape).c_str(), v.key.c_str());
  TFCKPT_RETURN_IF_ERROR(tfckpt::graph::write_graph_def(plan.nodes, plan.tail, out, {.overwrite = true}));
  std::printf("froze %zu variables: %s holds %zu of the graph's %zu nodes\n", plan.variables.size(), out.c_str(),
              plan.nodes.size(), plan.input_nodes);
  return absl::OkStatus();
}

// A demo model: y = relu(x * w + b), with tf.Variable's initializers and a saver, plus its checkpoint.
absl::Status write_demo(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  tensorflow::GraphDef g;
  const auto node = [&](const std::string& name, const std::string& op, std::vector<std::string> inputs) -> auto& {
    tensorflow::NodeDef* n = g.add_node();
    n->set_name(name);
    n->set_op(op);
    for (auto& i : inputs) n->add_input(i);
    (*n->mutable_attr())["T"].set_type(tensorflow::DT_FLOAT);
    return *n;
  };
  (*node("x", "Placeholder", {}).mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
  for (const char* v : {"w", "b"}) {
    (*node(v, "VariableV2", {}).mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
    node(std::string(v) + "/initial_value", "Const", {});  // (its value is left out: the freeze drops it)
    node(std::string(v) + "/Assign", "Assign", {v, std::string(v) + "/initial_value"});
    node(std::string(v) + "/read", "Identity", {v});
  }
  node("xw", "MatMul", {"x", "w/read"});
  node("xwb", "BiasAdd", {"xw", "b/read"});
  node("y", "Relu", {"xwb"});
  TFCKPT_RETURN_IF_ERROR(tfckpt::graph::save_graph_def_text(g, dir / "graph.pbtxt"));
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(dir / "model.ckpt", {.overwrite = true}));
  const std::vector<float> weights = {1, -1, 2, 0.5f, 0, 3}, bias = {0.1f, 0.2f, 0.3f};
  TFCKPT_RETURN_IF_ERROR(w.add("w", tfckpt::dtype::float32, std::vector<std::int64_t>{2, 3},
                               tfckpt::byte_source::from_span(std::as_bytes(std::span(weights)))));
  TFCKPT_RETURN_IF_ERROR(w.add("b", tfckpt::dtype::float32, std::vector<std::int64_t>{3},
                               tfckpt::byte_source::from_span(std::as_bytes(std::span(bias)))));
  return w.finish();
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= s.size();) {
    const std::size_t end = std::min(s.find(',', at), s.size());
    if (end > at) out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  absl::Status s;
  if (argc == 5) {
    s = freeze(argv[1], argv[2], split(argv[3]), argv[4]);
  } else if (argc <= 2) {
    const std::filesystem::path dir = argc == 2 ? argv[1] : "freeze-demo";
    s = write_demo(dir);
    if (s.ok()) s = freeze(dir / "graph.pbtxt", (dir / "model.ckpt").string(), {"y"}, dir / "frozen.pb");
  } else {
    std::fprintf(stderr, "usage: %s GRAPH CKPT OUTPUTS OUT | %s [DIR]\n", argv[0], argv[0]);
    return 2;
  }
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 3;
  }
  return 0;
}
