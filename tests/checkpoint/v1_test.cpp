// SPDX-License-Identifier: Apache-2.0
// V1 checkpoints (one SSTable of tensor slices): read through the same checkpoint/entry API, checked
// against the fixtures' MANIFEST listings and TensorFlow's own frozen graph of the same values,
// converted to V2, and refused cleanly when hostile.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "testing/graph_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/copy.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/codec/table_builder.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/graph/graph_io.hpp"
#include "tfckpt/proto/saved_tensor_slice.pb.h"

namespace v1_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::tfckpt_testing::fixtures_dir;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::StatusIs;

struct listed_tensor {
  std::string name, dtype, shape;
};

// The "V1 checkpoint" listings of MANIFEST.md: file -> (name, dtype, shape) rows.
std::map<std::string, std::vector<listed_tensor>> v1_listings() {
  std::ifstream in(fixtures_dir() / "MANIFEST.md");
  std::map<std::string, std::vector<listed_tensor>> out;
  std::string line, set, file;
  bool in_table = false;
  const std::regex heading(R"(^## `([^`]+)`)"), block(R"(^\*\*`([^`]+)`\*\* — V1 checkpoint)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, heading)) set = m[1];
    if (std::regex_search(line, m, block)) file = set + "/" + std::string(m[1]);
    if (!file.empty() && line.rfind("# name  dtype  shape", 0) == 0) {
      in_table = true;
      continue;
    }
    if (in_table && line.rfind("```", 0) == 0) {
      in_table = false;
      file.clear();
      continue;
    }
    if (in_table) {
      std::istringstream row(line);
      listed_tensor t;
      row >> t.name >> t.dtype >> t.shape;
      out[file].push_back(t);
    }
  }
  return out;
}

TEST(V1Fixtures, EveryListedTensorIsReadWithItsDtypeAndShape) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto listings = v1_listings();
  ASSERT_GE(listings.size(), 2u);
  for (const auto& [file, tensors] : listings) {
    SCOPED_TRACE(file);
    ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(fixtures_dir() / file));
    EXPECT_TRUE(ckpt.is_v1());
    ASSERT_EQ(ckpt.size(), tensors.size());
    for (const listed_tensor& t : tensors) {
      const tfckpt::entry* e = ckpt.find(t.name);
      ASSERT_NE(e, nullptr) << t.name;
      EXPECT_EQ(t.dtype == "float" ? "float32" : t.dtype, tfckpt::dtype_name(e->dtype())) << t.name;
      EXPECT_EQ(t.shape, tfckpt::shape_string(e->shape())) << t.name;
      EXPECT_FALSE(e->bytes_are_mapped());
      ASSERT_OK(e->values<float>().status());
    }
    EXPECT_TRUE(ckpt.verify().ok());
  }
}

// TensorFlow froze mnist_softmax_v1's graph from this V1 checkpoint: its Consts are our values.
TEST(V1Fixtures, ValuesEqualTensorFlowsFrozenConstants) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = fixtures_dir() / "mnist_softmax_v1_frozen/model";
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir));  // through its `checkpoint` state file
  ASSERT_OK_AND_ASSIGN(const auto frozen, tfckpt::graph::load_graph_def(dir / "frozen_model.pb"));
  int compared = 0;
  for (const auto& n : frozen.node()) {
    if (n.op() != "Const") continue;
    ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get(n.name()));
    ASSERT_OK_AND_ASSIGN(const auto bytes, e->bytes());
    EXPECT_EQ(n.attr().at("value").tensor().tensor_content(),
              std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()))
        << n.name();
    ++compared;
  }
  EXPECT_EQ(compared, 2);
}

// ... and our freezer reproduces that frozen graph from graph.pb + the V1 checkpoint.
TEST(V1Fixtures, FreezingReproducesTensorFlowsFrozenGraph) {
  TFCKPT_REQUIRE_FIXTURES();
  const fs::path dir = fixtures_dir() / "mnist_softmax_v1_frozen/model";
  ASSERT_OK_AND_ASSIGN(const auto graph, tfckpt::graph::load_graph_def(dir / "graph.pb"));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "model.ckpt"));
  scratch_dir out;
  ASSERT_OK(tfckpt::graph::freeze(graph, ckpt, out / "frozen.pb", {.output_node_names = {"output"}}));
  ASSERT_OK_AND_ASSIGN(const auto ours, tfckpt::graph::load_graph_def(out / "frozen.pb"));
  ASSERT_OK_AND_ASSIGN(const auto theirs, tfckpt::graph::load_graph_def(dir / "frozen_model.pb"));
  ASSERT_EQ(ours.node_size(), theirs.node_size());
  for (int i = 0; i < ours.node_size(); ++i) {
    SCOPED_TRACE(theirs.node(i).name());
    EXPECT_EQ(ours.node(i).SerializeAsString().size(), theirs.node(i).SerializeAsString().size());
    EXPECT_EQ(ours.node(i).DebugString(), theirs.node(i).DebugString());
  }
}

