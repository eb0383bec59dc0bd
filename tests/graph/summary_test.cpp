// SPDX-License-Identifier: Apache-2.0
// Summaries of graphs before freezing: loading any graph form, signatures, inputs, likely outputs,
// variables against a checkpoint, op counts; on built graphs and on the fixtures' SavedModels.
#include "tfckpt/graph/summary.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "testing/bundle_builder.hpp"
#include "testing/graph_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"

namespace summary_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::tfckpt::graph::variable_status;
using ::tfckpt_testing::graph_builder;
using ::tfckpt_testing::StatusIs;

// A small model: x -> MatMul(w) -> BiasAdd(b) -> softmax, a second head `aux`, a saver, an init op
// and a summary; a `serving_default` signature on `probs`.
graph_builder small_model() {
  graph_builder g;
  g.placeholder("x", {-1, 3});
  const std::string w = g.variable("w", {3, 2});
  const std::string b = g.variable("b", {2});
  g.variable("step", {});
  g.op("logits/MatMul", "MatMul", {"x", w});
  g.op("logits", "BiasAdd", {"logits/MatMul", b});
  g.op("probs", "Softmax", {"logits"});
  g.op("aux", "Relu", {"logits"});
  g.node("init", "NoOp", {"^w/Assign", "^b/Assign", "^step/Assign"});
  g.node("loss_summary", "ScalarSummary", {"logits"});
  g.saver();
  return g;
}

tensorflow::MetaGraphDef with_signature(tensorflow::MetaGraphDef meta) {
  tensorflow::SignatureDef& sig = (*meta.mutable_signature_def())["serving_default"];
  sig.set_method_name("tensorflow/serving/predict");
  tensorflow::TensorInfo& in = (*sig.mutable_inputs())["x"];
  in.set_name("x:0");
  in.set_dtype(tensorflow::DT_FLOAT);
  in.mutable_tensor_shape()->add_dim()->set_size(-1);
  in.mutable_tensor_shape()->add_dim()->set_size(3);
  tensorflow::TensorInfo& out = (*sig.mutable_outputs())["probabilities"];
  out.set_name("probs:0");
  out.set_dtype(tensorflow::DT_FLOAT);
  out.mutable_tensor_shape()->set_unknown_rank(true);
  (*sig.mutable_outputs())["logits"].set_name("logits:0");
  return meta;
}

TEST(GraphSummary, BuiltGraphInputsOutputsVariablesAndOps) {
  tfckpt_testing::scratch_dir dir;
  graph_builder g = small_model();
  tfckpt_testing::write_bundle(dir / "ckpt", {tfckpt_testing::float_tensor("w", {3, 2}, {1, 2, 3, 4, 5, 6}),
                                              tfckpt_testing::float_tensor("b", {3}, {1, 2, 3})});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "ckpt"));
  tfckpt::graph::model_graph model;
  *model.meta.mutable_graph_def() = g.graph();
  const auto s = tfckpt::graph::summarize_graph(model, &ckpt);
  EXPECT_EQ(s.kind, tfckpt::graph::model_kind::graph_def);
  EXPECT_EQ(s.nodes, static_cast<std::size_t>(g.graph().node_size()));
  EXPECT_THAT(s.signatures, IsEmpty());
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].key, "x");
  EXPECT_EQ(s.inputs[0].tensor, "x:0");
  EXPECT_EQ(s.inputs[0].dtype, tfckpt::dtype::float32);
  EXPECT_EQ(s.inputs[0].shape, (std::vector<std::int64_t>{-1, 3}));
  // Not init, the summary, the saver, nor the unread variable `step` and its read.
  EXPECT_THAT(s.likely_outputs, ElementsAre("probs", "aux"));
  ASSERT_EQ(s.variables.size(), 3u);
  EXPECT_EQ(s.variables[0].variable.node, "w");
  EXPECT_EQ(s.variables[0].status, variable_status::held);
  EXPECT_EQ(s.variables[1].status, variable_status::mismatched);  // b is [3] in the checkpoint
  EXPECT_EQ(s.variables[1].checkpoint_shape, std::vector<std::int64_t>{3});
  EXPECT_EQ(s.variables[2].status, variable_status::missing);
  EXPECT_EQ(s.checkpoint, ckpt.prefix());
  ASSERT_FALSE(s.ops.empty());
  EXPECT_EQ(s.ops[0].op, "Const");  // 3 initializers + the saver's 3 constants
  EXPECT_EQ(s.ops[0].count, 6u);
  std::size_t total = 0;
  for (const auto& o : s.ops) total += o.count;
  EXPECT_EQ(total, s.nodes);
  EXPECT_THAT(s.notes, IsEmpty());
}

