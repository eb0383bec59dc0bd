// SPDX-License-Identifier: Apache-2.0
// `tfckpt ls` text output: columns aligned over every row (sized before the rows stream out), names
// with non-printable bytes escaped and padded by their escaped width, numbers right-aligned.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH

TEST(LsColumns, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }

#else

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"

namespace {

using tfckpt_testing::float_tensor;
using tfckpt_testing::run_cli;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(LsColumns, EveryRowLinesUpWithTheHeader) {
  tfckpt_testing::scratch_dir dir;
  const std::string prefix = (dir / "model").string();
  std::vector<float> many(1000, 0.5f);
  tfckpt_testing::write_bundle(prefix, {
                                           float_tensor("a", {1}, {1}),
                                           float_tensor("long/scope/name/of/a/kernel", {10, 10, 10}, many),
                                           float_tensor(std::string("odd\x01name\\x"), {2}, {1, 2}),
                                           float_tensor("s", {}, {3}),
                                       });
  const auto r = run_cli({"ls", prefix});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  // Column starts from the header; each later column starts two spaces after the widest cell.
  const std::string& header = lines[0];
  const std::size_t dtype_at = header.find("DTYPE"), shape_at = header.find("SHAPE");
  ASSERT_EQ(dtype_at, std::string("long/scope/name/of/a/kernel").size() + 2);
  ASSERT_EQ(shape_at, dtype_at + std::string("float32").size() + 2);
  const std::vector<std::vector<std::string>> rows = {
      {"a", "float32", "[1]", "0", "0", "4"},
      {"long/scope/name/of/a/kernel", "float32", "[10,10,10]", "0", "4", "4000"},
      {"odd\\x01name\\x5cx", "float32", "[2]", "0", "4004", "8"},
      {"s", "float32", "[]", "0", "4012", "4"},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(lines[i + 1]);
    const std::string& line = lines[i + 1];
    ASSERT_EQ(line.size(), header.size());  // the last column is right-aligned: no trailing spaces
    EXPECT_EQ(line.substr(0, rows[i][0].size()), rows[i][0]);
    EXPECT_EQ(line.substr(dtype_at, rows[i][1].size()), rows[i][1]);
    EXPECT_EQ(line.substr(shape_at, rows[i][2].size()), rows[i][2]);
    EXPECT_EQ(line.substr(line.size() - rows[i][5].size()), rows[i][5]);
    EXPECT_NE(line.find(" " + rows[i][4] + "  "), std::string::npos);
  }
}

}  // namespace

#endif  // TFCKPT_CLI_PATH
