// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/tensor_values.hpp
//
// Typed, read-only access to a tensor's elements. TensorFlow packs tensors densely in data files
// (data_alignment 1), so a float may start at an odd address; forming a misaligned `const float*` is
// undefined behaviour. `tensor_values<T>` therefore points straight into the mapped bytes when they
// are aligned for T (zero-copy) and otherwise holds an aligned copy; `is_zero_copy()` says which.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto w, entry.values<float>());
//   std::span<const float> v = w.span();          // row-major, w.shape() dims
//   if (!w.is_zero_copy()) { /* the tensor was misaligned in its shard and was copied */ }
#ifndef TFCKPT_TENSOR_TENSOR_VALUES_HPP_
#define TFCKPT_TENSOR_TENSOR_VALUES_HPP_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>

#include "tfckpt/tensor/shape.hpp"

namespace tfckpt {

/// The elements of one tensor as `T`, row-major. Valid while the checkpoint it came from lives
/// (when zero-copy) — the object itself may be moved freely.
template <class T>
class tensor_values {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  tensor_values() = default;

  /// Views `bytes` as T when aligned, else copies them into an aligned buffer.
  /// REQUIRES: bytes.size() is a multiple of sizeof(T).
  static tensor_values from_bytes(std::span<const std::byte> bytes, shape_view shape) {
    tensor_values v;
    v.shape_ = shape;
    const std::size_t n = bytes.size() / sizeof(T);
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(T) == 0) {
      v.values_ = {reinterpret_cast<const T*>(bytes.data()), n};
    } else {
      v.owned_ = std::make_unique_for_overwrite<T[]>(n);
      std::memcpy(v.owned_.get(), bytes.data(), n * sizeof(T));
      v.values_ = {v.owned_.get(), n};
    }
    return v;
  }

  /// Takes `n` elements the caller already holds (e.g. a byte-swapped copy).
  static tensor_values adopt(std::unique_ptr<T[]> owned, std::size_t n, shape_view shape) {
    tensor_values v;
    v.shape_ = shape;
    v.owned_ = std::move(owned);
    v.values_ = {v.owned_.get(), n};
    return v;
  }

  std::span<const T> span() const { return values_; }
  const T* data() const { return values_.data(); }
  std::size_t size() const { return values_.size(); }
  const T& operator[](std::size_t i) const { return values_[i]; }
  auto begin() const { return values_.begin(); }
  auto end() const { return values_.end(); }
  /// Dimension sizes, outermost first.
  shape_view shape() const { return shape_; }
  /// True when the values point into the mapped file; false when they were copied (for alignment,
  /// or to swap them from a bundle of the other byte order).
  bool is_zero_copy() const { return owned_ == nullptr; }

 private:
  std::span<const T> values_;
  std::unique_ptr<T[]> owned_;
  shape_view shape_;
};

}  // namespace tfckpt

#endif  // TFCKPT_TENSOR_TENSOR_VALUES_HPP_
