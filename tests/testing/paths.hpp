// SPDX-License-Identifier: Apache-2.0
// Where tests find things: the TensorFlow-written fixtures, scratch directories, the CLI binary.
#ifndef TFCKPT_TESTING_PATHS_HPP_
#define TFCKPT_TESTING_PATHS_HPP_

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>

namespace tfckpt_testing {

/// The fixtures directory: $TFCKPT_FIXTURES if set, else the CMake cache value
/// TFCKPT_FIXTURES_DIR (default ../shared/fixtures beside the source tree).
inline std::filesystem::path fixtures_dir() {
  if (const char* env = std::getenv("TFCKPT_FIXTURES"); env != nullptr && *env != '\0') return env;
  return TFCKPT_FIXTURES_DIR;
}

/// Skips the current test with a visible message when the fixtures are absent.
#define TFCKPT_REQUIRE_FIXTURES()                                                          \
  do {                                                                                     \
    if (!std::filesystem::is_directory(::tfckpt_testing::fixtures_dir()))                  \
      GTEST_SKIP() << "TensorFlow fixtures not found at " << ::tfckpt_testing::fixtures_dir() \
                   << " (set TFCKPT_FIXTURES or -DTFCKPT_FIXTURES_DIR)";                   \
  } while (false)

/// The whole file's bytes (empty if it cannot be read).
inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Replaces the file's contents with `bytes`.
inline void set_file_bytes(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A fresh directory under the system temp dir, removed when the object dies.
class scratch_dir {
 public:
  scratch_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("tfckpt-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_PATHS_HPP_
