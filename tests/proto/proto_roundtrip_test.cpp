// SPDX-License-Identifier: Apache-2.0
// Our .proto files against real TensorFlow-written files: every fixture parses, carries the facts
// recorded in the fixtures' MANIFEST.md, round-trips through deterministic serialization, and
// leaves no unknown fields behind (i.e. our schemas cover everything TensorFlow wrote).
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "tfckpt/proto/attr_value.pb.h"
#include "tfckpt/proto/function.pb.h"
#include "tfckpt/proto/graph.pb.h"
#include "tfckpt/proto/meta_graph.pb.h"
#include "tfckpt/proto/node_def.pb.h"
#include "tfckpt/proto/saved_model.pb.h"
#include "tfckpt/proto/saved_tensor_slice.pb.h"
#include "tfckpt/proto/saver.pb.h"
#include "tfckpt/proto/tensor.pb.h"
#include "tfckpt/proto/trackable_object_graph.pb.h"
#include "tfckpt/proto/variable.pb.h"

namespace proto_roundtrip_test {

namespace {

namespace fs = std::filesystem;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path fixture(const std::string& rel) { return tfckpt_testing::fixtures_dir() / rel; }

std::string serialize_deterministic(const Message& msg) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    EXPECT_TRUE(msg.SerializeToCodedStream(&coded));
  }
  return out;
}

// Appends "path: field numbers" for every message in the tree that holds unknown fields.
void collect_unknown(const Message& msg, const std::string& path, std::vector<std::string>& found) {
  const Reflection* refl = msg.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown = refl->GetUnknownFields(msg);
  if (!unknown.empty()) {
    std::string numbers;
    for (int i = 0; i < unknown.field_count(); ++i) numbers += " " + std::to_string(unknown.field(i).number());
    found.push_back(path + " (" + msg.GetTypeName() + "):" + numbers);
  }
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(msg, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string sub = path + "." + field->name();
    if (field->is_repeated()) {
      const int n = refl->FieldSize(msg, field);
      for (int i = 0; i < n; ++i)
        collect_unknown(refl->GetRepeatedMessage(msg, field, i), sub + "[" + std::to_string(i) + "]", found);
    } else {
      collect_unknown(refl->GetMessage(msg, field), sub, found);
    }
  }
}

void expect_no_unknown_fields(const Message& msg) {
  std::vector<std::string> found;
  collect_unknown(msg, msg.GetDescriptor()->name(), found);
  EXPECT_TRUE(found.empty()) << "unknown fields (first of " << found.size() << "): " << found.front();
}

// Re-serializes `msg` deterministically, parses the bytes into a fresh message and checks that it
// equals `msg`; also checks that deterministic serialization is stable.
void expect_roundtrip(const Message& msg) {
  const std::string once = serialize_deterministic(msg);
  std::unique_ptr<Message> again(msg.New());
  ASSERT_TRUE(again->ParseFromString(once));
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(msg, *again)) << diff;
  EXPECT_EQ(serialize_deterministic(*again), once);
}

template <typename M>
M parse_binary(const fs::path& path) {
  M msg;
  const std::string bytes = read_file(path);
  EXPECT_FALSE(bytes.empty()) << path;
  EXPECT_TRUE(msg.ParseFromString(bytes)) << "cannot parse " << path << " as " << msg.GetTypeName();
  return msg;
}

int count_op(const tensorflow::GraphDef& graph, const std::string& op) {
  return static_cast<int>(std::count_if(graph.node().begin(), graph.node().end(),
                                        [&](const tensorflow::NodeDef& n) { return n.op() == op; }));
}

const tensorflow::NodeDef* find_node(const tensorflow::GraphDef& graph, const std::string& name) {
  for (const auto& n : graph.node())
    if (n.name() == name) return &n;
  return nullptr;
}

std::set<std::string> signature_names(const tensorflow::MetaGraphDef& mg) {
  std::set<std::string> names;
  for (const auto& [name, sig] : mg.signature_def()) names.insert(name);
  return names;
}

