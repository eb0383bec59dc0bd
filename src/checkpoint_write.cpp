// SPDX-License-Identifier: Apache-2.0
// tfckpt::compiled, writing, copying and managing checkpoints.
// The definitions that the headers below hold back under TFCKPT_SEPARATE_COMPILATION are compiled
// here, once (see tfckpt/detail/config.hpp).
#define TFCKPT_COMPILE_CHECKPOINT_BUNDLE_WRITER
#define TFCKPT_COMPILE_CHECKPOINT_COPY
#define TFCKPT_COMPILE_CHECKPOINT_MANAGER
#define TFCKPT_COMPILE_CHECKPOINT_MERGE
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/copy.hpp"
#include "tfckpt/checkpoint/manager.hpp"
#include "tfckpt/checkpoint/merge.hpp"
