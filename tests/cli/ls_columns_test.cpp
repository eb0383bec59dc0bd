// SPDX-License-Identifier: Apache-2.0
// `tfckpt ls` text output. Aligned (on a terminal, or --align always): columns sized over every row
// before the rows stream out, names with non-printable bytes escaped and padded by their escaped
// width, numbers right-aligned. Into a pipe (--align auto, or never): tab-separated columns written
// in one pass over the index.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH

TEST(LsColumns, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }

#else

#include <nlohmann/json.hpp>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"

namespace ls_columns_test {

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
  const auto r = run_cli({"ls", "--align", "always", prefix});
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

// Into a pipe the columns are separated by one tab each, and nothing pads them: six fields per
// line, names escaped as in the aligned table (a tab in a name too, so that it cannot split a row).
TEST(LsColumns, APipeGetsTabSeparatedColumns) {
  tfckpt_testing::scratch_dir dir;
  const std::string prefix = (dir / "model").string();
  tfckpt_testing::write_bundle(prefix, {
                                           float_tensor("a", {1}, {1}),
                                           float_tensor(std::string("tab\tin\\name"), {2, 1}, {1, 2}),
                                           float_tensor("s", {}, {3}),
                                       });
  const auto piped = run_cli({"ls", prefix});
  ASSERT_EQ(piped.exit_code, 0) << piped;
  EXPECT_EQ(piped.out,
            "NAME\tDTYPE\tSHAPE\tSHARD\tOFFSET\tSIZE\n"
            "a\tfloat32\t[1]\t0\t0\t4\n"
            "s\tfloat32\t[]\t0\t12\t4\n"
            "tab\\x09in\\x5cname\tfloat32\t[2,1]\t0\t4\t8\n");
  const auto never = run_cli({"ls", "--align", "never", prefix});
  EXPECT_EQ(never.out, piped.out);
  const auto always = run_cli({"ls", "--align", "always", prefix});
  ASSERT_EQ(always.exit_code, 0) << always;
  EXPECT_EQ(always.out.find('\t'), std::string::npos) << always.out;
  EXPECT_NE(always.out, piped.out);
  const auto bad = run_cli({"ls", "--align", "sometimes", prefix});
  EXPECT_EQ(bad.exit_code, 2) << bad;
}

// `ls --json` writes plain names as they are and escapes every other one as JSON must: quotes,
// backslashes, control bytes, and invalid UTF-8 replaced by U+FFFD.
TEST(LsColumns, JsonEscapesEveryNameThatNeedsIt) {
  tfckpt_testing::scratch_dir dir;
  const std::string prefix = (dir / "model").string();
  const std::vector<std::string> names = {"plain/kernel", "quote\"d", "back\\slash", std::string("ctl\x01\n", 5),
                                          "caf\xc3\xa9", std::string("bad\xff")};
  std::vector<tfckpt_testing::tensor_spec> specs;
  for (const std::string& n : names) specs.push_back(float_tensor(n, {1}, {1}));
  tfckpt_testing::write_bundle(prefix, specs);
  const auto r = run_cli({"ls", "--json", prefix});
  ASSERT_EQ(r.exit_code, 0) << r;
  const nlohmann::json got = nlohmann::json::parse(r.out);
  std::vector<std::string> listed;
  for (const auto& e : got) listed.push_back(e.at("name").get<std::string>());
  std::vector<std::string> want = names;
  std::sort(want.begin(), want.end());  // key order
  for (std::string& n : want)
    if (n == "bad\xff") n = "bad\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(listed, want);
  EXPECT_NE(r.out.find(R"({"name":"plain/kernel","dtype":"float32","shape":[1],"shard":0,)"), std::string::npos) << r.out;
}

// The aligned table and JSON check the whole index before they print: a corrupt block in the middle
// of a long listing prints no row at all. The tab-separated listing streams in one pass: the rows
// before the damage, then the error, and a non-zero exit.
TEST(LsColumns, ACorruptIndexPrintsNothingAlignedAndTheRowsBeforeItPiped) {
  tfckpt_testing::scratch_dir dir;
  const std::string prefix = (dir / "model").string();
  std::vector<tfckpt_testing::tensor_spec> specs;
  for (int i = 0; i < 4000; ++i)  // ~400 KiB of rows: several flushes of the output buffer
    specs.push_back(float_tensor("a/rather/long/scope/name/for/tensor/number/" + std::to_string(100000 + i), {1}, {1}));
  tfckpt_testing::build_options options;
  options.block_size = 4096;  // the damage lands in a block far from the first
  tfckpt_testing::write_bundle(prefix, specs, options);
  const std::string intact = run_cli({"ls", prefix}).out;
  const std::string index = prefix + ".index";
  const std::uintmax_t size = std::filesystem::file_size(index);
  {
    std::fstream f(index, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(size / 2));
    const char c = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put(static_cast<char>(c ^ 0x20));
  }
  for (const std::vector<std::string>& args : {std::vector<std::string>{"ls", "--align", "always", prefix},
                                                std::vector<std::string>{"ls", "--json", prefix}}) {
    const auto r = run_cli(args);
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_EQ(r.out, "") << args.size();
    EXPECT_NE(r.err.find("model.index"), std::string::npos) << r;
  }
  const auto piped = run_cli({"ls", prefix});
  EXPECT_NE(piped.exit_code, 0) << piped;
  EXPECT_NE(piped.err.find("model.index"), std::string::npos) << piped;
  // Whole rows, the header first, and fewer than all of them.
  EXPECT_EQ(intact.compare(0, piped.out.size(), piped.out), 0);
  EXPECT_GT(split_lines(piped.out).size(), 1u) << piped;
  EXPECT_LT(piped.out.size(), intact.size());
  EXPECT_EQ(piped.out.back(), '\n');
}

// The index decoded in parts on several threads prints exactly what one thread prints, in every
// format, rows in key order; and a damaged index still prints nothing aligned or in JSON, whichever
// part holds the damage, and the same rows before the damage tab-separated.
TEST(LsColumns, ThreadsChangeNothingInTheOutput) {
  tfckpt_testing::scratch_dir dir;
  const std::string prefix = (dir / "model").string();
  std::vector<tfckpt_testing::tensor_spec> specs;
  for (int i = 0; i < 3000; ++i)
    specs.push_back(float_tensor("scope" + std::to_string(i % 7) + "/t" + std::to_string(100000 + i),
                                 {1 + i % 5, 1 + i % 3}, std::vector<float>(static_cast<std::size_t>((1 + i % 5) * (1 + i % 3)), 1)));
  tfckpt_testing::build_options options;
  options.block_size = 1024;  // a hundred blocks or so: parts on every thread
  tfckpt_testing::write_bundle(prefix, specs, options);
  for (const char* format : {"", "--json", "--align=always"}) {
    SCOPED_TRACE(format);
    std::vector<std::string> args = {"ls", prefix, "--threads", "1"};
    if (*format != '\0') args.push_back(format);
    const auto one = run_cli(args);
    ASSERT_EQ(one.exit_code, 0) << one;
    for (const char* threads : {"2", "3", "8"}) {
      args[3] = threads;
      const auto many = run_cli(args);
      ASSERT_EQ(many.exit_code, 0) << many;
      EXPECT_EQ(many.out, one.out) << threads << " threads";
    }
    if (std::string(format) == "--json") {
      const auto listed = nlohmann::json::parse(one.out);
      ASSERT_EQ(listed.size(), specs.size());
      EXPECT_EQ(listed.front()["name"], "scope0/t100000");
      EXPECT_EQ(listed.back()["name"], "scope6/t102995");
    } else {
      EXPECT_EQ(split_lines(one.out).size(), specs.size() + 1);
    }
  }
  const std::string index = prefix + ".index";
  const std::string original = tfckpt_testing::file_bytes(index);
  for (const double at : {0.1, 0.5, 0.9}) {
    std::string damaged = original;
    damaged[static_cast<std::size_t>(at * static_cast<double>(damaged.size()))] ^= 0x20;
    tfckpt_testing::set_file_bytes(index, damaged);
    for (const char* format : {"--json", "--align=always"}) {
      const auto r = run_cli({"ls", prefix, "--threads", "3", format});
      EXPECT_NE(r.exit_code, 0) << r;
      EXPECT_EQ(r.out, "") << at << format;
      EXPECT_NE(r.err.find("model.index"), std::string::npos) << r;
    }
    const auto one = run_cli({"ls", prefix, "--threads", "1"});
    EXPECT_NE(one.exit_code, 0) << one;
    for (const char* threads : {"2", "3", "8"}) {
      const auto many = run_cli({"ls", prefix, "--threads", threads});
      EXPECT_NE(many.exit_code, 0) << many;
      EXPECT_EQ(many.out, one.out) << at << ", " << threads << " threads";
      EXPECT_EQ(many.err, one.err);
    }
  }
}

}  // namespace

}  // namespace ls_columns_test

#endif  // TFCKPT_CLI_PATH

