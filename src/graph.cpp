// SPDX-License-Identifier: Apache-2.0
// tfckpt::compiled, graphs (on the generated protobuf classes of tfckpt::proto).
// The definitions that the headers below hold back under TFCKPT_SEPARATE_COMPILATION are compiled
// here, once (see tfckpt/detail/config.hpp).
#define TFCKPT_COMPILE_GRAPH_CONST_NODE
#define TFCKPT_COMPILE_GRAPH_FREEZE
#define TFCKPT_COMPILE_GRAPH_FUNCTION_INLINE
#define TFCKPT_COMPILE_GRAPH_GRAPH_IO
#define TFCKPT_COMPILE_GRAPH_GRAPH_WRITER
#define TFCKPT_COMPILE_GRAPH_SAVED_MODEL_FREEZE
#define TFCKPT_COMPILE_GRAPH_SUMMARY
#include "tfckpt/graph/const_node.hpp"
#include "tfckpt/graph/freeze.hpp"
#include "tfckpt/graph/function_inline.hpp"
#include "tfckpt/graph/graph_io.hpp"
#include "tfckpt/graph/graph_writer.hpp"
#include "tfckpt/graph/saved_model_freeze.hpp"
#include "tfckpt/graph/summary.hpp"
