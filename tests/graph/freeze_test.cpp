// SPDX-License-Identifier: Apache-2.0
// Freezing: against TensorFlow's own frozen graph of a fixture (node by node, Const values bit for
// bit), on the fixtures' SavedModels and meta graphs, and on built graphs for every rule and error.
#include "tfckpt/graph/freeze.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "testing/bundle_builder.hpp"
#include "testing/graph_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/graph/graph_io.hpp"

namespace freeze_test {

namespace {
namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tfckpt_testing::graph_builder;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::StatusIs;

tensorflow::GraphDef read_graph(const fs::path& p) {
  auto g = tfckpt::graph::load_graph_def(p, tfckpt::graph::graph_format::binary);
  EXPECT_OK(g.status());
  return g.ok() ? *g : tensorflow::GraphDef();
}

std::vector<std::string> node_names(const tensorflow::GraphDef& g) {
  std::vector<std::string> out;
  for (const auto& n : g.node()) out.push_back(n.name());
  return out;
}

const tensorflow::NodeDef* find_node(const tensorflow::GraphDef& g, const std::string& name) {
  for (const auto& n : g.node())
    if (n.name() == name) return &n;
  return nullptr;
}

std::vector<float> floats_of(const tensorflow::TensorProto& t) {
  if (!t.tensor_content().empty()) {
    std::vector<float> v(t.tensor_content().size() / 4);
    std::memcpy(v.data(), t.tensor_content().data(), v.size() * 4);
    return v;
  }
  return {t.float_val().begin(), t.float_val().end()};
}

// TensorFlow's own frozen graphs against ours from the same graph and checkpoint, node by node: the
// same names in the same order, ops, inputs, attributes, and Const values bit for bit.
void expect_same_graph(const tensorflow::GraphDef& ours, const tensorflow::GraphDef& theirs) {
  ASSERT_EQ(node_names(ours), node_names(theirs));
  EXPECT_FALSE(ours.has_versions());
  for (int i = 0; i < theirs.node_size(); ++i) {
    SCOPED_TRACE(theirs.node(i).name());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ours.node(i), theirs.node(i)))
        << ours.node(i).DebugString() << "\nvs TensorFlow's\n" << theirs.node(i).DebugString();
  }
}

int count_consts(const tensorflow::GraphDef& g) {
  int n = 0;
  for (const auto& node : g.node()) n += node.op() == "Const";
  return n;
}

// TFLearn: convert_variables_to_constants(..., ['output/Sigmoid']) on the .meta's graph.
TEST(FreezeFixtures, TflearnMatchesTensorFlowsFrozenGraphNodeByNode) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = tfckpt_testing::fixtures_dir() / "tflearn_and_bool_frozen";
  ASSERT_OK_AND_ASSIGN(const auto meta, tfckpt::graph::load_meta_graph(dir / "and.tflearn.meta"));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "and.tflearn"));
  scratch_dir out;
  ASSERT_OK(tfckpt::graph::freeze(meta.graph_def(), ckpt, out / "frozen.pb",
                                  {.output_node_names = {"output/Sigmoid"}, .saver_def = meta.saver_def()}));
  const tensorflow::GraphDef theirs = read_graph(dir / "frozen_model.pb");
  expect_same_graph(read_graph(out / "frozen.pb"), theirs);
  EXPECT_EQ(count_consts(theirs), 6);
}

