// SPDX-License-Identifier: Apache-2.0
// Compatibility with files TensorFlow wrote: every V2 index in ../shared/fixtures opens, lists
// exactly what MANIFEST.md says, verifies, and reads back known values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "testing/manifest.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/tfckpt.hpp"
#if __has_include("tfckpt/proto/trackable_object_graph.pb.h")
#include "tfckpt/proto/trackable_object_graph.pb.h"
#define TFCKPT_HAVE_OBJECT_GRAPH_PROTO 1
#endif

namespace fixtures_test {

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::fixtures_dir;
using tfckpt_testing::StatusIs;

std::string prefix_of(const fs::path& index) {
  const std::string s = index.string();
  return s.substr(0, s.size() - 6);
}

class FixturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TFCKPT_REQUIRE_FIXTURES();
    manifest_ = tfckpt_testing::read_manifest(fixtures_dir());
  }
  std::vector<tfckpt_testing::manifest_index> manifest_;
};

TEST_F(FixturesTest, ManifestDescribesEveryIndexFile) {
  std::set<fs::path> listed;
  for (const auto& m : manifest_) listed.insert(m.index);
  std::size_t found = 0;
  for (const auto& f : fs::recursive_directory_iterator(fixtures_dir())) {
    if (f.path().extension() != ".index") continue;
    ++found;
    EXPECT_TRUE(listed.count(f.path())) << f.path() << " is not described by MANIFEST.md";
  }
  EXPECT_GE(found, 15u);
  EXPECT_EQ(listed.size(), found);
}

TEST_F(FixturesTest, EveryIndexListsWhatTheManifestSays) {
  std::map<std::string, const tfckpt_testing::manifest_index*> by_name;
  for (const auto& m : manifest_) by_name[m.index.filename().stem().string()] = &m;
  for (const auto& m : manifest_) {
    SCOPED_TRACE(m.index.string());
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(m.index));
    EXPECT_EQ(ckpt.prefix(), prefix_of(m.index));
    EXPECT_EQ(ckpt.size(), m.num_entries);
    EXPECT_EQ(ckpt.num_shards(), m.num_shards);
    EXPECT_FALSE(ckpt.big_endian());
    const auto* table = &m;
    if (!m.same_as.empty()) {
      ASSERT_TRUE(by_name.count(m.same_as)) << m.same_as;
      table = by_name[m.same_as];
    }
    ASSERT_EQ(table->entries.size(), ckpt.size());
    for (std::size_t i = 0; i < ckpt.size(); ++i) {
      const tfckpt::entry& e = ckpt.entries()[i];
      const auto& want = table->entries[i];
      SCOPED_TRACE(want.key);
      EXPECT_EQ(e.name(), want.key);
      ASSERT_TRUE(tfckpt::dtype_from_name(want.dtype).has_value()) << want.dtype;
      EXPECT_EQ(e.dtype(), *tfckpt::dtype_from_name(want.dtype));
      EXPECT_THAT(std::vector<std::int64_t>(e.shape().begin(), e.shape().end()), ::testing::ElementsAreArray(want.shape));
      if (table == &m) {  // offsets belong to this file only
        EXPECT_EQ(e.shard(), want.shard);
        EXPECT_EQ(e.offset(), want.offset);
        EXPECT_EQ(e.size(), want.size);
      }
      EXPECT_FALSE(e.is_partitioned());
      const tfckpt::entry* found = ckpt.find(want.key);
      ASSERT_NE(found, nullptr);
      EXPECT_EQ(found, &e);
    }
  }
}

TEST_F(FixturesTest, EveryCrcVerifiesAndMissingShardsAreReported) {
  for (const auto& m : manifest_) {
    SCOPED_TRACE(m.index.string());
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(m.index));
    const tfckpt::verify_report report = ckpt.verify();
    EXPECT_EQ(report.tensors_checked, m.crcs_verified);
    if (m.crcs_verified == m.num_entries) {
      EXPECT_TRUE(report.ok()) << report.problems.front().ToString();
    } else {
      // Index-only fixtures: one problem per missing shard, naming the data file.
      ASSERT_EQ(report.problems.size(), 1u);
      EXPECT_THAT(report.problems[0], StatusIs(absl::StatusCode::kNotFound, HasSubstr(".data-0000")));
      EXPECT_THAT(report.problems[0].message(), HasSubstr("missing"));
    }
  }
}

