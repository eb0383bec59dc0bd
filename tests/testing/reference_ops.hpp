// SPDX-License-Identifier: Apache-2.0
// What the graph tests compare frozen graphs with: reproducible test weights (without <random>'s
// per-library differences) and the reference computation of the layers they build.
#ifndef TFCKPT_TESTING_REFERENCE_OPS_HPP_
#define TFCKPT_TESTING_REFERENCE_OPS_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tfckpt_testing {

/// A linear congruential generator's top 24 bits mapped to [-0.5, 0.5).
inline std::vector<float> pseudo_random(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) - 0.5f;
  }
  return v;
}

/// relu(conv2d(x, kernel) + bias) with SAME padding (K odd), stride 1, accumulated in double: x is
/// one NHWC image [H, W, C], kernel HWIO [K, K, C, F]; the result is NHWC [H, W, F].
inline std::vector<float> conv2d_same_relu(const std::vector<float>& x, const std::vector<float>& kernel,
                                           const std::vector<float>& bias, int H, int W, int C, int F, int K) {
  std::vector<float> out(static_cast<std::size_t>(H * W * F));
  const int pad = K / 2;
  for (int f = 0; f < F; ++f)
    for (int y = 0; y < H; ++y)
      for (int xx = 0; xx < W; ++xx) {
        double acc = bias[static_cast<std::size_t>(f)];
        for (int ky = 0; ky < K; ++ky)
          for (int kx = 0; kx < K; ++kx)
            for (int c = 0; c < C; ++c) {
              const int iy = y + ky - pad, ix = xx + kx - pad;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              acc += static_cast<double>(x[static_cast<std::size_t>((iy * W + ix) * C + c)]) *
                     kernel[static_cast<std::size_t>(((ky * K + kx) * C + c) * F + f)];
            }
        out[static_cast<std::size_t>((y * W + xx) * F + f)] = static_cast<float>(std::max(acc, 0.0));
      }
  return out;
}

/// One image from HWC to CHW layout (what OpenCV's DNN module takes and returns).
inline std::vector<float> hwc_to_chw(const std::vector<float>& hwc, int H, int W, int C) {
  std::vector<float> chw(hwc.size());
  for (int c = 0; c < C; ++c)
    for (int i = 0; i < H * W; ++i) chw[static_cast<std::size_t>(c * H * W + i)] = hwc[static_cast<std::size_t>(i * C + c)];
  return chw;
}

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_REFERENCE_OPS_HPP_
