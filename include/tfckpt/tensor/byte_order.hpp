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

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
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

/// Reverses every `width`-byte unit of `bytes` in place. REQUIRES: width is 1, 2, 4 or 8 and divides
/// bytes.size().
inline void swap_in_place(std::span<std::byte> bytes, std::size_t width) {
  // Hand-written: a plain load/byte-swap/store loop, which compilers vectorise; no library offers it.
  const auto swap_all = [&]<class U>(U) {
    for (std::size_t i = 0; i + sizeof(U) <= bytes.size(); i += sizeof(U)) {
      U v;
      std::memcpy(&v, bytes.data() + i, sizeof v);
      v = detail::byte_swap(v);
      std::memcpy(bytes.data() + i, &v, sizeof v);
    }
  };
  switch (width) {
    case 2: swap_all(std::uint16_t{}); break;
    case 4: swap_all(std::uint32_t{}); break;
    case 8: swap_all(std::uint64_t{}); break;
    default: break;
  }
}

/// Streams a fixed-size tensor's bytes through a swap of every `swap_width(t)`-byte unit, in pieces
/// of at most kPiece bytes, whatever sizes the input chunks have (a unit split across two chunks is
/// carried over). finish() reports input that ended inside a unit.
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
      const std::size_t take = std::min(chunk.size(), kPiece - used_);
      std::memcpy(buffer_.get() + used_, chunk.data(), take);
      used_ += take;
      chunk = chunk.subspan(take);
      const std::size_t whole = used_ - used_ % width_;
      swap_in_place({buffer_.get(), whole}, width_);
      if (whole > 0) TFCKPT_RETURN_IF_ERROR(emit_({buffer_.get(), whole}));
      std::memmove(buffer_.get(), buffer_.get() + whole, used_ - whole);  // a split unit waits for the next chunk
      used_ -= whole;
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
  std::size_t used_ = 0;
};

}  // namespace tfckpt

#endif  // TFCKPT_TENSOR_BYTE_ORDER_HPP_
