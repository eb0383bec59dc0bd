// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/closure.hpp
//
// Adaptor closures: what `views::x(args...)` returns when it is given no range. Like range-v3's
// view_closure and C++23's range_adaptor_closure (out of reach in C++20), a closure
//   - applies to a range:          range | views::ema_restore()
//   - composes with a closure:     auto strip = views::filter(not_optimizer_slot()) | views::ema_restore();
//                                  entries(ckpt) | strip
// and composes with the standard library's closures on either side (std::views::filter(p),
// std::views::take(3), ...). Composition does no work: it stores both closures, and applying the
// result applies them in order.
//
// Writing an adaptor of your own (tfckpt::views::closure{fn}, with fn taking the range) is shown in
// examples/custom_adaptor.cpp; whole-input adaptors use views::planned (views/planning_view.hpp).
#ifndef TFCKPT_VIEWS_CLOSURE_HPP_
#define TFCKPT_VIEWS_CLOSURE_HPP_

#include <concepts>
#include <ranges>
#include <type_traits>
#include <utility>

#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

namespace views {
template <class Fn>
struct closure;
}  // namespace views

namespace detail {
template <class T>
inline constexpr bool is_closure = false;
template <class Fn>
inline constexpr bool is_closure<views::closure<Fn>> = true;

// A standard-library closure or any other object a pipeline can be piped into: it is not itself a
// range, and piping an (empty) range of tensors into it compiles.
template <class T>
concept foreign_closure = !is_closure<std::remove_cvref_t<T>> && !std::ranges::range<std::remove_cvref_t<T>> &&
                          std::copy_constructible<std::remove_cvref_t<T>> &&
                          requires(const std::remove_cvref_t<T>& c) { std::views::empty<tensor> | c; };

// Applies `first`, then `second`; both are kept by value.
template <class First, class Second>
struct composed {
  First first;
  Second second;
  template <std::ranges::viewable_range R>
    requires requires(R&& r, const First& f, const Second& s) { (std::forward<R>(r) | f) | s; }
  constexpr auto operator()(R&& r) const {
    return (std::forward<R>(r) | first) | second;
  }
};
}  // namespace detail

namespace views {

/// An adaptor closure around `fn`, a callable taking the input range (see the file comment).
template <class Fn>
struct closure {
  Fn fn;

  /// range | closure: the adaptor applied to the range.
  template <std::ranges::viewable_range R>
    requires std::invocable<const Fn&, R>
  friend constexpr auto operator|(R&& r, const closure& c) {
    return c.fn(std::forward<R>(r));
  }
  template <std::ranges::viewable_range R>
    requires std::invocable<Fn, R>
  friend constexpr auto operator|(R&& r, closure&& c) {
    return std::move(c.fn)(std::forward<R>(r));
  }

  /// closure | closure: a closure applying both in order.
  template <class Other>
  friend constexpr auto operator|(closure lhs, closure<Other> rhs) {
    return views::closure{detail::composed<closure, closure<Other>>{std::move(lhs), std::move(rhs)}};
  }
  /// closure | std::views::... and std::views::... | closure.
  template <detail::foreign_closure Other>
  friend constexpr auto operator|(closure lhs, Other rhs) {
    return views::closure{detail::composed<closure, std::remove_cvref_t<Other>>{std::move(lhs), std::move(rhs)}};
  }
  template <detail::foreign_closure Other>
  friend constexpr auto operator|(Other lhs, closure rhs) {
    return views::closure{detail::composed<std::remove_cvref_t<Other>, closure>{std::move(lhs), std::move(rhs)}};
  }
};

template <class Fn>
closure(Fn) -> closure<Fn>;

}  // namespace views
}  // namespace tfckpt

#endif  // TFCKPT_VIEWS_CLOSURE_HPP_