// Every V1 .meta freezes with its checkpoint, variables found through the V1 saver's SaveSlices.
TEST(V1Fixtures, MetaGraphsWithV1CheckpointsFreeze) {
  TFCKPT_REQUIRE_FIXTURES();
  for (const char* base : {"nxt_v1_adam/model.ckpt", "mnist_softmax_v1_frozen/model/model.ckpt",
                           "serving_session_bundle_v1/half_plus_two/00000123/export"}) {
    SCOPED_TRACE(base);
    ASSERT_OK_AND_ASSIGN(const auto meta, tfckpt::graph::load_meta_graph(fixtures_dir() / (std::string(base) + ".meta")));
    ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(fixtures_dir() / base));
    // Outputs: every variable the checkpoint holds, so that all of them are frozen.
    const std::vector<std::string> outputs = tfckpt_testing::variables_in(meta.graph_def(), ckpt);
    ASSERT_FALSE(outputs.empty());
    ASSERT_OK_AND_ASSIGN(const auto plan, tfckpt::graph::plan_freeze(meta.graph_def(), ckpt,
                                                                     {.output_node_names = outputs, .saver_def = meta.saver_def()}));
    EXPECT_EQ(plan.variables.size(), outputs.size());
    scratch_dir out;
    ASSERT_OK(tfckpt::graph::write_graph_def(plan.nodes, plan.tail, out / "frozen.pb"));
  }
}

TEST(V1Fixtures, ConvertsToV2AndReadsBackEqual) {
  TFCKPT_REQUIRE_FIXTURES();
  ASSERT_OK_AND_ASSIGN(const auto v1, tfckpt::open(fixtures_dir() / "nxt_v1_adam/model.ckpt"));
  scratch_dir out;
  ASSERT_OK(tfckpt::copy_checkpoint(v1, (out / "v2").string(), {}));
  ASSERT_OK_AND_ASSIGN(const auto v2, tfckpt::open(out / "v2"));
  EXPECT_FALSE(v2.is_v1());
  ASSERT_EQ(v2.size(), v1.size());
  for (const tfckpt::entry& e : v1.entries()) {
    const tfckpt::entry* c = v2.find(e.name());
    ASSERT_NE(c, nullptr);
    ASSERT_OK_AND_ASSIGN(const auto a, e.bytes());
    ASSERT_OK_AND_ASSIGN(const auto b, c->bytes());
    EXPECT_TRUE(std::ranges::equal(a, b)) << e.name();
    EXPECT_TRUE(c->bytes_are_mapped());
  }
  EXPECT_TRUE(v2.verify().ok());
}

// Hostile V1 files, built here: a record's values must match its slice, whatever the listing claims.
class V1Hostile : public ::testing::Test {
 protected:
  // Writes a V1 file holding tensor `name` of `shape` with one slice record carrying `values`.
  fs::path write(const std::vector<std::int64_t>& shape, const std::vector<float>& values, const std::string& key_override = {}) {
    tensorflow::SavedTensorSlices meta;
    auto* t = meta.mutable_meta()->add_tensor();
    t->set_name("w");
    t->set_type(tensorflow::DT_FLOAT);
    for (auto d : shape) t->mutable_shape()->add_dim()->set_size(d);
    t->add_slice();
    tensorflow::SavedTensorSlices data;
    data.mutable_data()->set_name("w");
    data.mutable_data()->mutable_slice();
    for (float v : values) data.mutable_data()->mutable_data()->add_float_val(v);
    std::vector<tfckpt::codec::slice_extent> full(shape.size());
    const std::string key = key_override.empty() ? tfckpt::codec::encode_tensor_slice_key("w", full) : key_override;
    const fs::path path = dir_ / "v1.ckpt";
    std::ofstream f(path, std::ios::binary);
    tfckpt::codec::table_builder table({}, [&](std::string_view bytes) {
      f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      return absl::OkStatus();
    });
    EXPECT_OK(table.add("", meta.SerializeAsString()));
    EXPECT_OK(table.add(key, data.SerializeAsString()));
    EXPECT_OK(table.finish());
    return path;
  }
  scratch_dir dir_;
};

TEST_F(V1Hostile, AHugeClaimedShapeWithFewValuesIsRefusedWithoutAllocating) {
  EXPECT_THAT(tfckpt::open(write({1000000000, 1000}, {1, 2})).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("holds 2 values for 1000000000000 elements")));
}

TEST_F(V1Hostile, WellFormedSmallFileReads) {
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(write({2}, {1.5f, -2})));
  ASSERT_OK_AND_ASSIGN(const auto v, ckpt.find("w")->values<float>());
  EXPECT_EQ(v[1], -2.0f);
}

TEST_F(V1Hostile, AKeyThatIsNotTheSliceKeyIsRefused) {
  EXPECT_THAT(tfckpt::open(write({2}, {1, 2}, std::string("\x00w2\x00\x01\x01\x80\x7f", 8))).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not the slice key")));
}

TEST_F(V1Hostile, OverflowingShapeIsRefused) {
  EXPECT_THAT(tfckpt::open(write({INT64_MAX / 2, 4}, {1})).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("overflows")));
}

}  // namespace

}  // namespace v1_test
