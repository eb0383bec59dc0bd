// SPDX-License-Identifier: Apache-2.0
// Progress for commands that read every value: `inspect --stats` and `diff` draw a progress line on
// a terminal (and wipe it), and stay silent in a pipe or with --quiet; their output is unchanged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(LongWorkProgress, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <pty.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"

namespace long_work_progress_test {

namespace {
using ::testing::HasSubstr;
using tfckpt_testing::run_cli;

// The tool's result with stderr on a pseudo-terminal, and the bytes that terminal received.
std::pair<tfckpt_testing::cli_result, std::string> run_with_terminal(const std::vector<std::string>& args) {
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
    ADD_FAILURE() << "openpty failed";
    return {};
  }
  std::string received;
  std::thread drain([&] {
    char buf[4096];
    for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;) received.append(buf, static_cast<std::size_t>(n));
  });
  auto result = run_cli(args, slave);
  ::close(slave);
  drain.join();
  ::close(master);
  return {result, received};
}

class LongWorkProgress : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<tfckpt_testing::tensor_spec> a, b;
    for (int i = 0; i < 8; ++i) {
      a.push_back(tfckpt_testing::float_tensor("t" + std::to_string(i), {1 << 16}, std::vector<float>(1 << 16, 1.0f)));
      b.push_back(tfckpt_testing::float_tensor("t" + std::to_string(i), {1 << 16}, std::vector<float>(1 << 16, i == 3 ? 2.0f : 1.0f)));
    }
    tfckpt_testing::write_bundle(dir_ / "a", a);  // 2 MiB each
    tfckpt_testing::write_bundle(dir_ / "b", b);
  }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(LongWorkProgress, InspectStatsShowsProgressOnATerminalOnly) {
  const std::string a = (dir_ / "a").string();
  const auto [shown, terminal] = run_with_terminal({"inspect", "--stats", a});
  ASSERT_EQ(shown.exit_code, 0) << shown;
  EXPECT_THAT(terminal, HasSubstr("\rreading: "));
  EXPECT_THAT(terminal, HasSubstr("2.0 MiB (100%)"));
  EXPECT_THAT(terminal, HasSubstr("\r\x1b[K"));
  const auto piped = run_cli({"inspect", "--stats", a});
  ASSERT_EQ(piped.exit_code, 0) << piped;
  EXPECT_EQ(piped.err.find("reading"), std::string::npos) << piped;
  EXPECT_EQ(piped.out, shown.out);
  const auto [quiet, quiet_terminal] = run_with_terminal({"inspect", "--stats", "--quiet", a});
  EXPECT_EQ(quiet_terminal.find("reading"), std::string::npos) << quiet_terminal;
  EXPECT_EQ(quiet.out, shown.out);
}

TEST_F(LongWorkProgress, DiffShowsProgressOnATerminalOnly) {
  const std::string a = (dir_ / "a").string(), b = (dir_ / "b").string();
  const auto [shown, terminal] = run_with_terminal({"diff", a, b});
  ASSERT_EQ(shown.exit_code, 0) << shown;
  EXPECT_THAT(terminal, HasSubstr("\rcomparing: "));
  EXPECT_THAT(terminal, HasSubstr("2.0 MiB (100%)"));
  EXPECT_THAT(shown.out, HasSubstr("t3"));
  const auto piped = run_cli({"diff", a, b});
  EXPECT_EQ(piped.err.find("comparing"), std::string::npos) << piped;
  EXPECT_EQ(piped.out, shown.out);
  const auto [quiet, quiet_terminal] = run_with_terminal({"diff", "-q", a, b});
  EXPECT_EQ(quiet_terminal.find("comparing"), std::string::npos) << quiet_terminal;
}

}  // namespace

}  // namespace long_work_progress_test

#endif  // TFCKPT_CLI_PATH

