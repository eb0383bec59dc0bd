// SPDX-License-Identifier: Apache-2.0
// What every subcommand's unit parses, precompiled once for the tool (cli/CMakeLists.txt, option
// TFCKPT_PCH): CLI11 alone is ~114,000 preprocessed lines and ~5 s of g++ per unit. Units still
// include what they use; this header only makes it cheaper.
#ifndef TFCKPT_CLI_PRECOMPILED_HPP_
#define TFCKPT_CLI_PRECOMPILED_HPP_

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/checkpoint.hpp"

#endif  // TFCKPT_CLI_PRECOMPILED_HPP_
