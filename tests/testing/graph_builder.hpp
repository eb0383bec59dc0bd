// SPDX-License-Identifier: Apache-2.0
// Building small TF1-style GraphDefs in tests, node by node, the way tf.Graph would write them:
// variables with `<v>/read` Identities, initializers (`<v>/Assign`), and a `save/` SaveV2 subgraph.
// And TF2 SavedModels in the layout Keras's model.save writes (saved_model_builder): functions in
// the graph's library, a StatefulPartitionedCall per signature capturing VarHandleOps, the
// SavedObjectGraph, and the variables/ checkpoint with its TrackableObjectGraph.
// Partitioned variables are written as tf.compat.v1.get_variable(partitioner=...) writes them: one
// VariableV2 `<v>/part_<i>` per part, each with a VariableDef whose save_slice_info_def names the
// full tensor `<v>`, its shape and the part's offset and shape, and saved as `<v>` with the part's
// "full shape + slice" spec; meta_graph() puts the VariableDefs in the `variables` and
// `trainable_variables` collections as a MetaGraphDef does.
#ifndef TFCKPT_TESTING_GRAPH_BUILDER_HPP_
#define TFCKPT_TESTING_GRAPH_BUILDER_HPP_

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/proto/function.pb.h"
#include "tfckpt/proto/graph.pb.h"
#include "tfckpt/proto/meta_graph.pb.h"
#include "tfckpt/proto/saved_model.pb.h"
#include "tfckpt/proto/saved_object_graph.pb.h"
#include "tfckpt/proto/trackable_object_graph.pb.h"
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