TEST_F(FixturesTest, HalfPlusTwoScalars) {
  for (const char* set : {"serving_half_plus_two_tf1", "serving_half_plus_two_tf2"}) {
    SCOPED_TRACE(set);
    const bool tf2 = std::string(set).ends_with("tf2");
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt,
                         tfckpt::open(fixtures_dir() / set / "00000123/variables/variables"));
    // y = a * x + b: a = 0.5, b = 2, c = 3 (the model's documented constants).
    for (const auto& [name, value] : std::vector<std::pair<std::string, float>>{{"a", 0.5f}, {"b", 2.0f}, {"c", 3.0f}}) {
      const std::string key = tf2 ? name + "/.ATTRIBUTES/VARIABLE_VALUE" : name;
      ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get(key));
      ASSERT_OK_AND_ASSIGN(const auto v, e->values<float>());
      ASSERT_EQ(v.size(), 1u);
      EXPECT_EQ(v[0], value) << key;
      EXPECT_TRUE(v.shape().empty());
    }
  }
}

TEST_F(FixturesTest, ObjectGraphStringTensorDecodes) {
  struct expected {
    const char* path;
    int objects;
  };
  for (const expected& x : {expected{"serving_half_plus_two_tf2/00000123/variables/variables", 24},
                            expected{"iris_keras_sharded_tf2/model.ckpt", 22},
                            expected{"a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-9", 80}}) {
    SCOPED_TRACE(x.path);
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(fixtures_dir() / x.path));
    ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get("_CHECKPOINTABLE_OBJECT_GRAPH"));
    EXPECT_EQ(e->dtype(), tfckpt::dtype::string);
    ASSERT_OK_AND_ASSIGN(const auto strings, e->strings());
    ASSERT_EQ(strings.size(), 1u);
    EXPECT_GT(strings[0].size(), 100u);
#ifdef TFCKPT_HAVE_OBJECT_GRAPH_PROTO
    tensorflow::TrackableObjectGraph graph;
    ASSERT_TRUE(graph.ParseFromArray(strings[0].data(), static_cast<int>(strings[0].size())));
    EXPECT_EQ(graph.nodes_size(), x.objects);
#endif
  }
}

TEST_F(FixturesTest, TypedViewsOverRealTensors) {
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(fixtures_dir() / "mnist_ema/MNIST_model"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* w, ckpt.get("layer1/weights"));
  ASSERT_OK_AND_ASSIGN(const auto values, w->values<float>());
  EXPECT_TRUE(values.is_zero_copy());  // offset 4 in the shard: aligned for float
  ASSERT_OK_AND_ASSIGN(const auto raw, w->bytes());
  EXPECT_EQ(static_cast<const void*>(values.data()), static_cast<const void*>(raw.data()));
  ASSERT_OK_AND_ASSIGN(const auto m, tfckpt::as_eigen_matrix(values));
  EXPECT_EQ(m.rows(), 784);
  EXPECT_EQ(m.cols(), 500);
  EXPECT_EQ(m(3, 7), values[3 * 500 + 7]);
  ASSERT_OK_AND_ASSIGN(const auto t, tfckpt::as_eigen_tensor<2>(values));
  EXPECT_EQ(t(783, 499), values[783 * 500 + 499]);
  const auto x = tfckpt::as_xtensor(values);
  EXPECT_EQ(x.shape()[0], 784u);
  EXPECT_EQ(x(10, 20), values[10 * 500 + 20]);
  EXPECT_EQ(tfckpt::as_eigen_vector(values).size(), 784 * 500);
  // The global step is an unnamed int32 `Variable`; asking for floats is refused.
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* step, ckpt.get("Variable"));
  EXPECT_THAT(step->values<float>(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("int32")));
  ASSERT_OK_AND_ASSIGN(const auto s, step->values<std::int32_t>());
  EXPECT_EQ(s.size(), 1u);
  EXPECT_GT(s[0], 0);  // a trained model's step
}

TEST_F(FixturesTest, BoolAndUnalignedTensors) {
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(fixtures_dir() / "tflearn_and_bool_frozen/and.tflearn"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* flag, ckpt.get("is_training"));
  ASSERT_OK_AND_ASSIGN(const auto b, flag->values<bool>());
  ASSERT_EQ(b.size(), 1u);
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* w, ckpt.get("output/W"));  // offset 125: misaligned
  ASSERT_OK_AND_ASSIGN(const auto v, w->values<float>());
  EXPECT_FALSE(v.is_zero_copy());
  ASSERT_OK_AND_ASSIGN(const auto raw, w->bytes());
  ASSERT_EQ(v.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    float f;
    std::memcpy(&f, raw.data() + 4 * i, 4);
    EXPECT_EQ(v[i], f);
  }
}