// The single element of a DT_STRING scalar stored in a bundle data file (FORMAT.md §3.5):
// varint64 length, 4-byte masked CRC of the length, then the bytes.
std::string string_scalar_payload(const fs::path& data_file, std::size_t offset, std::size_t size) {
  const std::string data = read_file(data_file);
  EXPECT_LE(offset + size, data.size());
  if (offset + size > data.size()) return {};
  const std::string entry = data.substr(offset, size);
  std::uint64_t len = 0;
  std::size_t pos = 0;
  for (int shift = 0; pos < entry.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(entry[pos++]);
    len |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  EXPECT_EQ(pos + 4 + len, entry.size());
  if (pos + 4 + len != entry.size()) return {};
  return entry.substr(pos + 4);
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out += ' ';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wire compatibility with byte sequences quoted in FORMAT.md (no fixtures needed).

TEST(ProtoWire, ScalarFloatConstTensorMatchesTensorFlowBytes) {
  tensorflow::TensorProto t;
  t.set_dtype(tensorflow::DT_FLOAT);
  t.mutable_tensor_shape();
  t.add_float_val(1.0F);
  EXPECT_EQ(hex(serialize_deterministic(t)), "08 01 12 00 2a 04 00 00 80 3f");
}

TEST(ProtoWire, V1SavedSliceDataUsesPackedFloatVal) {
  tensorflow::SavedTensorSlices slices;
  auto* data = slices.mutable_data();
  data->set_name("a");
  data->mutable_slice();
  data->mutable_data()->add_float_val(0.5F);
  EXPECT_EQ(hex(serialize_deterministic(data->data())), "2a 04 00 00 00 3f");

  tensorflow::SavedTensorSlices parsed;
  ASSERT_TRUE(parsed.ParseFromString(serialize_deterministic(slices)));
  ASSERT_TRUE(parsed.has_data());
  EXPECT_EQ(parsed.data().name(), "a");
  EXPECT_TRUE(parsed.data().has_slice());
  ASSERT_EQ(parsed.data().data().float_val_size(), 1);
  EXPECT_EQ(parsed.data().data().float_val(0), 0.5F);
}

TEST(ProtoWire, UnknownRankShapeAndDefaultOneofMembersArePreserved) {
  tensorflow::AttrValue shape;
  shape.mutable_list()->add_shape()->set_unknown_rank(true);
  EXPECT_EQ(hex(serialize_deterministic(shape.list().shape(0))), "18 01");

  tensorflow::AttrValue b;
  b.set_b(false);  // a oneof member at its default value is still on the wire
  tensorflow::AttrValue parsed;
  ASSERT_TRUE(parsed.ParseFromString(serialize_deterministic(b)));
  EXPECT_EQ(parsed.value_case(), tensorflow::AttrValue::kB);
}

TEST(ProtoWire, FullTypeIdKeepsUnnamedValues) {
  tensorflow::FullTypeDef t;
  t.set_type_id(static_cast<tensorflow::FullTypeId>(12345));
  tensorflow::FullTypeDef parsed;
  ASSERT_TRUE(parsed.ParseFromString(serialize_deterministic(t)));
  EXPECT_EQ(static_cast<int>(parsed.type_id()), 12345);
}

TEST(ProtoWire, UnknownFieldCheckFindsFieldsNestedInMaps) {
  tensorflow::AttrValue attr;
  // An AttrValue with field 99 (varint 1), which our schema does not declare.
  ASSERT_TRUE(attr.ParseFromString(std::string("\x98\x06\x01", 3)));
  tensorflow::GraphDef graph;
  (*graph.add_node()->mutable_attr())["x"] = attr;
  std::vector<std::string> found;
  collect_unknown(graph, "GraphDef", found);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_NE(found[0].find(" 99"), std::string::npos) << found[0];
  expect_roundtrip(graph);  // unknown fields survive re-serialization
}

// ---------------------------------------------------------------------------------------------
// Real TensorFlow files.

TEST(ProtoFixtures, SavedModelTf1HalfPlusTwo) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto sm = parse_binary<tensorflow::SavedModel>(fixture("serving_half_plus_two_tf1/00000123/saved_model.pb"));
  EXPECT_EQ(sm.saved_model_schema_version(), 1);
  ASSERT_EQ(sm.meta_graphs_size(), 1);
  const auto& mg = sm.meta_graphs(0);
  ASSERT_EQ(mg.meta_info_def().tags_size(), 1);
  EXPECT_EQ(mg.meta_info_def().tags(0), "serve");
  EXPECT_EQ(mg.meta_info_def().tensorflow_version(), "1.14.0");
  EXPECT_EQ(mg.graph_def().node_size(), 74);
  EXPECT_EQ(count_op(mg.graph_def(), "VariableV2"), 6);
  EXPECT_EQ(mg.saver_def().version(), tensorflow::SaverDef::V2);
  EXPECT_TRUE(mg.saver_def().sharded());
  EXPECT_EQ(signature_names(mg), (std::set<std::string>{"serving_default", "classify_x_to_y", "regress_x_to_y",
                                                         "regress_x_to_y2", "regress_x2_to_y3"}));
  // The string variable that is not in the checkpoint.
  const auto* filename_tensor = find_node(mg.graph_def(), "filename_tensor");
  ASSERT_NE(filename_tensor, nullptr);
  EXPECT_EQ(filename_tensor->op(), "VariableV2");
  EXPECT_EQ(filename_tensor->attr().at("dtype").type(), tensorflow::DT_STRING);
  expect_no_unknown_fields(sm);
  expect_roundtrip(sm);
}

TEST(ProtoFixtures, SavedModelTf2HalfPlusTwo) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto sm = parse_binary<tensorflow::SavedModel>(fixture("serving_half_plus_two_tf2/00000123/saved_model.pb"));
  ASSERT_EQ(sm.meta_graphs_size(), 1);
  const auto& mg = sm.meta_graphs(0);
  EXPECT_EQ(mg.meta_info_def().tensorflow_version(), "2.14.0");
  EXPECT_EQ(mg.graph_def().node_size(), 29);
  EXPECT_EQ(count_op(mg.graph_def(), "VarHandleOp"), 4);
  EXPECT_EQ(mg.object_graph_def().size(), 5955U);
  EXPECT_EQ(mg.saver_def().version(), tensorflow::SaverDef::V2);
  EXPECT_FALSE(mg.saver_def().sharded());
  EXPECT_EQ(signature_names(mg).size(), 7U);
  EXPECT_EQ(signature_names(mg).count("serving_default"), 1U);
  EXPECT_GT(mg.graph_def().library().function_size(), 0);
  expect_no_unknown_fields(sm);
  expect_roundtrip(sm);
}

