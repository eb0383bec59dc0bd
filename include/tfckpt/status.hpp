// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/status.hpp
//
// Error conventions. Every fallible function returns absl::Status or absl::StatusOr<T>, and every
// message about a file reads "<file> @<offset>: <what> [for key '<key>']", so that a user can find
// the byte that is wrong. Codes: kNotFound (missing file or key), kDataLoss (bytes that contradict
// the format), kInvalidArgument (the caller asked for something wrong), kUnimplemented (valid input
// we do not handle yet), kFailedPrecondition (an operation that cannot run as asked).
//
// Example:
//   return tfckpt::data_loss(path, at, "bad table magic 0x%016x", magic);
#ifndef TFCKPT_STATUS_HPP_
#define TFCKPT_STATUS_HPP_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/detail/status_macros.hpp"  // IWYU pragma: export

namespace tfckpt {

/// "<file> @<offset>: <what>" as a kDataLoss status.
template <class... Args>
absl::Status data_loss(std::string_view file, std::uint64_t offset,
                       const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  return absl::DataLossError(
      absl::StrFormat("%s @%d: %s", file, offset, absl::StrFormat(fmt, args...)));
}

/// Renders a key for messages: printable ASCII as is, every other byte as \xHH.
inline std::string printable_key(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  return out;
}

/// Appends " for key '<key>'" to a non-OK status message, unless a lower layer already named that
/// key; OK passes through.
inline absl::Status with_key(absl::Status status, std::string_view key) {
  if (status.ok()) return status;
  const std::string suffix = absl::StrFormat(" for key '%s'", printable_key(key));
  const absl::string_view message = status.message();
  if (message.size() >= suffix.size() && message.substr(message.size() - suffix.size()) == suffix) return status;
  return absl::Status(status.code(), absl::StrFormat("%s%s", message, suffix));
}

}  // namespace tfckpt

#endif  // TFCKPT_STATUS_HPP_
