// SPDX-License-Identifier: Apache-2.0
// The file-copying baseline several benchmarks here measure against: a plain pread/write copy
// through a 1 MiB buffer, what a careful hand-written tool would do with the same bytes.
#ifndef TFCKPT_BENCH_BENCH_FILES_HPP_
#define TFCKPT_BENCH_BENCH_FILES_HPP_

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace tfckpt_bench {

/// A directory under /dev/shm named after `what` and the process, removed when the object that
/// made it dies (not by a forked child that inherited it).
struct scratch_dir {
  explicit scratch_dir(const std::string& what)
      : path(std::filesystem::path("/dev/shm") / ("tfckpt-" + what + "-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ec;
    if (::getpid() == owner) std::filesystem::remove_all(path, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  std::filesystem::path path;
  pid_t owner = ::getpid();
};

/// Seconds since `t0` on the steady clock.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Seconds taken to copy `from` to `to` (then deleted) with pread/write; -1 on any failure.
inline double copy_file_seconds(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::vector<char> buf(std::size_t{1} << 20);
  const auto t0 = std::chrono::steady_clock::now();
  const int in = ::open(from.c_str(), O_RDONLY);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  bool ok = in >= 0 && out >= 0;
  for (off_t at = 0; ok;) {
    const ssize_t n = ::pread(in, buf.data(), buf.size(), at);
    if (n <= 0) break;
    ok = ::write(out, buf.data(), static_cast<std::size_t>(n)) == n;
    at += n;
  }
  if (in >= 0) ::close(in);
  ok = out >= 0 && ::close(out) == 0 && ok;
  const double dt = seconds_since(t0);
  std::error_code ec;
  std::filesystem::remove(to, ec);
  return ok ? dt : -1;
}

}  // namespace tfckpt_bench

#endif  // TFCKPT_BENCH_BENCH_FILES_HPP_
