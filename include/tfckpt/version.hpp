// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/version.hpp
//
// The library's version.
#ifndef TFCKPT_VERSION_HPP_
#define TFCKPT_VERSION_HPP_

#define TFCKPT_VERSION_MAJOR 0
#define TFCKPT_VERSION_MINOR 1
#define TFCKPT_VERSION_PATCH 0

namespace tfckpt {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace tfckpt

#endif  // TFCKPT_VERSION_HPP_
