// SPDX-License-Identifier: Apache-2.0
// entries(), filter predicates, renaming adaptors, plans and the checkpoint sink.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ranges>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/transform_names.hpp"

namespace views_core_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::float_tensor;
using tfckpt_testing::StatusIs;

std::vector<std::string> names(std::span<const tfckpt::tensor> ts) {
  std::vector<std::string> v;
  for (const auto& t : ts) v.push_back(t.name);
  return v;
}

class ViewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tfckpt_testing::write_bundle(dir_ / "m", {
                                                 float_tensor("dense/kernel", {2, 2}, {1, 2, 3, 4}),
                                                 float_tensor("dense/kernel/Momentum", {2, 2}, {0, 0, 0, 0}),
                                                 float_tensor("dense/bias", {2}, {5, 6}),
                                                 float_tensor("dense/bias/ExponentialMovingAverage", {2}, {7, 8}),
                                                 float_tensor("beta1_power", {}, {0.9f}),
                                                 float_tensor("out3/weights", {2}, {3, 3}),
                                             });
    auto c = tfckpt::open(dir_ / "m");
    ASSERT_OK(c.status());
    ckpt_ = std::make_unique<tfckpt::checkpoint>(*std::move(c));
  }
  tfckpt_testing::scratch_dir dir_;
  std::unique_ptr<tfckpt::checkpoint> ckpt_;
};

static_assert(std::ranges::view<decltype(tfckpt::entries(std::declval<const tfckpt::checkpoint&>()))>);
static_assert(tfckpt::tensor_range<decltype(tfckpt::entries(std::declval<const tfckpt::checkpoint&>()))>);

TEST_F(ViewsTest, EntriesCarryMetadataAndOrigins) {
  const auto all = tfckpt::collect(tfckpt::entries(*ckpt_));
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0].name, "beta1_power");
  EXPECT_EQ(all[1].dtype, tfckpt::dtype::float32);
  EXPECT_EQ(all[2].origins[0].checkpoint, (dir_ / "m").string());
  EXPECT_EQ(all[2].stored, ckpt_->find(all[2].name));
}

TEST_F(ViewsTest, OptimizerStateIsRecognised) {
  for (const char* slot : {"a/Momentum", "a/b/Adam", "a/Adam_1", "beta1_power", "scope/beta2_power", "bert/x/adam_m",
                           "bert/x/adam_v", "w/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE",
                           "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", "actor_optimizer/beta_1/.ATTRIBUTES/VARIABLE_VALUE",
                           "decoder/logits/kernel_slot_v", "a/RMSProp_1", "a/Ftrl"})
    EXPECT_TRUE(tfckpt::is_optimizer_state(slot)) << slot;
  for (const char* weight : {"dense/kernel", "Momentum_layer/w", "layer-1/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                             "x/ExponentialMovingAverage", "global_step", "optimizer", "adam/kernel"})
    EXPECT_FALSE(tfckpt::is_optimizer_state(weight)) << weight;
  const auto kept = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::not_optimizer_slot()));
  EXPECT_THAT(names(kept), ElementsAre("dense/bias", "dense/bias/ExponentialMovingAverage", "dense/kernel", "out3/weights"));
}

TEST_F(ViewsTest, GlobAndRegex) {
  EXPECT_THAT(names(tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_glob("dense/*")))),
              ElementsAre("dense/bias", "dense/bias/ExponentialMovingAverage", "dense/kernel", "dense/kernel/Momentum"));
  EXPECT_THAT(names(tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_regex(R"(^out\d+/)")))),
              ElementsAre("out3/weights"));
}

TEST_F(ViewsTest, TransformNamesByCallableAndRegex) {
  const auto out = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_glob("out*")) |
                                   tfckpt::views::transform_names(tfckpt::regex_rename(R"(^out(\d+)/)", "head_$1/")));
  EXPECT_THAT(names(out), ElementsAre("head_3/weights"));
  const auto upper = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::transform_names([](std::string_view n) {
                                       return "model/" + std::string(n);
                                     }));
  EXPECT_EQ(upper[0].name, "model/beta1_power");
  EXPECT_EQ(upper[0].origins[0].name, "beta1_power");
}

TEST_F(ViewsTest, RenameWithSaverSemantics) {
  auto out = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::rename({{"dense/kernel", "w"}, {"dense/bias", "b"}}));
  EXPECT_THAT(names(out), ElementsAre("b", "w"));
  EXPECT_OK(tfckpt::check_pipeline(out));
  // Absent names: every one is reported, together.
  out = tfckpt::collect(tfckpt::entries(*ckpt_) |
                        tfckpt::views::rename({{"dense/kernel", "w"}, {"missing_a", "x"}, {"missing_b", "y"}}));
  const absl::Status s = tfckpt::check_pipeline(out);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, HasSubstr("2 problems")));
  EXPECT_THAT(s.message(), HasSubstr("'missing_a'"));
  EXPECT_THAT(s.message(), HasSubstr("'missing_b'"));
  out = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::rename({{"dense/kernel", "w"}, {"gone", "x"}}, {.allow_missing = true}));
  EXPECT_OK(tfckpt::check_pipeline(out));
  EXPECT_THAT(names(tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::select({"beta1_power"}))), ElementsAre("beta1_power"));
}

