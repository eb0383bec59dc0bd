// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/stats.hpp
//
// Summary statistics of a tensor's values in one pass (what `tfckpt inspect --stats` prints): count,
// min, max, mean and population standard deviation over the finite values (Welford's update, in
// double), and the NaN and ±Inf counts. Bools count as 0/1; 16-bit floats are widened. Strings and
// complex values have no order: they are refused.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(const tfckpt::tensor_stats s, tfckpt::compute_stats(entry));
//   std::printf("%g .. %g, mean %g\n", s.min, s.max, s.mean);
#ifndef TFCKPT_CHECKPOINT_STATS_HPP_
#define TFCKPT_CHECKPOINT_STATS_HPP_

#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt {

struct tensor_stats {
  std::uint64_t count = 0;   // every element
  std::uint64_t finite = 0;  // elements min/max/mean/stddev are over
  std::uint64_t nan = 0;
  std::uint64_t pos_inf = 0;
  std::uint64_t neg_inf = 0;
  double min = std::numeric_limits<double>::quiet_NaN();  // NaN when no element is finite
  double max = std::numeric_limits<double>::quiet_NaN();
  double mean = std::numeric_limits<double>::quiet_NaN();
  double stddev = std::numeric_limits<double>::quiet_NaN();

  /// Adds one value.
  void add(double v) {
    ++count;
    if (std::isnan(v)) {
      ++nan;
      return;
    }
    if (std::isinf(v)) {
      ++(v > 0 ? pos_inf : neg_inf);
      return;
    }
    if (finite++ == 0) {
      min = max = mean = v;
      m2_ = 0;
    } else {
      min = std::min(min, v);
      max = std::max(max, v);
      const double delta = v - mean;
      mean += delta / static_cast<double>(finite);
      m2_ += delta * (v - mean);
    }
    stddev = std::sqrt(m2_ / static_cast<double>(finite));
  }

 private:
  double m2_ = 0;
};

/// Statistics of `e`'s values. Errors: kInvalidArgument for string and complex tensors; read
/// errors of the entry pass through.
TFCKPT_DECL absl::StatusOr<tensor_stats> compute_stats(const entry& e);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_STATS)

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<tensor_stats> compute_stats(const entry& e) {
  tensor_stats s;
  bool unordered = false;
  TFCKPT_RETURN_IF_ERROR(e.visit_values([&](const auto& values) {
    using T = std::decay_t<decltype(*values.begin())>;
    if constexpr (std::is_convertible_v<const T&, std::string_view> || !std::is_constructible_v<double, T>) {
      unordered = true;
    } else {
      for (const auto& v : values) s.add(static_cast<double>(v));
    }
  }));
  if (unordered)
    return absl::InvalidArgumentError(absl::StrFormat("tensor '%s' is %s: its values have no min, max or mean",
                                                      printable_key(e.name()), dtype_name(e.dtype())));
  return s;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_STATS

#endif  // TFCKPT_CHECKPOINT_STATS_HPP_
