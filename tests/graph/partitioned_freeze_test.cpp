// SPDX-License-Identifier: Apache-2.0
// Partitioned variables in graphs: parts `<v>/part_<i>` whose VariableDef save_slice_info_def (or,
// with only a GraphDef, the saver's shape_and_slices) names the checkpoint key `<v>` and the part's
// slice. Each part freezes into a Const of exactly its slice, whether the checkpoint holds the
// variable whole (TensorFlow's BundleWriter writes a one-part variable as a plain entry), as the
// same slices, or as other slices.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "testing/bundle_builder.hpp"
#ifdef TFCKPT_CLI_PATH
#include "testing/cli_runner.hpp"
#endif
#include "testing/graph_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/graph/graph_io.hpp"

namespace partitioned_freeze_test {

namespace {
namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tfckpt::codec::slice_extent;
using ::tfckpt_testing::graph_builder;
using ::tfckpt_testing::StatusIs;
using ::tfckpt_testing::tensor_spec;

// Element (flat index i) of every full tensor in these tests: distinct and exact in float.
float value_at(std::int64_t i) { return static_cast<float>(i) + 0.25f; }

std::vector<float> full_values(const std::vector<std::int64_t>& shape) {
  std::vector<float> out(tfckpt_testing::element_count(shape));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = value_at(static_cast<std::int64_t>(i));
  return out;
}

// The row-major values of the block `extents` of a full tensor of `shape` filled by value_at.
std::vector<float> block_values(const std::vector<std::int64_t>& shape, const std::vector<slice_extent>& extents) {
  std::vector<float> out;
  std::vector<std::int64_t> at(shape.size(), 0);
  const std::size_t n = tfckpt_testing::element_count(shape);
  for (std::size_t flat = 0; flat < n; ++flat) {
    std::int64_t rest = static_cast<std::int64_t>(flat);
    bool inside = true;
    for (std::size_t d = shape.size(); d-- > 0;) {
      at[d] = rest % shape[d];
      rest /= shape[d];
      inside = inside && at[d] >= extents[d].start && at[d] < extents[d].start + extents[d].length;
    }
    if (inside) out.push_back(value_at(static_cast<std::int64_t>(flat)));
  }
  return out;
}

// The stored entries of `name` saved as `slices` (a full entry listing them, then one per slice).
std::vector<tensor_spec> sliced_entries(const std::string& name, const std::vector<std::int64_t>& shape,
                                        const std::vector<std::vector<slice_extent>>& slices) {
  tensor_spec full;
  full.name = name;
  full.shape = shape;
  full.slices = slices;
  std::vector<tensor_spec> out = {full};
  for (const auto& ext : slices) {
    std::vector<slice_extent> concrete = ext;  // a whole dimension is stored as (0, -1)
    std::vector<std::int64_t> slice_shape;
    for (std::size_t d = 0; d < ext.size(); ++d) {
      if (ext[d].full()) concrete[d] = {0, shape[d]};
      slice_shape.push_back(concrete[d].length);
    }
    out.push_back(tfckpt_testing::float_tensor(tfckpt::codec::encode_tensor_slice_key(name, ext), slice_shape,
                                               block_values(shape, concrete)));
  }
  return out;
}

std::vector<float> floats_of(const tensorflow::TensorProto& t) {
  if (!t.tensor_content().empty()) {
    std::vector<float> v(t.tensor_content().size() / 4);
    std::memcpy(v.data(), t.tensor_content().data(), v.size() * 4);
    return v;
  }
  return {t.float_val().begin(), t.float_val().end()};
}

std::vector<std::int64_t> dims_of(const tensorflow::TensorProto& t) {
  std::vector<std::int64_t> out;
  for (const auto& d : t.tensor_shape().dim()) out.push_back(d.size());
  return out;
}

const tensorflow::NodeDef* find_node(const tensorflow::GraphDef& g, const std::string& name) {
  for (const auto& n : g.node())
    if (n.name() == name) return &n;
  return nullptr;
}

class PartitionedFreeze : public ::testing::Test {
 protected:
  // Freezes `graph` (outputs `outputs`) with `ckpt` and returns the written graph.
  tensorflow::GraphDef frozen(const tensorflow::GraphDef& graph, const tfckpt::checkpoint& ckpt,
                              tfckpt::graph::freeze_options options) {
    const fs::path out = dir_ / "frozen.pb";
    fs::remove(out);
    EXPECT_OK(tfckpt::graph::freeze(graph, ckpt, out, options));
    auto g = tfckpt::graph::load_graph_def(out, tfckpt::graph::graph_format::binary);
    EXPECT_OK(g.status());
    return g.ok() ? *g : tensorflow::GraphDef();
  }

