// SPDX-License-Identifier: Apache-2.0
// tfckpt::compiled, foreign formats: sinks and sources.
// The definitions that the headers below hold back under TFCKPT_SEPARATE_COMPILATION are compiled
// here, once (see tfckpt/detail/config.hpp).
#define TFCKPT_COMPILE_SINKS_NPY
#define TFCKPT_COMPILE_SINKS_SAFETENSORS
#define TFCKPT_COMPILE_SINKS_WRITE_BUNDLE
#define TFCKPT_COMPILE_SOURCES_MAPPED_SOURCE
#define TFCKPT_COMPILE_SOURCES_NPY
#define TFCKPT_COMPILE_SOURCES_SAFETENSORS
#include "tfckpt/sinks/npy.hpp"
#include "tfckpt/sinks/safetensors.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/sources/mapped_source.hpp"
#include "tfckpt/sources/npy.hpp"
#include "tfckpt/sources/safetensors.hpp"
