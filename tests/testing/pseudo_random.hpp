// SPDX-License-Identifier: Apache-2.0
// Reproducible test weights without <random>'s per-library differences: a linear congruential
// generator's top 24 bits mapped to [-0.5, 0.5).
#ifndef TFCKPT_TESTING_PSEUDO_RANDOM_HPP_
#define TFCKPT_TESTING_PSEUDO_RANDOM_HPP_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tfckpt_testing {

inline std::vector<float> pseudo_random(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) - 0.5f;
  }
  return v;
}

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_PSEUDO_RANDOM_HPP_
