// SPDX-License-Identifier: Apache-2.0
// Pipelines over TF2 checkpoints: selecting and renaming by object path, and the object graph the
// written checkpoint carries — consistent with the tensors kept, read back with our reader.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/object_graph.hpp"
#include "tfckpt/views/transform_names.hpp"

namespace object_graph_test {

namespace {
using ::testing::IsEmpty;
using ::tfckpt_testing::fixtures_dir;
using ::tfckpt_testing::scratch_dir;

constexpr const char* kA2c = "a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-9";

tfckpt::checkpoint open_fixture(const char* rel) {
  auto c = tfckpt::open(fixtures_dir() / rel);
  EXPECT_TRUE(c.ok()) << c.status();
  return *std::move(c);
}

// The written checkpoint's graph names exactly its tensors, and every tensor's bytes equal the
// source tensor it came from (`from[new name] = old name`).
void expect_written_consistently(const tfckpt::checkpoint& source, const std::filesystem::path& out,
                                 const std::map<std::string, std::string>& from) {
  auto written = tfckpt::open(out);
  ASSERT_TRUE(written.ok()) << written.status();
  auto problems = tfckpt::check_object_graph(*written);
  ASSERT_TRUE(problems.ok()) << problems.status();
  EXPECT_THAT(*problems, IsEmpty());
  EXPECT_EQ(written->size(), from.size() + 1);  // + the object graph
  for (const auto& [to, old] : from) {
    const tfckpt::entry* e = written->find(to);
    ASSERT_NE(e, nullptr) << to;
    const tfckpt::entry* s = source.find(old);
    ASSERT_NE(s, nullptr) << old;
    EXPECT_EQ(e->dtype(), s->dtype());
    EXPECT_TRUE(std::ranges::equal(e->shape(), s->shape()));
    EXPECT_TRUE(std::ranges::equal(*e->bytes(), *s->bytes())) << to;
    EXPECT_TRUE(e->verify().ok());
  }
}

TEST(ObjectGraphViews, DroppingOptimizerStateWritesAConsistentGraph) {
  TFCKPT_REQUIRE_FIXTURES();
  const tfckpt::checkpoint ckpt = open_fixture(kA2c);
  scratch_dir dir;
  auto kept = tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot()) |
              tfckpt::views::sync_object_graph(ckpt);
  ASSERT_OK(tfckpt::write_bundle(kept, dir / "ckpt"));
  std::map<std::string, std::string> from;
  for (const tfckpt::entry& e : ckpt.entries())
    if (e.name() != tfckpt::kObjectGraphKey && !tfckpt::is_optimizer_state(e.name()))
      from.emplace(std::string(e.name()), std::string(e.name()));
  EXPECT_EQ(from.size(), 20u);
  expect_written_consistently(ckpt, dir / "ckpt", from);
  auto written = tfckpt::open(dir / "ckpt");
  auto graph = tfckpt::object_graph::load(*written);
  ASSERT_TRUE(graph.ok() && graph->has_value());
  for (int i = 0; i < (*graph)->num_nodes(); ++i) EXPECT_EQ((*graph)->path(i).find("optimizer"), std::string::npos);
}

TEST(ObjectGraphViews, WithoutSyncTheGraphDangles) {
  // The reason sync_object_graph exists: a plain filter keeps the old graph, which then names
  // keys the output lacks.
  TFCKPT_REQUIRE_FIXTURES();
  const tfckpt::checkpoint ckpt = open_fixture(kA2c);
  scratch_dir dir;
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot()), dir / "ckpt"));
  auto written = tfckpt::open(dir / "ckpt");
  ASSERT_TRUE(written.ok());
  auto problems = tfckpt::check_object_graph(*written);
  ASSERT_TRUE(problems.ok());
  EXPECT_EQ(problems->size(), 46u);  // 36 slots + 10 optimizer hyperparameters
}

