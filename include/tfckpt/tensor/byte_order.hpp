// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/byte_order.hpp
//
// Byte order of tensor payloads (spec/FORMAT.md §3.9). A bundle stores fixed-size elements in its
// writer's host order and says which in its header; a reader on a host of the other order swaps
// each element: 2-, 4- and 8-byte types whole, complex64 and complex128 as two halves, 1-byte types
// not at all. Checksums are always over the bytes as stored, so they are checked before swapping.
//
// Example:
//   if (swap_width(dtype::complex64) == 4) ...                  // two 4-byte halves per element
//   byte_order_converter to_host(dtype::float32, emit);         // emit receives swapped pieces
//   TFCKPT_RETURN_IF_ERROR(to_host(chunk)); TFCKPT_RETURN_IF_ERROR(to_host.finish());
#ifndef TFCKPT_TENSOR_BYTE_ORDER_HPP_
#define TFCKPT_TENSOR_BYTE_ORDER_HPP_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <tmmintrin.h>  // SSSE3 only: <immintrin.h> is eight times the preprocessed size
#endif

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/tensor/dtype.hpp"

namespace tfckpt {

enum class byte_order { little, big };

/// This machine's byte order: the order values<T>() and pipeline tensors hold bytes in.
inline constexpr byte_order host_byte_order =
    std::endian::native == std::endian::big ? byte_order::big : byte_order::little;

constexpr std::string_view byte_order_name(byte_order o) { return o == byte_order::big ? "big" : "little"; }

constexpr std::optional<byte_order> byte_order_from_name(std::string_view name) {
  if (name == "little" || name == "little-endian" || name == "le") return byte_order::little;
  if (name == "big" || name == "big-endian" || name == "be") return byte_order::big;
  return std::nullopt;
}

/// The size of the units a byte swap reverses for `t`: the element size, half of it for complex
/// types, 1 for 1-byte types (nothing to swap), 0 for dtypes that have no fixed-size elements
/// (string, variant, resource: see string_tensor.hpp for strings).
constexpr std::size_t swap_width(dtype t) {
  if (t == dtype::complex64 || t == dtype::complex128) return element_size(t) / 2;
  return element_size(t);
}

/// True when bytes of dtype `t` stored in order `from` differ from the same values in order `to`
/// (for variants: may differ, and cannot be converted; TensorFlow refuses them too).
constexpr bool needs_byte_swap(dtype t, byte_order from, byte_order to) {
  return from != to && (t == dtype::string || t == dtype::variant || swap_width(t) > 1);
}

namespace detail {

// Hand-written: a scalar load/byte-swap/store loop, for the tails and for machines without SSSE3.
// (No library offers a bulk byte swap.)
template <class U>
void swap_units_scalar(const std::byte* src, std::byte* dst, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) {
    U v;
    std::memcpy(&v, src + k * sizeof(U), sizeof v);
    v = byte_swap(v);
    std::memcpy(dst + k * sizeof(U), &v, sizeof v);
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// Baseline x86-64 (SSE2) has no byte shuffle, so compilers leave the scalar loop scalar: one
// PSHUFB per 16 bytes instead reads a big-endian tensor at about memcpy speed
// (bench/byte_order_bench.cpp: x_heap_copy).
__attribute__((target("ssse3"))) inline void swap_blocks_ssse3(const std::byte* src, std::byte* dst,
                                                                 std::size_t blocks, std::size_t width) {
  alignas(16) std::uint8_t order[16];
  for (std::size_t i = 0; i < 16; ++i) order[i] = static_cast<std::uint8_t>(i - i % width + (width - 1 - i % width));
  const __m128i shuffle = _mm_load_si128(reinterpret_cast<const __m128i*>(order));
  for (std::size_t b = 0; b < blocks; ++b) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * b));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16 * b), _mm_shuffle_epi8(v, shuffle));
  }
}
inline bool have_ssse3() {
  static const bool yes = __builtin_cpu_supports("ssse3");
  return yes;
}
#endif

}  // namespace detail

/// Copies `src` to `dst` reversing every `width`-byte unit on the way (one pass: the swap costs
/// no extra trip through memory). `dst` may equal `src.data()` (a swap in place), but the two may
/// not otherwise overlap. REQUIRES: width is 1, 2, 4 or 8 and divides src.size().
TFCKPT_DECL void swap_copy(std::span<const std::byte> src, std::byte* dst, std::size_t width);

/// Reverses every `width`-byte unit of `bytes` in place (see swap_copy).
inline void swap_in_place(std::span<std::byte> bytes, std::size_t width) { swap_copy(bytes, bytes.data(), width); }