// tf2onnx's regression model (TF 1.11): frozen from its .meta + checkpoint, and from its SavedModel.
TEST(FreezeFixtures, Tf2onnxRegressionMatchesFromMetaGraphAndFromSavedModel) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = tfckpt_testing::fixtures_dir() / "tf2onnx_regression";
  const tensorflow::GraphDef theirs = read_graph(dir / "graphdef/frozen.pb");
  EXPECT_EQ(count_consts(theirs), 2);
  scratch_dir out;
  ASSERT_OK_AND_ASSIGN(const auto meta, tfckpt::graph::load_meta_graph(dir / "checkpoint/model.meta"));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "checkpoint"));  // a directory with a state file
  ASSERT_OK(tfckpt::graph::freeze(meta.graph_def(), ckpt, out / "from_meta.pb",
                                  {.output_node_names = {"pred"}, .saver_def = meta.saver_def()}));
  expect_same_graph(read_graph(out / "from_meta.pb"), theirs);
  ASSERT_OK_AND_ASSIGN(const auto model, tfckpt::graph::load_saved_model(dir / "saved_model"));
  ASSERT_OK_AND_ASSIGN(const auto variables, tfckpt::open(model.variables_prefix));
  ASSERT_OK(tfckpt::graph::freeze(model.meta_graph.graph_def(), variables, out / "from_saved_model.pb",
                                  {.output_node_names = {"pred"}, .saver_def = model.meta_graph.saver_def()}));
  expect_same_graph(read_graph(out / "from_saved_model.pb"), theirs);
}

// TF1 SavedModel half_plus_two: y = a * x + b with a = 0.5, b = 2.
TEST(FreezeFixtures, HalfPlusTwoSavedModel) {
  TFCKPT_REQUIRE_FIXTURES();
  ASSERT_OK_AND_ASSIGN(const auto model,
                       tfckpt::graph::load_saved_model(tfckpt_testing::fixtures_dir() / "serving_half_plus_two_tf1/00000123"));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(model.variables_prefix));
  ASSERT_OK_AND_ASSIGN(const auto plan, tfckpt::graph::plan_freeze(model.meta_graph.graph_def(), ckpt,
                                                                   {.output_node_names = {"y"}, .saver_def = model.meta_graph.saver_def()}));
  std::vector<std::string> frozen;
  for (const auto& v : plan.variables) frozen.push_back(v.node + "=" + v.key);
  EXPECT_THAT(frozen, ElementsAre("a=a", "b=b"));
  scratch_dir out;
  ASSERT_OK(tfckpt::graph::write_graph_def(plan.nodes, plan.tail, out / "frozen.pb"));
  const tensorflow::GraphDef g = read_graph(out / "frozen.pb");
  for (const auto& n : g.node()) {
    EXPECT_NE(n.op(), "VariableV2") << n.name();
    EXPECT_NE(n.op(), "Assign") << n.name();
    EXPECT_NE(n.name().rfind("save/", 0), 0u) << n.name();
  }
  EXPECT_THAT(floats_of(find_node(g, "a")->attr().at("value").tensor()), ElementsAre(0.5f));
  EXPECT_THAT(floats_of(find_node(g, "b")->attr().at("value").tensor()), ElementsAre(2.0f));
  EXPECT_EQ(g.node_size(), static_cast<int>(plan.nodes.size()));
}

TEST(FreezeFixtures, SavedModelTagsMustMatch) {
  TFCKPT_REQUIRE_FIXTURES();
  EXPECT_THAT(tfckpt::graph::load_saved_model(tfckpt_testing::fixtures_dir() / "serving_half_plus_two_tf1/00000123", {"train"}).status(),
              StatusIs(absl::StatusCode::kNotFound, AllOf(HasSubstr("{train}"), HasSubstr("{serve}"))));
}

