// SPDX-License-Identifier: Apache-2.0
// Freezing TF2 SavedModels through their functions, on the TensorFlow-written fixtures: the frozen
// graphs hold no function call or variable, and evaluated they compute what the checkpoint's values say.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "testing/graph_builder.hpp"
#include "testing/graph_eval.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/graph/function_inline.hpp"
#include "tfckpt/graph/graph_io.hpp"
#include "tfckpt/graph/saved_model_freeze.hpp"

namespace saved_model_freeze_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::tfckpt_testing::float_array;
using ::tfckpt_testing::graph_eval;
using ::tfckpt_testing::scratch_dir;

fs::path half_plus_two() { return tfckpt_testing::fixtures_dir() / "serving_half_plus_two_tf2" / "00000123"; }
fs::path rust_regression() { return tfckpt_testing::fixtures_dir() / "rust_regression_savedmodel"; }

// Freezes `signature` of the SavedModel in `dir` into a file and reads the frozen graph back.
absl::StatusOr<tensorflow::GraphDef> freeze_to_file(const fs::path& dir, const std::string& signature,
                                                   const scratch_dir& scratch, std::vector<std::string> outputs = {}) {
  TFCKPT_ASSIGN_OR_RETURN(auto model, tfckpt::graph::load_saved_model(dir));
  TFCKPT_ASSIGN_OR_RETURN(auto ckpt, tfckpt::open(model.variables_prefix.string()));
  TFCKPT_ASSIGN_OR_RETURN(auto plan, tfckpt::graph::plan_saved_model_freeze(
                                         model.meta_graph, ckpt, {.signature = signature, .output_node_names = outputs}));
  const fs::path out = scratch / (signature + ".pb");
  TFCKPT_RETURN_IF_ERROR(tfckpt::graph::write_graph_def(plan.freeze.nodes, plan.freeze.tail, out));
  return tfckpt::graph::load_graph_def(out);
}

std::multiset<std::string> ops_of(const tensorflow::GraphDef& g) {
  std::multiset<std::string> ops;
  for (const auto& n : g.node()) ops.insert(n.op());
  return ops;
}

const tensorflow::NodeDef* node_named(const tensorflow::GraphDef& g, const std::string& name) {
  for (const auto& n : g.node())
    if (n.name() == name) return &n;
  return nullptr;
}

