// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/io/mapped_file.hpp
//
// A read-only memory mapping of a whole file (and read(), which copies from it without mapping).
// Move-only; the bytes stay valid until the object is destroyed. Contract: the file must not be
// truncated or rewritten in place while it is mapped (reading a page past a truncated end raises
// SIGBUS). TensorFlow and this library both replace
// checkpoints by renaming new files over old ones, which leaves existing mappings intact.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(io::mapped_file f, io::mapped_file::open("model.ckpt.index"));
//   f.advise(io::access::sequential);
//   std::span<const std::byte> bytes = f.bytes();
#ifndef TFCKPT_IO_MAPPED_FILE_HPP_
#define TFCKPT_IO_MAPPED_FILE_HPP_

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"

#include "tfckpt/detail/config.hpp"

namespace tfckpt::io {

/// Reads of mapped bytes at least this long go by pread (mapped_file::read); shorter ones are
/// cheaper copied from the mapping.
inline constexpr std::size_t kUnmappedReadMin = 4096;

/// Access-pattern hints passed to madvise.
enum class access { normal, sequential, random, will_need };

/// An absl::Status for a failed system call on `path`, with the errno text; ENOENT is kNotFound.
TFCKPT_DECL absl::Status errno_status(std::string_view path, std::string_view what, int err);

/// Drops the pages wholly inside [bytes + from, bytes + to) from this process's page tables and
/// returns the offset up to which pages are now released, so that successive calls leave no gap.
/// Streaming a mapped tensor leaves every page it touched resident; releasing them behind the
/// stream keeps a pipeline's resident set flat however many bytes pass. Best effort.
/// REQUIRES: `bytes` lies in a read-only file mapping (mapped_file::bytes()): released pages fault
/// back in from the page cache if touched again. Never call it on heap memory, which
/// MADV_DONTNEED would zero.
TFCKPT_DECL std::uint64_t release_mapped_pages(std::span<const std::byte> bytes, std::uint64_t from, std::uint64_t to);

class mapped_file {
 public:
  mapped_file() = default;
  mapped_file(mapped_file&& other) noexcept { swap(other); }
  mapped_file& operator=(mapped_file&& other) noexcept {
    mapped_file(std::move(other)).swap(*this);
    return *this;
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file() {
    if (data_ != nullptr) ::munmap(data_, size_);
    if (const int fd = fd_.load(); fd >= 0) ::close(fd);
  }

  /// Maps `path` read-only. Errors: kNotFound (no such file), kPermissionDenied, kInvalidArgument
  /// (a directory or other non-regular file), kUnavailable (other I/O errors).
  static absl::StatusOr<mapped_file> open(const std::string& path);

  std::span<const std::byte> bytes() const ABSL_ATTRIBUTE_LIFETIME_BOUND {
    return {static_cast<const std::byte*>(data_), size_};
  }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  /// Copies bytes [offset, offset + out.size()) into `out` with pread(2), not through the mapping:
  /// the page cache serves them, but they do not join this process's resident set, as touched
  /// mapped pages do (the kernel maps up to 64 KiB around each touch). For many scattered reads of
  /// a big file, such as a transpose's, that is the difference between a resident set of the read
  /// buffers and one of the whole file. A system call each: for reads of a few bytes, a copy out of
  /// bytes() is cheaper. The first call opens the file again (the descriptor is then kept until
  /// destruction, so that mapping many files holds no descriptors); if the path no longer names the
  /// mapped file (replaced or removed since), the bytes are copied from the mapping instead.
  /// Errors name the file and the offset (kOutOfRange outside size(), kDataLoss when the file has
  /// been truncated in place, kUnavailable for I/O errors).
  absl::Status read(std::uint64_t offset, std::span<std::byte> out) const;

  /// As read(), for `rows` consecutive runs of `row` bytes from `offset` that go `stride` bytes
  /// apart into `out` (row i at out + i * stride): the rows of a matrix into a wider one, as a
  /// concatenation along an inner axis gathers them. Few system calls (preadv, up to 1024 rows
  /// each), and no copy through an intermediate buffer. kInvalidArgument unless row <= stride and
  /// out.size() >= (rows - 1) * stride + row; other errors as read()'s.
  absl::Status read_rows(std::uint64_t offset, std::size_t row, std::size_t rows, std::span<std::byte> out,
                         std::size_t stride) const;

  /// A descriptor of the mapped file, for the kernel to copy from (temp_file::append_range), owned
  /// by this object; -1 when the path now names another file or none.
  int copy_source() const { return descriptor(); }

  /// Hints the kernel about the coming access pattern for [offset, offset + length) (the whole file
  /// by default). Best effort: errors are ignored.
  void advise(access a, std::size_t offset = 0, std::size_t length = SIZE_MAX) const;

  void swap(mapped_file& other) noexcept;

 private:
  // The descriptor read() uses: opened on first use and checked to be the mapped file; -1 when the
  // path now names another file or none (kNoFile is remembered so that it is not retried).
  int descriptor() const;

  void* data_ = nullptr;
  mutable std::atomic<int> fd_{-1};
  dev_t device_ = 0;
  ino_t inode_ = 0;
  std::size_t size_ = 0;
  std::string path_;
};

}  // namespace tfckpt::io

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_IO_MAPPED_FILE)

