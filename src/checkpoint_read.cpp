// SPDX-License-Identifier: Apache-2.0
// tfckpt::compiled, reading checkpoints.
// The definitions that the headers below hold back under TFCKPT_SEPARATE_COMPILATION are compiled
// here, once (see tfckpt/detail/config.hpp).
#define TFCKPT_COMPILE_CHECKPOINT_BUNDLE
#define TFCKPT_COMPILE_CHECKPOINT_BUNDLE_LOADER
#define TFCKPT_COMPILE_CHECKPOINT_CHECKPOINT
#define TFCKPT_COMPILE_CHECKPOINT_DIFF
#define TFCKPT_COMPILE_CHECKPOINT_INDEX_SCAN
#define TFCKPT_COMPILE_CHECKPOINT_OBJECT_GRAPH
#define TFCKPT_COMPILE_CHECKPOINT_PREFIX
#define TFCKPT_COMPILE_CHECKPOINT_STATE_FILE
#define TFCKPT_COMPILE_CHECKPOINT_STATS
#define TFCKPT_COMPILE_CHECKPOINT_V1_READER
#include "tfckpt/checkpoint/bundle.hpp"
#include "tfckpt/checkpoint/bundle_loader.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/diff.hpp"
#include "tfckpt/checkpoint/index_scan.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"
#include "tfckpt/checkpoint/prefix.hpp"
#include "tfckpt/checkpoint/state_file.hpp"
#include "tfckpt/checkpoint/stats.hpp"
#include "tfckpt/checkpoint/v1_reader.hpp"