TEST(GraphSummary, WithoutACheckpointVariablesAreUnchecked) {
  tfckpt::graph::model_graph model;
  *model.meta.mutable_graph_def() = small_model().graph();
  const auto s = tfckpt::graph::summarize_graph(model);
  ASSERT_EQ(s.variables.size(), 3u);
  for (const auto& v : s.variables) EXPECT_EQ(v.status, variable_status::unchecked);
  EXPECT_TRUE(s.checkpoint.empty());
}

TEST(GraphSummary, PartitionedPartsAreCheckedAsTheirFullTensor) {
  tfckpt_testing::scratch_dir dir;
  graph_builder g = tfckpt_testing::estimator_dnn_graph(4, 3, 2);
  tfckpt_testing::write_bundle(dir / "ckpt", {tfckpt_testing::float_tensor("dnn/logits/bias", {2}, {1, 2})});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "ckpt"));
  tfckpt::graph::model_graph model;
  model.meta = g.meta_graph();
  ASSERT_OK_AND_ASSIGN(model.variable_defs, tfckpt::graph::variable_defs(model.meta));
  const auto s = tfckpt::graph::summarize_graph(model, &ckpt);
  ASSERT_EQ(s.variables.size(), 4u);
  EXPECT_EQ(s.variables[3].variable.node, "dnn/logits/bias/part_0");
  EXPECT_EQ(s.variables[3].variable.key, "dnn/logits/bias");
  EXPECT_EQ(s.variables[3].status, variable_status::held);
  EXPECT_EQ(s.variables[0].status, variable_status::missing);
  EXPECT_THAT(s.likely_outputs, ElementsAre("dnn/logits/BiasAdd"));
}

