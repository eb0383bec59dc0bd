// SPDX-License-Identifier: Apache-2.0
// A real consumer runs what the freezer writes: OpenCV's DNN module imports our frozen GraphDefs
// (cv::dnn::readNetFromTensorflow) and its forward pass equals an independent Eigen computation of
// the same network, for an MLP and a CNN built here and for the fixtures' models OpenCV can import
// (the TFLearn net; the half-plus-two SavedModels read their input through ParseExample, which
// OpenCV's importer does not support).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <opencv2/dnn.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "testing/graph_builder.hpp"
#include "testing/paths.hpp"
#include "testing/reference_ops.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/graph/graph_io.hpp"

namespace opencv_freeze_test {

namespace {
namespace fs = std::filesystem;
using ::tfckpt_testing::graph_builder;
using ::tfckpt_testing::scratch_dir;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using ::tfckpt_testing::pseudo_random;

void add_floats(tfckpt::bundle_writer& w, const std::string& name, const std::vector<std::int64_t>& shape,
                const std::vector<float>& v) {
  ASSERT_OK(w.add(name, tfckpt::dtype::float32, shape, tfckpt::byte_source::from_span(std::as_bytes(std::span(v)))));
}

void set_ints(tensorflow::NodeDef& n, const char* attr, std::initializer_list<std::int64_t> v) {
  auto* l = (*n.mutable_attr())[attr].mutable_list();
  for (auto x : v) l->add_i(x);
}

cv::Mat forward(const fs::path& frozen, const cv::Mat& input, const std::string& output) {
  cv::dnn::Net net = cv::dnn::readNetFromTensorflow(frozen.string());
  net.setInput(input);
  return net.forward(output);
}

float max_abs_diff(const cv::Mat& got, const std::vector<float>& want) {
  EXPECT_EQ(got.total(), want.size());
  float worst = 0;
  const float* p = got.ptr<float>();
  for (std::size_t i = 0; i < want.size() && i < got.total(); ++i) worst = std::max(worst, std::abs(p[i] - want[i]));
  return worst;
}

// input [1,4] -> MatMul w1 [4,8] -> BiasAdd b1 -> Relu -> MatMul w2 [8,3] -> BiasAdd b2 -> Softmax
TEST(OpenCvRunsFrozenGraphs, Mlp) {
  scratch_dir dir;
  graph_builder g;
  g.placeholder("input", {1, 4});
  g.op("fc1/MatMul", "MatMul", {"input", g.variable("fc1/w", {4, 8})});
  g.op("fc1/BiasAdd", "BiasAdd", {"fc1/MatMul", g.variable("fc1/b", {8})});
  g.op("fc1/Relu", "Relu", {"fc1/BiasAdd"});
  g.op("fc2/MatMul", "MatMul", {"fc1/Relu", g.variable("fc2/w", {8, 3})});
  g.op("fc2/BiasAdd", "BiasAdd", {"fc2/MatMul", g.variable("fc2/b", {3})});
  g.op("prob", "Softmax", {"fc2/BiasAdd"});
  g.saver();
  const auto w1 = pseudo_random(32, 1), b1 = pseudo_random(8, 2), w2 = pseudo_random(24, 3), b2 = pseudo_random(3, 4);
  {
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "ckpt"));
    add_floats(w, "fc1/w", {4, 8}, w1);
    add_floats(w, "fc1/b", {8}, b1);
    add_floats(w, "fc2/w", {8, 3}, w2);
    add_floats(w, "fc2/b", {3}, b2);
    ASSERT_OK(w.finish());
  }
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "ckpt"));
  ASSERT_OK(tfckpt::graph::freeze(g.graph(), ckpt, dir / "frozen.pb", {.output_node_names = {"prob"}}));

  const std::vector<float> x = {0.3f, -1.2f, 2.0f, 0.7f};
  const Eigen::Map<const RowMatrix> X(x.data(), 1, 4), W1(w1.data(), 4, 8), W2(w2.data(), 8, 3);
  const Eigen::Map<const Eigen::RowVectorXf> B1(b1.data(), 8), B2(b2.data(), 3);
  const Eigen::RowVectorXf hidden = ((X * W1).row(0) + B1).cwiseMax(0.0f);
  Eigen::RowVectorXf logits = hidden * W2 + B2;
  const Eigen::RowVectorXf e = (logits.array() - logits.maxCoeff()).exp();
  const Eigen::RowVectorXf prob = e / e.sum();

  const cv::Mat out = forward(dir / "frozen.pb", cv::Mat(1, 4, CV_32F, const_cast<float*>(x.data())), "prob");
  EXPECT_LE(max_abs_diff(out, std::vector<float>(prob.data(), prob.data() + 3)), 1e-5f);
}