namespace tfckpt::io {

TFCKPT_DECL absl::Status errno_status(std::string_view path, std::string_view what, int err) {
  const std::string msg = absl::StrFormat("%s: cannot %s: %s", path, what, std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR: return absl::NotFoundError(msg);
    case EACCES:
    case EPERM: return absl::PermissionDeniedError(msg);
    default: return absl::UnavailableError(msg);
  }
}

TFCKPT_DECL std::uint64_t release_mapped_pages(std::span<const std::byte> bytes, std::uint64_t from, std::uint64_t to) {
  static const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<std::uintptr_t>(bytes.data());
  const std::uintptr_t start = (base + from + page - 1) / page * page;
  const std::uintptr_t end = (base + to) / page * page;
  if (end <= start) return from;
  ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
  return end - base;
}

TFCKPT_DECL absl::StatusOr<mapped_file> mapped_file::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status(path, "open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_status(path, "stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrFormat("%s: not a regular file", path));
  }
  mapped_file f;
  f.path_ = path;
  f.size_ = static_cast<std::size_t>(st.st_size);
  if (f.size_ > 0) {  // mmap of zero bytes fails; an empty file maps to an empty span
    void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return errno_status(path, "mmap", err);
    }
    f.data_ = p;
  }
  f.device_ = st.st_dev;
  f.inode_ = st.st_ino;
  ::close(fd);  // the mapping keeps the file alive; read() opens it again if it is called
  return f;
}

TFCKPT_DECL absl::Status mapped_file::read(std::uint64_t offset, std::span<std::byte> out) const {
  if (offset > size_ || out.size() > size_ - offset)
    return absl::OutOfRangeError(absl::StrFormat("%s @%d: a read of %d bytes runs past the file's %d", path_, offset,
                                                 out.size(), size_));
  const int fd = descriptor();
  if (fd < 0) {
    if (!out.empty()) std::memcpy(out.data(), static_cast<const std::byte*>(data_) + offset, out.size());
    return absl::OkStatus();
  }
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status(absl::StrFormat("%s @%d", path_, offset + done), "read", errno);
    if (n == 0)  // truncated in place, against the contract above: an error, where the mapping would fault
      return absl::DataLossError(absl::StrFormat("%s @%d: the file ended while being read (it was %d bytes when opened)",
                                                 path_, offset + done, size_));
    done += static_cast<std::size_t>(n);
  }
  return absl::OkStatus();
}