TEST(ProtoFixtures, SavedModelTf2RustRegression) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto sm = parse_binary<tensorflow::SavedModel>(fixture("rust_regression_savedmodel/saved_model.pb"));
  ASSERT_EQ(sm.meta_graphs_size(), 1);
  const auto& mg = sm.meta_graphs(0);
  EXPECT_EQ(mg.meta_info_def().tensorflow_version(), "2.5.0");
  EXPECT_EQ(mg.graph_def().node_size(), 22);
  EXPECT_EQ(count_op(mg.graph_def(), "VarHandleOp"), 6);
  EXPECT_EQ(mg.object_graph_def().size(), 2434U);
  EXPECT_EQ(signature_names(mg), (std::set<std::string>{"__saved_model_init_op", "b", "train", "w"}));
  expect_no_unknown_fields(sm);
  expect_roundtrip(sm);
}

TEST(ProtoFixtures, SavedModelTf1Tf2OnnxRegression) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto sm = parse_binary<tensorflow::SavedModel>(fixture("tf2onnx_regression/saved_model/saved_model.pb"));
  ASSERT_EQ(sm.meta_graphs_size(), 1);
  const auto& mg = sm.meta_graphs(0);
  EXPECT_EQ(mg.meta_info_def().tensorflow_version(), "1.11.0");
  EXPECT_EQ(mg.graph_def().node_size(), 148);
  EXPECT_EQ(count_op(mg.graph_def(), "VariableV2"), 2);
  EXPECT_TRUE(mg.saver_def().sharded());
  EXPECT_EQ(signature_names(mg), (std::set<std::string>{"serving_default"}));
  expect_no_unknown_fields(sm);
  expect_roundtrip(sm);
}

