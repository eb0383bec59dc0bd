// SPDX-License-Identifier: Apache-2.0
// Building small TF1-style GraphDefs in tests, node by node, the way tf.Graph would write them:
// variables with `<v>/read` Identities, initializers (`<v>/Assign`), and a `save/` SaveV2 subgraph.
#ifndef TFCKPT_TESTING_GRAPH_BUILDER_HPP_
#define TFCKPT_TESTING_GRAPH_BUILDER_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/proto/graph.pb.h"

namespace tfckpt_testing {

class graph_builder {
 public:
  tensorflow::NodeDef& node(const std::string& name, const std::string& op, std::vector<std::string> inputs = {}) {
    tensorflow::NodeDef* n = graph_.add_node();
    n->set_name(name);
    n->set_op(op);
    for (auto& i : inputs) n->add_input(std::move(i));
    return *n;
  }
  static void set_type(tensorflow::NodeDef& n, const char* attr, tensorflow::DataType t) { (*n.mutable_attr())[attr].set_type(t); }
  static void set_shape(tensorflow::NodeDef& n, const char* attr, const std::vector<std::int64_t>& dims) {
    auto* s = (*n.mutable_attr())[attr].mutable_shape();
    for (std::int64_t d : dims) s->add_dim()->set_size(d);
  }

  tensorflow::NodeDef& placeholder(const std::string& name, const std::vector<std::int64_t>& shape) {
    auto& n = node(name, "Placeholder");
    set_type(n, "dtype", tensorflow::DT_FLOAT);
    set_shape(n, "shape", shape);
    return n;
  }

  /// VariableV2 `name` + `name/read` (Identity) + `name/Assign` from a zero initializer, as tf.Variable
  /// writes them. Returns the name of the read tensor.
  std::string variable(const std::string& name, const std::vector<std::int64_t>& shape,
                       tensorflow::DataType type = tensorflow::DT_FLOAT) {
    auto& v = node(name, "VariableV2");
    set_type(v, "dtype", type);
    set_shape(v, "shape", shape);
    (*v.mutable_attr())["container"].set_s("");
    (*v.mutable_attr())["shared_name"].set_s("");
    auto& init = node(name + "/Initializer/zeros", "Const");
    set_type(init, "dtype", type);
    auto* t = (*init.mutable_attr())["value"].mutable_tensor();
    t->set_dtype(type);
    for (std::int64_t d : shape) t->mutable_tensor_shape()->add_dim()->set_size(d);
    t->add_float_val(0);
    auto& assign = node(name + "/Assign", "Assign", {name, name + "/Initializer/zeros"});
    set_type(assign, "T", type);
    auto& read = node(name + "/read", "Identity", {name});
    set_type(read, "T", type);
    (*read.mutable_attr())["_class"].mutable_list()->add_s("loc:@" + name);
    variables_.push_back(name);
    return name + "/read";
  }

  tensorflow::NodeDef& op(const std::string& name, const std::string& op, std::vector<std::string> inputs) {
    auto& n = node(name, op, std::move(inputs));
    set_type(n, "T", tensorflow::DT_FLOAT);
    return n;
  }

  /// A `save/` scope like tf.train.Saver's: SaveV2 of every variable under `keys` (default: its name).
  void saver(std::vector<std::string> keys = {}, std::vector<std::string> slices = {}) {
    if (keys.empty()) keys = variables_;
    if (slices.empty()) slices.assign(keys.size(), "");
    auto& filename = node("save/Const", "Const");
    set_type(filename, "dtype", tensorflow::DT_STRING);
    auto* f = (*filename.mutable_attr())["value"].mutable_tensor();
    f->set_dtype(tensorflow::DT_STRING);
    f->mutable_tensor_shape();
    f->add_string_val("model");
    const auto strings = [&](const std::string& name, const std::vector<std::string>& values) {
      auto& c = node(name, "Const");
      set_type(c, "dtype", tensorflow::DT_STRING);
      auto* t = (*c.mutable_attr())["value"].mutable_tensor();
      t->set_dtype(tensorflow::DT_STRING);
      t->mutable_tensor_shape()->add_dim()->set_size(static_cast<std::int64_t>(values.size()));
      for (const auto& v : values) t->add_string_val(v);
    };
    strings("save/SaveV2/tensor_names", keys);
    strings("save/SaveV2/shape_and_slices", slices);
    std::vector<std::string> inputs = {"save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices"};
    for (const auto& v : variables_) inputs.push_back(v);
    node("save/SaveV2", "SaveV2", inputs);
    node("save/control_dependency", "Identity", {"save/Const", "^save/SaveV2"});
  }

  tensorflow::GraphDef& graph() { return graph_; }

 private:
  tensorflow::GraphDef graph_;
  std::vector<std::string> variables_;
};

/// The variable nodes of `graph` whose names the checkpoint holds (freeze outputs that need them all).
inline std::vector<std::string> variables_in(const tensorflow::GraphDef& graph, const tfckpt::checkpoint& ckpt) {
  std::vector<std::string> out;
  for (const auto& v : tfckpt::graph::graph_variables(graph))
    if (ckpt.find(v.node) != nullptr) out.push_back(v.node);
  return out;
}

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_GRAPH_BUILDER_HPP_