// Every .meta with its checkpoint among the fixtures freezes to a graph with no variables left, when
// asked for the nodes that read them.
TEST(FreezeFixtures, EveryMetaGraphWithItsCheckpointFreezes) {
  TFCKPT_REQUIRE_FIXTURES();
  struct pair_t {
    const char* meta;
    const char* ckpt;
  };
  int frozen = 0;
  for (const pair_t& p : {pair_t{"mnist_ema/MNIST_model/mnist_model-30000.meta", "mnist_ema/MNIST_model/mnist_model-30000"},
                          pair_t{"mnist_fc2_adam/fc2.ckpt.meta", "mnist_fc2_adam/fc2.ckpt"},
                          pair_t{"estimator_proximal_adagrad/model.ckpt-300.meta", "estimator_proximal_adagrad/model.ckpt-300"},
                          pair_t{"tflearn_and_bool_frozen/and.tflearn.meta", "tflearn_and_bool_frozen/and.tflearn"},
                          pair_t{"tf2onnx_regression/checkpoint/model.meta", "tf2onnx_regression/checkpoint/model"}}) {
    SCOPED_TRACE(p.meta);
    ASSERT_OK_AND_ASSIGN(const auto meta, tfckpt::graph::load_meta_graph(tfckpt_testing::fixtures_dir() / p.meta));
    ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(tfckpt_testing::fixtures_dir() / p.ckpt));
    // Outputs: every variable the checkpoint holds, so that all of them are frozen.
    const std::vector<std::string> outputs = tfckpt_testing::variables_in(meta.graph_def(), ckpt);
    ASSERT_FALSE(outputs.empty());
    ASSERT_OK_AND_ASSIGN(const auto plan, tfckpt::graph::plan_freeze(meta.graph_def(), ckpt,
                                                                     {.output_node_names = outputs, .saver_def = meta.saver_def()}));
    EXPECT_EQ(plan.variables.size(), outputs.size());
    scratch_dir out;
    ASSERT_OK(tfckpt::graph::write_graph_def(plan.nodes, plan.tail, out / "frozen.pb"));
    const tensorflow::GraphDef g = read_graph(out / "frozen.pb");
    for (const auto& v : plan.variables) {
      const tensorflow::NodeDef* n = find_node(g, v.node);
      ASSERT_NE(n, nullptr);
      EXPECT_EQ(n->op(), "Const");
      ASSERT_OK_AND_ASSIGN(const auto bytes, ckpt.find(v.key)->bytes());
      const auto& t = n->attr().at("value").tensor();
      if (!t.tensor_content().empty()) {
        EXPECT_EQ(t.tensor_content(), std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())) << v.node;
      }
    }
    ++frozen;
  }
  EXPECT_EQ(frozen, 5);
}

// A built TF1 graph: x -> MatMul(w) -> BiasAdd(b) -> y, with initializers and a saver.
class FreezeBuilt : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string x = "x";
    g_.placeholder(x, {-1, 3});
    const std::string w = g_.variable("w", {3, 2});
    const std::string b = g_.variable("b", {2});
    g_.op("mm", "MatMul", {x, w});
    g_.op("y", "BiasAdd", {"mm", b}).set_device("/device:GPU:0");
    g_.saver();
    tfckpt_testing::write_bundle(dir_ / "ckpt", {tfckpt_testing::float_tensor("w", {3, 2}, {1, 2, 3, 4, 5, 6}),
                                                 tfckpt_testing::float_tensor("b", {2}, {0.5f, -0.5f}),
                                                 tfckpt_testing::float_tensor("global_step", {}, {7})});
    auto c = tfckpt::open(dir_ / "ckpt");
    ASSERT_OK(c.status());
    ckpt_ = std::make_unique<tfckpt::checkpoint>(*std::move(c));
  }
  absl::StatusOr<tfckpt::graph::freeze_plan> plan(tfckpt::graph::freeze_options o) {
    return tfckpt::graph::plan_freeze(g_.graph(), *ckpt_, o);
  }
  static std::vector<std::string> names(const tfckpt::graph::freeze_plan& p) {
    std::vector<std::string> out;
    for (const auto& n : p.nodes)
      out.push_back(std::holds_alternative<tensorflow::NodeDef>(n) ? std::get<tensorflow::NodeDef>(n).name()
                                                                   : "const:" + std::get<tfckpt::graph::const_node>(n).name);
    return out;
  }
  graph_builder g_;
  scratch_dir dir_;
  std::unique_ptr<tfckpt::checkpoint> ckpt_;
};

