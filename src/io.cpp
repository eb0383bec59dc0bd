// SPDX-License-Identifier: Apache-2.0
// tfckpt::compiled, the io layer.
// The definitions that the headers below hold back under TFCKPT_SEPARATE_COMPILATION are compiled
// here, once (see tfckpt/detail/config.hpp).
#define TFCKPT_COMPILE_IO_ATOMIC_FILE
#define TFCKPT_COMPILE_IO_DIRECTORY
#define TFCKPT_COMPILE_IO_MAPPED_FILE
#define TFCKPT_COMPILE_IO_MEMORY
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/io/directory.hpp"
#include "tfckpt/io/file_ops.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/io/memory.hpp"