  // Expects node `name` of `g` to be a float Const of shape `shape` holding `values`.
  static void expect_const(const tensorflow::GraphDef& g, const std::string& name, const std::vector<std::int64_t>& shape,
                           const std::vector<float>& values) {
    SCOPED_TRACE(name);
    const tensorflow::NodeDef* n = find_node(g, name);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->op(), "Const");
    const auto& t = n->attr().at("value").tensor();
    EXPECT_EQ(dims_of(t), shape);
    EXPECT_EQ(floats_of(t), values);
  }

  tfckpt_testing::scratch_dir dir_;
};

// The canned Estimator's graph over a checkpoint as TF 1.x writes it: every one-part variable a
// plain entry under its full name.
void write_estimator_checkpoint(const fs::path& prefix) {
  using tfckpt_testing::float_tensor;
  tfckpt_testing::write_bundle(prefix, {float_tensor("dnn/hiddenlayer_0/kernel", {4, 3}, full_values({4, 3})),
                                        float_tensor("dnn/hiddenlayer_0/bias", {3}, full_values({3})),
                                        float_tensor("dnn/logits/kernel", {3, 2}, full_values({3, 2})),
                                        float_tensor("dnn/logits/bias", {2}, full_values({2})),
                                        float_tensor("global_step", {}, {7})});
}

TEST_F(PartitionedFreeze, EstimatorPartsFreezeFromTheirVariableDefs) {
  graph_builder g = tfckpt_testing::estimator_dnn_graph(4, 3, 2);
  write_estimator_checkpoint(dir_ / "model.ckpt-100");
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "model.ckpt-100"));
  const tensorflow::MetaGraphDef meta = g.meta_graph();
  ASSERT_OK_AND_ASSIGN(auto defs, tfckpt::graph::variable_defs(meta));
  ASSERT_EQ(defs.size(), 4u);  // listed in both collections, returned once
  ASSERT_OK_AND_ASSIGN(const auto plan, tfckpt::graph::plan_freeze(meta.graph_def(), ckpt,
                                                                   {.output_node_names = {"dnn/logits/BiasAdd"},
                                                                    .saver_def = meta.saver_def(),
                                                                    .variable_defs = defs}));
  ASSERT_EQ(plan.variables.size(), 4u);
  EXPECT_EQ(plan.variables[3].node, "dnn/logits/bias/part_0");
  EXPECT_EQ(plan.variables[3].key, "dnn/logits/bias");
  EXPECT_EQ(plan.variables[3].slice, "2 0,2");
  const auto out = frozen(meta.graph_def(), ckpt,
                          {.output_node_names = {"dnn/logits/BiasAdd"}, .saver_def = meta.saver_def(), .variable_defs = defs});
  expect_const(out, "dnn/hiddenlayer_0/kernel/part_0", {4, 3}, full_values({4, 3}));
  expect_const(out, "dnn/hiddenlayer_0/bias/part_0", {3}, full_values({3}));
  expect_const(out, "dnn/logits/kernel/part_0", {3, 2}, full_values({3, 2}));
  expect_const(out, "dnn/logits/bias/part_0", {2}, full_values({2}));
}

