// SPDX-License-Identifier: Apache-2.0
// tfckpt::compiled, views and recipes.
// The definitions that the headers below hold back under TFCKPT_SEPARATE_COMPILATION are compiled
// here, once (see tfckpt/detail/config.hpp).
#define TFCKPT_COMPILE_RECIPES_MERGE_HEADS
#define TFCKPT_COMPILE_VIEWS_AVERAGE
#define TFCKPT_COMPILE_VIEWS_CAST
#define TFCKPT_COMPILE_VIEWS_CONCAT_BY_GROUP
#define TFCKPT_COMPILE_VIEWS_FILTER
#define TFCKPT_COMPILE_VIEWS_MATCH
#define TFCKPT_COMPILE_VIEWS_OBJECT_GRAPH
#define TFCKPT_COMPILE_VIEWS_PERMUTE
#define TFCKPT_COMPILE_VIEWS_PLAN
#define TFCKPT_COMPILE_VIEWS_TENSOR
#define TFCKPT_COMPILE_VIEWS_TRANSFORM_NAMES
#include "tfckpt/recipes/merge_heads.hpp"
#include "tfckpt/views/average.hpp"
#include "tfckpt/views/cast.hpp"
#include "tfckpt/views/concat_by_group.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/match.hpp"
#include "tfckpt/views/object_graph.hpp"
#include "tfckpt/views/permute.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/tensor.hpp"
#include "tfckpt/views/transform_names.hpp"
