// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/filter.hpp
//
// Keeping some tensors of a pipeline: views::filter(predicate) is std::views::filter over tensors
// (lazy: the predicate sees metadata only), with ready-made predicates on names — glob, regex — and
// one that recognises optimizer state, so that dropping it is one line:
//
//   entries(ckpt) | views::filter(not_optimizer_slot())
//   entries(ckpt) | views::filter(name_glob("encoder/*"))
//   entries(ckpt) | views::filter(name_regex(R"(^out\d+/)"))
#ifndef TFCKPT_VIEWS_FILTER_HPP_
#define TFCKPT_VIEWS_FILTER_HPP_

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <ranges>
#include <regex>
#include <string>
#include <string_view>

#include "tfckpt/detail/config.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

/// A predicate on tensor names: true when the whole name matches the shell glob `pattern`
/// (`*` and `?` also match `/`; `[...]` classes as fnmatch(3)).
inline auto name_glob(std::string pattern) {
  return [pattern = std::move(pattern)](const tensor& t) { return ::fnmatch(pattern.c_str(), t.name.c_str(), 0) == 0; };
}

/// A predicate on tensor names: true when `pattern` (ECMAScript syntax) matches anywhere in the
/// name; anchor it with ^...$ to match whole names. Throws std::regex_error for a bad pattern.
inline auto name_regex(const std::string& pattern) {
  auto re = std::make_shared<const std::regex>(pattern);
  return [re](const tensor& t) { return std::regex_search(t.name.begin(), t.name.end(), *re); };
}

/// True for names of optimizer state rather than model weights:
///  - TF1 slots, the last path component: Momentum, Adam, Adam_1, Adagrad, AdagradDA, Adadelta,
///    Adadelta_1, RMSProp, RMSProp_1, Ftrl, Ftrl_1, ProximalAdagrad, ProximalGradientDescent,
///    adam_m, adam_v (BERT), and Adafactor's `<name>_slot_v` / `_slot_vr` / `_slot_vc` / `_slot_m`;
///  - TF1 accumulators `beta1_power`, `beta2_power` (any scope);
///  - TF2 slot variables (`.../.OPTIMIZER_SLOT/...`) and the optimizer's own variables, whose object
///    path starts with a component ending in "optimizer" (`optimizer/iter/.ATTRIBUTES/...`,
///    `actor_optimizer/beta_1/...`).
TFCKPT_DECL bool is_optimizer_state(std::string_view name);

/// Predicates for views::filter.
inline auto optimizer_slot() {
  return [](const tensor& t) { return is_optimizer_state(t.name); };
}
inline auto not_optimizer_slot() {
  return [](const tensor& t) { return !is_optimizer_state(t.name); };
}

namespace views {
/// Keeps the tensors for which `pred(const tensor&)` holds (std::views::filter).
inline constexpr auto filter = std::views::filter;
}  // namespace views

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_FILTER)

namespace tfckpt {

TFCKPT_DECL bool is_optimizer_state(std::string_view name) {
  if (name.find("/.OPTIMIZER_SLOT/") != std::string_view::npos) return true;
  const auto first_end = name.find('/');
  const std::string_view first = name.substr(0, first_end);
  if (first.size() >= 9 && first.substr(first.size() - 9) == "optimizer" && first_end != std::string_view::npos &&
      name.find("/.ATTRIBUTES/") != std::string_view::npos)
    return true;
  const auto cut = name.rfind('/');
  const std::string_view last = cut == std::string_view::npos ? name : name.substr(cut + 1);
  static constexpr std::array<std::string_view, 17> kSlots = {
      "Momentum", "Adam",   "Adam_1", "Adagrad",  "AdagradDA", "Adadelta",        "Adadelta_1",
      "RMSProp",  "RMSProp_1", "Ftrl", "Ftrl_1", "ProximalAdagrad", "ProximalGradientDescent",
      "adam_m",   "adam_v", "beta1_power", "beta2_power"};
  if (std::find(kSlots.begin(), kSlots.end(), last) != kSlots.end()) return true;
  for (std::string_view suffix : {"_slot_v", "_slot_vr", "_slot_vc", "_slot_m"})
    if (last.size() > suffix.size() && last.substr(last.size() - suffix.size()) == suffix) return true;
  return false;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_VIEWS_FILTER

#endif  // TFCKPT_VIEWS_FILTER_HPP_
