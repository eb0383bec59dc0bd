// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/detail/endian.hpp
//
// Little-endian fixed-width loads and stores over bytes of any alignment. The SSTable container
// stores every fixed-width integer little-endian (spec/FORMAT.md §0).
// IWYU pragma: private, include "tfckpt/codec/varint.hpp"
#ifndef TFCKPT_DETAIL_ENDIAN_HPP_
#define TFCKPT_DETAIL_ENDIAN_HPP_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tfckpt::detail {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big);

/// Reverses the bytes of an unsigned integer (std::byteswap is C++23).
template <class T>
constexpr T byte_swap(T v) {
  if constexpr (sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return static_cast<T>(__builtin_bswap16(static_cast<std::uint16_t>(v)));
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__builtin_bswap32(static_cast<std::uint32_t>(v)));
  } else {
    static_assert(sizeof(T) == 8);
    return static_cast<T>(__builtin_bswap64(static_cast<std::uint64_t>(v)));
  }
}

template <class T>
T load_le(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // memcpy: p may be misaligned
  if constexpr (std::endian::native == std::endian::big) v = byte_swap(v);
  return v;
}

template <class T>
void store_le(std::byte* p, T v) {
  if constexpr (std::endian::native == std::endian::big) v = byte_swap(v);
  std::memcpy(p, &v, sizeof v);
}

}  // namespace tfckpt::detail

#endif  // TFCKPT_DETAIL_ENDIAN_HPP_
