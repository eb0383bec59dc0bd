// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/detail/sink_support.hpp
//
// Pieces the file-format sinks (sinks/npy.hpp, sinks/safetensors.hpp) share: a UTF-8 check for names
// that go into JSON or ZIP headers, and a buffer that turns element-wise conversions into large
// chunks. (Their problem lists join check_pipeline()'s through check_pipeline(planned, what, extra).)
// IWYU pragma: private, include "tfckpt/sinks/npy.hpp"
#ifndef TFCKPT_DETAIL_SINK_SUPPORT_HPP_
#define TFCKPT_DETAIL_SINK_SUPPORT_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"

namespace tfckpt::detail {

/// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
TFCKPT_DECL bool is_valid_utf8(std::string_view s);

/// Collects small pieces of output (converted elements, padding) and hands them to `emit` in
/// chunks of kChunk bytes, so that a conversion costs one call per 64 KiB, not per element.
class chunked_emitter {
 public:
  using emit_fn = std::function<absl::Status(std::span<const std::byte>)>;
  static constexpr std::size_t kChunk = 64 * 1024;

  explicit chunked_emitter(const emit_fn& emit) : emit_(emit), buf_(std::make_unique<std::byte[]>(kChunk)) {}

  /// Room for up to kChunk bytes to be written by the caller, then commit(n).
  absl::StatusOr<std::span<std::byte>> room(std::size_t want) {
    if (want > kChunk - used_) TFCKPT_RETURN_IF_ERROR(flush());
    return std::span<std::byte>(buf_.get() + used_, kChunk - used_);
  }
  void commit(std::size_t n) { used_ += n; }

  absl::Status append(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      if (used_ == kChunk) TFCKPT_RETURN_IF_ERROR(flush());
      const std::size_t n = std::min(bytes.size(), kChunk - used_);
      std::copy_n(bytes.data(), n, buf_.get() + used_);
      used_ += n;
      bytes = bytes.subspan(n);
    }
    return absl::OkStatus();
  }
  absl::Status append_zeros(std::uint64_t n) {
    while (n > 0) {
      if (used_ == kChunk) TFCKPT_RETURN_IF_ERROR(flush());
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, kChunk - used_));
      std::fill_n(buf_.get() + used_, k, std::byte{0});
      used_ += k;
      n -= k;
    }
    return absl::OkStatus();
  }
  absl::Status flush() {
    if (used_ == 0) return absl::OkStatus();
    const std::size_t n = used_;
    used_ = 0;
    return emit_(std::span<const std::byte>(buf_.get(), n));
  }

 private:
  const emit_fn& emit_;
  std::unique_ptr<std::byte[]> buf_;
  std::size_t used_ = 0;
};

}  // namespace tfckpt::detail

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_DETAIL_SINK_SUPPORT)

namespace tfckpt::detail {

TFCKPT_DECL bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) return false;
    for (std::size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_DETAIL_SINK_SUPPORT

#endif  // TFCKPT_DETAIL_SINK_SUPPORT_HPP_
