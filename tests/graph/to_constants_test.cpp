// SPDX-License-Identifier: Apache-2.0
// views::to_constants and the GraphDef sink: checkpoint tensors become Const nodes whose values are
// the checkpoint's bytes, and only the tensors kept are ever read.
#include "tfckpt/graph/to_constants.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/sinks/write_graph.hpp"
#include "tfckpt/views/filter.hpp"

namespace to_constants_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::float_tensor;
using tfckpt_testing::StatusIs;

tensorflow::GraphDef read_graph(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  tensorflow::GraphDef g;
  EXPECT_TRUE(g.ParseFromString(s.str()));
  return g;
}

TEST(ToConstants, CheckpointTensorsBecomeConstNodesWithTheirBytes) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "m", {
                                              float_tensor("dense/kernel", {2, 3}, {1, 2, 3, 4, 5, 6}),
                                              float_tensor("dense/kernel/Momentum", {2, 3}, {0, 0, 0, 0, 0, 0}),
                                              float_tensor("dense/bias", {1}, {0.5f}),
                                          });
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK(tfckpt::write_graph(tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot()) |
                                    tfckpt::views::to_constants({.device = "/cpu:0"}),
                                dir / "w.pb"));
  const tensorflow::GraphDef g = read_graph(dir / "w.pb");
  ASSERT_EQ(g.node_size(), 2);
  EXPECT_EQ(g.node(0).name(), "dense/bias");
  EXPECT_EQ(g.node(0).device(), "/cpu:0");
  const auto& bias = g.node(0).attr().at("value").tensor();
  ASSERT_EQ(bias.float_val_size(), 1);  // one element: a typed value, as TensorFlow writes it
  EXPECT_EQ(bias.float_val(0), 0.5f);
  EXPECT_EQ(g.node(1).name(), "dense/kernel");
  EXPECT_EQ(g.node(1).attr().at("dtype").type(), tensorflow::DT_FLOAT);
  const auto& kernel = g.node(1).attr().at("value").tensor();
  ASSERT_OK_AND_ASSIGN(const auto stored, ckpt.find("dense/kernel")->bytes());
  EXPECT_EQ(kernel.tensor_content(), std::string(reinterpret_cast<const char*>(stored.data()), stored.size()));
  EXPECT_EQ(kernel.tensor_shape().dim(1).size(), 3);
}

TEST(ToConstants, IsLazyAndReadsOnlyTheTensorsKept) {
  std::vector<tfckpt::tensor> tensors;
  std::vector<int> pulls(1000, 0);
  for (int i = 0; i < 1000; ++i) {
    tfckpt::tensor t;
    t.name = "layer" + std::to_string(i) + "/w";
    t.dtype = tfckpt::dtype::float32;
    t.shape = {256};
    int* count = &pulls[static_cast<std::size_t>(i)];
    t.source = tfckpt::byte_source::from_producer(1024, [count](const tfckpt::byte_source::emit_fn& emit) {
      ++*count;
      std::vector<std::byte> zeros(1024);
      return emit(zeros);
    });
    tensors.push_back(std::move(t));
  }
  tfckpt_testing::scratch_dir dir;
  auto nodes = tensors | tfckpt::views::filter(tfckpt::name_glob("layer7/*")) | tfckpt::views::to_constants();
  EXPECT_EQ(std::count(pulls.begin(), pulls.end(), 0), 1000);  // building the view reads nothing
  ASSERT_OK(tfckpt::write_graph(nodes, dir / "one.pb"));
  EXPECT_EQ(pulls[7], 1);
  EXPECT_EQ(std::count(pulls.begin(), pulls.end(), 0), 999);
  EXPECT_EQ(read_graph(dir / "one.pb").node(0).name(), "layer7/w");
}

TEST(ToConstants, UpstreamProblemsReachTheSink) {
  tfckpt::tensor broken;
  broken.name = "x";
  broken.status = absl::InvalidArgumentError("rename map names 'x', which is absent");
  std::vector<tfckpt::tensor> tensors = {broken};
  tfckpt_testing::scratch_dir dir;
  EXPECT_THAT(tfckpt::write_graph(tensors | tfckpt::views::to_constants(), dir / "g.pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("which is absent")));
  EXPECT_FALSE(fs::exists(dir / "g.pb"));
}

}  // namespace

}  // namespace to_constants_test
