// SPDX-License-Identifier: Apache-2.0
// Runs the built `tfckpt` tool (TFCKPT_CLI_PATH) and captures its exit code, stdout and stderr.
#ifndef TFCKPT_TESTING_CLI_RUNNER_HPP_
#define TFCKPT_TESTING_CLI_RUNNER_HPP_

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "testing/paths.hpp"

extern char** environ;

namespace tfckpt_testing {

namespace fs = std::filesystem;

struct cli_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const cli_result& r) {
  return os << "exit code " << r.exit_code << "\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err;
}

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs the tool with stdin from /dev/null and stdout in a file. stderr goes to a file too, unless
// `stderr_fd` is given (then the child's stderr is that descriptor).
inline cli_result run_cli(const std::vector<std::string>& args, int stderr_fd = -1) {
  tfckpt_testing::scratch_dir io;
  const std::string out_path = (io / "stdout").string();
  const std::string err_path = (io / "stderr").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (stderr_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  std::vector<char*> argv{const_cast<char*>(TFCKPT_CLI_PATH)};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, TFCKPT_CLI_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  cli_result r;
  if (rc != 0) {
    ADD_FAILURE() << "cannot run " << TFCKPT_CLI_PATH << ": " << std::strerror(rc);
    return r;
  }
  r.exit_code = wait_for(pid);
  r.out = slurp(out_path);
  if (stderr_fd < 0) r.err = slurp(err_path);
  return r;
}

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_CLI_RUNNER_HPP_
