// SPDX-License-Identifier: Apache-2.0
// End-to-end tests of the `tfckpt` tool: runs the built binary (TFCKPT_CLI_PATH) and checks its
// stdout, stderr and exit code, on checkpoints written by tests/testing/bundle_builder.hpp and on
// the TensorFlow-written fixtures (skipped visibly when absent).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH

TEST(Cli, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }

#else

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "tfckpt/version.hpp"

namespace cli_test {

extern char** environ;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using tfckpt_testing::float_tensor;
using tfckpt_testing::string_tensor;
using tfckpt_testing::typed_tensor;

// --- running the tool (tests/testing/cli_runner.hpp) ----------------------------------------

using tfckpt_testing::cli_result;
using tfckpt_testing::run_cli;
using tfckpt_testing::slurp;
using tfckpt_testing::wait_for;

// As run_cli, with stderr on a pseudo-terminal; `err` is what the terminal received.
cli_result run_cli_with_terminal_stderr(const std::vector<std::string>& args) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    ADD_FAILURE() << "no pseudo-terminal: " << std::strerror(errno);
    return {};
  }
  const int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  if (slave < 0) {
    ADD_FAILURE() << "cannot open the pty slave: " << std::strerror(errno);
    close(master);
    return {};
  }
  // The child runs to completion while the parent blocks in waitpid; its progress output is far
  // below the pty buffer size, so reading afterwards cannot deadlock.
  cli_result r = run_cli(args, slave);
  close(slave);
  char buf[4096];
  for (;;) {
    const ssize_t n = read(master, buf, sizeof(buf));
    if (n > 0) {
      r.err.append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO: every slave descriptor is closed
    }
  }
  close(master);
  return r;
}

// --- helpers ----------------------------------------------------------------------------------

json parse_json(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not valid JSON:\n" << text;
  return j;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void flip_byte(const fs::path& file, std::uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << file;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  ASSERT_TRUE(f.get(c)) << file << " has no byte " << offset;
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5a));
  ASSERT_TRUE(f) << file;
}

std::vector<float> floats_of(const json& values) {
  std::vector<float> v;
  for (const json& x : values) v.push_back(x.get<float>());
  return v;
}

// --- a checkpoint written by the test bundle builder ------------------------------------------

// Written in this order, so data offsets are: dense/kernel 0 (24 bytes), counts 24 (24), flags 48
// (4), vocab 52 (16), half 68 (6), bf16 74 (4), scalar 78 (4). The index is in key order.
const std::string kInvalidUtf8 = std::string("\xff\0z", 3);

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tfckpt_testing::write_bundle(
        prefix_, {
                     float_tensor("dense/kernel", {2, 3}, {0.5f, -1.25f, 3.0f, 1e-5f, 65504.0f, -0.0f}),
                     typed_tensor<std::int64_t>("counts", tfckpt::dtype::int64, {3},
                                                {9007199254740993, std::numeric_limits<std::int64_t>::min(),
                                                 std::numeric_limits<std::int64_t>::max()}),
                     typed_tensor<std::uint8_t>("flags", tfckpt::dtype::boolean, {2, 2}, {1, 0, 0, 1}),
                     string_tensor("vocab", {3}, {"a", "caf\xc3\xa9", kInvalidUtf8}),
                     typed_tensor<tfckpt::float16>("half", tfckpt::dtype::float16, {3},
                                               {tfckpt::float16(0.5f), tfckpt::float16(-2.0f), tfckpt::float16(0.1f)}),
                     typed_tensor<tfckpt::bfloat16>("bf16", tfckpt::dtype::bfloat16, {2},
                                                   {tfckpt::bfloat16(1.5f), tfckpt::bfloat16(-256.0f)}),
                     float_tensor("scalar", {}, {2.0f}),
                 });
  }
  std::string prefix() const { return prefix_.string(); }
  std::string data_file() const { return prefix() + ".data-00000-of-00001"; }

  tfckpt_testing::scratch_dir dir_;
  fs::path prefix_ = dir_ / "model";
};

