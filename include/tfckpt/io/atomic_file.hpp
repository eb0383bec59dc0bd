// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/io/atomic_file.hpp
//
// Files that appear whole or not at all: bytes go to `<final>.tempstate<random u64>` in the target
// directory (TensorFlow's naming, spec/FORMAT.md §1.1), are flushed with fsync, and only then renamed
// over the final name. A temp_file that is destroyed without commit() removes its temporary, so an
// error anywhere leaves the final path as it was.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(io::temp_file f, io::temp_file::create("ckpt/model.index"));
//   TFCKPT_RETURN_IF_ERROR(f.append(bytes));
//   TFCKPT_RETURN_IF_ERROR(f.finish());   // flush + fsync + close
//   TFCKPT_RETURN_IF_ERROR(f.commit());   // rename into place
#ifndef TFCKPT_IO_ATOMIC_FILE_HPP_
#define TFCKPT_IO_ATOMIC_FILE_HPP_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt::io {

/// The file-system steps of an atomic write that a fault hook can fail.
enum class io_step { write, fsync, close, rename, sync_directory, remove };

TFCKPT_DECL const char* io_step_name(io_step s);

/// Fault injection for tests that simulate a full disk or a dying device: called before each step
/// with (step, path, offset, bytes) — offset and bytes are 0 except for writes — and a non-OK
/// status fails the step as if the system call had. Built from either
///   (io_step, std::string_view path, std::uint64_t offset, std::size_t n) -> absl::Status
/// which sees every step, or the older (path, offset, n) -> absl::Status, which sees writes only.
class write_hook {
 public:
  using fault_fn = std::function<absl::Status(io_step, std::string_view, std::uint64_t, std::size_t)>;
  write_hook() = default;
  template <class F>
    requires std::is_invocable_r_v<absl::Status, F&, io_step, std::string_view, std::uint64_t, std::size_t>
  write_hook(F f) : fn_(std::move(f)) {}  // NOLINT(google-explicit-constructor): assigned from lambdas
  template <class F>
    requires std::is_invocable_r_v<absl::Status, F&, std::string_view, std::uint64_t, std::size_t>
  write_hook(F f)  // NOLINT(google-explicit-constructor)
      : fn_([g = std::move(f)](io_step s, std::string_view path, std::uint64_t offset, std::size_t n) mutable {
          return s == io_step::write ? g(path, offset, n) : absl::OkStatus();
        }) {}

  explicit operator bool() const { return static_cast<bool>(fn_); }
  /// OK without a hook.
  absl::Status before(io_step s, std::string_view path, std::uint64_t offset = 0, std::size_t n = 0) const {
    return fn_ ? fn_(s, path, offset, n) : absl::OkStatus();
  }

 private:
  fault_fn fn_;
};

/// fsync of a directory, so that renames inside it survive a crash.
TFCKPT_DECL absl::Status sync_directory(const std::filesystem::path& dir, const write_hook& hook = {});

class temp_file {
 public:
  temp_file(temp_file&& o) noexcept { swap(o); }
  temp_file& operator=(temp_file&& o) noexcept {
    temp_file(std::move(o)).swap(*this);
    return *this;
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file() { discard(); }

  /// Creates `<final_path>.tempstate<random>` next to `final_path` (whose directory must exist).
  static absl::StatusOr<temp_file> create(std::string final_path, write_hook hook = {});

  /// A temporary next to `final_path` holding the bytes of the existing file `source`: a hard link
  /// to it when `allow_link` and the file system permits (no byte is copied; REQUIRES: `source` is
  /// never modified in place, as checkpoint data files are not), else a copy the kernel makes
  /// (copy_file_range, which may share extents, falling back to read/write). commit() as usual;
  /// nothing may be appended.
  static absl::StatusOr<temp_file> link_or_copy(const std::string& source, std::string final_path, bool allow_link,
                                                write_hook hook = {});

  /// Appends bytes (buffered; large chunks go straight to the file).
  absl::Status append(std::span<const std::byte> bytes);
  absl::Status append(std::string_view s) { return append({reinterpret_cast<const std::byte*>(s.data()), s.size()}); }

  /// Bytes appended so far.
  std::uint64_t size() const { return written_ + buffered_; }

  /// Flushes, fsyncs (when `sync`) and closes the temporary.
  absl::Status finish(bool sync = true);

  /// Renames the finished temporary over the final path. REQUIRES: finish() succeeded.
  absl::Status commit();

  /// Closes and removes the temporary unless it was committed. Idempotent.
  void discard();

  /// Changes the name commit() will give the file (e.g. once the shard count is known).
  void set_final_path(std::string path) { final_path_ = std::move(path); }

  const std::string& temp_path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }

 private:
  static constexpr std::size_t kBufferSize = 1 << 20;
  temp_file() = default;

  absl::Status flush() {
    if (buffered_ == 0) return absl::OkStatus();
    const std::size_t n = buffered_;
    buffered_ = 0;
    return write_all({buffer_.get(), n});
  }