TEST(ObjectGraphViews, SelectByObjectPathKeepsTheGraphEvenWhenFilteredOut) {
  TFCKPT_REQUIRE_FIXTURES();
  const tfckpt::checkpoint ckpt = open_fixture("iris_keras_sharded_tf2/model.ckpt");
  auto graph = tfckpt::object_graph::load(ckpt);
  ASSERT_TRUE(graph.ok() && graph->has_value());
  scratch_dir dir;
  // The glob does not match _CHECKPOINTABLE_OBJECT_GRAPH; sync adds the rewritten graph back.
  auto kept = tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::object_path_glob(**graph, "layer-2/*")) |
              tfckpt::views::sync_object_graph(ckpt);
  ASSERT_OK(tfckpt::write_bundle(kept, dir / "ckpt"));
  std::map<std::string, std::string> from;
  for (const tfckpt::object_key& k : (*graph)->keys())
    if (k.object_path.rfind("layer-2/", 0) == 0) from.emplace(k.key, k.key);
  EXPECT_EQ(from.size(), 6u);  // kernel, bias and their m and v
  expect_written_consistently(ckpt, dir / "ckpt", from);
  auto out_graph = tfckpt::object_graph::load(*tfckpt::open(dir / "ckpt"));
  ASSERT_TRUE(out_graph.ok() && out_graph->has_value());
  // Root, layer-0 (an InputLayer: never had values, stays), layer-2, kernel, bias, optimizer, 4 slots.
  EXPECT_EQ((*out_graph)->num_nodes(), 10);
}

TEST(ObjectGraphViews, RenameByObjectPathMovesKeysSlotsAndEdges) {
  TFCKPT_REQUIRE_FIXTURES();
  const tfckpt::checkpoint ckpt = open_fixture(kA2c);
  auto graph = tfckpt::object_graph::load(ckpt);
  ASSERT_TRUE(graph.ok() && graph->has_value());
  const auto rename = tfckpt::object_path_rename(**graph, "^actor/", "policy/");
  EXPECT_EQ(rename("actor/hidden1/kernel/.OPTIMIZER_SLOT/actor_optimizer/m/.ATTRIBUTES/VARIABLE_VALUE"),
            "policy/hidden1/kernel/.OPTIMIZER_SLOT/actor_optimizer/m/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_EQ(rename("actor_optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"), "actor_optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_EQ(rename("not/in/graph"), "not/in/graph");
  scratch_dir dir;
  auto renamed = tfckpt::entries(ckpt) | tfckpt::views::transform_names(rename) | tfckpt::views::sync_object_graph(ckpt);
  ASSERT_OK(tfckpt::write_bundle(renamed, dir / "ckpt"));
  std::map<std::string, std::string> from;
  for (const tfckpt::object_key& k : (*graph)->keys()) from.emplace(rename(k.key), k.key);
  expect_written_consistently(ckpt, dir / "ckpt", from);
  auto out = tfckpt::open(dir / "ckpt");
  auto out_graph = tfckpt::object_graph::load(*out);
  ASSERT_TRUE(out_graph.ok() && out_graph->has_value());
  const tfckpt::object_key* k = (*out_graph)->find("policy/std_layer/bias/.ATTRIBUTES/VARIABLE_VALUE");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->object_path, "policy/std_layer/bias");  // the root's edge was renamed too
  std::set<std::string> root_children;
  for (const auto& c : (*out_graph)->proto().nodes(0).children()) root_children.insert(c.local_name());
  EXPECT_TRUE(root_children.count("policy") && !root_children.count("actor"));
}

TEST(ObjectGraphViews, NameBasedCheckpointsPassUnchanged) {
  TFCKPT_REQUIRE_FIXTURES();
  const tfckpt::checkpoint ckpt = open_fixture("mnist_fc2_adam");
  const auto plain = tfckpt::collect(tfckpt::entries(ckpt));
  const auto synced = tfckpt::collect(tfckpt::entries(ckpt) | tfckpt::views::sync_object_graph(ckpt));
  ASSERT_EQ(plain.size(), synced.size());
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(plain[i].name, synced[i].name);
}

}  // namespace

}  // namespace object_graph_test