// input NHWC [1,6,6,3] -> Conv2D 3x3x3x4 SAME -> BiasAdd -> Relu
TEST(OpenCvRunsFrozenGraphs, Cnn) {
  constexpr int H = 6, W = 6, C = 3, K = 3, F = 4;
  scratch_dir dir;
  graph_builder g;
  g.placeholder("input", {1, H, W, C});
  auto& conv = g.op("conv/Conv2D", "Conv2D", {"input", g.variable("conv/kernel", {K, K, C, F})});
  set_ints(conv, "strides", {1, 1, 1, 1});
  set_ints(conv, "dilations", {1, 1, 1, 1});
  (*conv.mutable_attr())["padding"].set_s("SAME");
  (*conv.mutable_attr())["data_format"].set_s("NHWC");
  (*conv.mutable_attr())["use_cudnn_on_gpu"].set_b(true);
  auto& bias = g.op("conv/BiasAdd", "BiasAdd", {"conv/Conv2D", g.variable("conv/bias", {F})});
  (*bias.mutable_attr())["data_format"].set_s("NHWC");
  g.op("conv/Relu", "Relu", {"conv/BiasAdd"});
  g.saver();
  const auto kernel = pseudo_random(K * K * C * F, 7), b = pseudo_random(F, 8);
  {
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "ckpt"));
    add_floats(w, "conv/kernel", {K, K, C, F}, kernel);
    add_floats(w, "conv/bias", {F}, b);
    ASSERT_OK(w.finish());
  }
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "ckpt"));
  ASSERT_OK(tfckpt::graph::freeze(g.graph(), ckpt, dir / "frozen.pb", {.output_node_names = {"conv/Relu"}}));

  const auto x = pseudo_random(H * W * C, 9);  // NHWC
  // The convolution, computed directly (SAME padding, stride 1); OpenCV takes and returns NCHW.
  const std::vector<float> want = tfckpt_testing::hwc_to_chw(tfckpt_testing::conv2d_same_relu(x, kernel, b, H, W, C, F, K), H, W, F);
  std::vector<float> nchw = tfckpt_testing::hwc_to_chw(x, H, W, C);
  const int dims[] = {1, C, H, W};
  const cv::Mat out = forward(dir / "frozen.pb", cv::Mat(4, dims, CV_32F, nchw.data()), "conv/Relu");
  EXPECT_LE(max_abs_diff(out, want), 1e-5f);
}

// The TFLearn fixture frozen by us: 2-4-3-1 sigmoid layers, checked against Eigen on the
// checkpoint's own values.
TEST(OpenCvRunsFrozenGraphs, TflearnFixture) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path fx = tfckpt_testing::fixtures_dir() / "tflearn_and_bool_frozen";
  ASSERT_OK_AND_ASSIGN(const auto meta, tfckpt::graph::load_meta_graph(fx / "and.tflearn.meta"));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(fx / "and.tflearn"));
  scratch_dir dir;
  ASSERT_OK(tfckpt::graph::freeze(meta.graph_def(), ckpt, dir / "frozen.pb",
                                  {.output_node_names = {"output/Sigmoid"}, .saver_def = meta.saver_def()}));
  const std::vector<float> x = {1.0f, 0.0f};
  Eigen::RowVectorXf h(2);
  h << x[0], x[1];
  for (const char* layer : {"FullyConnected", "FullyConnected_1", "output"}) {
    const auto w = ckpt.find(std::string(layer) + "/W")->values<float>();
    const auto b = ckpt.find(std::string(layer) + "/b")->values<float>();
    ASSERT_OK(w.status());
    ASSERT_OK(b.status());
    const auto cols = static_cast<Eigen::Index>(b->size());
    const Eigen::Map<const RowMatrix> Wm(w->data(), h.size(), cols);
    const Eigen::Map<const Eigen::RowVectorXf> Bv(b->data(), cols);
    const Eigen::RowVectorXf z = h * Wm + Bv;
    h = (1.0f / (1.0f + (-z.array()).exp())).matrix();
  }
  const cv::Mat out = forward(dir / "frozen.pb", cv::Mat(1, 2, CV_32F, const_cast<float*>(x.data())), "output/Sigmoid");
  EXPECT_LE(max_abs_diff(out, std::vector<float>(h.data(), h.data() + h.size())), 1e-5f);
}


}  // namespace

}  // namespace opencv_freeze_test