TEST(SavedModelFreezeFixtures, HalfPlusTwoServingDefaultComputesHalfXPlusTwo) {
  TFCKPT_REQUIRE_FIXTURES();
  scratch_dir scratch;
  ASSERT_OK_AND_ASSIGN(auto frozen, freeze_to_file(half_plus_two(), "serving_default", scratch));
  const auto ops = ops_of(frozen);
  for (const char* gone : {"StatefulPartitionedCall", "PartitionedCall", "VarHandleOp", "ReadVariableOp"})
    EXPECT_EQ(ops.count(gone), 0u) << gone;
  EXPECT_EQ(frozen.library().function_size(), 0);
  // The signature's input and output keep their keys as names.
  const tensorflow::NodeDef* x = node_named(frozen, "x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->op(), "Placeholder");
  EXPECT_EQ(x->attr().at("dtype").type(), tensorflow::DT_FLOAT);
  ASSERT_NE(node_named(frozen, "y"), nullptr);
  EXPECT_EQ(ops.count("Const"), 2u);  // a and b; c is used only by other signatures

  graph_eval eval(frozen);
  eval.feed("x", float_array{{4}, {0.f, 1.f, 2.f, -6.f}});
  const float_array& y = eval.run("y");
  EXPECT_THAT(y.values, ::testing::ElementsAre(2.f, 2.5f, 3.f, -1.f));
}

TEST(SavedModelFreezeFixtures, NamingTheTopLevelCallMeansItsOutput) {
  TFCKPT_REQUIRE_FIXTURES();
  scratch_dir scratch;
  ASSERT_OK_AND_ASSIGN(auto frozen, freeze_to_file(half_plus_two(), "serving_default", scratch, {"StatefulPartitionedCall_5"}));
  graph_eval eval(frozen);
  eval.feed("x", float_array{{2}, {4.f, 8.f}});
  EXPECT_THAT(eval.run("StatefulPartitionedCall_5/Identity").values, ::testing::ElementsAre(4.f, 6.f));
  EXPECT_EQ(node_named(frozen, "y"), nullptr);  // pruned: not asked for
}

TEST(SavedModelFreezeFixtures, HalfPlusTwoRegressKeepsParseExampleAndFreezesBothVariables) {
  TFCKPT_REQUIRE_FIXTURES();
  scratch_dir scratch;
  ASSERT_OK_AND_ASSIGN(auto frozen, freeze_to_file(half_plus_two(), "regress_x_to_y", scratch));
  const auto ops = ops_of(frozen);
  EXPECT_EQ(ops.count("ParseExampleV2"), 1u);
  EXPECT_EQ(ops.count("VarHandleOp"), 0u);
  const tensorflow::NodeDef* in = node_named(frozen, "inputs");
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->attr().at("dtype").type(), tensorflow::DT_STRING);
  // The Mul reads the frozen `a` (0.5) and the AddV2 the frozen `b` (2): follow the graph.
  graph_eval eval(frozen);
  const tensorflow::NodeDef* mul = nullptr;
  const tensorflow::NodeDef* add = nullptr;
  for (const auto& n : frozen.node()) {
    if (n.op() == "Mul") mul = &n;
    if (n.op() == "AddV2") add = &n;
  }
  ASSERT_NE(mul, nullptr);
  ASSERT_NE(add, nullptr);
  EXPECT_THAT(eval.run(mul->input(0)).values, ::testing::ElementsAre(0.5f));
  EXPECT_EQ(mul->input(1).substr(0, mul->input(1).find(':')),
            std::string("StatefulPartitionedCall_3/StatefulPartitionedCall/ParseExample/ParseExampleV2"));
  EXPECT_THAT(eval.run(add->input(1)).values, ::testing::ElementsAre(2.f));
  // dense_values is ParseExampleV2's 4th output arg, after three zero-length lists: flat output 0.
  EXPECT_EQ(mul->input(1), "StatefulPartitionedCall_3/StatefulPartitionedCall/ParseExample/ParseExampleV2");
}

TEST(SavedModelFreezeFixtures, RustRegressionVariablesSignaturesReturnTheirValues) {
  TFCKPT_REQUIRE_FIXTURES();
  scratch_dir scratch;
  ASSERT_OK_AND_ASSIGN(auto model, tfckpt::graph::load_saved_model(rust_regression()));
  ASSERT_OK_AND_ASSIGN(auto ckpt, tfckpt::open(model.variables_prefix.string()));
  for (const char* name : {"w", "b"}) {
    ASSERT_OK_AND_ASSIGN(auto frozen, freeze_to_file(rust_regression(), name, scratch));
    ASSERT_OK_AND_ASSIGN(auto plan, tfckpt::graph::plan_saved_model_freeze(model.meta_graph, ckpt, {.signature = name}));
    ASSERT_EQ(plan.freeze.variables.size(), 1u);
    const std::string key = std::string(name) + "/.ATTRIBUTES/VARIABLE_VALUE";
    EXPECT_EQ(plan.freeze.variables[0].key, key);
    EXPECT_EQ(plan.outputs, std::vector<std::string>{"output"});
    const tfckpt::entry* e = ckpt.find(key);
    ASSERT_NE(e, nullptr);
    ASSERT_OK_AND_ASSIGN(auto want, e->values<float>());
    graph_eval eval(frozen);
    EXPECT_THAT(eval.run("output").values, ::testing::ElementsAreArray(want.begin(), want.end())) << name;
  }
}

