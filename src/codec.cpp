// SPDX-License-Identifier: Apache-2.0
// tfckpt::compiled, the codec and tensor layers.
// The definitions that the headers below hold back under TFCKPT_SEPARATE_COMPILATION are compiled
// here, once (see tfckpt/detail/config.hpp).
#define TFCKPT_COMPILE_CODEC_BUNDLE_ENTRY
#define TFCKPT_COMPILE_CODEC_NPY_HEADER
#define TFCKPT_COMPILE_CODEC_SLICE_KEY
#define TFCKPT_COMPILE_CODEC_STRING_TENSOR
#define TFCKPT_COMPILE_CODEC_TABLE
#define TFCKPT_COMPILE_CODEC_TABLE_BUILDER
#define TFCKPT_COMPILE_CODEC_V1_VALUES
#define TFCKPT_COMPILE_CODEC_ZIP
#define TFCKPT_COMPILE_DETAIL_SINK_SUPPORT
#define TFCKPT_COMPILE_TENSOR_BYTE_ORDER
#define TFCKPT_COMPILE_TENSOR_SHAPE
#include "tfckpt/codec/bundle_entry.hpp"
#include "tfckpt/codec/npy_header.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/codec/table_builder.hpp"
#include "tfckpt/codec/v1_values.hpp"
#include "tfckpt/codec/zip.hpp"
#include "tfckpt/detail/sink_support.hpp"
#include "tfckpt/tensor/byte_order.hpp"
#include "tfckpt/tensor/shape.hpp"
