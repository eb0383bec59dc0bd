// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/io/file_ops.hpp
//
// The few whole-file operations the checkpoint layer needs besides mapping and atomic writing:
// checking that a file exists, moving one into place, deleting one. Each returns a Status naming
// the path and the system's reason (errno_status), so callers above io/ make no system calls.
//
// Example:
//   TFCKPT_RETURN_IF_ERROR(io::rename_file("tmp/model.ckpt.data-00000-of-00001", "model.ckpt.data-00000-of-00001"));
//   TFCKPT_ASSIGN_OR_RETURN(bool removed, io::remove_file("old.ckpt.index"));
#ifndef TFCKPT_IO_FILE_OPS_HPP_
#define TFCKPT_IO_FILE_OPS_HPP_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tfckpt/io/mapped_file.hpp"

namespace tfckpt::io {

/// OK when `path` exists; kNotFound when it does not, another error when it cannot be checked.
inline absl::Status check_exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_status(path, "stat", errno);
  return absl::OkStatus();
}

/// Renames `from` to `to` (replacing `to`; same filesystem). Errors name `to` and `from`.
inline absl::Status rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_status(to, "move " + from + " here", errno);
  return absl::OkStatus();
}

/// Deletes `path`: true when it was deleted, false when it did not exist, an error otherwise.
inline absl::StatusOr<bool> remove_file(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  return errno_status(path, "delete", errno);
}

/// Deletes the directory `path` if it is empty; false (and nothing changes) otherwise.
inline bool remove_empty_directory(const std::string& path) { return ::rmdir(path.c_str()) == 0; }

/// Reads the last out.size() bytes of the regular file `path` into `out` (one pread, no mapping);
/// false when it is missing, not a regular file, shorter than out.size(), or unreadable.
inline bool read_file_tail(const std::string& path, std::span<std::byte> out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  const bool read = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) >= out.size() &&
                    ::pread(fd, out.data(), out.size(), st.st_size - static_cast<off_t>(out.size())) ==
                        static_cast<ssize_t>(out.size());
  ::close(fd);
  return read;
}

}  // namespace tfckpt::io

#endif  // TFCKPT_IO_FILE_OPS_HPP_
