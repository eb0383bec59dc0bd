// SPDX-License-Identifier: Apache-2.0
// Graph inputs the fuzz targets (fuzz/) found mishandled, as readable cases: each names the input
// that triggered it (kept byte for byte under fuzz/regressions/graph/) and asserts the behaviour
// now expected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/graph/graph_io.hpp"

namespace fuzz_regressions_test {

namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::StatusIs;

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// fuzz/regressions/graph/text_graph_non_utf8_device_frozen_unreadable: a text GraphDef whose
// device string holds bytes that are not UTF-8. Protobuf's text parser took it, so freezing wrote
// a binary graph that protobuf's binary parser (and TensorFlow) then refused to read.
TEST(FuzzRegressions, TextGraphWithNonUtf8StringIsRefusedAtLoad) {
  scratch_dir dir;
  write(dir / "g.pbtxt", "node { name: \"x\" op: \"Placeholder\" device: \"\\326\\326/cpu\" }\n");
  EXPECT_THAT(tfckpt::graph::load_graph_def(dir / "g.pbtxt").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr((dir / "g.pbtxt").string()), HasSubstr("not valid UTF-8"))));
  // The same graph with UTF-8 text (here "é") still loads.
  write(dir / "ok.pbtxt", "node { name: \"x\" op: \"Placeholder\" device: \"\\303\\251/cpu\" }\n");
  ASSERT_OK_AND_ASSIGN(const tensorflow::GraphDef g, tfckpt::graph::load_graph_def(dir / "ok.pbtxt"));
  EXPECT_EQ(g.node(0).device(), "\xc3\xa9/cpu");
}

// The same for a MetaGraphDef and a SavedModel in text form: they share the loader.
TEST(FuzzRegressions, TextSavedModelWithNonUtf8StringIsRefused) {
  scratch_dir dir;
  write(dir / "saved_model.pbtxt",
        "meta_graphs { meta_info_def { tags: \"serve\" } graph_def { node { name: \"\\377\" op: \"Const\" } } }\n");
  EXPECT_THAT(tfckpt::graph::load_saved_model(dir.path(), {"serve"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid UTF-8")));
}

}  // namespace

}  // namespace fuzz_regressions_test