  // Appends the whole of `source` (at the current end, with nothing buffered).
  absl::Status copy_from(const std::string& source);

 public:
  /// Appends bytes [offset, offset + size) of the open file `in` (named `source` in errors), copied
  /// by the kernel (copy_file_range: no trip through this process, and extents may be shared),
  /// falling back to pread/write where the kernel cannot copy between these files.
  absl::Status append_range(int in, const std::string& source, std::uint64_t offset, std::uint64_t size);

 private:
  absl::Status write_all(std::span<const std::byte> bytes);

  void swap(temp_file& o) noexcept;

  int fd_ = -1;
  std::string temp_path_;
  std::string final_path_;
  std::unique_ptr<std::byte[]> buffer_;
  std::size_t buffered_ = 0;
  std::uint64_t written_ = 0;
  bool committed_ = false;
  bool linked_ = false;  // a hard link to an existing file (link_or_copy)
  write_hook hook_;
};

/// Writes `contents` to `path` atomically (temp + fsync + rename + directory fsync).
TFCKPT_DECL absl::Status write_file_atomically(const std::filesystem::path& path, std::string_view contents, bool sync = true,
                                               const write_hook& hook = {});

}  // namespace tfckpt::io

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_IO_ATOMIC_FILE)

// Only the definitions need <random>: kept out of the declarations, it is not parsed by every unit
// that opens a checkpoint (6,500 lines of the standard library).
#include <random>

namespace tfckpt::io {

namespace detail {
// A random unsigned 64-bit number for temporary names.
inline std::uint64_t random_u64() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32)};
  return rng();
}
}  // namespace detail

TFCKPT_DECL const char* io_step_name(io_step s) {
  switch (s) {
    case io_step::write: return "write";
    case io_step::fsync: return "fsync";
    case io_step::close: return "close";
    case io_step::rename: return "rename";
    case io_step::sync_directory: return "fsync directory";
    case io_step::remove: return "delete";
  }
  return "?";
}

TFCKPT_DECL absl::Status sync_directory(const std::filesystem::path& dir, const write_hook& hook) {
  const std::string d = dir.empty() ? std::string(".") : dir.string();
  TFCKPT_RETURN_IF_ERROR(hook.before(io_step::sync_directory, d));
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status(d, "open directory", errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : errno_status(d, "fsync directory", err);
}

TFCKPT_DECL absl::Status write_file_atomically(const std::filesystem::path& path, std::string_view contents, bool sync,
                                               const write_hook& hook) {
  TFCKPT_ASSIGN_OR_RETURN(temp_file f, temp_file::create(path.string(), hook));
  TFCKPT_RETURN_IF_ERROR(f.append(contents));
  TFCKPT_RETURN_IF_ERROR(f.finish(sync));
  TFCKPT_RETURN_IF_ERROR(f.commit());
  return sync ? sync_directory(path.parent_path(), hook) : absl::OkStatus();
}

TFCKPT_DECL absl::StatusOr<temp_file> temp_file::create(std::string final_path, write_hook hook) {
  temp_file f;
  f.final_path_ = std::move(final_path);
  f.hook_ = std::move(hook);
  for (int attempt = 0; attempt < 8; ++attempt) {
    f.temp_path_ = absl::StrFormat("%s.tempstate%d", f.final_path_, detail::random_u64());
    f.fd_ = ::open(f.temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f.fd_ >= 0) break;
    if (errno != EEXIST) return errno_status(f.temp_path_, "create", errno);
  }
  if (f.fd_ < 0) return errno_status(f.temp_path_, "create", EEXIST);
  return f;
}

TFCKPT_DECL absl::StatusOr<temp_file> temp_file::link_or_copy(const std::string& source, std::string final_path, bool allow_link,
                                                              write_hook hook) {
  if (allow_link) {
    temp_file f;
    f.final_path_ = final_path;
    f.hook_ = hook;
    for (int attempt = 0; attempt < 8; ++attempt) {
      f.temp_path_ = absl::StrFormat("%s.tempstate%d", f.final_path_, detail::random_u64());
      if (::link(source.c_str(), f.temp_path_.c_str()) == 0) {
        f.linked_ = true;
        return f;
      }
      if (errno != EEXIST) break;
    }
    f.temp_path_.clear();  // not linked (another file system, no hard links there, ...): copy
  }
  TFCKPT_ASSIGN_OR_RETURN(temp_file f, create(std::move(final_path), std::move(hook)));
  TFCKPT_RETURN_IF_ERROR(f.copy_from(source));
  return f;
}

TFCKPT_DECL absl::Status temp_file::append(std::span<const std::byte> bytes) {
  if (fd_ < 0) return absl::FailedPreconditionError(absl::StrFormat("%s: append after close", temp_path_));
  if (buffer_ == nullptr) buffer_ = std::make_unique_for_overwrite<std::byte[]>(kBufferSize);
  if (bytes.size() >= kBufferSize) {
    TFCKPT_RETURN_IF_ERROR(flush());
    return write_all(bytes);
  }
  if (bytes.size() > kBufferSize - buffered_) TFCKPT_RETURN_IF_ERROR(flush());
  std::memcpy(buffer_.get() + buffered_, bytes.data(), bytes.size());
  buffered_ += bytes.size();
  return absl::OkStatus();
}

TFCKPT_DECL absl::Status temp_file::finish(bool sync) {
  if (linked_) return absl::OkStatus();  // the source's bytes, already on disk
  TFCKPT_RETURN_IF_ERROR(flush());
  if (sync) TFCKPT_RETURN_IF_ERROR(hook_.before(io_step::fsync, temp_path_));
  if (sync && ::fsync(fd_) != 0) return errno_status(temp_path_, "fsync", errno);
  TFCKPT_RETURN_IF_ERROR(hook_.before(io_step::close, temp_path_));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return errno_status(temp_path_, "close", errno);
  return absl::OkStatus();
}

TFCKPT_DECL absl::Status temp_file::commit() {
  if (fd_ >= 0) return absl::FailedPreconditionError(absl::StrFormat("%s: commit before finish", temp_path_));
  TFCKPT_RETURN_IF_ERROR(hook_.before(io_step::rename, final_path_));
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) return errno_status(final_path_, "rename into place", errno);
  // A link renamed over another name of the same file (a checkpoint rewritten in place) leaves
  // both names: drop the temporary one.
  if (linked_) ::unlink(temp_path_.c_str());
  committed_ = true;
  return absl::OkStatus();
}

