// SPDX-License-Identifier: Apache-2.0
// TF2 object graphs: decoded from every TF2 fixture (tf.train.Checkpoint with two optimizers, a
// sharded Keras checkpoint, TF2 SavedModels), with object paths cross-checked against the keys
// TensorFlow derived from them; slot ownership; rewrites that drop or rename keys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"
#include "tfckpt/views/filter.hpp"

namespace object_graph_test {

namespace {
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::tfckpt::object_graph;
using ::tfckpt::object_key;
using ::tfckpt_testing::fixtures_dir;
using ::tfckpt_testing::StatusIs;

object_graph load_graph(const std::string& relative) {
  auto ckpt = tfckpt::open(fixtures_dir() / relative);
  EXPECT_TRUE(ckpt.ok()) << ckpt.status();
  auto g = object_graph::load(*ckpt);
  EXPECT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(g->has_value()) << relative << " has no object graph";
  return **std::move(g);
}

// The key TensorFlow derives from an object's path (spec/FORMAT.md §5) must be the key it stored:
// this checks our breadth-first paths and slot paths against TensorFlow's own naming.
void expect_keys_follow_paths(const object_graph& g) {
  for (const object_key& k : g.keys()) {
    if (k.is_slot()) {
      EXPECT_EQ(tfckpt::slot_attribute_key(tfckpt::split_object_path(k.variable_path),
                                           tfckpt::split_object_path(k.optimizer_path), k.slot_name, k.attribute),
                k.key);
      EXPECT_EQ(k.object_path, k.variable_path + "/.OPTIMIZER_SLOT/" + k.optimizer_path + "/" + k.slot_name);
    } else {
      EXPECT_EQ(tfckpt::object_attribute_key(g.path_components(k.node), k.attribute), k.key);
    }
  }
}

// Every reference in the graph points at a node, and every key the graph names is in `ckpt`, and
// the other way round.
void expect_consistent(const tfckpt::checkpoint& ckpt) {
  auto problems = tfckpt::check_object_graph(ckpt);
  ASSERT_TRUE(problems.ok()) << problems.status();
  EXPECT_THAT(*problems, IsEmpty());
}

TEST(ObjectGraph, EscapingRoundTrips) {
  EXPECT_EQ(tfckpt::escape_object_name("a.b/c"), "a..b.Sc");
  EXPECT_EQ(tfckpt::unescape_object_name("a..b.Sc"), "a.b/c");
  EXPECT_EQ(tfckpt::unescape_object_name("a.x"), std::nullopt);
  EXPECT_EQ(tfckpt::unescape_object_name("a."), std::nullopt);
  const std::vector<std::string> path = {"model", "layer.1", "kernel"};
  EXPECT_EQ(tfckpt::object_attribute_key(path, "VARIABLE_VALUE"), "model/layer..1/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_THAT(tfckpt::split_object_path("a/b/c"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(tfckpt::split_object_path(""), IsEmpty());
}

TEST(ObjectGraph, TwoOptimizerCheckpointPathsAndSlots) {
  TFCKPT_REQUIRE_FIXTURES();
  for (const char* step : {"ckpt-7", "ckpt-8", "ckpt-9"}) {
    SCOPED_TRACE(step);
    const std::string rel = std::string("a2c_tf2_checkpoint_manager/training_checkpoints/") + step;
    const object_graph g = load_graph(rel);
    // MANIFEST.md: 80 objects, 66 attributes, 36 slot references.
    EXPECT_EQ(g.num_nodes(), 80);
    EXPECT_EQ(g.keys().size(), 66u);
    int slot_refs = 0;
    for (const auto& node : g.proto().nodes()) slot_refs += node.slot_variables_size();
    EXPECT_EQ(slot_refs, 36);
    EXPECT_EQ(std::count_if(g.keys().begin(), g.keys().end(), [](const object_key& k) { return k.is_slot(); }), 36);
    expect_keys_follow_paths(g);

    const object_key* kernel = g.find("actor/hidden1/kernel/.ATTRIBUTES/VARIABLE_VALUE");
    ASSERT_NE(kernel, nullptr);
    EXPECT_EQ(kernel->object_path, "actor/hidden1/kernel");
    EXPECT_EQ(kernel->attribute, "VARIABLE_VALUE");
    EXPECT_FALSE(kernel->is_slot());

    const object_key* m = g.find("critic/hidden3/bias/.OPTIMIZER_SLOT/critic_optimizer/v/.ATTRIBUTES/VARIABLE_VALUE");
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->is_slot());
    EXPECT_EQ(m->variable_path, "critic/hidden3/bias");
    EXPECT_EQ(m->optimizer_path, "critic_optimizer");
    EXPECT_EQ(m->slot_name, "v");
    EXPECT_EQ(g.path(m->variable_node), "critic/hidden3/bias");
    EXPECT_EQ(g.parent(m->node), m->optimizer_node);

    // Every slot of the actor's variables belongs to actor_optimizer, the critic's to critic_optimizer.
    for (const object_key& k : g.keys())
      if (k.is_slot()) {
        EXPECT_EQ(k.optimizer_path, k.variable_path.substr(0, k.variable_path.find('/')) + "_optimizer");
      }

    const object_key* counter = g.find("episode_counter/.ATTRIBUTES/VARIABLE_VALUE");
    ASSERT_NE(counter, nullptr);
    EXPECT_EQ(counter->full_name, "Variable");

    auto ckpt = tfckpt::open(fixtures_dir() / rel);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    expect_consistent(*ckpt);
  }
}

TEST(ObjectGraph, ShardedKerasCheckpoint) {
  TFCKPT_REQUIRE_FIXTURES();
  const object_graph g = load_graph("iris_keras_sharded_tf2/model.ckpt");
  // MANIFEST.md: 22 objects, 17 attributes, 8 slot-variable references.
  EXPECT_EQ(g.num_nodes(), 22);
  EXPECT_EQ(g.keys().size(), 17u);
  expect_keys_follow_paths(g);
  const object_key* k = g.find("layer-1/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->object_path, "layer-1/kernel");
  EXPECT_EQ(k->full_name, "sequential/dense/kernel");
  const object_key* v = g.find("layer-2/bias/.OPTIMIZER_SLOT/optimizer/v/.ATTRIBUTES/VARIABLE_VALUE");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->variable_path, "layer-2/bias");
  EXPECT_EQ(v->optimizer_path, "optimizer");
  EXPECT_EQ(g.find("optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE")->full_name, "Adam/iter");
  // The InputLayer (layer-0) holds no values but is an object of the graph.
  EXPECT_EQ(g.path(g.proto().nodes(0).children(0).node_id()), "layer-0");
  auto ckpt = tfckpt::open(fixtures_dir() / "iris_keras_sharded_tf2/model.ckpt");
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  expect_consistent(*ckpt);
}

TEST(ObjectGraph, SavedModelVariables) {
  TFCKPT_REQUIRE_FIXTURES();
  for (const char* rel : {"serving_half_plus_two_tf2/00000123/variables/variables", "rust_regression_savedmodel/variables/variables"}) {
    SCOPED_TRACE(rel);
    const object_graph g = load_graph(rel);
    EXPECT_FALSE(g.keys().empty());
    expect_keys_follow_paths(g);
    auto ckpt = tfckpt::open(fixtures_dir() / rel);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    expect_consistent(*ckpt);
  }
}

TEST(ObjectGraph, NameBasedCheckpointHasNone) {
  TFCKPT_REQUIRE_FIXTURES();
  auto ckpt = tfckpt::open(fixtures_dir() / "mnist_fc2_adam");
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  auto g = object_graph::load(*ckpt);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_FALSE(g->has_value());
  expect_consistent(*ckpt);
}

TEST(ObjectGraph, DroppingOptimizerStateRemovesOptimizersAndSlots) {
  TFCKPT_REQUIRE_FIXTURES();
  const object_graph g = load_graph("a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-9");
  std::map<std::string, std::string> kept;
  for (const object_key& k : g.keys())
    if (!tfckpt::is_optimizer_state(k.key)) kept.emplace(k.key, k.key);
  ASSERT_EQ(kept.size(), 66u - 36u - 10u);  // no slots, no iter/beta_1/beta_2/decay/learning_rate x2
  auto r = g.rewrite(kept);
  ASSERT_TRUE(r.ok()) << r.status();
  std::set<std::string> keys;
  for (const object_key& k : r->keys()) keys.insert(k.key);
  std::set<std::string> expected;
  for (const auto& [from, to] : kept) expected.insert(to);
  EXPECT_EQ(keys, expected);
  std::vector<std::string> root_children;
  for (const auto& c : r->proto().nodes(0).children()) root_children.push_back(c.local_name());
  EXPECT_THAT(root_children, ElementsAre("actor", "critic", "episode_counter", "save_counter"));
  for (int i = 0; i < r->num_nodes(); ++i) {
    EXPECT_TRUE(r->reachable(i)) << "node " << i << " is unreachable";
    EXPECT_EQ(r->proto().nodes(i).slot_variables_size(), 0);
    EXPECT_THAT(r->path(i), ::testing::Not(HasSubstr("optimizer")));
    EXPECT_TRUE(r->proto().nodes(i).has_checkpoint_values().value()) << r->path(i);
  }
  // 80 objects less 2 optimizers, their 10 hyperparameters and 36 slots.
  EXPECT_EQ(r->num_nodes(), 80 - 2 - 10 - 36);
  expect_keys_follow_paths(*r);
  // The rewritten graph survives serialization.
  auto again = object_graph::parse(r->serialize());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->num_nodes(), r->num_nodes());
}

TEST(ObjectGraph, DroppingAVariableKeepsItForItsKeptSlots) {
  TFCKPT_REQUIRE_FIXTURES();
  const object_graph g = load_graph("iris_keras_sharded_tf2/model.ckpt");
  std::map<std::string, std::string> kept;
  for (const object_key& k : g.keys())
    if (k.key != "layer-1/kernel/.ATTRIBUTES/VARIABLE_VALUE") kept.emplace(k.key, k.key);
  auto r = g.rewrite(kept);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->num_nodes(), g.num_nodes());  // the kernel object stays: its m and v still refer to it
  EXPECT_EQ(r->keys().size(), 16u);
  const object_key* m = r->find("layer-1/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->variable_path, "layer-1/kernel");
  EXPECT_TRUE(r->proto().nodes(m->variable_node).attributes().empty());
}

TEST(ObjectGraph, RenamesMoveEdgesWhenAllKeysBelowAgree) {
  TFCKPT_REQUIRE_FIXTURES();
  const object_graph g = load_graph("a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-9");
  // Every actor key renamed to the key of path policy/...; the slots (keyed by variable path)
  // follow too.
  std::map<std::string, std::string> kept;
  for (const object_key& k : g.keys()) {
    std::string to = k.key;
    if (to.rfind("actor/", 0) == 0) to = "policy/" + to.substr(6);
    kept.emplace(k.key, to);
  }
  auto r = g.rewrite(kept);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->num_nodes(), 80);
  expect_keys_follow_paths(*r);
  EXPECT_NE(r->find("policy/hidden1/kernel/.OPTIMIZER_SLOT/actor_optimizer/m/.ATTRIBUTES/VARIABLE_VALUE"), nullptr);
  EXPECT_EQ(r->find("policy/mu_layer/bias/.ATTRIBUTES/VARIABLE_VALUE")->object_path, "policy/mu_layer/bias");