TEST_F(FreezeBuilt, PrunesToTheOutputAndReplacesVariablesInPlace) {
  ASSERT_OK_AND_ASSIGN(const auto p, plan({.output_node_names = {"y:0"}}));
  EXPECT_THAT(names(p), ElementsAre("x", "const:w", "w/read", "const:b", "b/read", "mm", "y"));
  EXPECT_EQ(p.pruned_nodes, p.input_nodes - 7);
  ASSERT_OK(tfckpt::graph::write_graph_def(p.nodes, p.tail, dir_ / "f.pb"));
  const auto g = read_graph(dir_ / "f.pb");
  EXPECT_EQ(find_node(g, "y")->device(), "");  // clear_devices by default
  EXPECT_THAT(floats_of(find_node(g, "w")->attr().at("value").tensor()), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_EQ(find_node(g, "w")->attr().size(), 2u);  // dtype and value only
}

TEST_F(FreezeBuilt, KeepsDevicesWhenAskedAndFollowsControlInputs) {
  g_.node("z", "Identity", {"x", "^b/read"});
  ASSERT_OK_AND_ASSIGN(const auto p, plan({.output_node_names = {"y", "z"}, .clear_devices = false}));
  const auto& y = std::get<tensorflow::NodeDef>(p.nodes[6]);
  EXPECT_EQ(y.name(), "y");
  EXPECT_EQ(y.device(), "/device:GPU:0");
  EXPECT_THAT(names(p), testing::Contains("z"));
}

TEST_F(FreezeBuilt, BlacklistedVariablesStayVariables) {
  ASSERT_OK_AND_ASSIGN(const auto p, plan({.output_node_names = {"y"}, .variable_names_blacklist = {"b", "nope"}}));
  EXPECT_THAT(p.kept_variables, ElementsAre("b"));
  EXPECT_THAT(p.unmatched_listed, ElementsAre("nope"));
  EXPECT_THAT(names(p), ElementsAre("x", "const:w", "w/read", "b", "b/read", "mm", "y"));
  ASSERT_OK_AND_ASSIGN(const auto q, plan({.output_node_names = {"y"}, .variable_names_whitelist = {"b"}}));
  EXPECT_THAT(q.kept_variables, ElementsAre("w"));
}

TEST_F(FreezeBuilt, KeysComeFromTheSaver) {
  // The saver writes w under another name: the checkpoint has "renamed_w", not "w".
  graph_builder g;
  g.placeholder("x", {-1, 3});
  g.op("y", "MatMul", {"x", g.variable("w", {3, 2})});
  g.saver({"renamed_w"});
  tfckpt_testing::write_bundle(dir_ / "renamed", {tfckpt_testing::float_tensor("renamed_w", {3, 2}, {6, 5, 4, 3, 2, 1})});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "renamed"));
  ASSERT_OK_AND_ASSIGN(const auto p, tfckpt::graph::plan_freeze(g.graph(), ckpt, {.output_node_names = {"y"}}));
  ASSERT_EQ(p.variables.size(), 1u);
  EXPECT_EQ(p.variables[0].key, "renamed_w");
}

TEST_F(FreezeBuilt, PartitionedPartsComeFromTheirStoredSlices) {
  graph_builder g;
  g.placeholder("x", {-1, 4});
  const std::string p0 = g.variable("w/part_0", {2, 3});
  const std::string p1 = g.variable("w/part_1", {2, 3});
  g.op("w/concat", "ConcatV2", {p0, p1, "axis"});
  auto& axis = g.node("axis", "Const");
  graph_builder::set_type(axis, "dtype", tensorflow::DT_INT32);
  (*axis.mutable_attr())["value"].mutable_tensor()->add_int_val(0);
  g.op("y", "MatMul", {"x", "w/concat"});
  g.saver({"w", "w"}, {"4 3 0,2:-", "4 3 2,2:-"});
  {
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir_ / "parts"));
    const std::vector<float> top = {1, 2, 3, 4, 5, 6}, bottom = {7, 8, 9, 10, 11, 12};
    const std::vector<std::int64_t> full = {4, 3};
    ASSERT_OK(w.add_slice("w", full, std::vector<tfckpt::codec::slice_extent>{{0, 2}, {}}, tfckpt::dtype::float32,
                          tfckpt::byte_source::from_span(std::as_bytes(std::span(top)))));
    ASSERT_OK(w.add_slice("w", full, std::vector<tfckpt::codec::slice_extent>{{2, 2}, {}}, tfckpt::dtype::float32,
                          tfckpt::byte_source::from_span(std::as_bytes(std::span(bottom)))));
    ASSERT_OK(w.finish());
  }
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "parts"));
  ASSERT_OK_AND_ASSIGN(const auto p, tfckpt::graph::plan_freeze(g.graph(), ckpt, {.output_node_names = {"y"}}));
  ASSERT_EQ(p.variables.size(), 2u);
  EXPECT_EQ(p.variables[1].slice, "4 3 2,2:-");
  ASSERT_OK(tfckpt::graph::write_graph_def(p.nodes, p.tail, dir_ / "f.pb"));
  const auto out = read_graph(dir_ / "f.pb");
  EXPECT_THAT(floats_of(find_node(out, "w/part_1")->attr().at("value").tensor()), ElementsAre(7, 8, 9, 10, 11, 12));
}