/// Bytes [offset, offset + out.size()) of `whole` with every `width`-byte unit reversed, copied into
/// `out`: the range may start or end inside a unit (those bytes come from the unit's other end).
/// REQUIRES: width is 1, 2, 4 or 8, divides whole.size(), and the range lies within `whole`.
TFCKPT_DECL void swap_copy_range(std::span<const std::byte> whole, std::uint64_t offset, std::span<std::byte> out,
                                 std::size_t width);

/// Streams a fixed-size tensor's bytes through a swap of every `swap_width(t)`-byte unit, in pieces
/// of at most kPiece bytes, whatever sizes the input chunks have (a unit split across two chunks is
/// carried over and emitted on its own). finish() reports input that ended inside a unit.
class byte_order_converter {
 public:
  using emit_fn = std::function<absl::Status(std::span<const std::byte>)>;
  static constexpr std::size_t kPiece = std::size_t{1} << 20;

  byte_order_converter(dtype t, emit_fn emit)
      : width_(swap_width(t)), emit_(std::move(emit)) {
    if (width_ > 1) buffer_ = std::make_unique_for_overwrite<std::byte[]>(kPiece);
  }

  absl::Status operator()(std::span<const std::byte> chunk) {
    if (width_ <= 1) return chunk.empty() ? absl::OkStatus() : emit_(chunk);
    while (!chunk.empty()) {
      if (used_ > 0) {  // complete the unit split across the previous chunk and this one
        const std::size_t take = std::min(chunk.size(), width_ - used_);
        std::memcpy(carry_ + used_, chunk.data(), take);
        used_ += take;
        chunk = chunk.subspan(take);
        if (used_ < width_) break;
        swap_in_place({carry_, width_}, width_);
        TFCKPT_RETURN_IF_ERROR(emit_({carry_, width_}));
        used_ = 0;
      }
      const std::size_t take = std::min(chunk.size() - chunk.size() % width_, kPiece);
      if (take == 0) {  // less than a unit left: keep it for the next chunk
        std::memcpy(carry_, chunk.data(), chunk.size());
        used_ = chunk.size();
        break;
      }
      swap_copy(chunk.first(take), buffer_.get(), width_);
      TFCKPT_RETURN_IF_ERROR(emit_({buffer_.get(), take}));
      chunk = chunk.subspan(take);
    }
    return absl::OkStatus();
  }

  absl::Status finish() {
    if (used_ != 0)
      return absl::DataLossError(absl::StrFormat("%d bytes left over: the payload is not a whole number of %d-byte units",
                                                 used_, width_));
    return absl::OkStatus();
  }

 private:
  std::size_t width_;
  emit_fn emit_;
  std::unique_ptr<std::byte[]> buffer_;
  std::byte carry_[8];    // a unit split across chunks
  std::size_t used_ = 0;  // bytes of it seen so far
};

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_TENSOR_BYTE_ORDER)

namespace tfckpt {

TFCKPT_DECL void swap_copy(std::span<const std::byte> src, std::byte* dst, std::size_t width) {
  if (width != 2 && width != 4 && width != 8) {
    if (dst != src.data() && !src.empty()) std::memcpy(dst, src.data(), src.size());
    return;
  }
  std::size_t done = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (detail::have_ssse3()) {
    detail::swap_blocks_ssse3(src.data(), dst, src.size() / 16, width);
    done = src.size() - src.size() % 16;
  }
#endif
  const std::size_t units = (src.size() - done) / width;
  switch (width) {
    case 2: detail::swap_units_scalar<std::uint16_t>(src.data() + done, dst + done, units); break;
    case 4: detail::swap_units_scalar<std::uint32_t>(src.data() + done, dst + done, units); break;
    default: detail::swap_units_scalar<std::uint64_t>(src.data() + done, dst + done, units); break;
  }
}

TFCKPT_DECL void swap_copy_range(std::span<const std::byte> whole, std::uint64_t offset, std::span<std::byte> out,
                                 std::size_t width) {
  if (width != 2 && width != 4 && width != 8) {
    if (!out.empty()) std::memcpy(out.data(), whole.data() + offset, out.size());
    return;
  }
  const auto mirrored = [&](std::uint64_t pos) {  // the byte a swapped tensor has at `pos`
    const std::uint64_t unit = pos - pos % width;
    return whole[static_cast<std::size_t>(unit + (width - 1 - pos % width))];
  };
  std::size_t i = 0;
  for (; i < out.size() && (offset + i) % width != 0; ++i) out[i] = mirrored(offset + i);
  const std::size_t middle = (out.size() - i) / width * width;
  swap_copy(whole.subspan(static_cast<std::size_t>(offset + i), middle), out.data() + i, width);
  for (i += middle; i < out.size(); ++i) out[i] = mirrored(offset + i);
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_TENSOR_BYTE_ORDER

#endif  // TFCKPT_TENSOR_BYTE_ORDER_HPP_