TFCKPT_DECL absl::Status mapped_file::read_rows(std::uint64_t offset, std::size_t row, std::size_t rows,
                                                std::span<std::byte> out, std::size_t stride) const {
  const std::uint64_t total = static_cast<std::uint64_t>(row) * rows;
  if (offset > size_ || total > size_ - offset)
    return absl::OutOfRangeError(absl::StrFormat("%s @%d: a read of %d bytes runs past the file's %d", path_, offset,
                                                 total, size_));
  if (rows == 0 || row == 0) return absl::OkStatus();
  if (row > stride || out.size() < (rows - 1) * stride + row)
    return absl::InvalidArgumentError(absl::StrFormat("%s: %d rows of %d bytes do not fit %d bytes at a stride of %d",
                                                      path_, rows, row, out.size(), stride));
  const int fd = descriptor();
  if (fd < 0 || row == stride) {
    if (row == stride) return read(offset, out.first(static_cast<std::size_t>(total)));
    for (std::size_t i = 0; i < rows; ++i)
      std::memcpy(out.data() + i * stride, static_cast<const std::byte*>(data_) + offset + i * row, row);
    return absl::OkStatus();
  }
  constexpr std::size_t kMaxVectors = 1024;  // IOV_MAX on Linux
  iovec vectors[kMaxVectors];
  std::uint64_t done = 0;  // bytes read so far, over all rows
  while (done < total) {
    // Vectors for the rest, starting inside a row after a short read.
    const std::size_t first = static_cast<std::size_t>(done / row);
    std::size_t into = static_cast<std::size_t>(done % row);
    std::size_t n = 0;
    for (std::size_t i = first; i < rows && n < kMaxVectors; ++i, ++n, into = 0)
      vectors[n] = {out.data() + i * stride + into, row - into};
    const ssize_t got = ::preadv(fd, vectors, static_cast<int>(n), static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_status(absl::StrFormat("%s @%d", path_, offset + done), "read", errno);
    if (got == 0)  // truncated in place: as read() reports it
      return absl::DataLossError(absl::StrFormat("%s @%d: the file ended while being read (it was %d bytes when opened)",
                                                 path_, offset + done, size_));
    done += static_cast<std::uint64_t>(got);
  }
  return absl::OkStatus();
}

TFCKPT_DECL void mapped_file::advise(access a, std::size_t offset, std::size_t length) const {
  if (data_ == nullptr || offset >= size_) return;
  const int advice = a == access::sequential ? MADV_SEQUENTIAL
                     : a == access::random   ? MADV_RANDOM
                     : a == access::will_need ? MADV_WILLNEED
                                              : MADV_NORMAL;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t start = offset / page * page;  // madvise wants a page-aligned address
  const std::size_t end = length > size_ - offset ? size_ : offset + length;
  ::madvise(static_cast<char*>(data_) + start, end - start, advice);
}

TFCKPT_DECL void mapped_file::swap(mapped_file& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(size_, other.size_);
  std::swap(path_, other.path_);
  fd_.store(other.fd_.exchange(fd_.load()));
  std::swap(device_, other.device_);
  std::swap(inode_, other.inode_);
}

TFCKPT_DECL int mapped_file::descriptor() const {
  static constexpr int kNoFile = -2;
  int fd = fd_.load(std::memory_order_acquire);
  if (fd != -1) return fd == kNoFile ? -1 : fd;
  int opened = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (opened >= 0 && (::fstat(opened, &st) != 0 || st.st_dev != device_ || st.st_ino != inode_)) {
    ::close(opened);
    opened = -1;
  }
  const int mine = opened >= 0 ? opened : kNoFile;
  if (fd_.compare_exchange_strong(fd, mine, std::memory_order_acq_rel)) return opened;
  if (opened >= 0) ::close(opened);  // another thread opened it first
  return fd == kNoFile ? -1 : fd;
}

}  // namespace tfckpt::io
#endif  // TFCKPT_COMPILE_IO_MAPPED_FILE

#endif  // TFCKPT_IO_MAPPED_FILE_HPP_
