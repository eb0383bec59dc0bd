// SPDX-License-Identifier: Apache-2.0
// Keras-style TF2 SavedModels (an MLP and a CNN, built in the layout model.save writes) frozen
// through their functions: the frozen graphs compute what Eigen computes from the weights, by our
// small evaluator and by OpenCV's DNN importer. And the half_plus_two fixture's serving_default,
// frozen, run by OpenCV.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <opencv2/dnn.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "testing/graph_builder.hpp"
#include "testing/graph_eval.hpp"
#include "testing/paths.hpp"
#include "testing/reference_ops.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/graph/graph_io.hpp"
#include "tfckpt/graph/saved_model_freeze.hpp"

namespace opencv_saved_model_freeze_test {

namespace {
namespace fs = std::filesystem;
using ::tfckpt_testing::float_array;
using ::tfckpt_testing::function_builder;
using ::tfckpt_testing::graph_eval;
using ::tfckpt_testing::saved_model_builder;
using ::tfckpt_testing::scratch_dir;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using ::tfckpt_testing::pseudo_random;

// The signature wrapper Keras writes around the model's call: a StatefulPartitionedCall of
// `model_fn` passing the input and `resources` captured resources on.
tensorflow::FunctionDef keras_signature_wrapper(const std::string& name, const std::string& model_fn,
                                                const std::string& input, int resources, const std::string& output) {
  function_builder f(name);
  std::vector<std::string> args{f.arg(input, tensorflow::DT_FLOAT)};
  std::vector<tensorflow::DataType> types{tensorflow::DT_FLOAT};
  for (int i = 0; i < resources; ++i) {
    args.push_back(f.arg(i == 0 ? "unknown" : "unknown_" + std::to_string(i - 1), tensorflow::DT_RESOURCE));
    types.push_back(tensorflow::DT_RESOURCE);
  }
  f.call("StatefulPartitionedCall", model_fn, args, types);
  f.op("Identity", "Identity", {"StatefulPartitionedCall:output:0", "^NoOp"});
  f.node("NoOp", "NoOp", {"^StatefulPartitionedCall"});
  f.ret(output, "Identity:output:0");
  return f.def();
}

// A Dense layer inside Keras's traced model function; returns its output tensor.
std::string keras_dense(function_builder& f, const std::string& layer, const std::string& x, const std::string& kernel_arg,
                        const std::string& bias_arg, const std::string& activation, std::vector<std::string>& reads) {
  const std::string p = "sequential/" + layer + "/";
  const std::string w = f.read(p + "MatMul/ReadVariableOp", kernel_arg);
  f.op(p + "MatMul", "MatMul", {x, w});
  const std::string b = f.read(p + "BiasAdd/ReadVariableOp", bias_arg);
  f.op(p + "BiasAdd", "BiasAdd", {p + "MatMul:product:0", b});
  reads.push_back("^" + p + "MatMul/ReadVariableOp");
  reads.push_back("^" + p + "BiasAdd/ReadVariableOp");
  f.op(p + activation, activation, {p + "BiasAdd:output:0"});
  return p + activation + (activation == "Relu" ? ":activations:0" : ":softmax:0");
}

// OpenCV's importer removes Identity nodes, the signature's named outputs among them: the
// network's last layer is the output.
cv::Mat opencv_forward(const fs::path& frozen, const cv::Mat& input) {
  cv::dnn::Net net = cv::dnn::readNetFromTensorflow(frozen.string());
  net.setInput(input);
  return net.forward();
}

float max_abs_diff(const float* got, std::size_t n, const std::vector<float>& want) {
  EXPECT_EQ(n, want.size());
  float worst = 0;
  for (std::size_t i = 0; i < want.size() && i < n; ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  return worst;
}

// Sequential([Dense(8, relu, input_shape=(4,)), Dense(3, softmax)]) saved by model.save.
TEST(KerasSavedModelFreeze, MlpMatchesEigenAndOpenCv) {
  scratch_dir dir;
  const auto w1 = pseudo_random(32, 1), b1 = pseudo_random(8, 2), w2 = pseudo_random(24, 3), b2 = pseudo_random(3, 4);
  saved_model_builder m;
  m.variable({"layer_with_weights-0", "kernel"}, "dense/kernel", {4, 8}, w1);
  m.variable({"layer_with_weights-0", "bias"}, "dense/bias", {8}, b1);
  m.variable({"layer_with_weights-1", "kernel"}, "dense_1/kernel", {8, 3}, w2);
  m.variable({"layer_with_weights-1", "bias"}, "dense_1/bias", {3}, b2);
  {
    function_builder f("__inference__wrapped_model_1042");
    f.arg("dense_input", tensorflow::DT_FLOAT);
    for (const char* a : {"sequential_dense_matmul_readvariableop_resource", "sequential_dense_biasadd_readvariableop_resource",
                          "sequential_dense_1_matmul_readvariableop_resource",
                          "sequential_dense_1_biasadd_readvariableop_resource"})
      f.arg(a, tensorflow::DT_RESOURCE);
    std::vector<std::string> reads;
    const std::string h = keras_dense(f, "dense", "dense_input", "sequential_dense_matmul_readvariableop_resource",
                                      "sequential_dense_biasadd_readvariableop_resource", "Relu", reads);
    const std::string y = keras_dense(f, "dense_1", h, "sequential_dense_1_matmul_readvariableop_resource",
                                      "sequential_dense_1_biasadd_readvariableop_resource", "Softmax", reads);
    f.op("Identity", "Identity", {y, "^NoOp"});
    f.node("NoOp", "NoOp", reads);
    f.ret("dense_1", "Identity:output:0");
    m.add_function(f.def());
  }
  m.add_function(keras_signature_wrapper("__inference_signature_wrapper_1207", "__inference__wrapped_model_1042",
                                         "dense_input", 4, "dense_1"));
  m.signature("serving_default", "dense_input", {-1, 4}, "dense_1", "__inference_signature_wrapper_1207",
              {"dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"});
  ASSERT_OK(m.write(dir / "model"));

  ASSERT_OK_AND_ASSIGN(auto model, tfckpt::graph::load_saved_model(dir / "model"));
  ASSERT_OK_AND_ASSIGN(auto ckpt, tfckpt::open(model.variables_prefix.string()));
  ASSERT_OK_AND_ASSIGN(auto plan, tfckpt::graph::plan_saved_model_freeze(model.meta_graph, ckpt, {}));
  EXPECT_EQ(plan.inputs, std::vector<std::string>{"dense_input"});
  EXPECT_EQ(plan.outputs, std::vector<std::string>{"dense_1"});
  std::map<std::string, std::string> keys;
  for (const auto& v : plan.freeze.variables) keys[v.node] = v.key;
  // The keys come from the checkpoint's object graph, not from the SavedModel's `variables/0` path.
  EXPECT_EQ(keys, (std::map<std::string, std::string>{
                      {"dense/bias", "layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE"},
                      {"dense/kernel", "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"},
                      {"dense_1/bias", "layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE"},
                      {"dense_1/kernel", "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE"}}));
  ASSERT_OK(tfckpt::graph::write_graph_def(plan.freeze.nodes, plan.freeze.tail, dir / "frozen.pb"));
  ASSERT_OK_AND_ASSIGN(auto frozen, tfckpt::graph::load_graph_def(dir / "frozen.pb"));
  for (const auto& n : frozen.node()) {
    EXPECT_NE(n.op(), "ReadVariableOp") << n.name();
    EXPECT_NE(n.op(), "StatefulPartitionedCall") << n.name();
  }

  const std::vector<float> x = {0.3f, -1.2f, 2.0f, 0.7f, -0.4f, 0.1f, 1.5f, -2.0f};  // a batch of 2
  const Eigen::Map<const RowMatrix> X(x.data(), 2, 4), W1(w1.data(), 4, 8), W2(w2.data(), 8, 3);
  const Eigen::Map<const Eigen::RowVectorXf> B1(b1.data(), 8), B2(b2.data(), 3);
  const RowMatrix hidden = ((X * W1).rowwise() + B1).cwiseMax(0.0f);
  RowMatrix logits = (hidden * W2).rowwise() + B2;
  std::vector<float> want;
  for (int r = 0; r < 2; ++r) {
    const Eigen::RowVectorXf e = (logits.row(r).array() - logits.row(r).maxCoeff()).exp();
    for (int c = 0; c < 3; ++c) want.push_back(e(c) / e.sum());
  }

  graph_eval eval(frozen);
  eval.feed("dense_input", float_array{{2, 4}, x});
  const float_array& y = eval.run("dense_1");
  EXPECT_LE(max_abs_diff(y.values.data(), y.values.size(), want), 1e-5f);

  const cv::Mat out = opencv_forward(dir / "frozen.pb", cv::Mat(2, 4, CV_32F, const_cast<float*>(x.data())));
  EXPECT_LE(max_abs_diff(out.ptr<float>(), out.total(), want), 1e-5f);
}

// Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(6, 6, 3))]).
TEST(KerasSavedModelFreeze, CnnMatchesDirectConvolutionAndOpenCv) {
  constexpr int H = 6, W = 6, C = 3, K = 3, F = 4;
  scratch_dir dir;
  const auto kernel = pseudo_random(K * K * C * F, 7), bias = pseudo_random(F, 8);
  saved_model_builder m;
  m.variable({"layer_with_weights-0", "kernel"}, "conv2d/kernel", {K, K, C, F}, kernel);
  m.variable({"layer_with_weights-0", "bias"}, "conv2d/bias", {F}, bias);
  {
    function_builder f("__inference__wrapped_model_733");
    f.arg("conv2d_input", tensorflow::DT_FLOAT);
    f.arg("sequential_conv2d_conv2d_readvariableop_resource", tensorflow::DT_RESOURCE);
    f.arg("sequential_conv2d_biasadd_readvariableop_resource", tensorflow::DT_RESOURCE);
    const std::string k = f.read("sequential/conv2d/Conv2D/ReadVariableOp", "sequential_conv2d_conv2d_readvariableop_resource");
    auto& conv = f.op("sequential/conv2d/Conv2D", "Conv2D", {"conv2d_input", k});
    for (const char* a : {"strides", "dilations"})
      for (int i = 0; i < 4; ++i) (*conv.mutable_attr())[a].mutable_list()->add_i(1);
    (*conv.mutable_attr())["padding"].set_s("SAME");
    (*conv.mutable_attr())["data_format"].set_s("NHWC");
    (*conv.mutable_attr())["use_cudnn_on_gpu"].set_b(true);
    const std::string b = f.read("sequential/conv2d/BiasAdd/ReadVariableOp", "sequential_conv2d_biasadd_readvariableop_resource");
    auto& add = f.op("sequential/conv2d/BiasAdd", "BiasAdd", {"sequential/conv2d/Conv2D:output:0", b});
    (*add.mutable_attr())["data_format"].set_s("NHWC");
    f.op("sequential/conv2d/Relu", "Relu", {"sequential/conv2d/BiasAdd:output:0"});
    f.op("Identity", "Identity", {"sequential/conv2d/Relu:activations:0", "^NoOp"});
    f.node("NoOp", "NoOp", {"^sequential/conv2d/BiasAdd/ReadVariableOp", "^sequential/conv2d/Conv2D/ReadVariableOp"});
    f.ret("conv2d", "Identity:output:0");
    m.add_function(f.def());
  }
  m.add_function(keras_signature_wrapper("__inference_signature_wrapper_801", "__inference__wrapped_model_733",
                                         "conv2d_input", 2, "conv2d"));
  m.signature("serving_default", "conv2d_input", {-1, H, W, C}, "conv2d", "__inference_signature_wrapper_801",
              {"conv2d/kernel", "conv2d/bias"});
  ASSERT_OK(m.write(dir / "model"));
  ASSERT_OK_AND_ASSIGN(auto model, tfckpt::graph::load_saved_model(dir / "model"));
  ASSERT_OK_AND_ASSIGN(auto ckpt, tfckpt::open(model.variables_prefix.string()));
  ASSERT_OK_AND_ASSIGN(auto plan, tfckpt::graph::plan_saved_model_freeze(model.meta_graph, ckpt, {}));
  ASSERT_EQ(plan.freeze.variables.size(), 2u);
  ASSERT_OK(tfckpt::graph::write_graph_def(plan.freeze.nodes, plan.freeze.tail, dir / "frozen.pb"));
  ASSERT_OK_AND_ASSIGN(auto frozen, tfckpt::graph::load_graph_def(dir / "frozen.pb"));

  const auto x = pseudo_random(H * W * C, 9);  // NHWC
  const std::vector<float> want_nhwc = tfckpt_testing::conv2d_same_relu(x, kernel, bias, H, W, C, F, K);
  const std::vector<float> want_nchw = tfckpt_testing::hwc_to_chw(want_nhwc, H, W, F);

  graph_eval eval(frozen);
  eval.feed("conv2d_input", float_array{{1, H, W, C}, x});
  const float_array& got = eval.run("conv2d");
  EXPECT_LE(max_abs_diff(got.values.data(), got.values.size(), want_nhwc), 1e-5f);

  std::vector<float> nchw = tfckpt_testing::hwc_to_chw(x, H, W, C);
  const int dims[] = {1, C, H, W};
  const cv::Mat out = opencv_forward(dir / "frozen.pb", cv::Mat(4, dims, CV_32F, nchw.data()));
  EXPECT_LE(max_abs_diff(out.ptr<float>(), out.total(), want_nchw), 1e-5f);
}

TEST(KerasSavedModelFreeze, HalfPlusTwoFixtureRunsInOpenCv) {
  TFCKPT_REQUIRE_FIXTURES();
  scratch_dir dir;
  ASSERT_OK_AND_ASSIGN(auto model, tfckpt::graph::load_saved_model(tfckpt_testing::fixtures_dir() /
                                                                   "serving_half_plus_two_tf2" / "00000123"));
  ASSERT_OK_AND_ASSIGN(auto ckpt, tfckpt::open(model.variables_prefix.string()));
  ASSERT_OK_AND_ASSIGN(auto plan, tfckpt::graph::plan_saved_model_freeze(model.meta_graph, ckpt, {}));
  ASSERT_OK(tfckpt::graph::write_graph_def(plan.freeze.nodes, plan.freeze.tail, dir / "frozen.pb"));
  std::vector<float> x = {0.f, 1.f, 2.f, -6.f};
  const cv::Mat out = opencv_forward(dir / "frozen.pb", cv::Mat(1, 4, CV_32F, x.data()));
  EXPECT_LE(max_abs_diff(out.ptr<float>(), out.total(), {2.f, 2.5f, 3.f, -1.f}), 1e-6f);  // y = 0.5 x + 2
}

}  // namespace

}  // namespace opencv_saved_model_freeze_test