/// One function of a SavedModel's library, node by node, in FunctionDef form: inputs name an
/// argument or `node:out_arg:index`.
class function_builder {
 public:
  explicit function_builder(const std::string& name) { f_.mutable_signature()->set_name(name); }
  /// An input argument; its name is how body nodes read it.
  const std::string& arg(const std::string& name, tensorflow::DataType type) {
    auto* a = f_.mutable_signature()->add_input_arg();
    a->set_name(name);
    a->set_type(type);
    return a->name();
  }
  tensorflow::NodeDef& node(const std::string& name, const std::string& op, std::vector<std::string> inputs = {}) {
    tensorflow::NodeDef* n = f_.add_node_def();
    n->set_name(name);
    n->set_op(op);
    for (auto& i : inputs) n->add_input(std::move(i));
    return *n;
  }
  /// A float op with attr T.
  tensorflow::NodeDef& op(const std::string& name, const std::string& op, std::vector<std::string> inputs) {
    auto& n = node(name, op, std::move(inputs));
    (*n.mutable_attr())["T"].set_type(tensorflow::DT_FLOAT);
    return n;
  }
  /// ReadVariableOp of a resource argument, as Keras names it; returns its value tensor.
  std::string read(const std::string& name, const std::string& resource_arg) {
    auto& n = node(name, "ReadVariableOp", {resource_arg});
    (*n.mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
    return name + ":value:0";
  }
  /// A StatefulPartitionedCall of `callee` with one float output.
  tensorflow::NodeDef& call(const std::string& name, const std::string& callee, std::vector<std::string> inputs,
                            const std::vector<tensorflow::DataType>& in_types) {
    auto& n = node(name, "StatefulPartitionedCall", std::move(inputs));
    (*n.mutable_attr())["f"].mutable_func()->set_name(callee);
    for (auto t : in_types) (*n.mutable_attr())["Tin"].mutable_list()->add_type(t);
    (*n.mutable_attr())["Tout"].mutable_list()->add_type(tensorflow::DT_FLOAT);
    return n;
  }
  /// A float output argument `name` returning `tensor`.
  void ret(const std::string& name, const std::string& tensor) {
    auto* a = f_.mutable_signature()->add_output_arg();
    a->set_name(name);
    a->set_type(tensorflow::DT_FLOAT);
    (*f_.mutable_ret())[name] = tensor;
  }
  tensorflow::FunctionDef& def() { return f_; }

 private:
  tensorflow::FunctionDef f_;
};

/// A TF2 SavedModel as Keras's model.save writes it (see the file comment). Variables are float32.
class saved_model_builder {
 public:
  saved_model_builder() {
    meta_.mutable_meta_info_def()->add_tags("serve");
    objects_.add_nodes()->mutable_user_object()->set_identifier("_tf_keras_sequential");
    ckpt_objects_.add_nodes();
    // Keras tracks the model's variables in a `variables` list too, in the SavedModel only.
    variables_list_ = add_saved_child(0, "variables");
    objects_.mutable_nodes(variables_list_)->mutable_user_object()->set_identifier("trackable_list_wrapper");
    for (const auto& [op, outputs] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"BiasAdd", {"output"}}, {"Const", {"output"}}, {"Conv2D", {"output"}}, {"Identity", {"output"}},
             {"MatMul", {"product"}}, {"NoOp", {}}, {"Placeholder", {"output"}}, {"ReadVariableOp", {"value"}},
             {"Relu", {"activations"}}, {"Reshape", {"output"}}, {"Softmax", {"softmax"}}, {"VarHandleOp", {"resource"}},
             {"StatefulPartitionedCall", {}}}) {
      auto* d = meta_.mutable_meta_info_def()->mutable_stripped_op_list()->add_op();
      d->set_name(op);
      for (const auto& o : outputs) d->add_output_arg()->set_name(o);
      if (op == "StatefulPartitionedCall") {
        d->add_output_arg()->set_name("output");
        d->mutable_output_arg(0)->set_type_list_attr("Tout");
      }
    }
  }

  /// A variable at object path `path` (e.g. {"layer_with_weights-0", "kernel"}), a top-level
  /// VarHandleOp named `node` (e.g. "dense/kernel") with its `<node>/Read/ReadVariableOp`, and its
  /// value in the checkpoint under `<path>/.ATTRIBUTES/VARIABLE_VALUE` (none when `values` is empty).
  void variable(const std::vector<std::string>& path, const std::string& node, const std::vector<std::int64_t>& shape,
                std::vector<float> values) {
    int saved = 0, ckpt = 0;
    for (std::size_t i = 0; i < path.size(); ++i) {
      saved = saved_child(saved, path[i]);
      ckpt = ckpt_child(ckpt, path[i]);
    }
    auto* v = objects_.mutable_nodes(saved)->mutable_variable();
    v->set_dtype(tensorflow::DT_FLOAT);
    for (auto d : shape) v->mutable_shape()->add_dim()->set_size(d);
    v->set_trainable(true);
    v->set_name(node);
    auto* list_entry = objects_.mutable_nodes(variables_list_)->add_children();
    list_entry->set_node_id(saved);
    list_entry->set_local_name(std::to_string(objects_.nodes(variables_list_).children_size() - 1));
    const std::string key = tfckpt::object_attribute_key(path, "VARIABLE_VALUE");
    auto* attr = ckpt_objects_.mutable_nodes(ckpt)->add_attributes();
    attr->set_name("VARIABLE_VALUE");
    attr->set_full_name(node);
    attr->set_checkpoint_key(key);
    tensorflow::NodeDef* h = meta_.mutable_graph_def()->add_node();
    h->set_name(node);
    h->set_op("VarHandleOp");
    (*h->mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
    auto* s = (*h->mutable_attr())["shape"].mutable_shape();
    for (auto d : shape) s->add_dim()->set_size(d);
    (*h->mutable_attr())["shared_name"].set_s(node);
    (*h->mutable_attr())["container"].set_s("");
    tensorflow::NodeDef* r = meta_.mutable_graph_def()->add_node();
    r->set_name(node + "/Read/ReadVariableOp");
    r->set_op("ReadVariableOp");
    r->add_input(node);
    (*r->mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
    vars_.emplace(node, saved);
    if (!values.empty()) values_.push_back({key, shape, std::move(values)});
  }

  void add_function(tensorflow::FunctionDef f) { *meta_.mutable_graph_def()->mutable_library()->add_function() = std::move(f); }

  /// Signature `name`: one float input `input_key` of `input_shape` (Placeholder
  /// `<name>_<input_key>`), one float output `output_key`, computed by a top-level
  /// StatefulPartitionedCall of `wrapper` (a concrete function taking the input, then the
  /// `captured` variables' resources).
  void signature(const std::string& name, const std::string& input_key, const std::vector<std::int64_t>& input_shape,
                 const std::string& output_key, const std::string& wrapper, const std::vector<std::string>& captured) {
    const std::string placeholder = name + "_" + input_key;
    tensorflow::NodeDef* p = meta_.mutable_graph_def()->add_node();
    p->set_name(placeholder);
    p->set_op("Placeholder");
    (*p->mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
    auto* s = (*p->mutable_attr())["shape"].mutable_shape();
    for (auto d : input_shape) s->add_dim()->set_size(d);
    const std::string call = calls_ == 0 ? "StatefulPartitionedCall" : "StatefulPartitionedCall_" + std::to_string(calls_);
    ++calls_;
    tensorflow::NodeDef* c = meta_.mutable_graph_def()->add_node();
    c->set_name(call);
    c->set_op("StatefulPartitionedCall");
    c->add_input(placeholder);
    (*c->mutable_attr())["Tin"].mutable_list()->add_type(tensorflow::DT_FLOAT);
    auto& bound = (*objects_.mutable_concrete_functions())[wrapper];
    for (const auto& v : captured) {
      c->add_input(v);
      (*c->mutable_attr())["Tin"].mutable_list()->add_type(tensorflow::DT_RESOURCE);
      bound.add_bound_inputs(vars_.at(v));
    }
    (*c->mutable_attr())["Tout"].mutable_list()->add_type(tensorflow::DT_FLOAT);
    (*c->mutable_attr())["f"].mutable_func()->set_name(wrapper);
    tensorflow::SignatureDef& sig = (*meta_.mutable_signature_def())[name];
    sig.set_method_name("tensorflow/serving/predict");
    tensorflow::TensorInfo& in = (*sig.mutable_inputs())[input_key];
    in.set_name(placeholder + ":0");
    in.set_dtype(tensorflow::DT_FLOAT);
    for (auto d : input_shape) in.mutable_tensor_shape()->add_dim()->set_size(d);
    tensorflow::TensorInfo& out = (*sig.mutable_outputs())[output_key];
    out.set_name(call + ":0");
    out.set_dtype(tensorflow::DT_FLOAT);
    const int signatures = saved_child(0, "signatures");
    const int fn = saved_child(signatures, name);
    objects_.mutable_nodes(fn)->mutable_bare_concrete_function()->set_concrete_function_name(wrapper);
  }

  tensorflow::MetaGraphDef& meta_graph() { return meta_; }
  tensorflow::SavedObjectGraph& objects() { return objects_; }
  /// The MetaGraphDef as saved: with the serialized SavedObjectGraph.
  tensorflow::MetaGraphDef saved_meta_graph() const {
    tensorflow::MetaGraphDef out = meta_;
    out.set_object_graph_def(objects_.SerializeAsString());
    return out;
  }

  /// Writes `dir`/saved_model.pb and `dir`/variables/variables.{index,data-00000-of-00001}.
  absl::Status write(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir / "variables");
    tensorflow::SavedModel model;
    model.set_saved_model_schema_version(1);
    *model.add_meta_graphs() = saved_meta_graph();
    TFCKPT_RETURN_IF_ERROR(tfckpt::io::write_file_atomically(dir / "saved_model.pb", model.SerializeAsString()));
    TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(dir / "variables" / "variables"));
    for (const auto& v : values_)
      TFCKPT_RETURN_IF_ERROR(w.add(v.key, tfckpt::dtype::float32, v.shape,
                                   tfckpt::byte_source::from_span(std::as_bytes(std::span(v.values)))));
    const std::string graph = ckpt_objects_.SerializeAsString();
    TFCKPT_RETURN_IF_ERROR(w.add_strings(tfckpt::kObjectGraphKey, {}, {std::string_view(graph)}));
    return w.finish();
  }

 private:
  struct value {
    std::string key;
    std::vector<std::int64_t> shape;
    std::vector<float> values;
  };
  int add_saved_child(int parent, const std::string& name) {
    const int id = objects_.nodes_size();
    objects_.add_nodes();
    auto* c = objects_.mutable_nodes(parent)->add_children();
    c->set_node_id(id);
    c->set_local_name(name);
    return id;
  }
  int saved_child(int parent, const std::string& name) {
    for (const auto& c : objects_.nodes(parent).children())
      if (c.local_name() == name) return c.node_id();
    const int id = add_saved_child(parent, name);
    objects_.mutable_nodes(id)->mutable_user_object()->set_identifier("_generic_user_object");
    return id;
  }
  int ckpt_child(int parent, const std::string& name) {
    for (const auto& c : ckpt_objects_.nodes(parent).children())
      if (c.local_name() == name) return c.node_id();
    const int id = ckpt_objects_.nodes_size();
    ckpt_objects_.add_nodes();
    auto* c = ckpt_objects_.mutable_nodes(parent)->add_children();
    c->set_node_id(id);
    c->set_local_name(name);
    return id;
  }

  tensorflow::MetaGraphDef meta_;
  tensorflow::SavedObjectGraph objects_;
  tensorflow::TrackableObjectGraph ckpt_objects_;
  int variables_list_ = 0;
  int calls_ = 0;
  std::map<std::string, int> vars_;
  std::vector<value> values_;
};

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_GRAPH_BUILDER_HPP_