TEST_F(FixturesTest, Bfloat16IndexOnlyCheckpoint) {
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(fixtures_dir() / "t5x_mtf_tiny_bf16_index_only"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* step, ckpt.get("global_step"));
  ASSERT_OK_AND_ASSIGN(const auto s, step->values<std::int64_t>());  // shard 0 is present
  EXPECT_EQ(s.size(), 1u);
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* emb, ckpt.get("shared/embedding"));
  EXPECT_EQ(emb->dtype(), tfckpt::dtype::bfloat16);
  EXPECT_EQ(tfckpt::dtype_name(emb->dtype()), "bfloat16");
  EXPECT_THAT(emb->values<Eigen::bfloat16>(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("model.ckpt-0.data-00001-of-00002")));
}

TEST_F(FixturesTest, DirectoriesResolveThroughTheStateFile) {
  struct expected {
    const char* dir;
    const char* prefix;  // relative to the fixtures dir
  };
  for (const expected& x : {expected{"iris_keras_sharded_tf2", "iris_keras_sharded_tf2/model.ckpt"},
                            expected{"a2c_tf2_checkpoint_manager/training_checkpoints",
                                     "a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-9"},
                            expected{"mnist_fc2_adam", "mnist_fc2_adam/cnn.ckpt"},  // index only
                            expected{"tf2onnx_regression/checkpoint", "tf2onnx_regression/checkpoint/model"},
                            // A Windows path in the state file: found by its last component.
                            expected{"tflearn_and_bool_frozen", "tflearn_and_bool_frozen/and.tflearn"}}) {
    SCOPED_TRACE(x.dir);
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(fixtures_dir() / x.dir));
    EXPECT_EQ(fs::path(ckpt.prefix()), fixtures_dir() / x.prefix);
  }
  // Without relocation, TensorFlow's rule: an absolute path from another machine is not found.
  EXPECT_THAT(tfckpt::open(fixtures_dir() / "tflearn_and_bool_frozen", {.relocate_by_basename = false}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("latest checkpoint")));
}

TEST_F(FixturesTest, V1CheckpointsOpenWhereverACheckpointIsAccepted) {
  for (const char* path : {"nxt_v1_adam/model.ckpt", "nxt_v1_adam", "mnist_softmax_v1_frozen/model",
                           "serving_session_bundle_v1/half_plus_two/00000123/export"}) {
    SCOPED_TRACE(path);
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(fixtures_dir() / path));
    EXPECT_TRUE(ckpt.is_v1());
    EXPECT_GT(ckpt.size(), 0u);
  }
}

TEST_F(FixturesTest, ClassicMistakesAreExplained) {
  const fs::path dir = fixtures_dir() / "mnist_fc2_adam";
  EXPECT_THAT(tfckpt::open(dir / "fc2.ckpt.data-00000-of-00001"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pass the prefix")));
  EXPECT_THAT(tfckpt::open(dir / "fc2.ckpt.meta"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("MetaGraphDef")));
  EXPECT_THAT(tfckpt::open(dir / "fc2"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("cnn.ckpt, fc2.ckpt")));
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint cnn, tfckpt::open(dir / "cnn.ckpt.index"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* w, cnn.get("fc/w"));
  EXPECT_THAT(w->bytes(), StatusIs(absl::StatusCode::kNotFound,
                                   HasSubstr("cnn.ckpt.data-00000-of-00001: data shard 0 of 1 is missing")));
  EXPECT_THAT(cnn.get("fc/w/Adam_2"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("no tensor named 'fc/w/Adam_2'")));
}

TEST_F(FixturesTest, IdenticalFilesReadIdentically) {
  // The tf2onnx set ships the same variables as a checkpoint and inside a SavedModel.
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint a, tfckpt::open(fixtures_dir() / "tf2onnx_regression/checkpoint/model"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint b,
                       tfckpt::open(fixtures_dir() / "tf2onnx_regression/saved_model/variables/variables"));
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(const auto x, a.entries()[i].values<float>());
    ASSERT_OK_AND_ASSIGN(const auto y, b.entries()[i].values<float>());
    EXPECT_EQ(x[0], y[0]);
  }
}

}  // namespace

}  // namespace fixtures_test
