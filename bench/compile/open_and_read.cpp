// SPDX-License-Identifier: Apache-2.0
// The smallest real use of the library, kept as a compile-time benchmark (bench/compile_time.sh):
// open a checkpoint and read one tensor as a span.
//   compile_open_and_read CKPT NAME
#include <cstdio>
#include <span>

#include "tfckpt/checkpoint/checkpoint.hpp"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  auto ckpt = tfckpt::open(argv[1]);
  if (!ckpt.ok()) { std::fprintf(stderr, "%s\n", ckpt.status().ToString().c_str()); return 1; }
  auto w = ckpt->get(argv[2]);
  if (!w.ok()) { std::fprintf(stderr, "%s\n", w.status().ToString().c_str()); return 1; }
  auto values = (*w)->values<float>();
  if (!values.ok()) { std::fprintf(stderr, "%s\n", values.status().ToString().c_str()); return 1; }
  const std::span<const float> v = values->span();
  std::printf("%zu values, first %g\n", v.size(), v.empty() ? 0.0 : static_cast<double>(v[0]));
  return 0;
}