  // A rename that only some keys under `critic` follow leaves the edge alone: keys stay
  // authoritative, the path does not pretend.
  std::map<std::string, std::string> partial;
  for (const object_key& k : g.keys()) partial.emplace(k.key, k.key);
  partial["critic/hidden1/kernel/.ATTRIBUTES/VARIABLE_VALUE"] = "value/hidden1/kernel/.ATTRIBUTES/VARIABLE_VALUE";
  auto p = g.rewrite(partial);
  ASSERT_TRUE(p.ok()) << p.status();
  const object_key* k = p->find("value/hidden1/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->object_path, "critic/hidden1/kernel");
}

TEST(ObjectGraph, RewriteRefusesKeysTheGraphLacks) {
  TFCKPT_REQUIRE_FIXTURES();
  const object_graph g = load_graph("iris_keras_sharded_tf2/model.ckpt");
  EXPECT_THAT(g.rewrite({{"no/such/.ATTRIBUTES/VARIABLE_VALUE", "x"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not in the object graph")));
}

TEST(ObjectGraph, HostileGraphsAreRefused) {
  tensorflow::TrackableObjectGraph p;
  auto* root = p.add_nodes();
  auto* child = root->add_children();
  child->set_node_id(7);
  child->set_local_name("ghost");
  EXPECT_THAT(object_graph::parse(p.SerializeAsString(), "x.data-00000-of-00001", 42),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("x.data-00000-of-00001 @42: object graph node 0 has child 'ghost' -> node 7, but there are 1 nodes")));
  child->set_node_id(-1);
  EXPECT_THAT(object_graph::parse(p.SerializeAsString()), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("node -1")));
  // A cycle is harmless: the walk visits each node once.
  child->set_node_id(0);
  EXPECT_TRUE(object_graph::parse(p.SerializeAsString()).ok());
  auto* slot = root->add_slot_variables();
  slot->set_original_variable_node_id(0);
  slot->set_slot_variable_node_id(3);
  EXPECT_THAT(object_graph::parse(p.SerializeAsString()), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("slot")));
  EXPECT_THAT(object_graph::parse("\xff\xff\xff"), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("TrackableObjectGraph")));
  EXPECT_THAT(object_graph::parse(""), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no nodes")));
  // The same key on two objects.
  tensorflow::TrackableObjectGraph twice;
  for (int i = 0; i < 2; ++i) {
    auto* a = twice.add_nodes()->add_attributes();
    a->set_name("VARIABLE_VALUE");
    a->set_checkpoint_key("k");
  }
  twice.mutable_nodes(0)->add_children()->set_node_id(1);
  EXPECT_THAT(object_graph::parse(twice.SerializeAsString()), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("twice")));
}

}  // namespace

}  // namespace object_graph_test