TEST_F(FreezeBuilt, ResourceVariablesAndTheirReadersAreRewritten) {
  graph_builder g;
  g.placeholder("ids", {-1});
  auto& h = g.node("emb", "VarHandleOp");
  graph_builder::set_type(h, "dtype", tensorflow::DT_FLOAT);
  graph_builder::set_shape(h, "shape", {3, 2});
  (*h.mutable_attr())["shared_name"].set_s("emb");
  h.set_device("/cpu:0");
  auto& id = g.node("emb/Identity", "Identity", {"emb"});
  graph_builder::set_type(id, "T", tensorflow::DT_RESOURCE);
  graph_builder::set_shape(id, "_output_shapes", {});
  auto& read = g.node("emb/Read/ReadVariableOp", "ReadVariableOp", {"emb/Identity"});
  graph_builder::set_type(read, "dtype", tensorflow::DT_FLOAT);
  read.set_device("/cpu:0");
  auto& gather = g.node("lookup", "ResourceGather", {"emb", "ids"});
  graph_builder::set_type(gather, "dtype", tensorflow::DT_FLOAT);
  graph_builder::set_type(gather, "Tindices", tensorflow::DT_INT64);
  g.op("y", "AddN", {"emb/Read/ReadVariableOp", "lookup"});
  tfckpt_testing::write_bundle(dir_ / "res", {tfckpt_testing::float_tensor("emb", {3, 2}, {1, 2, 3, 4, 5, 6})});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "res"));
  ASSERT_OK_AND_ASSIGN(const auto p, tfckpt::graph::plan_freeze(g.graph(), ckpt, {.output_node_names = {"y"}}));
  EXPECT_THAT(names(p), ElementsAre("ids", "const:emb", "emb/Identity", "emb/Read/ReadVariableOp", "lookup/axis", "lookup", "y"));
  const auto& ident = std::get<tensorflow::NodeDef>(p.nodes[2]);
  EXPECT_EQ(ident.attr().at("T").type(), tensorflow::DT_FLOAT);
  EXPECT_FALSE(ident.attr().contains("_output_shapes"));
  const auto& r = std::get<tensorflow::NodeDef>(p.nodes[3]);
  EXPECT_EQ(r.op(), "Identity");
  EXPECT_THAT(r.input(), ElementsAre("emb/Identity"));
  EXPECT_EQ(r.attr().at("T").type(), tensorflow::DT_FLOAT);
  EXPECT_EQ(r.device(), "");
  const auto& gv2 = std::get<tensorflow::NodeDef>(p.nodes[5]);
  EXPECT_EQ(gv2.op(), "GatherV2");
  EXPECT_THAT(gv2.input(), ElementsAre("emb", "ids", "lookup/axis"));
  EXPECT_EQ(gv2.attr().at("Taxis").type(), tensorflow::DT_INT64);
  EXPECT_EQ(std::get<tensorflow::NodeDef>(p.nodes[4]).attr().at("value").tensor().int64_val(0), 0);

  // Writing to a frozen resource cannot be frozen.
  auto& assign = g.node("bump", "AssignAddVariableOp", {"emb", "y"});
  graph_builder::set_type(assign, "dtype", tensorflow::DT_FLOAT);
  EXPECT_THAT(tfckpt::graph::plan_freeze(g.graph(), ckpt, {.output_node_names = {"bump"}}).status(),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("'bump' (AssignAddVariableOp)")));
}

