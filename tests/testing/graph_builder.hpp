// SPDX-License-Identifier: Apache-2.0
// Building small TF1-style GraphDefs in tests, node by node, the way tf.Graph would write them:
// variables with `<v>/read` Identities, initializers (`<v>/Assign`), and a `save/` SaveV2 subgraph.
// Partitioned variables are written as tf.compat.v1.get_variable(partitioner=...) writes them: one
// VariableV2 `<v>/part_<i>` per part, each with a VariableDef whose save_slice_info_def names the
// full tensor `<v>`, its shape and the part's offset and shape, and saved as `<v>` with the part's
// "full shape + slice" spec; meta_graph() puts the VariableDefs in the `variables` and
// `trainable_variables` collections as a MetaGraphDef does.
#ifndef TFCKPT_TESTING_GRAPH_BUILDER_HPP_
#define TFCKPT_TESTING_GRAPH_BUILDER_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/proto/graph.pb.h"
#include "tfckpt/proto/meta_graph.pb.h"
#include "tfckpt/proto/variable.pb.h"

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
    saved_keys_.push_back(name);
    saved_slices_.push_back("");
    tensorflow::VariableDef def;
    def.set_variable_name(name + ":0");
    def.set_initializer_name(name + "/Assign");
    def.set_snapshot_name(name + "/read:0");
    def.set_trainable(true);
    variable_defs_.push_back(std::move(def));
    return name + "/read";
  }

  /// A variable of shape `full_shape` split along `axis` into parts of `sizes` rows (summing to
  /// the dimension): VariableV2 `<name>/part_<i>` each, with its save_slice_info_def. Returns
  /// the parts' read tensors.
  std::vector<std::string> partitioned_variable(const std::string& name, const std::vector<std::int64_t>& full_shape,
                                                std::size_t axis, const std::vector<std::int64_t>& sizes) {
    std::vector<std::string> reads;
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      std::vector<std::int64_t> shape = full_shape;
      shape[axis] = sizes[i];
      std::vector<std::int64_t> var_offset(full_shape.size(), 0);
      var_offset[axis] = offset;
      offset += sizes[i];
      const std::string part = absl::StrFormat("%s/part_%d", name, i);
      reads.push_back(variable(part, shape));
      tensorflow::SaveSliceInfoDef* info = variable_defs_.back().mutable_save_slice_info_def();
      info->set_full_name(name);
      for (std::size_t d = 0; d < full_shape.size(); ++d) {
        info->add_full_shape(full_shape[d]);
        info->add_var_offset(var_offset[d]);
        info->add_var_shape(shape[d]);
      }
      saved_keys_.back() = name;
      saved_slices_.back() = tfckpt::graph::detail::slice_spec(*info);
    }
    return reads;
  }

  tensorflow::NodeDef& op(const std::string& name, const std::string& op, std::vector<std::string> inputs) {
    auto& n = node(name, op, std::move(inputs));
    set_type(n, "T", tensorflow::DT_FLOAT);
    return n;
  }

  /// A `save/` scope like tf.train.Saver's: SaveV2 of every variable under `keys` (default: its
  /// name, or for a part of a partitioned variable the full name and the part's slice spec).
  void saver(std::vector<std::string> keys = {}, std::vector<std::string> slices = {}) {
    if (keys.empty()) {
      keys = saved_keys_;
      if (slices.empty()) slices = saved_slices_;
    }
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
  /// One VariableDef per variable node, as a MetaGraphDef's `variables` collection holds them.
  std::vector<tensorflow::VariableDef>& variable_defs() { return variable_defs_; }

  /// The graph as tf.train.export_meta_graph writes it after saver(): the graph, the saver's
  /// SaverDef, and the VariableDefs serialized in the `variables` and `trainable_variables`
  /// collections.
  tensorflow::MetaGraphDef meta_graph() const {
    tensorflow::MetaGraphDef meta;
    *meta.mutable_graph_def() = graph_;
    meta.mutable_meta_info_def()->add_tags("serve");
    tensorflow::SaverDef* saver = meta.mutable_saver_def();
    saver->set_filename_tensor_name("save/Const:0");
    saver->set_save_tensor_name("save/control_dependency:0");
    saver->set_restore_op_name("save/restore_all");
    saver->set_version(tensorflow::SaverDef::V2);
    for (const char* collection : {"variables", "trainable_variables"}) {
      auto* list = (*meta.mutable_collection_def())[collection].mutable_bytes_list();
      for (const auto& def : variable_defs_) list->add_value(def.SerializeAsString());
    }
    return meta;
  }

 private:
  tensorflow::GraphDef graph_;
  std::vector<std::string> variables_;
  std::vector<std::string> saved_keys_;    // per variable: the key the saver writes it under
  std::vector<std::string> saved_slices_;  // and its slice spec ("" for a whole variable)
  std::vector<tensorflow::VariableDef> variable_defs_;
};

/// The graph of a canned DNN Estimator (tf.estimator.DNNClassifier, hidden_units=[hidden]) over
/// `features` inputs and `classes` logits, as TF 1.x writes it: every weight a single-partition
/// PartitionedVariable (`dnn/.../kernel/part_0`), saved whole under its full name. Output node:
/// `dnn/logits/BiasAdd`.
inline graph_builder estimator_dnn_graph(std::int64_t features, std::int64_t hidden, std::int64_t classes) {
  graph_builder g;
  g.placeholder("dnn/input_from_feature_columns/input_layer/concat", {-1, features});
  const auto k0 = g.partitioned_variable("dnn/hiddenlayer_0/kernel", {features, hidden}, 0, {features});
  const auto b0 = g.partitioned_variable("dnn/hiddenlayer_0/bias", {hidden}, 0, {hidden});
  const auto k1 = g.partitioned_variable("dnn/logits/kernel", {hidden, classes}, 0, {hidden});
  const auto b1 = g.partitioned_variable("dnn/logits/bias", {classes}, 0, {classes});
  g.op("dnn/hiddenlayer_0/MatMul", "MatMul", {"dnn/input_from_feature_columns/input_layer/concat", k0[0]});
  g.op("dnn/hiddenlayer_0/BiasAdd", "BiasAdd", {"dnn/hiddenlayer_0/MatMul", b0[0]});
  g.op("dnn/hiddenlayer_0/Relu", "Relu", {"dnn/hiddenlayer_0/BiasAdd"});
  g.op("dnn/logits/MatMul", "MatMul", {"dnn/hiddenlayer_0/Relu", k1[0]});
  g.op("dnn/logits/BiasAdd", "BiasAdd", {"dnn/logits/MatMul", b1[0]});
  g.saver();
  return g;
}

/// The variable nodes of `graph` whose names the checkpoint holds (freeze outputs that need them all).
inline std::vector<std::string> variables_in(const tensorflow::GraphDef& graph, const tfckpt::checkpoint& ckpt) {
  std::vector<std::string> out;
  for (const auto& v : tfckpt::graph::graph_variables(graph))
    if (ckpt.find(v.node) != nullptr) out.push_back(v.node);
  return out;
}

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_GRAPH_BUILDER_HPP_
