// SPDX-License-Identifier: Apache-2.0
// `tfckpt graph` (golden outputs on the fixtures' SavedModels), SavedModel directories wherever a
// checkpoint is taken (ls, verify, cat), and `tfckpt freeze` of a SavedModel through its signature.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH

TEST(GraphCli, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }

#else

#include "testing/cli_runner.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/graph/graph_io.hpp"

namespace graph_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::tfckpt_testing::run_cli;

fs::path fixture(const char* rel) { return tfckpt_testing::fixtures_dir() / rel; }

// `text` with every occurrence of the fixtures directory replaced by "$FIXTURES".
std::string relative_to_fixtures(std::string text) {
  const std::string dir = tfckpt_testing::fixtures_dir().string();
  for (std::size_t at = text.find(dir); at != std::string::npos; at = text.find(dir, at))
    text.replace(at, dir.size(), "$FIXTURES");
  return text;
}

// --- SavedModel directories as CKPT ---------------------------------------------------------

TEST(SavedModelDirCli, LsVerifyAndCatTakeTheDirectory) {
  TFCKPT_REQUIRE_FIXTURES();
  for (const char* d : {"serving_half_plus_two_tf1/00000123", "serving_half_plus_two_tf2/00000123",
                        "rust_regression_savedmodel"}) {
    SCOPED_TRACE(d);
    const fs::path dir = fixture(d);
    const auto by_dir = run_cli({"ls", dir.string()});
    const auto by_prefix = run_cli({"ls", (dir / "variables" / "variables").string()});
    EXPECT_EQ(by_dir.exit_code, 0) << by_dir;
    EXPECT_EQ(by_dir.out, by_prefix.out);
    const auto verify = run_cli({"verify", dir.string()});
    EXPECT_EQ(verify.exit_code, 0) << verify;
    EXPECT_THAT(verify.out, HasSubstr((dir / "variables" / "variables").string() + ": "));
  }
  const auto a = run_cli({"cat", fixture("serving_half_plus_two_tf1/00000123").string(), "a"});
  EXPECT_EQ(a.exit_code, 0) << a;
  EXPECT_EQ(a.out, "a float32 []\n0.5\n");
  const auto w = run_cli({"cat", fixture("rust_regression_savedmodel").string(), "w/.ATTRIBUTES/VARIABLE_VALUE"});
  EXPECT_EQ(w.exit_code, 0) << w;
  EXPECT_THAT(w.out, HasSubstr("w/.ATTRIBUTES/VARIABLE_VALUE float32 [1]\n"));
}

// --- tfckpt graph ---------------------------------------------------------------------------

// Checked against the graph's own protobuf text (protoc --decode): 74 nodes, the five signatures,
// the op counts; `filename_tensor` is a string variable TensorFlow's saver does not save.
constexpr const char* kHalfPlusTwoTf1 = R"($FIXTURES/serving_half_plus_two_tf1/00000123: SavedModel {serve}, 74 nodes, 0 functions

SIGNATURES
  classify_x_to_y (tensorflow/serving/classify)
    input  inputs: tf_example:0 string <unknown>
    output scores: y:0 float32 [-1,1]
  regress_x2_to_y3 (tensorflow/serving/regress)
    input  inputs: x2:0 float32 [-1,1]
    output outputs: y3:0 float32 [-1,1]
  regress_x_to_y (tensorflow/serving/regress)
    input  inputs: tf_example:0 string <unknown>
    output outputs: y:0 float32 [-1,1]
  regress_x_to_y2 (tensorflow/serving/regress)
    input  inputs: tf_example:0 string <unknown>
    output outputs: y2:0 float32 [-1,1]
  serving_default (tensorflow/serving/predict)
    input  x: x:0 float32 [-1,1]
    output y: y:0 float32 [-1,1]

INPUTS (placeholders)
  tf_example string <unknown>

LIKELY OUTPUTS (nothing consumes them)
  y
  y2
  y3

VARIABLES (6, checked against $FIXTURES/serving_half_plus_two_tf1/00000123/variables/variables)
  NODE             DTYPE     SHAPE        STATUS     CHECKPOINT KEY
  a                float32   []           held       a
  b                float32   []           held       b
  c                float32   []           held       c
  a2               float32   []           held       a2
  c2               float32   []           held       c2
  filename_tensor  string    []           missing    filename_tensor

OPS
     22 Const
     13 Identity
     12 Assign
      6 VariableV2
      4 NoOp
      3 Add
      3 Mul
      2 PlaceholderWithDefault
      1 MergeV2Checkpoints
      1 Pack
      1 ParseExample
      1 Placeholder
      1 Reshape
      1 RestoreV2
      1 SaveV2
      1 ShardedFilename
      1 StringJoin
)";

// A TF2 SavedModel: the computation is in functions, the variables keyed by object path through the
// object graphs (SGD/iter is the checkpoint's optimizer/iter); SGD/decay, which no signature
// captures, stays unchecked.
constexpr const char* kRustRegression = R"($FIXTURES/rust_regression_savedmodel: SavedModel {serve}, 22 nodes, 18 functions

