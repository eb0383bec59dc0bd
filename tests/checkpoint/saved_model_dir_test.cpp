// SPDX-License-Identifier: Apache-2.0
// A SavedModel directory opens as its `variables/variables` checkpoint, as TensorFlow's loaders
// find it: on the TensorFlow-written SavedModels among the fixtures, and on built directories.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace saved_model_dir_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tfckpt_testing::StatusIs;

std::vector<std::string> names_of(const tfckpt::checkpoint& ckpt) {
  std::vector<std::string> out;
  for (const auto& e : ckpt.entries()) out.emplace_back(e.name());
  return out;
}

TEST(SavedModelDir, FixturesOpenAsTheirVariables) {
  TFCKPT_REQUIRE_FIXTURES();
  for (const char* dir : {"serving_half_plus_two_tf1/00000123", "serving_half_plus_two_tf2/00000123",
                          "rust_regression_savedmodel"}) {
    SCOPED_TRACE(dir);
    const fs::path model = tfckpt_testing::fixtures_dir() / dir;
    ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(model));
    EXPECT_EQ(ckpt.prefix(), (model / "variables" / "variables").string());
    ASSERT_OK_AND_ASSIGN(const auto direct, tfckpt::open(model / "variables" / "variables"));
    EXPECT_EQ(names_of(ckpt), names_of(direct));
    EXPECT_TRUE(ckpt.verify().ok());
  }
  ASSERT_OK_AND_ASSIGN(const auto tf1, tfckpt::open(tfckpt_testing::fixtures_dir() / "serving_half_plus_two_tf1/00000123"));
  EXPECT_THAT(names_of(tf1), ElementsAre("a", "a2", "b", "c", "c2"));
}

TEST(SavedModelDir, ATextSavedModelIsRecognisedToo) {
  tfckpt_testing::scratch_dir dir;
  { std::ofstream(dir / "saved_model.pbtxt") << "saved_model_schema_version: 1\n"; }
  tfckpt_testing::write_bundle(dir / "variables" / "variables", {tfckpt_testing::float_tensor("w", {2}, {1, 2})});
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir.path()));
  EXPECT_THAT(names_of(ckpt), ElementsAre("w"));
}

TEST(SavedModelDir, ASavedModelWithoutVariablesSaysSo) {
  tfckpt_testing::scratch_dir dir;
  { std::ofstream(dir / "saved_model.pb") << ""; }
  EXPECT_THAT(tfckpt::open(dir.path()).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("is a SavedModel without variables: " + (dir / "variables" / "variables").string() +
                                 ".index does not exist")));
}

}  // namespace

}  // namespace saved_model_dir_test
