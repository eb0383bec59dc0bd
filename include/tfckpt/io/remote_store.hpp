// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/io/remote_store.hpp
//
// Checkpoints in object storage: the interface the checkpoint reader uses for a path that is a URL
// (`https://`, `http://`, `s3://`, `gs://`). This header knows no transport; the implementation on
// libcurl is tfckpt/io/remote_http.hpp (CMake target `tfckpt::remote`), and including it makes every
// `tfckpt::open()` of the program accept URLs. A program that never includes it links no libcurl;
// its open() of a URL says which header and target to add.
//
// Example:
//   #include "tfckpt/io/remote_http.hpp"   // once, anywhere in the program
//   TFCKPT_ASSIGN_OR_RETURN(tfckpt::checkpoint ckpt, tfckpt::open("s3://bucket/run/ckpt-1000"));
#ifndef TFCKPT_IO_REMOTE_STORE_HPP_
#define TFCKPT_IO_REMOTE_STORE_HPP_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tfckpt::io {

/// True for the URL schemes a remote store serves.
inline bool is_remote_url(std::string_view path) {
  return path.starts_with("https://") || path.starts_with("http://") || path.starts_with("s3://") ||
         path.starts_with("gs://");
}

/// One object of a store, opened by remote_store::open. Thread-safe.
class remote_object {
 public:
  virtual ~remote_object() = default;
  /// The object's length in bytes, as the store announced it when opened.
  virtual std::uint64_t size() const = 0;
  /// The object's URL, as errors name it.
  virtual const std::string& url() const = 0;
  /// Fills `out` with bytes [offset, offset + out.size()): all of them, or an error naming the URL
  /// and the offset. Large reads go as several ranged requests in flight; failed ones are retried.
  virtual absl::Status read(std::uint64_t offset, std::span<std::byte> out) const = 0;
};

/// Traffic of a store since it was made: what a test or a benchmark checks.
struct remote_counters {
  std::uint64_t requests = 0;  // requests sent, retries included
  std::uint64_t bytes = 0;     // body bytes received
  std::uint64_t retries = 0;
};

/// Reads objects by URL. Thread-safe.
class remote_store {
 public:
  virtual ~remote_store() = default;
  /// Opens the object at `url` (learning its size). kNotFound when there is none.
  virtual absl::StatusOr<std::unique_ptr<remote_object>> open(const std::string& url) = 0;
  /// The whole object at `url`, in one request where the store allows. kNotFound when there is none;
  /// kFailedPrecondition when it is longer than `limit` bytes.
  virtual absl::StatusOr<std::string> read_all(const std::string& url, std::uint64_t limit) = 0;
  virtual remote_counters counters() const = 0;
};

namespace detail {
inline std::atomic<remote_store*>& installed_store() {
  static std::atomic<remote_store*> store{nullptr};
  return store;
}
}  // namespace detail

/// The store that `tfckpt::open()` uses for URLs: the one installed last, or nullptr. Including
/// tfckpt/io/remote_http.hpp installs one for the whole program.
inline remote_store* default_remote_store() { return detail::installed_store().load(std::memory_order_acquire); }

/// Makes `store` the default (it must outlive every checkpoint opened through it); nullptr removes it.
inline void install_remote_store(remote_store* store) {
  detail::installed_store().store(store, std::memory_order_release);
}

}  // namespace tfckpt::io

#endif  // TFCKPT_IO_REMOTE_STORE_HPP_