SIGNATURES
  __saved_model_init_op
    output __saved_model_init_op: NoOp invalid <unknown>
  b (tensorflow/serving/predict)
    output output: StatefulPartitionedCall:0 float32 [1]
  train (tensorflow/serving/predict)
    input  x: train_x:0 float32 [-1]
    input  y: train_y:0 float32 [-1]
    output loss: StatefulPartitionedCall_1:0 float32 []
  w (tensorflow/serving/predict)
    output output: StatefulPartitionedCall_2:0 float32 [1]

INPUTS (placeholders)
  train_x float32 [-1]
  train_y float32 [-1]

LIKELY OUTPUTS (nothing consumes them)
  StatefulPartitionedCall
  StatefulPartitionedCall_1
  StatefulPartitionedCall_2

VARIABLES (6, checked against $FIXTURES/rust_regression_savedmodel/variables/variables)
  NODE               DTYPE     SHAPE        STATUS     CHECKPOINT KEY
  w                  float32   [1]          held       w/.ATTRIBUTES/VARIABLE_VALUE
  b                  float32   [1]          held       b/.ATTRIBUTES/VARIABLE_VALUE
  SGD/iter           int64     []           held       optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE
  SGD/decay          float32   []           unchecked  SGD/decay
  SGD/learning_rate  float32   []           held       optimizer/learning_rate/.ATTRIBUTES/VARIABLE_VALUE
  SGD/momentum       float32   []           held       optimizer/momentum/.ATTRIBUTES/VARIABLE_VALUE

OPS
      6 ReadVariableOp
      6 VarHandleOp
      5 StatefulPartitionedCall
      3 Placeholder
      1 Const
      1 NoOp

note: a TF2 SavedModel: the signatures compute in functions of the graph's library, and the variables they capture are restored through the object graph (keys '<object path>/.ATTRIBUTES/VARIABLE_VALUE'); a variable no signature captures is left unchecked
)";