TEST(ProtoFixtures, FrozenGraphDefMnistSoftmax) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto graph = parse_binary<tensorflow::GraphDef>(fixture("mnist_softmax_v1_frozen/model/frozen_model.pb"));
  EXPECT_EQ(graph.node_size(), 8);
  EXPECT_FALSE(graph.has_versions());
  EXPECT_EQ(count_op(graph, "Const"), 2);
  EXPECT_EQ(count_op(graph, "Identity"), 3);
  const auto* w = find_node(graph, "Variable");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->op(), "Const");
  const auto& value = w->attr().at("value").tensor();
  EXPECT_EQ(value.dtype(), tensorflow::DT_FLOAT);
  ASSERT_EQ(value.tensor_shape().dim_size(), 2);
  EXPECT_EQ(value.tensor_shape().dim(0).size(), 784);
  EXPECT_EQ(value.tensor_shape().dim(1).size(), 10);
  EXPECT_EQ(value.tensor_content().size(), 784U * 10U * 4U);
  expect_no_unknown_fields(graph);
  expect_roundtrip(graph);
}

TEST(ProtoFixtures, GraphDefMnistSoftmaxHasVersions) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto graph = parse_binary<tensorflow::GraphDef>(fixture("mnist_softmax_v1_frozen/model/graph.pb"));
  EXPECT_EQ(graph.node_size(), 167);
  ASSERT_TRUE(graph.has_versions());
  EXPECT_EQ(graph.versions().producer(), 26);
  EXPECT_EQ(count_op(graph, "Const"), 46);
  expect_no_unknown_fields(graph);
  expect_roundtrip(graph);
}

TEST(ProtoFixtures, FrozenGraphDefsUseTypedValuesForOneElementTensors) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto tflearn = parse_binary<tensorflow::GraphDef>(fixture("tflearn_and_bool_frozen/frozen_model.pb"));
  EXPECT_EQ(tflearn.node_size(), 22);
  EXPECT_FALSE(tflearn.has_versions());
  const auto* b = find_node(tflearn, "output/b");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->attr().at("value").tensor().tensor_content().empty());
  EXPECT_EQ(b->attr().at("value").tensor().float_val_size(), 1);
  expect_no_unknown_fields(tflearn);
  expect_roundtrip(tflearn);

  const auto onnx = parse_binary<tensorflow::GraphDef>(fixture("tf2onnx_regression/graphdef/frozen.pb"));
  EXPECT_EQ(onnx.node_size(), 8);
  for (const char* name : {"W", "b"}) {
    const auto* node = find_node(onnx, name);
    ASSERT_NE(node, nullptr) << name;
    EXPECT_EQ(node->op(), "Const");
    EXPECT_EQ(node->attr().at("value").tensor().float_val_size(), 1) << name;
  }
  expect_no_unknown_fields(onnx);
  expect_roundtrip(onnx);
}

TEST(ProtoFixtures, TextGraphDefEstimator) {
  TFCKPT_REQUIRE_FIXTURES();
  const std::string text = read_file(fixture("estimator_proximal_adagrad/graph.pbtxt"));
  tensorflow::GraphDef graph;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &graph));
  EXPECT_EQ(graph.node_size(), 1365);
  EXPECT_EQ(count_op(graph, "VariableV2"), 23);
  EXPECT_EQ(graph.versions().producer(), 27);
  expect_roundtrip(graph);

  // The Estimator also wrote the same graph into its .meta.
  const auto mg = parse_binary<tensorflow::MetaGraphDef>(fixture("estimator_proximal_adagrad/model.ckpt-300.meta"));
  EXPECT_EQ(mg.graph_def().node_size(), 1365);
  EXPECT_EQ(mg.saver_def().version(), tensorflow::SaverDef::V2);
  EXPECT_TRUE(mg.saver_def().sharded());
  EXPECT_EQ(mg.saver_def().max_to_keep(), 300);
  EXPECT_EQ(mg.meta_info_def().tensorflow_version(), "1.13.2");
  expect_no_unknown_fields(mg);
  expect_roundtrip(mg);
}