TEST_F(PartitionedFreeze, AGraphDefAloneResolvesPartsThroughItsSaver) {
  graph_builder g = tfckpt_testing::estimator_dnn_graph(4, 3, 2);
  write_estimator_checkpoint(dir_ / "model.ckpt-100");
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "model.ckpt-100"));
  const auto out = frozen(g.graph(), ckpt, {.output_node_names = {"dnn/logits/BiasAdd"}});
  expect_const(out, "dnn/logits/kernel/part_0", {3, 2}, full_values({3, 2}));
  expect_const(out, "dnn/logits/bias/part_0", {2}, full_values({2}));
  const auto vars = tfckpt::graph::graph_variables(g.graph());
  ASSERT_EQ(vars.size(), 4u);
  EXPECT_EQ(vars[1].key, "dnn/hiddenlayer_0/bias");
  EXPECT_EQ(vars[1].full_shape, std::vector<std::int64_t>{3});
}

TEST_F(PartitionedFreeze, WithoutVariableDefsOrSaverThePartHasNoValue) {
  graph_builder g;
  g.placeholder("x", {-1, 2});
  const auto b = g.partitioned_variable("bias", {2}, 0, {2});
  g.op("y", "Add", {"x", b[0]});
  tfckpt_testing::write_bundle(dir_ / "ckpt", {tfckpt_testing::float_tensor("bias", {2}, {1, 2})});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "ckpt"));
  EXPECT_THAT(tfckpt::graph::plan_freeze(g.graph(), ckpt, {.output_node_names = {"y"}}).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("variable 'bias/part_0' (VariableV2) has no value")));
  const tensorflow::MetaGraphDef meta = g.meta_graph();
  ASSERT_OK_AND_ASSIGN(auto defs, tfckpt::graph::variable_defs(meta));
  const auto out = frozen(g.graph(), ckpt, {.output_node_names = {"y"}, .variable_defs = defs});
  expect_const(out, "bias/part_0", {2}, {1, 2});
}

// Parts along rows over a checkpoint holding exactly those slices: each Const is its stored slice.
TEST_F(PartitionedFreeze, PartsOverTheSameStoredSlices) {
  graph_builder g;
  const auto parts = g.partitioned_variable("emb", {5, 3}, 0, {3, 2});
  g.op("y", "AddN", {parts[0], parts[1]});
  g.saver();
  const std::vector<std::vector<slice_extent>> slices = {{{0, 3}, {}}, {{3, 2}, {}}};
  tfckpt_testing::write_bundle(dir_ / "ckpt", sliced_entries("emb", {5, 3}, slices));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "ckpt"));
  for (bool with_defs : {true, false}) {
    SCOPED_TRACE(with_defs ? "VariableDefs" : "saver only");
    tfckpt::graph::freeze_options options{.output_node_names = {"y"}};
    if (with_defs) options.variable_defs = g.variable_defs();
    const auto out = frozen(g.graph(), ckpt, options);
    expect_const(out, "emb/part_0", {3, 3}, block_values({5, 3}, {{0, 3}, {0, 3}}));
    expect_const(out, "emb/part_1", {2, 3}, block_values({5, 3}, {{3, 2}, {0, 3}}));
  }
}

// Parts cut from other storage: a plain entry, or slices partitioned another way (assembled, then
// cut). Columns make the parts non-contiguous.
TEST_F(PartitionedFreeze, PartsAreCutFromAWholeOrDifferentlySlicedEntry) {
  graph_builder g;
  const auto rows = g.partitioned_variable("w", {4, 5}, 0, {1, 2, 1});
  const auto cols = g.partitioned_variable("v", {4, 5}, 1, {2, 3});
  g.op("y", "AddN", {rows[0], rows[1], rows[2], cols[0], cols[1]});
  tfckpt_testing::write_bundle(dir_ / "ckpt", [] {
    auto entries = sliced_entries("w", {4, 5}, {{{}, {0, 3}}, {{}, {3, 2}}});
    entries.push_back(tfckpt_testing::float_tensor("v", {4, 5}, full_values({4, 5})));
    return entries;
  }());
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "ckpt"));
  const auto out = frozen(g.graph(), ckpt, {.output_node_names = {"y"}, .variable_defs = g.variable_defs()});
  expect_const(out, "w/part_0", {1, 5}, block_values({4, 5}, {{0, 1}, {0, 5}}));
  expect_const(out, "w/part_1", {2, 5}, block_values({4, 5}, {{1, 2}, {0, 5}}));
  expect_const(out, "w/part_2", {1, 5}, block_values({4, 5}, {{3, 1}, {0, 5}}));
  expect_const(out, "v/part_0", {4, 2}, block_values({4, 5}, {{0, 4}, {0, 2}}));
  expect_const(out, "v/part_1", {4, 3}, block_values({4, 5}, {{0, 4}, {2, 3}}));
}