TEST_F(CliTest, LsJsonListsEveryEntryInKeyOrder) {
  ASSERT_EQ(tfckpt_testing::encode_strings({"a", "caf\xc3\xa9", kInvalidUtf8}).size(), 16u);
  const cli_result r = run_cli({"ls", prefix(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, IsEmpty());
  const json expected = json::parse(R"([
    {"name": "bf16",         "dtype": "bfloat16", "shape": [2],    "shard": 0, "offset": 74, "size": 4},
    {"name": "counts",       "dtype": "int64",    "shape": [3],    "shard": 0, "offset": 24, "size": 24},
    {"name": "dense/kernel", "dtype": "float32",  "shape": [2, 3], "shard": 0, "offset": 0,  "size": 24},
    {"name": "flags",        "dtype": "bool",     "shape": [2, 2], "shard": 0, "offset": 48, "size": 4},
    {"name": "half",         "dtype": "float16",  "shape": [3],    "shard": 0, "offset": 68, "size": 6},
    {"name": "scalar",       "dtype": "float32",  "shape": [],     "shard": 0, "offset": 78, "size": 4},
    {"name": "vocab",        "dtype": "string",   "shape": [3],    "shard": 0, "offset": 52, "size": 16}
  ])");
  const json got = parse_json(r.out);
  EXPECT_EQ(got, expected) << got.dump(2);
  // Exactly these keys, in this order, in every object.
  for (const auto& e : nlohmann::ordered_json::parse(r.out)) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : e.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"name", "dtype", "shape", "shard", "offset", "size"})) << e.dump();
  }
  EXPECT_THAT(r.out, HasSubstr(R"({"name":"bf16","dtype":"bfloat16","shape":[2],"shard":0,"offset":74,"size":4})"));
}

TEST_F(CliTest, LsAcceptsIndexPathAndStateFileDirectory) {
  const cli_result by_prefix = run_cli({"ls", prefix(), "--json"});
  ASSERT_EQ(by_prefix.exit_code, 0) << by_prefix;
  const cli_result by_index = run_cli({"ls", prefix() + ".index", "--json"});
  ASSERT_EQ(by_index.exit_code, 0) << by_index;
  EXPECT_EQ(by_index.out, by_prefix.out);
  std::ofstream(dir_ / "checkpoint") << "model_checkpoint_path: \"model\"\n";
  const cli_result by_dir = run_cli({"ls", dir_.path().string(), "--json"});
  ASSERT_EQ(by_dir.exit_code, 0) << by_dir;
  EXPECT_EQ(by_dir.out, by_prefix.out);
}

TEST_F(CliTest, LsTextHasHeaderAndOneEntryPerLine) {
  const cli_result r = run_cli({"ls", prefix()});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 8u) << r;
  EXPECT_THAT(lines[0], AllOf(StartsWith("NAME"), HasSubstr("DTYPE"), HasSubstr("SHAPE"), HasSubstr("SHARD"),
                              HasSubstr("OFFSET"), HasSubstr("SIZE")));
  const std::vector<std::vector<std::string>> expected = {
      {"bf16", "bfloat16", "[2]", "0", "74", "4"},      {"counts", "int64", "[3]", "0", "24", "24"},
      {"dense/kernel", "float32", "[2,3]", "0", "0", "24"}, {"flags", "bool", "[2,2]", "0", "48", "4"},
      {"half", "float16", "[3]", "0", "68", "6"},       {"scalar", "float32", "[]", "0", "78", "4"},
      {"vocab", "string", "[3]", "0", "52", "16"},
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    std::istringstream in(lines[i + 1]);
    std::vector<std::string> fields;
    for (std::string f; in >> f;) fields.push_back(f);
    EXPECT_EQ(fields, expected[i]) << lines[i + 1];
  }
  // Into a pipe the fields are separated by single tabs; aligned, every line puts DTYPE at the same
  // column.
  for (std::size_t i = 1; i < lines.size(); ++i)
    EXPECT_EQ(std::count(lines[i].begin(), lines[i].end(), '\t'), 5) << lines[i];
  const cli_result aligned = run_cli({"ls", "--align", "always", prefix()});
  ASSERT_EQ(aligned.exit_code, 0) << aligned;
  const std::vector<std::string> rows = lines_of(aligned.out);
  ASSERT_EQ(rows.size(), 8u) << aligned;
  const auto col = rows[0].find("DTYPE");
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_EQ(rows[i].find(expected[i - 1][1]), col) << rows[i];
}