TFCKPT_DECL void temp_file::discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
  temp_path_.clear();
}

TFCKPT_DECL absl::Status temp_file::copy_from(const std::string& source) {
  const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return errno_status(source, "open", errno);
  struct stat st {};
  absl::Status status = ::fstat(in, &st) == 0 ? absl::OkStatus() : errno_status(source, "stat", errno);
  if (status.ok()) status = append_range(in, source, 0, static_cast<std::uint64_t>(st.st_size));
  ::close(in);
  return status;
}

TFCKPT_DECL absl::Status temp_file::append_range(int in, const std::string& source, std::uint64_t offset, std::uint64_t size) {
  TFCKPT_RETURN_IF_ERROR(flush());
  absl::Status status = hook_.before(io_step::write, temp_path_, written_, static_cast<std::size_t>(size));
  std::uint64_t done = 0;
  bool kernel_copy = true;
  std::unique_ptr<std::byte[]> buf;
  while (status.ok() && done < size) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size - done, std::uint64_t{1} << 30));
    ssize_t n = -1;
    if (kernel_copy) {
      loff_t from = static_cast<loff_t>(offset + done);
      n = ::copy_file_range(in, &from, fd_, nullptr, want, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        kernel_copy = false;  // not between these files: read and write
        continue;
      }
    } else {
      if (buf == nullptr) buf = std::make_unique_for_overwrite<std::byte[]>(kBufferSize);
      n = ::pread(in, buf.get(), std::min(want, kBufferSize), static_cast<off_t>(offset + done));
      if (n > 0) {
        const std::uint64_t before = written_;
        status = write_all({buf.get(), static_cast<std::size_t>(n)});
        written_ = before;  // counted below, with the kernel's copies
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      status = err == ENOSPC || err == EDQUOT
                   ? absl::ResourceExhaustedError(absl::StrFormat("%s @%d: no space left to copy %s", temp_path_,
                                                                  written_, source))
                   : errno_status(source, "copy", err);
    } else if (n == 0) {
      status = data_loss(source, offset + done, "file ended while being copied (%d of %d bytes)", done, size);
    } else {
      done += static_cast<std::uint64_t>(n);
      written_ += static_cast<std::uint64_t>(n);
    }
  }
  return status;
}

TFCKPT_DECL absl::Status temp_file::write_all(std::span<const std::byte> bytes) {
  TFCKPT_RETURN_IF_ERROR(hook_.before(io_step::write, temp_path_, written_, bytes.size()));
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), std::min<std::size_t>(bytes.size(), 1 << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      if (err == ENOSPC || err == EDQUOT)
        return absl::ResourceExhaustedError(absl::StrFormat("%s @%d: no space left to write %d bytes", temp_path_,
                                                            written_, bytes.size()));
      return errno_status(temp_path_, "write", err);
    }
    written_ += static_cast<std::uint64_t>(n);
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

TFCKPT_DECL void temp_file::swap(temp_file& o) noexcept {
  std::swap(fd_, o.fd_);
  std::swap(temp_path_, o.temp_path_);
  std::swap(final_path_, o.final_path_);
  std::swap(buffer_, o.buffer_);
  std::swap(buffered_, o.buffered_);
  std::swap(written_, o.written_);
  std::swap(committed_, o.committed_);
  std::swap(hook_, o.hook_);
  std::swap(linked_, o.linked_);
}

}  // namespace tfckpt::io
#endif  // TFCKPT_COMPILE_IO_ATOMIC_FILE

#endif  // TFCKPT_IO_ATOMIC_FILE_HPP_
