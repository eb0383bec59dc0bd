// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/cow_shape.hpp
//
// `tfckpt::cow_shape`: dimension sizes that borrow until they are changed (copy on write), as
// cow_string does for names. A pipeline tensor's shape starts as a borrow of the checkpoint's
// decoded index; a view that reshapes assigns new dimensions, which the tensor then owns.
//
// It *is* a shape_view (std::span<const std::int64_t>, public base, always showing the current
// dimensions), so reading needs no conversion: `shape[0]`, `shape.size()`, `for (auto d : shape)`,
// passing it where a shape_view is taken. It compares with any shape (`shape == other.shape`,
// `shape == std::vector<std::int64_t>{2, 3}`) and converts to std::vector where one is required.
// Changing it goes through its own members (assignment, assign, push_back, set, resize, clear);
// elements cannot be written through operator[].
//
// Example:
//   tfckpt::cow_shape shape = tfckpt::cow_shape::borrow(entry.shape());  // no allocation
//   shape.set(0, shape[0] * 2);                                           // owns now
#ifndef TFCKPT_TENSOR_COW_SHAPE_HPP_
#define TFCKPT_TENSOR_COW_SHAPE_HPP_

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "tfckpt/detail/cow_base.hpp"
#include "tfckpt/tensor/shape.hpp"

namespace tfckpt {

class cow_shape : public detail::cow_base<shape_view, std::vector<std::int64_t>> {
  using base = detail::cow_base<shape_view, std::vector<std::int64_t>>;

 public:
  cow_shape() noexcept = default;
  cow_shape(std::vector<std::int64_t> dims) : base(std::move(dims)) {}  // NOLINT: implicit
  cow_shape(std::initializer_list<std::int64_t> dims) : base(std::vector<std::int64_t>(dims)) {}
  /// A copy of `dims` (use borrow() to share them).
  cow_shape(shape_view dims) : base(std::vector<std::int64_t>(dims.begin(), dims.end())) {}  // NOLINT: implicit

  /// A borrow of `dims`, which must stay valid and unchanged while this shape (or a copy) shows them.
  static cow_shape borrow(shape_view dims) noexcept {
    cow_shape s;
    s.lend(dims);
    return s;
  }

  cow_shape& operator=(std::initializer_list<std::int64_t> dims) {
    owned_.assign(dims);
    show_owned();
    return *this;
  }

  std::vector<std::int64_t> vector() const { return {begin(), end()}; }
  operator std::vector<std::int64_t>() const { return vector(); }  // NOLINT: implicit, for vector parameters

  /// Sets dimension `i` (REQUIRES: i < size()).
  cow_shape& set(std::size_t i, std::int64_t dim) {
    own()[i] = dim;
    show_owned();
    return *this;
  }
  cow_shape& push_back(std::int64_t dim) {
    own().push_back(dim);
    show_owned();
    return *this;
  }
  template <class It>
  cow_shape& assign(It first, It last) {
    std::vector<std::int64_t> dims(first, last);  // the range may be this shape's own
    owned_ = std::move(dims);
    show_owned();
    return *this;
  }
  cow_shape& assign(std::size_t n, std::int64_t dim) {
    owned_.assign(n, dim);
    show_owned();
    return *this;
  }
  cow_shape& resize(std::size_t n, std::int64_t dim = 0) {
    own().resize(n, dim);
    show_owned();
    return *this;
  }
  cow_shape& clear() noexcept {
    reset();
    return *this;
  }

  friend bool operator==(const cow_shape& a, shape_view b) noexcept { return std::ranges::equal(a, b); }
  // Exactly two shapes (a template: no conversion makes it a candidate for other operands).
  template <std::same_as<cow_shape> T>
  friend bool operator==(const cow_shape& a, const T& b) noexcept {
    return std::ranges::equal(a, b);
  }
};

}  // namespace tfckpt

#endif  // TFCKPT_TENSOR_COW_SHAPE_HPP_
