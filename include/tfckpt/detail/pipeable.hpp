// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/detail/pipeable.hpp
//
// Pipe closures for our range adaptors: `range | views::filter(pred)`. C++23's
// range_adaptor_closure is out of reach in C++20, so an adaptor's "(args...)" form returns a
// `pipeable` holding a callable that takes the range (range-v3's view_closure does the same).
// IWYU pragma: private, include "tfckpt/views/tensor.hpp"
#ifndef TFCKPT_DETAIL_PIPEABLE_HPP_
#define TFCKPT_DETAIL_PIPEABLE_HPP_

#include <ranges>
#include <utility>

namespace tfckpt::detail {

template <class Fn>
struct pipeable {
  Fn fn;

  template <std::ranges::viewable_range R>
    requires std::invocable<const Fn&, R>
  friend auto operator|(R&& r, const pipeable& p) {
    return p.fn(std::forward<R>(r));
  }
  template <std::ranges::viewable_range R>
    requires std::invocable<Fn, R>
  friend auto operator|(R&& r, pipeable&& p) {
    return std::move(p.fn)(std::forward<R>(r));
  }
};

template <class Fn>
pipeable(Fn) -> pipeable<Fn>;

}  // namespace tfckpt::detail

#endif  // TFCKPT_DETAIL_PIPEABLE_HPP_
