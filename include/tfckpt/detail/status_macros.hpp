// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/detail/status_macros.hpp
//
// Propagation macros for absl::Status / absl::StatusOr (Abseil 20220623 has none of its own).
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto file, io::mapped_file::open(path));
//   TFCKPT_RETURN_IF_ERROR(check(file));
// IWYU pragma: private, include "tfckpt/status.hpp"
#ifndef TFCKPT_DETAIL_STATUS_MACROS_HPP_
#define TFCKPT_DETAIL_STATUS_MACROS_HPP_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TFCKPT_DETAIL_CONCAT_INNER(a, b) a##b
#define TFCKPT_DETAIL_CONCAT(a, b) TFCKPT_DETAIL_CONCAT_INNER(a, b)

/// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define TFCKPT_RETURN_IF_ERROR(expr)                              \
  do {                                                            \
    if (::absl::Status tfckpt_status_ = (expr); !tfckpt_status_.ok()) \
      return tfckpt_status_;                                      \
  } while (false)

/// Declares/assigns `lhs` from the value of an absl::StatusOr `expr`, or returns its status.
#define TFCKPT_ASSIGN_OR_RETURN(lhs, expr) \
  TFCKPT_DETAIL_ASSIGN_OR_RETURN(TFCKPT_DETAIL_CONCAT(tfckpt_statusor_, __LINE__), lhs, expr)

#define TFCKPT_DETAIL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

#endif  // TFCKPT_DETAIL_STATUS_MACROS_HPP_
