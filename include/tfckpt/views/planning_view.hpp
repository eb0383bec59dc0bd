// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/planning_view.hpp
//
// Whole-input adaptors: those that must see every tensor's metadata before they can yield the first
// one (a rename map that reports absent keys, grouping for a concatenation, averaging across
// checkpoints, an EMA restore that replaces `x` by `x/ExponentialMovingAverage`). They are all one
// view, planning_view: building it does no work and reads nothing; the first begin() walks the input
// once (metadata only: no tensor byte is read, no producer runs), hands the tensors to a planner
// `std::vector<tensor>(std::vector<tensor>)`, and caches what it returns.
//
// Cost, for every adaptor built on it: planning holds the input's and the output's metadata (names,
// shapes, byte sources; never tensor bytes); the view is not const-iterable (begin() fills the
// cache); a copy starts without a plan and plans again from its own base.
//
// Writing one (examples/custom_adaptor.cpp): views::planned(planner) is a closure:
//
//   auto keep_largest = tfckpt::views::planned([](std::vector<tfckpt::tensor> in) {
//     std::ranges::sort(in, std::greater{}, &tfckpt::tensor::size);
//     in.resize(std::min<std::size_t>(in.size(), 3));
//     return in;
//   });
//   write_bundle(entries(ckpt) | keep_largest, "top3");
#ifndef TFCKPT_VIEWS_PLANNING_VIEW_HPP_
#define TFCKPT_VIEWS_PLANNING_VIEW_HPP_

#include <concepts>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <utility>
#include <vector>

#include "tfckpt/views/closure.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

namespace detail {
// Keeps a value across moves, but a copy starts empty (range-v3's non_propagating_cache): a copied
// view plans again from its own base.
template <class T>
class plan_cache {
 public:
  plan_cache() = default;
  plan_cache(const plan_cache&) noexcept {}
  plan_cache(plan_cache&&) noexcept = default;
  plan_cache& operator=(const plan_cache& o) noexcept {
    if (this != &o) value_.reset();
    return *this;
  }
  plan_cache& operator=(plan_cache&&) noexcept = default;
  bool has_value() const { return value_.has_value(); }
  T& operator*() { return *value_; }
  template <class... Args>
  T& emplace(Args&&... args) {
    return value_.emplace(std::forward<Args>(args)...);
  }

 private:
  std::optional<T> value_;
};
}  // namespace detail

/// What a whole-input adaptor does with its input's tensors (see the file comment).
template <class P>
concept tensor_planner = std::invocable<const P&, std::vector<tensor>> &&
                         std::convertible_to<std::invoke_result_t<const P&, std::vector<tensor>>, std::vector<tensor>>;

/// The view behind every whole-input adaptor (see the file comment).
template <std::ranges::input_range V, tensor_planner Planner>
  requires std::ranges::view<V> && tensor_range<V>
class planning_view : public std::ranges::view_interface<planning_view<V, Planner>> {
 public:
  planning_view()
    requires std::default_initializable<V>
  = default;
  planning_view(V base, Planner planner)
      : base_(std::move(base)), planner_(std::make_shared<const Planner>(std::move(planner))) {}

  /// The planned tensors (planned on first use).
  std::span<const tensor> plan() {
    if (!plan_.has_value()) plan_.emplace((*planner_)(collect(base_)));
    return *plan_;
  }
  bool planned() const { return plan_.has_value(); }
  auto begin() {
    plan();
    return (*plan_).cbegin();
  }
  auto end() {
    plan();
    return (*plan_).cend();
  }
  std::size_t size() { return plan().size(); }
  V base() const&
    requires std::copy_constructible<V>
  {
    return base_;
  }
  V base() && { return std::move(base_); }

 private:
  V base_ = V();
  std::shared_ptr<const Planner> planner_;  // keeps the view assignable whatever Planner is
  detail::plan_cache<std::vector<tensor>> plan_;
};

template <class R, class Planner>
planning_view(R&&, Planner) -> planning_view<std::views::all_t<R>, Planner>;

namespace views {

/// The whole-input adaptor running `planner` (see the file comment): views::planned(r, planner) or
/// r | views::planned(planner).
struct planned_fn {
  template <std::ranges::viewable_range R, tensor_planner Planner>
    requires tensor_range<std::views::all_t<R>>
  auto operator()(R&& r, Planner planner) const {
    return planning_view(std::views::all(std::forward<R>(r)), std::move(planner));
  }
  template <tensor_planner Planner>
  auto operator()(Planner planner) const {
    return closure{[planner = std::move(planner)]<std::ranges::viewable_range R>(R&& r)
                     requires tensor_range<std::views::all_t<R>>
                   { return planning_view(std::views::all(std::forward<R>(r)), planner); }};
  }
};
inline constexpr planned_fn planned{};

}  // namespace views
}  // namespace tfckpt

#endif  // TFCKPT_VIEWS_PLANNING_VIEW_HPP_
