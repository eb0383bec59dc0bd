// SPDX-License-Identifier: Apache-2.0
// What every benchmark here reports: medians over alternating samples (ours, then the baseline,
// and again), never a best-of, so that both sides meet the same moments of a shared machine.
#ifndef TFCKPT_BENCH_BENCH_STATS_HPP_
#define TFCKPT_BENCH_BENCH_STATS_HPP_

#include <algorithm>
#include <limits>
#include <vector>

namespace tfckpt_bench {

/// The median of `v` (NaN when empty).
inline double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace tfckpt_bench

#endif  // TFCKPT_BENCH_BENCH_STATS_HPP_
