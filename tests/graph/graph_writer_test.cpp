// SPDX-License-Identifier: Apache-2.0
// The streaming GraphDef writer: what it writes parses back as the same graph, problems are reported
// together before anything is written, the 2 GiB limit is enforced from metadata, and a failure
// leaves the previous file and no temporary behind.
#include "tfckpt/graph/graph_writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"

namespace graph_writer_test {

namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::tfckpt::dtype;
using ::tfckpt::graph::const_node;
using ::tfckpt::graph::graph_node;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::StatusIs;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

tfckpt::tensor floats(std::string name, std::vector<float> v, std::vector<std::int64_t> shape) {
  tfckpt::tensor t;
  t.name = std::move(name);
  t.dtype = dtype::float32;
  t.shape = std::move(shape);
  t.source = tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
  return t;
}

// A tensor of `bytes` zero bytes whose source counts how often it is pulled.
tfckpt::tensor counted(std::string name, std::uint64_t bytes, int* pulls) {
  tfckpt::tensor t;
  t.name = std::move(name);
  t.dtype = dtype::uint8;
  t.shape = {static_cast<std::int64_t>(bytes)};
  t.source = tfckpt::byte_source::from_producer(bytes, [pulls, bytes](const tfckpt::byte_source::emit_fn& emit) {
    ++*pulls;
    std::vector<std::byte> chunk(1 << 16);
    for (std::uint64_t done = 0; done < bytes; done += chunk.size())
      TFCKPT_RETURN_IF_ERROR(emit(std::span<const std::byte>(chunk).first(std::min<std::uint64_t>(chunk.size(), bytes - done))));
    return absl::OkStatus();
  });
  return t;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename());
  return out;
}

TEST(GraphWriter, WritesNodesInOrderThenTheTail) {
  scratch_dir dir;
  tensorflow::NodeDef input;
  input.set_name("x");
  input.set_op("Placeholder");
  (*input.mutable_attr())["dtype"].set_type(tensorflow::DT_FLOAT);
  tensorflow::NodeDef matmul;
  matmul.set_name("y");
  matmul.set_op("MatMul");
  matmul.add_input("x");
  matmul.add_input("w");
  std::vector<graph_node> nodes;
  nodes.emplace_back(input);
  nodes.emplace_back(const_node{.name = "w", .value = floats("w", {1, 2, 3, 4, 5, 6}, {3, 2})});
  nodes.emplace_back(matmul);
  tensorflow::GraphDef tail;
  tail.mutable_versions()->set_producer(26);
  tail.mutable_library()->add_function()->mutable_signature()->set_name("f");

  int progress_calls = 0;
  ASSERT_OK(tfckpt::graph::write_graph_def(nodes, tail, dir / "g.pb",
                                           {.progress = [&](std::uint64_t done, std::uint64_t total) {
                                             ++progress_calls;
                                             EXPECT_LE(done, total);
                                           }}));
  EXPECT_EQ(progress_calls, 3);
  const std::string bytes = read_file(dir / "g.pb");
  tensorflow::GraphDef g;
  ASSERT_TRUE(g.ParseFromString(bytes));
  ASSERT_EQ(g.node_size(), 3);
  EXPECT_EQ(g.node(0).name(), "x");
  EXPECT_EQ(g.node(1).op(), "Const");
  const auto& value = g.node(1).attr().at("value").tensor();
  EXPECT_EQ(value.tensor_shape().dim_size(), 2);
  std::vector<float> w(6);
  ASSERT_EQ(value.tensor_content().size(), 24u);
  std::memcpy(w.data(), value.tensor_content().data(), 24);
  EXPECT_EQ(w, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(g.node(2).input(1), "w");
  EXPECT_EQ(g.versions().producer(), 26);
  EXPECT_EQ(g.library().function(0).signature().name(), "f");
  // The same bytes protobuf itself writes for the parsed graph (deterministically).
  EXPECT_EQ(bytes, tfckpt::graph::detail::deterministic_bytes(g));
  EXPECT_EQ(files_in(dir.path()), std::vector<fs::path>{"g.pb"});
}

TEST(GraphWriter, ReportsEveryProblemBeforeWritingAnything) {
  scratch_dir dir;
  tfckpt::tensor bad;
  bad.name = "broken";
  bad.status = absl::NotFoundError("'broken' has no checkpoint value");
  tfckpt::tensor mismatched = floats("m", {1, 2}, {3});
  std::vector<graph_node> nodes = {
      const_node{.name = "a", .value = floats("a", {1}, {1})},
      const_node{.name = "a", .value = floats("a", {2}, {1})},
      const_node{.name = "broken", .value = bad},
      const_node{.name = "m", .value = mismatched},
  };
  const absl::Status s = tfckpt::graph::write_graph_def(nodes, {}, dir / "g.pb");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          AllOf(HasSubstr("3 problems"), HasSubstr("two nodes are named 'a'"),
                                HasSubstr("no checkpoint value"), HasSubstr("'m'"))));
  EXPECT_TRUE(files_in(dir.path()).empty());
}

