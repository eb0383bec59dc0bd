// SPDX-License-Identifier: Apache-2.0
// Output helpers shared by the tfckpt subcommands: buffered stdout, error reporting, and the
// rendering of element values as text or JSON.
//
// Conventions: values render the same way in text and JSON where JSON allows it. Floats (and the
// 16-bit float types, widened to float) print in the shortest form that reads back to the same
// value, with ".0" added to integral ones; non-finite floats are "nan"/"inf"/"-inf" in text and the
// strings "NaN"/"Infinity"/"-Infinity" in JSON (protobuf's JSON mapping; JSON has no such numbers).
// Integers print exactly (also 64-bit ones). Strings are arbitrary bytes: text output quotes them
// with C hex escapes (lossless); JSON output replaces invalid UTF-8 with U+FFFD (always valid JSON).
#ifndef TFCKPT_CLI_OUTPUT_HPP_
#define TFCKPT_CLI_OUTPUT_HPP_

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "tfckpt/tensor/dtype.hpp"

namespace tfckpt_cli {

/// Prints "tfckpt: <message>" on stderr and returns kExitError.
inline int report_error(std::string_view message) {
  std::fprintf(stderr, "tfckpt: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitError;
}
/// absl::string_view as std::string_view (they are distinct types in this Abseil build).
inline std::string_view to_std(absl::string_view s) { return {s.data(), s.size()}; }

inline int report_error(const absl::Status& status) { return report_error(to_std(status.message())); }

/// Bytes written in place, grown without being zero-filled first as std::string::resize would:
/// what a formatter that knows how much room a row needs writes into. Kept and reused, it stops
/// allocating once it has grown to its largest size.
class text_buffer {
 public:
  /// Where to write at least `n` more bytes; commit(end) then says where the writing stopped.
  char* room(std::size_t n) {
    if (capacity_ - size_ < n) {
      const std::size_t capacity = std::max({capacity_ * 2, size_ + n, std::size_t{1} << 16});
      auto grown = std::make_unique_for_overwrite<char[]>(capacity);
      if (size_ != 0) std::memcpy(grown.get(), data_.get(), size_);
      data_ = std::move(grown);
      capacity_ = capacity;
    }
    return data_.get() + size_;
  }
  void commit(const char* end) { size_ = static_cast<std::size_t>(end - data_.get()); }
  std::string_view view() const { return {data_.get(), size_}; }
  void clear() { size_ = 0; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

/// Buffered writes to stdout; call finish() last to flush and detect write errors (full disk, ...).
class stdout_writer {
 public:
  stdout_writer() { buf_.reserve(kFlushAt + 4096); }
  stdout_writer(const stdout_writer&) = delete;
  stdout_writer& operator=(const stdout_writer&) = delete;

  /// The pending output; append to it, then call maybe_flush() now and then.
  std::string& buf() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= kFlushAt) flush();
  }
  /// Appends `text` to the pending output; a large one is written out at once, without a copy.
  void write(std::string_view text) {
    if (buf_.size() + text.size() < kFlushAt) {
      buf_ += text;
      return;
    }
    flush();
    if (!text.empty() && std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) failed_ = true;
  }
  void flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), stdout) != buf_.size()) failed_ = true;
    buf_.clear();
  }
  /// Flushes everything; returns `code`, or kExitError (with a message) if writing failed.
  int finish(int code) {
    flush();
    if (std::fflush(stdout) != 0 || failed_ || std::ferror(stdout)) {
      const int err = errno;
      return report_error(absl::StrFormat("error writing to standard output: %s", std::strerror(err)));
    }
    return code;
  }

 private:
  static constexpr std::size_t kFlushAt = 1 << 16;
  std::string buf_;
  bool failed_ = false;
};

enum class style { text, json };