TEST(GraphCli, HalfPlusTwoTf1Golden) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto r = run_cli({"graph", fixture("serving_half_plus_two_tf1/00000123").string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(relative_to_fixtures(r.out), kHalfPlusTwoTf1);
}

TEST(GraphCli, RustRegressionTf2Golden) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto r = run_cli({"graph", fixture("rust_regression_savedmodel").string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(relative_to_fixtures(r.out), kRustRegression);
}

TEST(GraphCli, SignatureNarrowsAndMustExist) {
  TFCKPT_REQUIRE_FIXTURES();
  const std::string dir = fixture("serving_half_plus_two_tf1/00000123").string();
  const auto r = run_cli({"graph", dir, "--signature", "regress_x2_to_y3"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("\nSIGNATURES\n  regress_x2_to_y3 (tensorflow/serving/regress)\n"
                               "    input  inputs: x2:0 float32 [-1,1]\n    output outputs: y3:0 float32 [-1,1]\n\nINPUTS"));
  const auto missing = run_cli({"graph", dir, "--signature", "predict"});
  EXPECT_EQ(missing.exit_code, 3) << missing;
  EXPECT_THAT(missing.err, HasSubstr("no signature 'predict'; there are: classify_x_to_y, regress_x2_to_y3"));
  const auto tags = run_cli({"graph", dir, "--tag", "serve,gpu"});
  EXPECT_EQ(tags.exit_code, 3) << tags;
  EXPECT_THAT(tags.err, HasSubstr("no MetaGraphDef tagged {gpu,serve}; there are: {serve}"));
}

TEST(GraphCli, JsonOfAMetaGraphAgainstItsCheckpoint) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = fixture("serving_half_plus_two_tf1/00000123");
  const auto r = run_cli({"graph", dir.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kind"], "SavedModel");
  EXPECT_EQ(j["nodes"], 74);
  EXPECT_EQ(j["checkpoint"], (dir / "variables" / "variables").string());
  EXPECT_EQ(j["likely_outputs"], nlohmann::json({"y", "y2", "y3"}));
  ASSERT_EQ(j["signatures"].size(), 5u);
  EXPECT_EQ(j["signatures"][4]["key"], "serving_default");
  EXPECT_EQ(j["signatures"][4]["outputs"][0]["tensor"], "y:0");
  EXPECT_EQ(j["signatures"][4]["outputs"][0]["shape"], nlohmann::json({-1, 1}));
  EXPECT_TRUE(j["signatures"][0]["inputs"][0]["shape"].is_null());  // unknown rank
  ASSERT_EQ(j["variables"].size(), 6u);
  EXPECT_EQ(j["variables"][0]["node"], "a");
  EXPECT_EQ(j["variables"][0]["status"], "held");
  EXPECT_EQ(j["variables"][0]["checkpoint_dtype"], "float32");
  EXPECT_EQ(j["variables"][5]["status"], "missing");
  EXPECT_EQ(j["ops"]["Const"], 22);
  EXPECT_TRUE(j["notes"].empty());
}

TEST(GraphCli, AnotherCheckpointIsCheckedInstead) {
  TFCKPT_REQUIRE_FIXTURES();
  // The TF1 graph against the TF2 model's checkpoint: none of a, b, c is a key there.
  const auto r = run_cli({"graph", fixture("serving_half_plus_two_tf1/00000123").string(), "--checkpoint",
                          fixture("serving_half_plus_two_tf2/00000123").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& v : j["variables"]) EXPECT_EQ(v["status"], "missing") << v;
  const auto bad = run_cli({"graph", fixture("serving_half_plus_two_tf1/00000123").string(), "--checkpoint", "/nonexistent/ckpt"});
  EXPECT_EQ(bad.exit_code, 3) << bad;
}

// --- tfckpt freeze of a SavedModel through its signature ------------------------------------

// The float value of node `name` of `g`, a scalar Const.
float const_scalar(const tensorflow::GraphDef& g, const std::string& name) {
  for (const auto& n : g.node())
    if (n.name() == name) {
      EXPECT_EQ(n.op(), "Const") << name;
      const auto& t = n.attr().at("value").tensor();
      return t.float_val_size() == 1 ? t.float_val(0) : -1.0f;
    }
  ADD_FAILURE() << "no node " << name;
  return -1.0f;
}

std::vector<std::string> node_names(const tensorflow::GraphDef& g) {
  std::vector<std::string> out;
  for (const auto& n : g.node()) out.push_back(n.name());
  return out;
}

float checkpoint_scalar(const tfckpt::checkpoint& ckpt, const std::string& key) {
  const tfckpt::entry* e = ckpt.find(key);
  if (e == nullptr) return -2.0f;
  auto bytes = e->bytes();
  if (!bytes.ok() || bytes->size() != 4) return -2.0f;
  float v = 0;
  std::memcpy(&v, bytes->data(), 4);
  return v;
}

TEST(FreezeSignatureCli, Tf1SavedModelFreezesItsDefaultSignature) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = fixture("serving_half_plus_two_tf1/00000123");
  tfckpt_testing::scratch_dir out;
  const auto r = run_cli({"freeze", "--input_saved_model_dir", dir.string(), "--output_graph", (out / "y.pb").string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_OK_AND_ASSIGN(const auto g, tfckpt::graph::load_graph_def(out / "y.pb"));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir));
  const auto names = node_names(g);
  EXPECT_THAT(names, ::testing::Contains("y"));  // serving_default: x:0 -> y:0
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("y2")));
  EXPECT_EQ(const_scalar(g, "a"), checkpoint_scalar(ckpt, "a"));
  EXPECT_EQ(const_scalar(g, "b"), checkpoint_scalar(ckpt, "b"));
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("c")));

  const auto r3 = run_cli({"freeze", "--input_saved_model_dir", dir.string(), "--signature", "regress_x2_to_y3",
                           "--output_graph", (out / "y3.pb").string(), "-q"});
  ASSERT_EQ(r3.exit_code, 0) << r3;
  ASSERT_OK_AND_ASSIGN(const auto g3, tfckpt::graph::load_graph_def(out / "y3.pb"));
  EXPECT_THAT(node_names(g3), ::testing::Contains("y3"));
  EXPECT_EQ(const_scalar(g3, "a2"), checkpoint_scalar(ckpt, "a2"));
  EXPECT_EQ(const_scalar(g3, "c2"), checkpoint_scalar(ckpt, "c2"));
}

TEST(FreezeSignatureCli, AnUnknownSignatureListsTheOthers) {
  TFCKPT_REQUIRE_FIXTURES();
  tfckpt_testing::scratch_dir out;
  const auto r = run_cli({"freeze", "--input_saved_model_dir", fixture("serving_half_plus_two_tf1/00000123").string(),
                          "--signature", "predict", "--output_graph", (out / "y.pb").string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("no signature 'predict'; there are: classify_x_to_y, regress_x2_to_y3, regress_x_to_y, "
                               "regress_x_to_y2, serving_default"));
  EXPECT_FALSE(fs::exists(out / "y.pb"));
}

TEST(FreezeSignatureCli, ATf2SignatureIsFrozenThroughItsFunctions) {
  TFCKPT_REQUIRE_FIXTURES();
  tfckpt_testing::scratch_dir out;
  const auto r = run_cli({"freeze", "--input_saved_model_dir", fixture("serving_half_plus_two_tf2/00000123").string(),
                          "--output_graph", (out / "y.pb").string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(fs::exists(out / "y.pb"));
}

TEST(FreezeSignatureCli, WithoutASavedModelOutputNamesAreStillRequired) {
  const auto r = run_cli({"freeze", "--input_graph", "g.pb", "--input_checkpoint", "c", "--output_graph", "o.pb"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("--output_node_names needs at least one node name"));
}

}  // namespace

}  // namespace graph_test

#endif  // TFCKPT_CLI_PATH