TEST(ProtoFixtures, MetaGraphDefMnistFc2Adam) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto mg = parse_binary<tensorflow::MetaGraphDef>(fixture("mnist_fc2_adam/fc2.ckpt.meta"));
  EXPECT_EQ(mg.meta_info_def().tensorflow_version(), "1.5.0");
  EXPECT_EQ(mg.graph_def().node_size(), 406);
  EXPECT_EQ(count_op(mg.graph_def(), "VariableV2"), 21);
  EXPECT_GT(mg.meta_info_def().stripped_op_list().op_size(), 0);
  const auto& saver = mg.saver_def();
  EXPECT_EQ(saver.version(), tensorflow::SaverDef::V2);
  EXPECT_FALSE(saver.sharded());
  EXPECT_EQ(saver.restore_op_name(), "save/restore_all");
  EXPECT_EQ(saver.filename_tensor_name(), "save/Const:0");
  EXPECT_EQ(saver.save_tensor_name(), "save/control_dependency:0");
  EXPECT_EQ(saver.max_to_keep(), 5);
  EXPECT_EQ(saver.keep_checkpoint_every_n_hours(), 10000.0F);

  std::set<std::string> collections;
  for (const auto& [name, def] : mg.collection_def()) collections.insert(name);
  EXPECT_EQ(collections, (std::set<std::string>{"losses", "trainable_variables", "train_op", "variables"}));
  EXPECT_EQ(mg.collection_def().at("train_op").kind_case(), tensorflow::CollectionDef::kNodeList);

  // Every "variables" entry is a serialized VariableDef naming a graph variable.
  const auto& vars = mg.collection_def().at("variables");
  ASSERT_EQ(vars.kind_case(), tensorflow::CollectionDef::kBytesList);
  EXPECT_EQ(vars.bytes_list().value_size(), 21);
  std::set<std::string> names;
  for (const std::string& bytes : vars.bytes_list().value()) {
    tensorflow::VariableDef var;
    ASSERT_TRUE(var.ParseFromString(bytes));
    expect_no_unknown_fields(var);
    EXPECT_FALSE(var.is_resource());
    names.insert(var.variable_name());
  }
  for (const char* name : {"h1/w:0", "h1/b:0", "h2/w:0", "output/w:0", "output/b:0", "global_step:0"})
    EXPECT_EQ(names.count(name), 1U) << name;
  expect_no_unknown_fields(mg);
  expect_roundtrip(mg);
}