TEST(GraphSummary, LoadsEveryFormAndReadsSignatures) {
  tfckpt_testing::scratch_dir dir;
  graph_builder g = small_model();
  const tensorflow::MetaGraphDef meta = with_signature(g.meta_graph());
  { std::ofstream(dir / "model.meta", std::ios::binary) << meta.SerializeAsString(); }
  { std::ofstream(dir / "graph.pb", std::ios::binary) << g.graph().SerializeAsString(); }
  fs::create_directories(dir / "export");
  {
    tensorflow::SavedModel sm;
    *sm.add_meta_graphs() = meta;
    std::ofstream(dir / "export" / "saved_model.pb", std::ios::binary) << sm.SerializeAsString();
  }
  ASSERT_OK_AND_ASSIGN(const auto from_meta, tfckpt::graph::load_model_graph(dir / "model.meta"));
  EXPECT_EQ(from_meta.kind, tfckpt::graph::model_kind::meta_graph);
  EXPECT_EQ(from_meta.variable_defs.size(), 3u);
  ASSERT_OK_AND_ASSIGN(const auto from_pb, tfckpt::graph::load_model_graph(dir / "graph.pb"));
  EXPECT_EQ(from_pb.kind, tfckpt::graph::model_kind::graph_def);
  EXPECT_EQ(from_pb.graph().node_size(), g.graph().node_size());
  ASSERT_OK_AND_ASSIGN(const auto from_dir, tfckpt::graph::load_model_graph(dir / "export"));
  EXPECT_EQ(from_dir.kind, tfckpt::graph::model_kind::saved_model);
  EXPECT_EQ(from_dir.variables_prefix, dir / "export" / "variables" / "variables");
  EXPECT_THAT(tfckpt::graph::load_model_graph(dir / "export", {"train"}).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no MetaGraphDef tagged {train}; there are: {serve}")));

  const auto s = tfckpt::graph::summarize_graph(from_dir);
  EXPECT_THAT(s.tags, ElementsAre("serve"));
  ASSERT_EQ(s.signatures.size(), 1u);
  EXPECT_EQ(s.signatures[0].key, "serving_default");
  EXPECT_EQ(s.signatures[0].method, "tensorflow/serving/predict");
  ASSERT_EQ(s.signatures[0].outputs.size(), 2u);
  EXPECT_EQ(s.signatures[0].outputs[0].key, "logits");  // by key
  EXPECT_EQ(s.signatures[0].outputs[1].tensor, "probs:0");
  EXPECT_TRUE(s.signatures[0].outputs[1].unknown_rank);
  EXPECT_EQ(s.signatures[0].inputs[0].shape, (std::vector<std::int64_t>{-1, 3}));

  ASSERT_OK_AND_ASSIGN(const auto outputs, tfckpt::graph::signature_outputs(from_dir, "serving_default"));
  EXPECT_THAT(outputs, ElementsAre("logits", "probs"));
  EXPECT_THAT(tfckpt::graph::signature_outputs(from_dir, "predict").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no signature 'predict'; there are: serving_default")));
}

TEST(GraphSummary, HalfPlusTwoTf1Fixture) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = tfckpt_testing::fixtures_dir() / "serving_half_plus_two_tf1" / "00000123";
  ASSERT_OK_AND_ASSIGN(const auto model, tfckpt::graph::load_model_graph(dir));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(model.variables_prefix));
  const auto s = tfckpt::graph::summarize_graph(model, &ckpt);
  std::vector<std::string> keys;
  for (const auto& sig : s.signatures) keys.push_back(sig.key);
  EXPECT_THAT(keys, ElementsAre("classify_x_to_y", "regress_x2_to_y3", "regress_x_to_y", "regress_x_to_y2", "serving_default"));
  EXPECT_THAT(s.likely_outputs, ElementsAre("y", "y2", "y3"));
  std::vector<std::string> held, missing;
  for (const auto& v : s.variables) (v.status == variable_status::held ? held : missing).push_back(v.variable.node);
  EXPECT_THAT(held, ElementsAre("a", "b", "c", "a2", "c2"));
  EXPECT_THAT(missing, ElementsAre("filename_tensor"));  // a string variable the saver does not save
  ASSERT_OK_AND_ASSIGN(const auto outputs, tfckpt::graph::signature_outputs(model, "regress_x2_to_y3"));
  EXPECT_THAT(outputs, ElementsAre("y3"));
}

TEST(GraphSummary, Tf2FixturesSayTheirVariablesLiveInTheObjectGraph) {
  TFCKPT_REQUIRE_FIXTURES();
  for (const char* d : {"serving_half_plus_two_tf2/00000123", "rust_regression_savedmodel"}) {
    SCOPED_TRACE(d);
    ASSERT_OK_AND_ASSIGN(const auto model, tfckpt::graph::load_model_graph(tfckpt_testing::fixtures_dir() / d));
    EXPECT_TRUE(model.object_based());
    const auto s = tfckpt::graph::summarize_graph(model);
    EXPECT_FALSE(s.signatures.empty());
    EXPECT_GT(s.functions, 0u);
    ASSERT_EQ(s.notes.size(), 1u);
    EXPECT_THAT(s.notes[0], HasSubstr("restored through the object graph"));
  }
}

}  // namespace

}  // namespace summary_test