// A block of a tensor larger than the pieces a stored entry streams in (4 MiB): runs cross pieces.
TEST_F(PartitionedFreeze, ABlockOfALargeEntryCrossesStreamedPieces) {
  const std::vector<std::int64_t> shape = {6, 700001};
  graph_builder g;
  const auto parts = g.partitioned_variable("big", shape, 1, {300000, 400001});
  g.op("y", "Identity", {parts[1]});
  tfckpt_testing::write_bundle(dir_ / "ckpt", {tfckpt_testing::float_tensor("big", shape, full_values(shape))});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "ckpt"));
  const auto out = frozen(g.graph(), ckpt, {.output_node_names = {"y"}, .variable_defs = g.variable_defs()});
  expect_const(out, "big/part_1", {6, 400001}, block_values(shape, {{0, 6}, {300000, 400001}}));
}

// A block can also be read in ranges (as a transpose of it reads it): every range, including ones
// that start and end inside runs and elements, holds the block's bytes.
TEST_F(PartitionedFreeze, ABlockReadsAnyRangeOfItsBytes) {
  const std::vector<std::int64_t> shape = {3, 4, 5};
  tfckpt_testing::write_bundle(dir_ / "ckpt", {tfckpt_testing::float_tensor("t", shape, full_values(shape))});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "ckpt"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get("t"));
  for (const std::vector<slice_extent>& extents :
       std::vector<std::vector<slice_extent>>{{{1, 2}, {0, 4}, {0, 5}}, {{0, 3}, {1, 2}, {2, 3}}, {{2, 1}, {3, 1}, {4, 1}}}) {
    const tfckpt::tensor block = tfckpt::graph::detail::block_of(*e, "", extents);
    const std::vector<float> want = block_values(shape, extents);
    const std::string want_bytes(reinterpret_cast<const char*>(want.data()), want.size() * sizeof(float));
    ASSERT_TRUE(block.source.random_access());
    ASSERT_EQ(block.size(), want_bytes.size());
    for (std::size_t a = 0; a <= want_bytes.size(); a += 3)
      for (std::size_t b = a; b <= want_bytes.size(); b += 7) {
        std::string got(b - a, '\0');
        ASSERT_OK(block.source.read(a, {reinterpret_cast<std::byte*>(got.data()), got.size()}));
        ASSERT_EQ(got, want_bytes.substr(a, b - a)) << "bytes [" << a << ", " << b << ")";
      }
    // And the stream agrees.
    std::string streamed;
    ASSERT_OK(block.source.stream([&](std::span<const std::byte> c) {
      streamed.append(reinterpret_cast<const char*>(c.data()), c.size());
      return absl::OkStatus();
    }));
    EXPECT_EQ(streamed, want_bytes);
  }
}

TEST_F(PartitionedFreeze, AWrongFullShapeNamesTheNode) {
  graph_builder g = tfckpt_testing::estimator_dnn_graph(4, 3, 2);
  auto& defs = g.variable_defs();
  auto* info = defs[3].mutable_save_slice_info_def();  // dnn/logits/bias/part_0
  ASSERT_EQ(info->full_name(), "dnn/logits/bias");
  info->set_full_shape(0, 5);
  info->set_var_shape(0, 5);
  write_estimator_checkpoint(dir_ / "ckpt");
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "ckpt"));
  EXPECT_THAT(tfckpt::graph::plan_freeze(g.graph(), ckpt,
                                         {.output_node_names = {"dnn/logits/BiasAdd"}, .variable_defs = defs})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("variable 'dnn/logits/bias/part_0' is the part '5 0,5' of 'dnn/logits/bias'"),
                             HasSubstr("a tensor of shape [5], but the checkpoint's 'dnn/logits/bias' is [2]"))));
}

