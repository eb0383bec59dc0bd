// SPDX-License-Identifier: Apache-2.0
// User story 2/4 (seed 001's "ckpt to npy"): every variable of a checkpoint as OUTDIR/<name>.npy, so
// that Python can assign them one by one without TensorFlow's reader:
//   value = numpy.load(os.path.join(OUTDIR, key + ".npy"))      # key as in the checkpoint, e.g. "conv1/weights"
//
//   example_ckpt_to_npy CKPT OUTDIR
#include <cstdio>
#include <string>

#include "tfckpt/tfckpt.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CKPT OUTDIR\n", argv[0]);
    return 2;
  }
  auto ckpt = tfckpt::open(argv[1]);  // a prefix, its .index, or a directory with a `checkpoint` file
  if (!ckpt.ok()) { std::fprintf(stderr, "%s\n", ckpt.status().ToString().c_str()); return 3; }
  tfckpt::npy_options options;
  options.overwrite = true;  // rerunning replaces the files
  // Streams each tensor from the mapped checkpoint into its own file; scopes become directories.
  if (absl::Status s = tfckpt::write_npy_dir(tfckpt::entries(*ckpt), argv[2], options); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  for (const tfckpt::entry& e : ckpt->entries())
    std::printf("%s/%s.npy %s %s\n", argv[2], std::string(e.name()).c_str(),
                std::string(tfckpt::dtype_name(e.dtype())).c_str(), tfckpt::shape_string(e.shape()).c_str());
  std::printf("wrote %zu .npy files\n", ckpt->entries().size());
  return 0;
}