TEST_F(CliTest, CatJsonFloat32) {
  const cli_result r = run_cli({"cat", prefix(), "dense/kernel", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json j = parse_json(r.out);
  EXPECT_EQ(j["name"], "dense/kernel");
  EXPECT_EQ(j["dtype"], "float32");
  EXPECT_EQ(j["shape"], json::parse("[2,3]"));
  EXPECT_EQ(floats_of(j["values"]), (std::vector<float>{0.5f, -1.25f, 3.0f, 1e-5f, 65504.0f, -0.0f}));
  EXPECT_TRUE(std::signbit(j["values"][5].get<float>()));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre("name", "dtype", "shape", "values"));
}

TEST_F(CliTest, CatJsonInt64IsExact) {
  const cli_result r = run_cli({"cat", prefix(), "counts", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json j = parse_json(r.out);
  EXPECT_EQ(j["dtype"], "int64");
  ASSERT_EQ(j["values"].size(), 3u);
  for (const json& v : j["values"]) EXPECT_TRUE(v.is_number_integer()) << v;
  EXPECT_EQ(j["values"][0].get<std::int64_t>(), 9007199254740993);  // 2^53 + 1: not a double
  EXPECT_EQ(j["values"][1].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(j["values"][2].get<std::int64_t>(), std::numeric_limits<std::int64_t>::max());
  EXPECT_THAT(r.out, HasSubstr("[9007199254740993,-9223372036854775808,9223372036854775807]"));
}

TEST_F(CliTest, CatJsonBool) {
  const cli_result r = run_cli({"cat", prefix(), "flags", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json j = parse_json(r.out);
  EXPECT_EQ(j["dtype"], "bool");
  EXPECT_EQ(j["shape"], json::parse("[2,2]"));
  EXPECT_EQ(j["values"], json::parse("[true,false,false,true]"));
}

TEST_F(CliTest, CatJsonStringsStayValidJsonWithNonUtf8Bytes) {
  const cli_result r = run_cli({"cat", prefix(), "vocab", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json j = parse_json(r.out);  // nlohmann rejects invalid UTF-8: parsing proves validity
  EXPECT_EQ(j["dtype"], "string");
  ASSERT_EQ(j["values"].size(), 3u);
  EXPECT_EQ(j["values"][0], "a");
  EXPECT_EQ(j["values"][1], "caf\xc3\xa9");
  EXPECT_EQ(j["values"][2], std::string("\xef\xbf\xbd\0z", 5));  // 0xff -> U+FFFD; NUL kept
}

TEST_F(CliTest, CatTextStringsAreQuotedAndEscaped) {
  const cli_result r = run_cli({"cat", prefix(), "vocab"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "vocab string [3]\n\"a\" \"caf\\xc3\\xa9\" \"\\xff\\x00z\"\n");
}

TEST_F(CliTest, CatJsonHalfAndBfloat16) {
  const cli_result h = run_cli({"cat", prefix(), "half", "--json"});
  ASSERT_EQ(h.exit_code, 0) << h;
  const json hj = parse_json(h.out);
  EXPECT_EQ(hj["dtype"], "float16");
  for (const json& v : hj["values"]) EXPECT_TRUE(v.is_number_float()) << v;
  EXPECT_EQ(floats_of(hj["values"]), (std::vector<float>{0.5f, -2.0f, static_cast<float>(tfckpt::float16(0.1f))}));

  const cli_result b = run_cli({"cat", prefix(), "bf16", "--json"});
  ASSERT_EQ(b.exit_code, 0) << b;
  const json bj = parse_json(b.out);
  EXPECT_EQ(bj["dtype"], "bfloat16");
  EXPECT_EQ(bj["shape"], json::parse("[2]"));
  EXPECT_EQ(floats_of(bj["values"]), (std::vector<float>{1.5f, -256.0f}));
}

TEST_F(CliTest, CatScalar) {
  const cli_result r = run_cli({"cat", prefix(), "scalar", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(parse_json(r.out), json::parse(R"({"name":"scalar","dtype":"float32","shape":[],"values":[2.0]})"));
  const cli_result t = run_cli({"cat", prefix(), "scalar"});
  ASSERT_EQ(t.exit_code, 0) << t;
  EXPECT_EQ(t.out, "scalar float32 []\n2.0\n");
}

TEST_F(CliTest, CatTextPrintsRowsOfTheLastDimension) {
  const cli_result r = run_cli({"cat", prefix(), "dense/kernel"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "dense/kernel float32 [2,3]\n0.5 -1.25 3.0\n1e-05 65504.0 -0.0\n");
  const cli_result f = run_cli({"cat", prefix(), "flags"});
  ASSERT_EQ(f.exit_code, 0) << f;
  EXPECT_EQ(f.out, "flags bool [2,2]\ntrue false\nfalse true\n");
}

TEST_F(CliTest, CatUnknownTensorIsAnError) {
  const cli_result r = run_cli({"cat", prefix(), "no/such/tensor"});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, AllOf(StartsWith("tfckpt: "), HasSubstr("no/such/tensor")));
}

TEST_F(CliTest, VerifyPassesOnAGoodCheckpoint) {
  const cli_result r = run_cli({"verify", prefix()});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 1u) << r;
  EXPECT_THAT(lines[0], AllOf(StartsWith("OK"), HasSubstr("7 tensors"), HasSubstr("82 bytes")));
  EXPECT_THAT(r.err, IsEmpty()) << "no progress when stderr is not a terminal";
}

TEST_F(CliTest, VerifyNamesTheCorruptTensorAndDataFile) {
  flip_byte(data_file(), 24 + 5);  // inside `counts`
  const cli_result r = run_cli({"verify", prefix()});
  EXPECT_EQ(r.exit_code, 1) << r;
  const std::vector<std::string> lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r;  // one problem, then the summary
  EXPECT_THAT(lines[0], AllOf(HasSubstr("'counts'"), HasSubstr(data_file()), HasSubstr("@24")));
  EXPECT_THAT(lines[1], AllOf(StartsWith("FAILED"), HasSubstr("1 problem")));
  EXPECT_THAT(r.out, Not(HasSubstr("dense/kernel")));
}

TEST_F(CliTest, VerifyReportsACorruptIndexBlock) {
  flip_byte(prefix() + ".index", 3);  // inside the first (data) block
  const cli_result r = run_cli({"verify", prefix()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.out, HasSubstr(prefix() + ".index"));
  EXPECT_THAT(lines_of(r.out).back(), StartsWith("FAILED"));
  // Reading commands treat the same file as a format error.
  EXPECT_EQ(run_cli({"ls", prefix()}).exit_code, 3);
}

TEST_F(CliTest, VerifyReportsAMissingShard) {
  fs::remove(data_file());
  const cli_result r = run_cli({"verify", prefix()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.out, AllOf(HasSubstr(data_file()), HasSubstr("missing")));
}

TEST_F(CliTest, VerifyShowsProgressOnlyOnATerminal) {
  const cli_result shown = run_cli_with_terminal_stderr({"verify", prefix()});
  ASSERT_EQ(shown.exit_code, 0) << shown;
  EXPECT_THAT(shown.err, AllOf(HasSubstr("verifying:"), HasSubstr("100%")));
  EXPECT_THAT(shown.out, StartsWith("OK"));
  const cli_result quiet = run_cli_with_terminal_stderr({"verify", "--quiet", prefix()});
  ASSERT_EQ(quiet.exit_code, 0) << quiet;
  EXPECT_THAT(quiet.err, IsEmpty());
}

TEST_F(CliTest, UsageErrorsExit2) {
  const std::vector<std::vector<std::string>> cases = {
      {},                                     // no subcommand
      {"bogus"},                              // unknown subcommand
      {"ls"},                                 // missing CKPT
      {"cat", prefix()},                      // missing NAME
      {"ls", prefix(), "--no-such-flag"},     // unknown option
      {"verify", prefix(), "extra"},          // extra positional
      {"cat", prefix(), "scalar", "surplus"}, // extra positional
  };
  for (const auto& args : cases) {
    const cli_result r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args) << "\n" << r;
    EXPECT_THAT(r.out, IsEmpty());
    EXPECT_THAT(r.err, StartsWith("tfckpt: "));
  }
  EXPECT_THAT(run_cli({"bogus"}).err, HasSubstr("unknown command 'bogus'"));
}

TEST_F(CliTest, HelpAndVersion) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"ls", "--help"}, {"cat", "--help"}, {"verify", "--help"}}) {
    const cli_result r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_THAT(r.out, AllOf(HasSubstr("Usage:"), HasSubstr("Example"), HasSubstr("tfckpt ")));
  }
  const cli_result v = run_cli({"--version"});
  EXPECT_EQ(v.exit_code, 0) << v;
  EXPECT_THAT(v.out, HasSubstr(tfckpt::kVersion));
}

// The tool declares only the named subcommand's options (a faster start); each must then still be
// found under the name the top-level help lists.
TEST_F(CliTest, EveryListedCommandRunsUnderItsName) {
  const cli_result top = run_cli({"--help"});
  ASSERT_EQ(top.exit_code, 0) << top;
  std::vector<std::string> names;
  bool in_list = false;
  for (const std::string& line : lines_of(top.out)) {
    if (line.starts_with("Subcommands:")) {
      in_list = true;
    } else if (in_list && line.starts_with("  ") && line.size() > 2 && line[2] != ' ') {
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
    } else if (in_list && !line.empty() && !line.starts_with(" ")) {
      break;
    }
  }
  ASSERT_GE(names.size(), 10u) << top.out;
  EXPECT_THAT(names, AllOf(Contains("ls"), Contains("verify"), Contains("merge")));
  for (const std::string& name : names) {
    const cli_result r = run_cli({name, "--help"});
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r;
    EXPECT_THAT(r.out, HasSubstr("tfckpt " + name)) << name;
    // A mistake after the name is reported against that command.
    const cli_result bad = run_cli({name, "--no-such-flag"});
    EXPECT_EQ(bad.exit_code, 2) << name << "\n" << bad;
    EXPECT_THAT(bad.err, HasSubstr("Run 'tfckpt " + name + " --help'")) << name << "\n" << bad;
  }
}

TEST_F(CliTest, MissingCheckpointExits3) {
  const std::string missing = (dir_ / "no_such_model").string();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"ls", missing}, {"cat", missing, "x"}, {"verify", missing}, {"ls", "--json", missing}}) {
    const cli_result r = run_cli(args);
    EXPECT_EQ(r.exit_code, 3) << r;
    EXPECT_THAT(r.out, IsEmpty());
    EXPECT_THAT(r.err, AllOf(StartsWith("tfckpt: "), HasSubstr(missing), EndsWith("\n")));
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r;
  }
}

TEST_F(CliTest, DataShardPathSuggestsThePrefix) {
  for (const char* cmd : {"ls", "verify"}) {
    const cli_result r = run_cli({cmd, data_file()});
    EXPECT_EQ(r.exit_code, 3) << r;
    EXPECT_THAT(r.err, AllOf(StartsWith("tfckpt: "), HasSubstr("pass the prefix"), HasSubstr("'" + prefix() + "'")));
  }
}

// Every dtype with a C++ element type, including the quantized ones (as their storage integers).
TEST(CliDtypes, CatJsonEveryTypedDtype) {
  using tfckpt::dtype;
  struct dtype_case {
    tfckpt_testing::tensor_spec spec;
    const char* dtype_name;
    const char* values;  // expected JSON
  };
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<dtype_case> cases = {
      {typed_tensor<double>("f64", dtype::float64, {2}, {1.5, -1e300}), "float64", "[1.5,-1e300]"},
      {float_tensor("nonfinite", {3}, {nan, inf, -inf}), "float32", R"(["NaN","Infinity","-Infinity"])"},
      {typed_tensor<std::int8_t>("i8", dtype::int8, {2}, {-128, 127}), "int8", "[-128,127]"},
      {typed_tensor<std::int16_t>("i16", dtype::int16, {2}, {-32768, 32767}), "int16", "[-32768,32767]"},
      {typed_tensor<std::int32_t>("i32", dtype::int32, {2}, {-2147483647 - 1, 7}), "int32", "[-2147483648,7]"},
      {typed_tensor<std::uint8_t>("u8", dtype::uint8, {2}, {0, 255}), "uint8", "[0,255]"},
      {typed_tensor<std::uint16_t>("u16", dtype::uint16, {1}, {65535}), "uint16", "[65535]"},
      {typed_tensor<std::uint32_t>("u32", dtype::uint32, {1}, {4294967295u}), "uint32", "[4294967295]"},
      {typed_tensor<std::uint64_t>("u64", dtype::uint64, {2}, {18446744073709551615ull, 1}), "uint64",
       "[18446744073709551615,1]"},
      {typed_tensor<std::complex<float>>("c64", dtype::complex64, {2}, {{1.5f, -2.0f}, {0.0f, 0.25f}}), "complex64",
       "[[1.5,-2.0],[0.0,0.25]]"},
      {typed_tensor<std::complex<double>>("c128", dtype::complex128, {1}, {{-0.5, 1e-300}}), "complex128",
       "[[-0.5,1e-300]]"},
      {typed_tensor<std::int8_t>("qi8", dtype::qint8, {1}, {-5}), "qint8", "[-5]"},
      {typed_tensor<std::uint8_t>("qu8", dtype::quint8, {1}, {200}), "quint8", "[200]"},
      {typed_tensor<std::int16_t>("qi16", dtype::qint16, {1}, {-300}), "qint16", "[-300]"},
      {typed_tensor<std::uint16_t>("qu16", dtype::quint16, {1}, {60000}), "quint16", "[60000]"},
      {typed_tensor<std::int32_t>("qi32", dtype::qint32, {1}, {-70000}), "qint32", "[-70000]"},
  };
  tfckpt_testing::scratch_dir dir;
  std::vector<tfckpt_testing::tensor_spec> specs;
  for (const auto& c : cases) specs.push_back(c.spec);
  tfckpt_testing::write_bundle(dir / "all", specs);
  const std::string prefix = (dir / "all").string();
  for (const auto& c : cases) {
    const cli_result r = run_cli({"cat", prefix, c.spec.name, "--json"});
    ASSERT_EQ(r.exit_code, 0) << c.spec.name << "\n" << r;
    const json j = parse_json(r.out);
    EXPECT_EQ(j["dtype"], c.dtype_name) << c.spec.name;
    EXPECT_EQ(j["values"], json::parse(c.values)) << c.spec.name << ": " << r.out;
    EXPECT_EQ(run_cli({"cat", prefix, c.spec.name}).exit_code, 0) << c.spec.name;
  }
  EXPECT_EQ(run_cli({"verify", prefix}).exit_code, 0);
}

TEST(CliDtypes, CatRejectsDtypesWithoutACppType) {
  using tfckpt::dtype;
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::tensor_spec variant;
  variant.name = "var";
  variant.dtype = dtype::variant;
  variant.data = "\x01\x02";
  tfckpt_testing::write_bundle(dir / "odd", {
                                                typed_tensor<std::uint8_t>("f8", dtype::float8_e4m3fn, {2}, {1, 2}),
                                                typed_tensor<std::uint8_t>("i4", dtype::int4, {1}, {7}),
                                                variant,
                                            });
  const std::string prefix = (dir / "odd").string();
  for (const auto& [name, dtype_name] : std::vector<std::pair<std::string, std::string>>{
           {"f8", "float8_e4m3fn"}, {"i4", "int4"}, {"var", "variant"}}) {
    for (const bool json_output : {false, true}) {
      std::vector<std::string> args = {"cat", prefix, name};
      if (json_output) args.push_back("--json");
      const cli_result r = run_cli(args);
      EXPECT_EQ(r.exit_code, 3) << name << "\n" << r;
      EXPECT_THAT(r.out, IsEmpty());
      EXPECT_THAT(r.err, AllOf(StartsWith("tfckpt: "), HasSubstr(dtype_name), HasSubstr("not support")));
    }
  }
  const cli_result ls = run_cli({"ls", prefix, "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls;
  EXPECT_EQ(parse_json(ls.out).size(), 3u);
}

// --- TensorFlow-written fixtures --------------------------------------------------------------

fs::path fixture(const std::string& rel) { return tfckpt_testing::fixtures_dir() / rel; }

struct manifest_entry {
  const char* name;
  const char* dtype;  // dtype_name (the manifest's "float" is float32)
  std::vector<std::int64_t> shape;
  int shard;
  std::uint64_t offset, size;
};

// Transcribed from MANIFEST.md, `fc2.ckpt.index`.
const std::vector<manifest_entry> kFc2Entries = {
    {"beta1_power", "float32", {}, 0, 0, 4},
    {"beta2_power", "float32", {}, 0, 4, 4},
    {"global_step", "int32", {}, 0, 8, 4},
    {"h1/b", "float32", {100}, 0, 12, 400},
    {"h1/b/Adam", "float32", {100}, 0, 412, 400},
    {"h1/b/Adam_1", "float32", {100}, 0, 812, 400},
    {"h1/w", "float32", {784, 100}, 0, 1212, 313600},
    {"h1/w/Adam", "float32", {784, 100}, 0, 314812, 313600},
    {"h1/w/Adam_1", "float32", {784, 100}, 0, 628412, 313600},
    {"h2/b", "float32", {25}, 0, 942012, 100},
    {"h2/b/Adam", "float32", {25}, 0, 942112, 100},
    {"h2/b/Adam_1", "float32", {25}, 0, 942212, 100},
    {"h2/w", "float32", {100, 25}, 0, 942312, 10000},
    {"h2/w/Adam", "float32", {100, 25}, 0, 952312, 10000},
    {"h2/w/Adam_1", "float32", {100, 25}, 0, 962312, 10000},
    {"output/b", "float32", {10}, 0, 972312, 40},
    {"output/b/Adam", "float32", {10}, 0, 972352, 40},
    {"output/b/Adam_1", "float32", {10}, 0, 972392, 40},
    {"output/w", "float32", {25, 10}, 0, 972432, 1000},
    {"output/w/Adam", "float32", {25, 10}, 0, 973432, 1000},
    {"output/w/Adam_1", "float32", {25, 10}, 0, 974432, 1000},
};

TEST(CliFixtures, LsJsonMnistFc2MatchesManifest) {
  TFCKPT_REQUIRE_FIXTURES();
  const cli_result r = run_cli({"ls", fixture("mnist_fc2_adam/fc2.ckpt").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json got = parse_json(r.out);
  ASSERT_TRUE(got.is_array());
  ASSERT_EQ(got.size(), 21u);
  ASSERT_EQ(kFc2Entries.size(), 21u);
  for (std::size_t i = 0; i < kFc2Entries.size(); ++i) {
    const manifest_entry& m = kFc2Entries[i];
    const json expected = {{"name", m.name},   {"dtype", m.dtype},   {"shape", m.shape},
                           {"shard", m.shard}, {"offset", m.offset}, {"size", m.size}};
    EXPECT_EQ(got[i], expected) << "entry " << i;
  }
}

TEST(CliFixtures, CatHalfPlusTwoScalars) {
  TFCKPT_REQUIRE_FIXTURES();
  const std::string prefix = fixture("serving_half_plus_two_tf1/00000123/variables/variables").string();
  for (const auto& [name, value] : std::vector<std::pair<std::string, float>>{{"a", 0.5f}, {"b", 2.0f}}) {
    const cli_result r = run_cli({"cat", prefix, name, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r;
    const json j = parse_json(r.out);
    EXPECT_EQ(j["name"], name);
    EXPECT_EQ(j["dtype"], "float32");
    EXPECT_EQ(j["shape"], json::array());
    ASSERT_EQ(j["values"].size(), 1u);
    EXPECT_EQ(j["values"][0].get<float>(), value);
  }
}

TEST(CliFixtures, CatInt64FromShardedDirectory) {
  TFCKPT_REQUIRE_FIXTURES();
  const cli_result r = run_cli({"cat", fixture("iris_keras_sharded_tf2").string(),
                                "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json j = parse_json(r.out);
  EXPECT_EQ(j["dtype"], "int64");
  EXPECT_EQ(j["shape"], json::array());
  ASSERT_EQ(j["values"].size(), 1u);
  EXPECT_TRUE(j["values"][0].is_number_integer()) << j;
  EXPECT_GE(j["values"][0].get<std::int64_t>(), 0);
}

TEST(CliFixtures, CatBoolFixture) {
  TFCKPT_REQUIRE_FIXTURES();
  const cli_result r =
      run_cli({"cat", fixture("tflearn_and_bool_frozen/and.tflearn").string(), "is_training", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const json j = parse_json(r.out);
  EXPECT_EQ(j["dtype"], "bool");
  ASSERT_EQ(j["values"].size(), 1u);
  EXPECT_TRUE(j["values"][0].is_boolean()) << j;
}

TEST(CliFixtures, VerifyPassesOnEveryCompleteV2Fixture) {
  TFCKPT_REQUIRE_FIXTURES();
  // (path, tensors in its index per MANIFEST.md)
  const std::vector<std::pair<std::string, int>> complete = {
      {"serving_half_plus_two_tf1/00000123/variables/variables", 5},
      {"serving_half_plus_two_tf2/00000123/variables/variables", 4},
      {"rust_regression_savedmodel/variables/variables", 7},
      {"mnist_fc2_adam/fc2.ckpt", 21},
      {"mnist_ema/MNIST_model", 9},  // directory with a state file
      {"iris_keras_sharded_tf2", 18},  // directory, two data shards
      {"tflearn_and_bool_frozen/and.tflearn", 13},
      {"a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-7", 67},
      {"a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-8", 67},
      {"a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-9", 67},
      {"tf2onnx_regression/checkpoint/model", 2},
      {"tf2onnx_regression/saved_model/variables/variables", 2},
      {"estimator_proximal_adagrad/model.ckpt-300", 17},
  };
  for (const auto& [rel, tensors] : complete) {
    const cli_result r = run_cli({"verify", fixture(rel).string()});
    EXPECT_EQ(r.exit_code, 0) << rel << "\n" << r;
    EXPECT_THAT(r.out, AllOf(StartsWith("OK"), HasSubstr(" " + std::to_string(tensors) + " tensors"))) << rel;
    EXPECT_EQ(lines_of(r.out).size(), 1u) << rel << "\n" << r;
  }
}

TEST(CliFixtures, VerifyReportsTheMissingT5xShard) {
  TFCKPT_REQUIRE_FIXTURES();
  const cli_result r = run_cli({"verify", fixture("t5x_mtf_tiny_bf16_index_only/model.ckpt-0").string()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.out, HasSubstr("model.ckpt-0.data-00001-of-00002"));
  EXPECT_THAT(lines_of(r.out).back(), AllOf(StartsWith("FAILED"), HasSubstr("1 problem")));
  // ls still works from the index alone.
  const cli_result ls = run_cli({"ls", fixture("t5x_mtf_tiny_bf16_index_only").string(), "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls;
  EXPECT_EQ(parse_json(ls.out).size(), 105u);
}

TEST(CliFixtures, V1CheckpointsListVerifyAndConvert) {
  TFCKPT_REQUIRE_FIXTURES();
  const cli_result ls = run_cli({"ls", fixture("nxt_v1_adam/model.ckpt").string()});
  EXPECT_EQ(ls.exit_code, 0) << ls;
  EXPECT_THAT(ls.out, HasSubstr("mweight2/Adam_1"));
  const cli_result verify = run_cli({"verify", fixture("nxt_v1_adam").string()});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  tfckpt_testing::scratch_dir dir;
  const cli_result cp = run_cli({"cp", fixture("nxt_v1_adam/model.ckpt").string(), (dir / "v2").string()});
  ASSERT_EQ(cp.exit_code, 0) << cp;
  EXPECT_TRUE(fs::exists(dir / "v2.index"));
  EXPECT_EQ(run_cli({"verify", (dir / "v2").string()}).exit_code, 0);
}

TEST(CliFixtures, VerifyNamesACorruptTensorInACopyOfMnistEma) {
  TFCKPT_REQUIRE_FIXTURES();
  tfckpt_testing::scratch_dir dir;  // never modify the fixtures themselves
  for (const char* suffix : {".index", ".data-00000-of-00001"})
    fs::copy_file(fixture(std::string("mnist_ema/MNIST_model/mnist_model-30000") + suffix),
                  dir / (std::string("mnist_model-30000") + suffix));
  const std::string prefix = (dir / "mnist_model-30000").string();
  ASSERT_EQ(run_cli({"verify", prefix}).exit_code, 0);
  flip_byte(prefix + ".data-00000-of-00001", 3140004 + 17);  // inside layer2/biases [3140004, 3140044)
  const cli_result r = run_cli({"verify", prefix});
  EXPECT_EQ(r.exit_code, 1) << r;
  const std::vector<std::string> lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r;
  EXPECT_THAT(lines[0], AllOf(HasSubstr("'layer2/biases'"), HasSubstr("mnist_model-30000.data-00000-of-00001"),
                              HasSubstr("@3140004")));
  EXPECT_THAT(lines[1], StartsWith("FAILED"));
}

}  // namespace

}  // namespace cli_test

#endif  // TFCKPT_CLI_PATH