TEST_F(PartitionedFreeze, APartWhoseShapeDisagreesWithItsSliceNamesTheNode) {
  graph_builder g;
  const auto parts = g.partitioned_variable("w", {4}, 0, {2, 2});
  g.op("y", "AddN", {parts[0], parts[1]});
  g.variable_defs()[1].mutable_save_slice_info_def()->set_var_shape(0, 1);  // w/part_1 is [2]
  tfckpt_testing::write_bundle(dir_ / "ckpt", {tfckpt_testing::float_tensor("w", {4}, full_values({4}))});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir_ / "ckpt"));
  EXPECT_THAT(
      tfckpt::graph::plan_freeze(g.graph(), ckpt, {.output_node_names = {"y"}, .variable_defs = g.variable_defs()}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("variable 'w/part_1' has shape [2] in the graph but 'w' [4 2,1] is [1] in the checkpoint")));
}

TEST(PartitionedVariableSpecs, PartsAreMatchedAsTheirFullTensorOnce) {
  graph_builder g;
  g.partitioned_variable("w", {4, 2}, 0, {2, 2});
  g.variable("b", {2});
  const auto specs = tfckpt::graph::variable_specs(tfckpt::graph::graph_variables(g.graph(), std::nullopt, g.variable_defs()));
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "w");
  EXPECT_EQ(specs[0].shape, (std::vector<std::int64_t>{4, 2}));
  EXPECT_FALSE(specs[0].any_shape);
  EXPECT_EQ(specs[1].name, "b");
}

TEST(PartitionedVariableDefs, ACollectionThatIsNoVariableDefIsDataLoss) {
  tensorflow::MetaGraphDef meta;
  (*meta.mutable_collection_def())["variables"].mutable_bytes_list()->add_value("\xff\xff\xff");
  EXPECT_THAT(tfckpt::graph::variable_defs(meta).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("collection 'variables': value 0 is not a serialized VariableDef")));
}

#ifdef TFCKPT_CLI_PATH
// `tfckpt match --graph model.meta`: every part matched under its full name.
TEST_F(PartitionedFreeze, MatchReportsEstimatorPartsMatched) {
  graph_builder g = tfckpt_testing::estimator_dnn_graph(4, 3, 2);
  write_estimator_checkpoint(dir_ / "model.ckpt-100");
  {
    std::ofstream meta(dir_ / "model.ckpt-100.meta", std::ios::binary);
    meta << g.meta_graph().SerializeAsString();
  }
  const auto r = tfckpt_testing::run_cli(
      {"match", (dir_ / "model.ckpt-100").string(), "--graph", (dir_ / "model.ckpt-100.meta").string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("4 matched, 0 missing, 0 shape/dtype mismatches, 1 unexpected\n")) << r;
  EXPECT_THAT(r.out, HasSubstr("unexpected: global_step\n"));
}

// `tfckpt freeze --input_meta_graph`: the parts freeze through the .meta's VariableDefs.
TEST_F(PartitionedFreeze, FreezeCommandFreezesEstimatorParts) {
  graph_builder g = tfckpt_testing::estimator_dnn_graph(4, 3, 2);
  write_estimator_checkpoint(dir_ / "model.ckpt-100");
  {
    std::ofstream meta(dir_ / "model.ckpt-100.meta", std::ios::binary);
    meta << g.meta_graph().SerializeAsString();
  }
  const auto r = tfckpt_testing::run_cli({"freeze", "--input_meta_graph", (dir_ / "model.ckpt-100.meta").string(),
                                          "--input_checkpoint", (dir_ / "model.ckpt-100").string(), "--output_node_names",
                                          "dnn/logits/BiasAdd", "--output_graph", (dir_ / "frozen.pb").string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_OK_AND_ASSIGN(const auto out, tfckpt::graph::load_graph_def(dir_ / "frozen.pb"));
  expect_const(out, "dnn/logits/bias/part_0", {2}, full_values({2}));
  expect_const(out, "dnn/hiddenlayer_0/kernel/part_0", {4, 3}, full_values({4, 3}));
}
#endif  // TFCKPT_CLI_PATH

}  // namespace

}  // namespace partitioned_freeze_test