TEST(GraphWriter, RefusesAGraphOverTwoGiBFromMetadataAlone) {
  scratch_dir dir;
  int pulls = 0;
  std::vector<graph_node> nodes = {
      const_node{.name = "small", .value = counted("small", 1 << 20, &pulls)},
      const_node{.name = "embedding", .value = counted("embedding", std::uint64_t{3} << 30, &pulls)},
      const_node{.name = "softmax", .value = counted("softmax", std::uint64_t{1} << 29, &pulls)},
  };
  const absl::Status s = tfckpt::graph::write_graph_def(nodes, {}, dir / "g.pb");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition,
                          AllOf(HasSubstr("2 GiB"), HasSubstr("'embedding' (3.00 GiB), 'softmax' (512.0 MiB), 'small'"))));
  EXPECT_EQ(pulls, 0);
  EXPECT_TRUE(files_in(dir.path()).empty());
  ASSERT_OK_AND_ASSIGN(const auto plan, tfckpt::graph::plan_graph(nodes, {}, "g.pb", /*allow_over_2gib=*/true));
  EXPECT_GT(plan.bytes, tfckpt::graph::kMaxGraphDefBytes);
  EXPECT_EQ(plan.constants.front().name, "embedding");
  EXPECT_EQ(pulls, 0);
}

TEST(GraphWriter, AFailingSourceLeavesThePreviousFileAndNoTemporary) {
  scratch_dir dir;
  const fs::path path = dir / "g.pb";
  { std::ofstream(path) << "previous"; }
  tfckpt::tensor failing;
  failing.name = "w";
  failing.dtype = dtype::float32;
  failing.shape = {1 << 20};
  failing.source = tfckpt::byte_source::from_producer(4u << 20, [](const tfckpt::byte_source::emit_fn& emit) {
    std::vector<std::byte> half(2u << 20);
    TFCKPT_RETURN_IF_ERROR(emit(half));
    return absl::DataLossError("shard went away");
  });
  std::vector<graph_node> nodes = {const_node{.name = "w", .value = failing}};
  EXPECT_THAT(tfckpt::graph::write_graph_def(nodes, {}, path),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("overwrite")));
  EXPECT_THAT(tfckpt::graph::write_graph_def(nodes, {}, path, {.overwrite = true}),
              StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr("node 'w'"), HasSubstr("shard went away"))));
  EXPECT_EQ(read_file(path), "previous");
  EXPECT_EQ(files_in(dir.path()), std::vector<fs::path>{"g.pb"});
}

TEST(GraphWriter, RejectsATailWithNodes) {
  scratch_dir dir;
  tensorflow::GraphDef tail;
  tail.add_node()->set_name("stray");
  EXPECT_THAT(tfckpt::graph::write_graph_def({}, tail, dir / "g.pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no nodes")));
}

}  // namespace

}  // namespace graph_writer_test