TEST_F(FreezeBuilt, EveryProblemIsReportedAtOnceNamingItsNode) {
  g_.variable("missing", {2});
  g_.variable("wrong_type", {2}, tensorflow::DT_INT32);
  g_.variable("wrong_shape", {5});
  g_.node("bad_input", "Identity", {"nowhere:1"});
  g_.op("all", "AddN", {"y", "missing/read", "wrong_type/read", "wrong_shape/read", "bad_input"});
  tfckpt_testing::write_bundle(dir_ / "more", {tfckpt_testing::float_tensor("w", {3, 2}, {1, 2, 3, 4, 5, 6}),
                                               tfckpt_testing::float_tensor("b", {2}, {0, 0}),
                                               tfckpt_testing::float_tensor("wrong_type", {2}, {0, 0}),
                                               tfckpt_testing::float_tensor("wrong_shape", {4}, {0, 0, 0, 0})});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "more"));
  const absl::Status s = tfckpt::graph::plan_freeze(g_.graph(), ckpt, {.output_node_names = {"all", "absent"}}).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          AllOf(HasSubstr("5 problems"), HasSubstr("output node 'absent' is not in the graph"),
                                HasSubstr("'bad_input' (Identity) has input 'nowhere'"),
                                HasSubstr("variable 'missing' (VariableV2) has no value"),
                                HasSubstr("variable 'wrong_type' is int32 in the graph but 'wrong_type' is float32"),
                                HasSubstr("variable 'wrong_shape' has shape [5] in the graph but 'wrong_shape' is [4]"))));
  EXPECT_THAT(plan({}).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no output node names")));
}

TEST_F(FreezeBuilt, ACycleIsReportedButAWhileLoopIsNot) {
  g_.op("a", "Add", {"mm", "c"});
  g_.op("c", "Identity", {"a"});
  g_.op("out", "AddN", {"y", "c"});
  EXPECT_THAT(plan({.output_node_names = {"out"}}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cycle through node 'a' (Add)")));
  // The same shape of loop through NextIteration -> Merge is a while loop.
  graph_builder loop;
  loop.placeholder("x", {1});
  loop.op("m", "Merge", {"x", "next"});
  loop.op("body", "Identity", {"m"});
  loop.op("next", "NextIteration", {"body"});
  ASSERT_OK(tfckpt::graph::plan_freeze(loop.graph(), *ckpt_, {.output_node_names = {"body"}}).status());
}

TEST(GraphIo, TextAndBinaryGraphsRoundTripWithUnknownFields) {
  scratch_dir dir;
  graph_builder g;
  g.placeholder("x", {2});
  g.graph().mutable_versions()->set_producer(26);
  // An unknown field (number 999) on the graph survives a binary read and write.
  std::string bytes = g.graph().SerializeAsString();
  bytes += std::string("\xba\x3e\x03" "abc", 6);  // field 999, length-delimited, "abc"
  { std::ofstream(dir / "g.pb", std::ios::binary) << bytes; }
  ASSERT_OK_AND_ASSIGN(const auto loaded, tfckpt::graph::load_graph_def(dir / "g.pb"));
  ASSERT_OK(tfckpt::graph::save_graph_def(loaded, dir / "again.pb"));
  std::ifstream in(dir / "again.pb", std::ios::binary);
  std::stringstream again;
  again << in.rdbuf();
  EXPECT_NE(again.str().find("abc"), std::string::npos);
  ASSERT_OK(tfckpt::graph::save_graph_def_text(loaded, dir / "g.pbtxt"));
  ASSERT_OK_AND_ASSIGN(const auto text, tfckpt::graph::load_graph_def(dir / "g.pbtxt"));
  EXPECT_EQ(text.node(0).name(), "x");
  EXPECT_EQ(text.versions().producer(), 26);
  { std::ofstream(dir / "junk.pb") << "node { name: "; }
  EXPECT_THAT(tfckpt::graph::load_graph_def(dir / "junk.pb").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("junk.pb"), HasSubstr("line 1"))));
}

}  // namespace

}  // namespace freeze_test
