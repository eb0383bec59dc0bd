// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/io/directory.hpp
//
// Listing a directory: the names a checkpoint's files are found by (its shards, the prefixes of a
// directory, the shards of a V1 checkpoint). Best effort: a directory that cannot be read lists as
// empty, and callers report what they did not find.
//
// Example:
//   for (const std::string& name : io::list_directory("train"))
//     if (name.ends_with(".index")) std::puts(name.c_str());
#ifndef TFCKPT_IO_DIRECTORY_HPP_
#define TFCKPT_IO_DIRECTORY_HPP_

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "tfckpt/detail/config.hpp"

namespace tfckpt::io {

/// The names (not paths) of every entry of `dir`, sorted bytewise; empty when `dir` cannot be read.
TFCKPT_DECL std::vector<std::string> list_directory(const std::filesystem::path& dir);

}  // namespace tfckpt::io

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_IO_DIRECTORY)

namespace tfckpt::io {

TFCKPT_DECL std::vector<std::string> list_directory(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace tfckpt::io
#endif  // TFCKPT_COMPILE_IO_DIRECTORY

#endif  // TFCKPT_IO_DIRECTORY_HPP_
