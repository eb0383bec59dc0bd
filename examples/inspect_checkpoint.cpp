// SPDX-License-Identifier: Apache-2.0
// User story 3 (list variables, read a value) — the README's usage example, compiled and tested.
//   example_inspect_checkpoint CKPT NAME
#include <cstdio>
#include <string>

#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/tensor/eigen.hpp"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  // A prefix ("train/model.ckpt-1000"), its .index path, or a directory with a `checkpoint` file.
  auto ckpt = tfckpt::open(argv[1]);
  if (!ckpt.ok()) { std::fprintf(stderr, "%s\n", ckpt.status().ToString().c_str()); return 3; }
  for (const tfckpt::entry& e : ckpt->entries())               // key order; no tensor bytes read
    std::printf("%-24s %-8s %s\n", std::string(e.name()).c_str(),
                std::string(tfckpt::dtype_name(e.dtype())).c_str(), tfckpt::shape_string(e.shape()).c_str());
  auto w = ckpt->get(argv[2]);                                 // O(log n) lookup
  if (!w.ok()) { std::fprintf(stderr, "%s\n", w.status().ToString().c_str()); return 1; }
  auto values = (*w)->values<float>();                         // zero-copy when aligned
  if (!values.ok()) { std::fprintf(stderr, "%s\n", values.status().ToString().c_str()); return 1; }
  std::printf("sum of %s: %g\n", argv[2], tfckpt::as_eigen_vector(*values).sum());
  return ckpt->verify().ok() ? 0 : 1;                          // every CRC-32C against the index
}
