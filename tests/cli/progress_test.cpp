// SPDX-License-Identifier: Apache-2.0
// Progress on stderr: drawn (bytes, rate, ETA) when stderr is a terminal, absent when it is a pipe
// or a file, and absent with --quiet.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/paths.hpp"

#ifndef TFCKPT_CLI_PATH
TEST(CliProgress, NotBuilt) { GTEST_SKIP() << "the tfckpt tool is not built (configure with -DTFCKPT_BUILD_CLI=ON)"; }
#else

#include <pty.h>
#include <unistd.h>

#include <thread>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"

namespace progress_test {

namespace {
using ::testing::AllOf;
using ::testing::HasSubstr;
using tfckpt_testing::run_cli;

// Runs the tool with stderr on a pseudo-terminal; returns (result, what the terminal received).
std::pair<tfckpt_testing::cli_result, std::string> run_on_terminal(const std::vector<std::string>& args) {
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
    ADD_FAILURE() << "openpty failed";
    return {};
  }
  std::string seen;
  std::thread reader([&] {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO once every slave descriptor is closed
      seen.append(buf, static_cast<std::size_t>(n));
    }
  });
  auto r = run_cli(args, slave);
  ::close(slave);
  reader.join();
  ::close(master);
  return {r, seen};
}

class CliProgress : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<tfckpt_testing::tensor_spec> tensors;
    for (int i = 0; i < 32; ++i)
      tensors.push_back(tfckpt_testing::float_tensor("t" + std::to_string(i), {1 << 18}, std::vector<float>(1 << 18, 1.0f)));
    tfckpt_testing::write_bundle(dir_ / "m", tensors);  // 32 MiB
  }
  tfckpt_testing::scratch_dir dir_;
};

TEST_F(CliProgress, DrawnOnATerminal) {
  const auto [r, terminal] = run_on_terminal({"verify", (dir_ / "m").string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(terminal, AllOf(HasSubstr("\rverifying: "), HasSubstr("32.0 MiB (100%)"), HasSubstr("/s, ETA ")));
  EXPECT_THAT(terminal, HasSubstr("\r\x1b[K"));  // and wiped at the end
  const auto [copied, copy_terminal] = run_on_terminal({"cp", (dir_ / "m").string(), (dir_ / "copy").string()});
  EXPECT_EQ(copied.exit_code, 0) << copied;
  EXPECT_THAT(copy_terminal, HasSubstr("copying: "));
}

TEST_F(CliProgress, AbsentInAPipeAndWithQuiet) {
  const auto piped = run_cli({"verify", (dir_ / "m").string()});
  EXPECT_EQ(piped.exit_code, 0) << piped;
  EXPECT_EQ(piped.err.find("verifying"), std::string::npos) << piped;
  const auto [quiet, terminal] = run_on_terminal({"cp", "--quiet", (dir_ / "m").string(), (dir_ / "q").string()});
  EXPECT_EQ(quiet.exit_code, 0) << quiet;
  EXPECT_EQ(terminal.find("copying"), std::string::npos) << terminal;
}

}  // namespace

}  // namespace progress_test

#endif  // TFCKPT_CLI_PATH

