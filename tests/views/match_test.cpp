// SPDX-License-Identifier: Apache-2.0
#include "tfckpt/views/match.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/sinks/write_bundle.hpp"

namespace match_test {

namespace {
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::float_tensor;
using tfckpt_testing::StatusIs;

class MatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The old model: Input -> A -> B -> Output 1.
    tfckpt_testing::write_bundle(dir_ / "old", {float_tensor("A/w", {4, 3}, std::vector<float>(12, 1)),
                                                float_tensor("A/b", {3}, {1, 2, 3}),
                                                float_tensor("B/w", {3, 2}, std::vector<float>(6, 2)),
                                                float_tensor("B/w/Momentum", {3, 2}, std::vector<float>(6, 0))});
    auto c = tfckpt::open(dir_ / "old");
    ASSERT_OK(c.status());
    ckpt_ = std::make_unique<tfckpt::checkpoint>(*std::move(c));
  }
  // The new model added a branch C, and B's output width changed.
  const std::vector<tfckpt::variable_spec> model_ = {
      {"A/w", tfckpt::dtype::float32, {4, 3}},
      {"A/b", tfckpt::dtype::invalid, {3}},  // any dtype
      {"B/w", tfckpt::dtype::float32, {3, 5}},
      {"C/w", tfckpt::dtype::float32, {3, 7}},
      {"C/b", tfckpt::dtype::float32, {}, /*any_shape=*/true},
  };
  tfckpt_testing::scratch_dir dir_;
  std::unique_ptr<tfckpt::checkpoint> ckpt_;
};

TEST_F(MatchTest, ReportsEverythingAtOnce) {
  const tfckpt::match_report r = tfckpt::match_variables(tfckpt::entries(*ckpt_), model_);
  EXPECT_THAT(r.matched, ElementsAre("A/w", "A/b"));
  EXPECT_THAT(r.missing, ElementsAre("C/w", "C/b"));
  ASSERT_EQ(r.mismatched.size(), 1u);
  EXPECT_EQ(r.mismatched[0].name, "B/w");
  EXPECT_EQ(r.mismatched[0].checkpoint_shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_THAT(r.unexpected, ElementsAre("B/w/Momentum"));
  EXPECT_FALSE(r.complete());
  const std::string text = r.describe();
  EXPECT_THAT(text, HasSubstr("2 matched, 2 missing, 1 shape/dtype mismatches, 1 unexpected"));
  EXPECT_THAT(text, HasSubstr("mismatch:   B/w: model float32 [3,5], checkpoint float32 [3,2]"));
}

TEST_F(MatchTest, PartialRestoreWritesWhatMatches) {
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(*ckpt_) | tfckpt::views::match(model_), dir_ / "restorable"));
  ASSERT_OK_AND_ASSIGN(const auto out, tfckpt::open(dir_ / "restorable"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out.entries()[0].name(), "A/b");
  EXPECT_TRUE(out.verify().ok());
}

TEST_F(MatchTest, CompleteRestoreFailsWithEveryProblem) {
  const absl::Status s = tfckpt::write_bundle(
      tfckpt::entries(*ckpt_) | tfckpt::views::match(model_, {.require_complete = true}), dir_ / "full");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("3 problems")));
  EXPECT_THAT(s.message(), HasSubstr("'C/w' is not in the checkpoint"));
  EXPECT_THAT(s.message(), HasSubstr("'C/b' is not in the checkpoint"));
  EXPECT_THAT(s.message(), HasSubstr("'B/w' is float32 [3,5], the checkpoint has float32 [3,2]"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "full.index"));
}
}  // namespace

}  // namespace match_test