TEST(SavedModelFreezeFixtures, RustRegressionTrainIsRefusedNamingTheUpdates) {
  TFCKPT_REQUIRE_FIXTURES();
  ASSERT_OK_AND_ASSIGN(auto model, tfckpt::graph::load_saved_model(rust_regression()));
  ASSERT_OK_AND_ASSIGN(auto ckpt, tfckpt::open(model.variables_prefix.string()));
  const auto plan = tfckpt::graph::plan_saved_model_freeze(model.meta_graph, ckpt, {.signature = "train"});
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("signature 'train' cannot be frozen"));
  EXPECT_THAT(plan.status().message(), HasSubstr("(ResourceApplyGradientDescent) uses a frozen resource variable"));
  EXPECT_THAT(plan.status().message(), HasSubstr("(AssignAddVariableOp) uses a frozen resource variable"));
  // Colocations inside the functions name nodes of the traced graph, not of the body: dropped.
  EXPECT_THAT(plan.status().message(), ::testing::Not(HasSubstr("not in the graph")));
}

TEST(SavedModelFreezeFixtures, UnknownSignatureListsTheOthers) {
  TFCKPT_REQUIRE_FIXTURES();
  ASSERT_OK_AND_ASSIGN(auto model, tfckpt::graph::load_saved_model(rust_regression()));
  const auto flat = tfckpt::graph::flatten_signature(model.meta_graph, "serving_default");
  ASSERT_FALSE(flat.ok());
  EXPECT_EQ(flat.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(flat.status().message(), HasSubstr("there are: b, train, w"));
}

TEST(SavedModelFreezeFixtures, FlatGraphBindsCapturedVariablesToObjectPaths) {
  TFCKPT_REQUIRE_FIXTURES();
  ASSERT_OK_AND_ASSIGN(auto model, tfckpt::graph::load_saved_model(half_plus_two()));
  ASSERT_OK_AND_ASSIGN(auto flat, tfckpt::graph::flatten_signature(model.meta_graph, "serving_default"));
  EXPECT_EQ(flat.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(flat.outputs, std::vector<std::string>{"y"});
  // a and b from serving_default's call, c from the x2 -> y3 signatures' calls.
  ASSERT_EQ(flat.variable_paths.size(), 3u);
  EXPECT_EQ(flat.variable_paths.at("a"), std::vector<std::string>{"a"});
  EXPECT_EQ(flat.variable_paths.at("c"), std::vector<std::string>{"c"});
  EXPECT_TRUE(flat.node_problems.empty());
  // Nested calls are inlined under their call sites' names.
  EXPECT_NE(node_named(flat.graph, "StatefulPartitionedCall_5/StatefulPartitionedCall/Mul"), nullptr);
}

// `node:out_arg:index` inside a function becomes `node:k`: k counts the outputs of the args before,
// a number_attr arg as many as its count, a type_list_attr arg as many as its types.
TEST(SavedModelFreezeInlining, OutputsAreNumberedThroughTheOpDefs) {
  tfckpt_testing::saved_model_builder m;
  m.variable({"v"}, "v", {1}, {1});
  auto* ops = m.meta_graph().mutable_meta_info_def()->mutable_stripped_op_list();
  auto* split = ops->add_op();
  split->set_name("Split");
  split->add_output_arg()->set_name("output");
  split->mutable_output_arg(0)->set_number_attr("num_split");
  auto* pair = ops->add_op();
  pair->set_name("Pair");
  pair->add_output_arg()->set_name("first");
  pair->mutable_output_arg(0)->set_type_list_attr("T1");
  pair->add_output_arg()->set_name("second");
  tfckpt_testing::function_builder inner("inner");
  inner.arg("x", tensorflow::DT_FLOAT);
  inner.arg("res", tensorflow::DT_RESOURCE);
  auto& s3 = inner.node("split", "Split", {"x"});
  (*s3.mutable_attr())["num_split"].set_i(3);
  auto& p = inner.node("pair", "Pair", {"split:output:2"});
  (*p.mutable_attr())["T1"].mutable_list()->add_type(tensorflow::DT_FLOAT);
  (*p.mutable_attr())["T1"].mutable_list()->add_type(tensorflow::DT_FLOAT);
  inner.op("add", "AddV2", {"pair:second:0", inner.read("read", "res")});
  inner.ret("a", "add:z:0");
  inner.ret("b", "pair:first:1");
  m.add_function(inner.def());
  auto* add_op = ops->add_op();
  add_op->set_name("AddV2");
  add_op->add_output_arg()->set_name("z");
  tfckpt_testing::function_builder outer("outer");
  outer.arg("x", tensorflow::DT_FLOAT);
  outer.arg("unknown", tensorflow::DT_RESOURCE);
  auto& call = outer.call("call", "inner", {"x", "unknown"}, {tensorflow::DT_FLOAT, tensorflow::DT_RESOURCE});
  (*call.mutable_attr())["Tout"].mutable_list()->add_type(tensorflow::DT_FLOAT);
  outer.op("sum", "AddV2", {"call:output:0", "call:output:1"});
  outer.ret("y", "sum:z:0");
  m.add_function(outer.def());
  m.signature("serving_default", "x", {3}, "y", "outer", {"v"});

  ASSERT_OK_AND_ASSIGN(auto flat, tfckpt::graph::flatten_signature(m.saved_meta_graph(), "serving_default"));
  EXPECT_TRUE(flat.node_problems.empty());
  const auto inputs_of = [&](const std::string& name) {
    const tensorflow::NodeDef* n = node_named(flat.graph, name);
    return n == nullptr ? std::vector<std::string>{"<none>"} : std::vector<std::string>(n->input().begin(), n->input().end());
  };
  const std::string in = "StatefulPartitionedCall/call/";
  EXPECT_EQ(inputs_of(in + "split"), std::vector<std::string>{"x"});
  EXPECT_EQ(inputs_of(in + "pair"), std::vector<std::string>{in + "split:2"});
  EXPECT_EQ(inputs_of(in + "read"), std::vector<std::string>{"v"});
  EXPECT_EQ(inputs_of(in + "add"), (std::vector<std::string>{in + "pair:2", in + "read"}));
  // The call's outputs are the inner function's returns.
  EXPECT_EQ(inputs_of("StatefulPartitionedCall/sum"), (std::vector<std::string>{in + "add", in + "pair:1"}));
  EXPECT_EQ(inputs_of("y"), std::vector<std::string>{"StatefulPartitionedCall/sum"});
  EXPECT_EQ(flat.variable_paths.at("v"), std::vector<std::string>{"v"});
}

TEST(SavedModelFreezeInlining, CyclesAndBadReferencesAreProblemsNotCrashes) {
  tfckpt_testing::saved_model_builder m;
  tfckpt_testing::function_builder f("looped");
  f.arg("x", tensorflow::DT_FLOAT);
  f.op("a", "Identity", {"b:output:0"});
  f.op("b", "Identity", {"a:output:0"});
  f.op("c", "Identity", {"nowhere:output:0", ""});
  f.op("d", "Identity", {"x", "^c"});
  f.ret("y", "d:output:0");
  m.add_function(f.def());
  m.signature("serving_default", "x", {1}, "y", "looped", {});
  ASSERT_OK_AND_ASSIGN(auto flat, tfckpt::graph::flatten_signature(m.saved_meta_graph(), "serving_default"));
  std::string all;
  for (const auto& [node, problems] : flat.node_problems)
    for (const auto& p : problems) all += node + ": " + p + "\n";
  EXPECT_THAT(all, HasSubstr("function looped has a cycle through node"));
  EXPECT_THAT(all, HasSubstr("StatefulPartitionedCall/c: input 'nowhere:output:0' names no node or argument of function looped"));
  EXPECT_THAT(all, HasSubstr("StatefulPartitionedCall/c: it has an empty input name"));
}

// One model, every reason at once: an op without an OpDef, a While over a captured variable, a
// variable the checkpoint lacks.
TEST(SavedModelFreezeRefusals, EveryProblemNamesItsNode) {
  scratch_dir dir;
  tfckpt_testing::saved_model_builder m;
  m.variable({"layer_with_weights-0", "kernel"}, "dense/kernel", {2, 2}, {1, 2, 3, 4});
  m.variable({"layer_with_weights-0", "bias"}, "dense/bias", {2}, {});  // no value in the checkpoint
  tfckpt_testing::function_builder f("__inference__wrapped_model_5");
  f.arg("x", tensorflow::DT_FLOAT);
  f.arg("kernel_resource", tensorflow::DT_RESOURCE);
  f.arg("bias_resource", tensorflow::DT_RESOURCE);
  f.op("MatMul", "MatMul", {"x", f.read("MatMul/ReadVariableOp", "kernel_resource")});
  f.op("Custom", "MyCustomOp", {"MatMul:product:0"});
  auto& loop = f.node("while", "While", {"Custom:y:0", "bias_resource"});
  (*loop.mutable_attr())["T"].mutable_list()->add_type(tensorflow::DT_FLOAT);
  (*loop.mutable_attr())["T"].mutable_list()->add_type(tensorflow::DT_RESOURCE);
  f.op("Identity", "Identity", {"while:output:0"});
  f.ret("y", "Identity:output:0");
  m.add_function(f.def());
  tfckpt_testing::function_builder w("__inference_signature_wrapper_6");
  w.arg("x", tensorflow::DT_FLOAT);
  w.arg("unknown", tensorflow::DT_RESOURCE);
  w.arg("unknown_0", tensorflow::DT_RESOURCE);
  w.call("StatefulPartitionedCall", "__inference__wrapped_model_5", {"x", "unknown", "unknown_0"},
         {tensorflow::DT_FLOAT, tensorflow::DT_RESOURCE, tensorflow::DT_RESOURCE});
  w.op("Identity", "Identity", {"StatefulPartitionedCall:output:0"});
  w.ret("y", "Identity:output:0");
  m.add_function(w.def());
  m.signature("serving_default", "x", {1, 2}, "y", "__inference_signature_wrapper_6", {"dense/kernel", "dense/bias"});
  // While has an OpDef; MyCustomOp does not.
  auto* op = m.meta_graph().mutable_meta_info_def()->mutable_stripped_op_list()->add_op();
  op->set_name("While");
  op->add_output_arg()->set_name("output");
  op->mutable_output_arg(0)->set_type_list_attr("T");
  ASSERT_OK(m.write(dir / "model"));

  ASSERT_OK_AND_ASSIGN(auto model, tfckpt::graph::load_saved_model(dir / "model"));
  ASSERT_OK_AND_ASSIGN(auto ckpt, tfckpt::open(model.variables_prefix.string()));
  const auto plan = tfckpt::graph::plan_saved_model_freeze(model.meta_graph, ckpt, {});
  ASSERT_FALSE(plan.ok());
  const std::string message(plan.status().message());
  EXPECT_THAT(message, HasSubstr("signature 'serving_default' cannot be frozen: 3 problems"));
  EXPECT_THAT(message, HasSubstr("node 'StatefulPartitionedCall/StatefulPartitionedCall/while' (While): its input node "
                                 "'StatefulPartitionedCall/StatefulPartitionedCall/Custom' has op MyCustomOp, which has no "
                                 "OpDef"));
  EXPECT_THAT(message, HasSubstr("node 'StatefulPartitionedCall/StatefulPartitionedCall/while' (While) passes variable "
                                 "'dense/bias' into its functions: functional control flow over resources cannot be frozen"));
  EXPECT_THAT(message, HasSubstr("variable 'dense/bias' (VarHandleOp) has no value"));
  EXPECT_THAT(message, HasSubstr("'layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE'"));
}

}  // namespace

}  // namespace saved_model_freeze_test