TEST_F(ViewsTest, AssignmentMapScopes) {
  auto out = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::assignment_map({{"dense/", "encoder/dense/"},
                                                                                       {"beta1_power", "b1"}}));
  EXPECT_THAT(names(out), ElementsAre("b1", "encoder/dense/bias", "encoder/dense/bias/ExponentialMovingAverage",
                                      "encoder/dense/kernel", "encoder/dense/kernel/Momentum"));
  out = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::assignment_map({{"/", "copy/"}}));
  EXPECT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].name, "copy/beta1_power");
  out = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::assignment_map({{"nothing/", "x/"}}));
  EXPECT_THAT(tfckpt::check_pipeline(out), StatusIs(absl::StatusCode::kNotFound, HasSubstr("'nothing/' matches no tensor")));
}

TEST_F(ViewsTest, EmaRestoreReplacesTheRawVariable) {
  const auto out = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::ema_restore());
  EXPECT_THAT(names(out), ElementsAre("beta1_power", "dense/bias", "dense/kernel", "dense/kernel/Momentum", "out3/weights"));
  tfckpt_testing::scratch_dir out_dir;
  ASSERT_OK(tfckpt::write_bundle(out, out_dir / "ema"));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(out_dir / "ema"));
  ASSERT_OK_AND_ASSIGN(const auto v, ckpt.find("dense/bias")->values<float>());
  EXPECT_THAT(std::vector<float>(v.begin(), v.end()), ElementsAre(7, 8));  // the average's values
}

TEST_F(ViewsTest, DuplicateOutputsAreReportedBeforeAnyByteIsWritten) {
  tfckpt_testing::scratch_dir out;
  const absl::Status s = tfckpt::write_bundle(
      tfckpt::entries(*ckpt_) | tfckpt::views::transform_names([](std::string_view n) { return n.substr(0, 5); }), out / "x");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("two outputs are named 'dense'")));
  EXPECT_TRUE(fs::is_empty(out.path()));
}

TEST_F(ViewsTest, PlanDescribesOutputsWithoutReading) {
  const auto planned = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_glob("dense/kernel")));
  const std::string text = tfckpt::describe_plan(planned);
  EXPECT_THAT(text, HasSubstr("dense/kernel  float32   [2,2]"));
  EXPECT_THAT(text, HasSubstr("16  " + (dir_ / "m").string() + ":dense/kernel"));
  EXPECT_THAT(text, HasSubstr("1 tensors, 16 bytes"));
}

// Laziness, tested: every tensor but one lives in a shard that does not exist, so reading any of
// their bytes would fail. Filtering to the one and writing it succeeds.
TEST(ViewsLaziness, FilterReadsOnlyTheTensorsItKeeps) {
  tfckpt_testing::scratch_dir dir;
  std::vector<tfckpt_testing::tensor_spec> tensors;
  for (int i = 0; i < 1000; ++i) {
    auto t = float_tensor(absl::StrFormat("t%04d", i), {4}, {1, 2, 3, static_cast<float>(i)});
    t.shard = i == 617 ? 0 : 1;
    tensors.push_back(t);
  }
  tfckpt_testing::write_bundle(dir / "m", tensors, {.num_shards = 2});
  fs::remove(tfckpt::data_file_name((dir / "m").string(), 1, 2));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::name_glob("t0617")), dir / "one"));
  ASSERT_OK_AND_ASSIGN(const auto one, tfckpt::open(dir / "one"));
  ASSERT_EQ(one.size(), 1u);
  ASSERT_OK_AND_ASSIGN(const auto v, one.entries()[0].values<float>());
  EXPECT_EQ(v[3], 617.0f);
  // And a pipeline that does need a missing tensor fails, naming it, leaving nothing behind.
  EXPECT_THAT(tfckpt::write_bundle(tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::name_glob("t061*")), dir / "ten"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("for key 't0610'")));
  EXPECT_FALSE(fs::exists(dir / "ten.index"));
}

TEST(ViewsJoin, SeveralCheckpointsKnowTheirOrigin) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "a", {float_tensor("x", {}, {1})});
  tfckpt_testing::write_bundle(dir / "b", {float_tensor("x", {}, {2}), float_tensor("y", {}, {3})});
  ASSERT_OK_AND_ASSIGN(const auto a, tfckpt::open(dir / "a"));
  ASSERT_OK_AND_ASSIGN(const auto b, tfckpt::open(dir / "b"));
  const auto all = tfckpt::collect(tfckpt::entries({&a, &b}));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].origins[0].checkpoint_index, 0u);
  EXPECT_EQ(all[1].origins[0].checkpoint_index, 1u);
  EXPECT_EQ(all[2].origins[0].checkpoint, b.prefix());
  EXPECT_THAT(tfckpt::check_pipeline(all), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("'x'")));
}
}  // namespace

}  // namespace views_core_test