/// `s` as a JSON string literal; invalid UTF-8 becomes U+FFFD.
inline void append_json_string(std::string& out, std::string_view s) {
  out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// `s` as a double-quoted C string with \xHH escapes for every non-printable or non-ASCII byte.
inline void append_quoted_bytes(std::string& out, std::string_view s) {
  out += '"';
  out += absl::CHexEscape(absl::string_view(s.data(), s.size()));
  out += '"';
}

namespace detail {
template <class T>
void append_chars(std::string& out, T v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

template <class F>
void append_float(std::string& out, F v, style st) {
  if (std::isnan(v)) {
    out += st == style::json ? "\"NaN\"" : "nan";
  } else if (std::isinf(v)) {
    out += st == style::json ? (v < 0 ? "\"-Infinity\"" : "\"Infinity\"") : (v < 0 ? "-inf" : "inf");
  } else {
    const std::size_t start = out.size();
    append_chars(out, v);  // shortest representation that round-trips
    if (out.find_first_of(".e", start) == std::string::npos) out += ".0";
  }
}

template <class T>
inline constexpr bool is_complex = false;
template <class F>
inline constexpr bool is_complex<std::complex<F>> = true;
}  // namespace detail

/// Appends one element value (see the conventions at the top of this file).
template <class T>
void append_value(std::string& out, const T& v, style st) {
  if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_integral_v<T>) {
    detail::append_chars(out, v);
  } else if constexpr (std::is_floating_point_v<T>) {
    detail::append_float(out, v, st);
  } else if constexpr (std::is_same_v<T, tfckpt::float16> || std::is_same_v<T, tfckpt::bfloat16>) {
    detail::append_float(out, static_cast<float>(v), st);
  } else if constexpr (detail::is_complex<T>) {
    out += st == style::json ? "[" : "(";
    detail::append_float(out, v.real(), st);
    out += ',';
    detail::append_float(out, v.imag(), st);
    out += st == style::json ? "]" : ")";
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    if (st == style::json) {
      append_json_string(out, v);
    } else {
      append_quoted_bytes(out, v);
    }
  } else {
    static_assert(sizeof(T) == 0, "no rendering for this element type");
  }
}

/// "1.5 GiB"-style byte counts for humans (exact counts go to scripts).
inline std::string human_bytes(std::uint64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (n < 1024) return absl::StrFormat("%d B", n);
  double v = static_cast<double>(n);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return absl::StrFormat("%.1f %s", v, kUnits[u]);
}

// A progress line on stderr (bytes done / total, rate, ETA), redrawn in place.
class progress_line {
 public:
  explicit progress_line(const char* what = "verifying") : what_(what), start_(std::chrono::steady_clock::now()) {}
  /// Redraws "<what>: done / total (p%), rate, ETA" on stderr: the first call, then at most every
  /// 100 ms, and the last (done == total).
  void update(std::uint64_t done, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    drawn_ = true;
    last_draw_ = now;
    const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    const double seconds = std::chrono::duration<double>(now - start_).count();
    std::string rate = "-", eta = "-";
    if (seconds > 0 && done > 0) {
      const double per_second = static_cast<double>(done) / seconds;
      rate = human_bytes(static_cast<std::uint64_t>(per_second)) + "/s";
      eta = absl::StrFormat("%.0fs", static_cast<double>(total - std::min(done, total)) / per_second);
    }
    std::fprintf(stderr, "\r%s: %s / %s (%d%%), %s, ETA %s\x1b[K", what_, human_bytes(done).c_str(),
                 human_bytes(total).c_str(), percent, rate.c_str(), eta.c_str());
    std::fflush(stderr);
  }
  ~progress_line() {
    if (drawn_) std::fputs("\r\x1b[K", stderr);  // leave the terminal clean
  }

 private:
  const char* what_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

/// True when progress should be shown: stderr is a terminal and the user did not ask for quiet.
inline bool show_progress(bool quiet) { return !quiet && ::isatty(STDERR_FILENO); }

}  // namespace tfckpt_cli

#endif  // TFCKPT_CLI_OUTPUT_HPP_