TEST(ProtoFixtures, OldMetaGraphDefsParse) {
  TFCKPT_REQUIRE_FIXTURES();
  struct Case {
    const char* path;
    int nodes;
    tensorflow::SaverDef::CheckpointFormatVersion version;
    const char* tensorflow_version;  // "" where the writer did not record it
  };
  const Case cases[] = {
      {"serving_session_bundle_v1/half_plus_two/00000123/export.meta", 57, tensorflow::SaverDef::V1, "0.12.head"},
      {"serving_session_bundle_v1/bad_half_plus_two/00000123/export.meta", 26, tensorflow::SaverDef::LEGACY, ""},
      {"nxt_v1_adam/model.ckpt.meta", 216, tensorflow::SaverDef::V1, ""},
      {"mnist_softmax_v1_frozen/model/model.ckpt.meta", 167, tensorflow::SaverDef::V1, "1.8.0"},
      {"mnist_ema/MNIST_model/mnist_model-30000.meta", 287, tensorflow::SaverDef::V2, "1.13.1"},
      {"tflearn_and_bool_frozen/and.tflearn.meta", 314, tensorflow::SaverDef::V2, "1.6.0"},
      {"tf2onnx_regression/checkpoint/model.meta", 128, tensorflow::SaverDef::V2, "1.11.0"},
      {"mnist_fc2_adam/cnn.ckpt.meta", 563, tensorflow::SaverDef::V2, "1.5.0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    const auto mg = parse_binary<tensorflow::MetaGraphDef>(fixture(c.path));
    EXPECT_EQ(mg.graph_def().node_size(), c.nodes);
    EXPECT_EQ(mg.saver_def().version(), c.version);
    EXPECT_EQ(mg.meta_info_def().tensorflow_version(), c.tensorflow_version);
    EXPECT_GT(mg.meta_info_def().stripped_op_list().op_size(), 0);
    expect_no_unknown_fields(mg);
    expect_roundtrip(mg);
  }
}

TEST(ProtoFixtures, TrackableObjectGraphsFromCheckpoints) {
  TFCKPT_REQUIRE_FIXTURES();
  struct Case {
    const char* data_file;
    std::size_t offset;
    std::size_t size;
    int objects;
    int attributes;
    int slot_refs;
  };
  // Offsets and sizes of _CHECKPOINTABLE_OBJECT_GRAPH from the fixtures' index files (MANIFEST.md).
  const Case cases[] = {
      {"serving_half_plus_two_tf2/00000123/variables/variables.data-00000-of-00001", 12, 619, 24, 3, -1},
      {"iris_keras_sharded_tf2/model.ckpt.data-00000-of-00002", 0, 2091, 22, 17, 8},
      {"a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-9.data-00000-of-00001", 1956, 8471, 80, 66, 36},
      {"rust_regression_savedmodel/variables/variables.data-00000-of-00001", 28, 537, -1, -1, -1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.data_file);
    const std::string payload = string_scalar_payload(fixture(c.data_file), c.offset, c.size);
    tensorflow::TrackableObjectGraph graph;
    ASSERT_TRUE(graph.ParseFromString(payload));
    ASSERT_GT(graph.nodes_size(), 0);
    int attributes = 0;
    int slot_refs = 0;
    for (const auto& node : graph.nodes()) {
      attributes += node.attributes_size();
      slot_refs += node.slot_variables_size();
      for (const auto& child : node.children()) {
        EXPECT_GE(child.node_id(), 0);
        EXPECT_LT(child.node_id(), graph.nodes_size());
      }
    }
    if (c.objects >= 0) {
      EXPECT_EQ(graph.nodes_size(), c.objects);
    }
    if (c.attributes >= 0) {
      EXPECT_EQ(attributes, c.attributes);
    }
    if (c.slot_refs >= 0) {
      EXPECT_EQ(slot_refs, c.slot_refs);
    }
    expect_no_unknown_fields(graph);
    expect_roundtrip(graph);
  }
}

TEST(ProtoFixtures, TrackableObjectGraphRustRegressionNames) {
  TFCKPT_REQUIRE_FIXTURES();
  const std::string payload =
      string_scalar_payload(fixture("rust_regression_savedmodel/variables/variables.data-00000-of-00001"), 28, 537);
  tensorflow::TrackableObjectGraph graph;
  ASSERT_TRUE(graph.ParseFromString(payload));
  ASSERT_GT(graph.nodes_size(), 0);
  std::set<std::string> keys;
  for (const auto& node : graph.nodes())
    for (const auto& attr : node.attributes()) keys.insert(attr.checkpoint_key());
  EXPECT_EQ(keys, (std::set<std::string>{"w/.ATTRIBUTES/VARIABLE_VALUE", "b/.ATTRIBUTES/VARIABLE_VALUE",
                                         "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE",
                                         "optimizer/decay/.ATTRIBUTES/VARIABLE_VALUE",
                                         "optimizer/learning_rate/.ATTRIBUTES/VARIABLE_VALUE",
                                         "optimizer/momentum/.ATTRIBUTES/VARIABLE_VALUE"}));
  std::set<std::string> root_children;
  for (const auto& child : graph.nodes(0).children()) root_children.insert(child.local_name());
  for (const char* name : {"w", "b", "optimizer"}) EXPECT_EQ(root_children.count(name), 1U) << name;
}

}  // namespace

}  // namespace proto_roundtrip_test
