// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/detail/config.hpp
//
// Header-only, or compiled once. By default every function of the library is defined in its header
// (`inline`), so including a header is all a program needs, and every unit that calls open() also
// compiles the loader. With TFCKPT_SEPARATE_COMPILATION defined (link the CMake target
// tfckpt::compiled, which defines it), the larger non-template functions are only declared in the
// headers and compiled once, into that library (src/*.cpp): a unit that opens a checkpoint then
// compiles in a fraction of the time. Templates and small functions stay in the headers either way.
//
// Each header puts those definitions in one section at its end, guarded by
//   #if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_<LAYER>_<HEADER>)
// where src/<layer>.cpp defines TFCKPT_COMPILE_<LAYER>_<HEADER> before including the header: each
// definition is compiled in exactly one place. Every unit of a program must agree on
// TFCKPT_SEPARATE_COMPILATION (the CMake targets see to it).
#ifndef TFCKPT_DETAIL_CONFIG_HPP_
#define TFCKPT_DETAIL_CONFIG_HPP_

#if defined(TFCKPT_SEPARATE_COMPILATION)
#define TFCKPT_DECL
#else
#define TFCKPT_DECL inline
#endif

#endif  // TFCKPT_DETAIL_CONFIG_HPP_
