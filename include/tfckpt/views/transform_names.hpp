// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/transform_names.hpp
//
// Renaming tensors in a pipeline (bytes untouched, still lazy):
//
//   views::transform_names(fn)         fn(std::string_view old) -> std::string new, every tensor
//   views::transform_names(regex_rename(R"(^out(\d+)/)", "head_$1/"))
//   views::rename({{"v1", "other-v1"}})  TensorFlow Saver semantics: only the listed checkpoint
//                                      names, under their new names; a listed name the input lacks is
//                                      an error (reported with all others) unless allow_missing
//   views::select({"w", "b"})          rename with identity: keep only these
//   views::assignment_map({{"old_scope/", "new_scope/"}, {"/", "root_copy/"}})
//                                      init_from_checkpoint's map: scope prefixes ending in '/'
//                                      ('/' alone is the root) or exact names; only mapped tensors
//                                      pass; a key that matches nothing is an error
//   views::ema_restore()               `x/ExponentialMovingAverage` becomes `x` (replacing the raw
//                                      `x`), as ExponentialMovingAverage.variables_to_restore() does
//
// transform_names works tensor by tensor. rename, select, assignment_map and ema_restore are
// whole-input adaptors (views/planning_view.hpp): building them does nothing; the first begin() looks
// at every input tensor's name (metadata only: no tensor byte is read) and caches the planned tensors,
// so they are not const-iterable. Each has a call form too: views::rename(range, map).
#ifndef TFCKPT_VIEWS_TRANSFORM_NAMES_HPP_
#define TFCKPT_VIEWS_TRANSFORM_NAMES_HPP_

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <ranges>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/planning_view.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

/// A name function: replaces every match of `pattern` (ECMAScript) with `format` ($1, $2, ... for
/// groups, as std::regex_replace). Throws std::regex_error for a bad pattern.
inline auto regex_rename(const std::string& pattern, std::string format) {
  auto re = std::make_shared<const std::regex>(pattern);
  return [re, format = std::move(format)](std::string_view name) {
    return std::regex_replace(std::string(name), *re, format);
  };
}

/// Suffix TensorFlow's ExponentialMovingAverage gives the shadow of variable `x`.
inline constexpr std::string_view kEmaSuffix = "/ExponentialMovingAverage";

struct rename_options {
  /// A listed name the input lacks is skipped instead of reported.
  bool allow_missing = false;
};

namespace detail {

// A name map searched by string_view, so that looking up a borrowed name copies nothing.
using name_map = std::map<std::string, std::string, std::less<>>;

TFCKPT_DECL std::vector<tensor> rename_planned(std::vector<tensor> in, const name_map& map, const rename_options& options,
                                               std::string_view what);

}  // namespace detail

namespace detail {

// init_from_checkpoint's assignment_map over a whole input (see the file comment).
TFCKPT_DECL std::vector<tensor> assignment_map_planned(std::vector<tensor> in, const name_map& map);

// ExponentialMovingAverage.variables_to_restore() over a whole input (see the file comment).
TFCKPT_DECL std::vector<tensor> ema_restore_planned(std::vector<tensor> in);

// The planner of rename and select.
struct rename_planner {
  name_map map;
  rename_options options;
  const char* what;
  std::vector<tensor> operator()(std::vector<tensor> in) const { return rename_planned(std::move(in), map, options, what); }
};

inline name_map identity_map(const std::vector<std::string>& names) {
  name_map map;
  for (const std::string& n : names) map.emplace(n, n);
  return map;
}

}  // namespace detail

namespace views {

/// Renames every tensor with fn(std::string_view) -> std::string (per tensor; no planning).
template <class Fn>
  requires std::invocable<const Fn&, std::string_view> &&
           std::constructible_from<std::string, std::invoke_result_t<const Fn&, std::string_view>>
auto transform_names(Fn fn) {
  return std::views::transform([fn = std::move(fn)](tensor t) {
    auto renamed = fn(std::string_view(t.name));
    if constexpr (std::is_convertible_v<const decltype(renamed)&, std::string_view>) {
      if (std::string_view(renamed) == std::string_view(t.name)) return t;  // unchanged: keeps borrowing
    }
    t.name = std::string(std::move(renamed));
    return t;
  });
}

/// TensorFlow Saver's name map: keeps only the listed (old) names, renamed to their new names.
/// views::rename(r, map) or r | views::rename(map); plans on first begin() (views/planning_view.hpp).
struct rename_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<std::views::all_t<R>>
  auto operator()(R&& r, std::map<std::string, std::string> map, rename_options options = {}) const {
    return planned(std::forward<R>(r), tfckpt::detail::rename_planner{{map.begin(), map.end()}, options, "rename"});
  }
  auto operator()(std::map<std::string, std::string> map, rename_options options = {}) const {
    return planned(tfckpt::detail::rename_planner{{map.begin(), map.end()}, options, "rename"});
  }
};
inline constexpr rename_fn rename{};

/// Keeps only the listed names (in input order). views::select(r, names) or r | views::select(names).
struct select_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<std::views::all_t<R>>
  auto operator()(R&& r, const std::vector<std::string>& names, rename_options options = {}) const {
    return planned(std::forward<R>(r), tfckpt::detail::rename_planner{tfckpt::detail::identity_map(names), options, "select"});
  }
  auto operator()(const std::vector<std::string>& names, rename_options options = {}) const {
    return planned(tfckpt::detail::rename_planner{tfckpt::detail::identity_map(names), options, "select"});
  }
};
inline constexpr select_fn select{};

/// init_from_checkpoint's assignment_map (see the file comment). The longest matching key wins.
struct assignment_map_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<std::views::all_t<R>>
  auto operator()(R&& r, std::map<std::string, std::string> map) const {
    return planned(std::forward<R>(r), [map = tfckpt::detail::name_map(map.begin(), map.end())](std::vector<tensor> in) {
      return tfckpt::detail::assignment_map_planned(std::move(in), map);
    });
  }
  auto operator()(std::map<std::string, std::string> map) const {
    return planned([map = tfckpt::detail::name_map(map.begin(), map.end())](std::vector<tensor> in) {
      return tfckpt::detail::assignment_map_planned(std::move(in), map);
    });
  }
};
inline constexpr assignment_map_fn assignment_map{};

/// Restores exponential moving averages: `x/ExponentialMovingAverage` is output as `x` in place of
/// the raw `x`; tensors without a shadow pass unchanged. views::ema_restore(r) or r | views::ema_restore().
struct ema_restore_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<std::views::all_t<R>>
  auto operator()(R&& r) const {
    return planned(std::forward<R>(r), &tfckpt::detail::ema_restore_planned);
  }
  auto operator()() const { return planned(&tfckpt::detail::ema_restore_planned); }
};
inline constexpr ema_restore_fn ema_restore{};

}  // namespace views
}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_TRANSFORM_NAMES)

namespace tfckpt::detail {

TFCKPT_DECL std::vector<tensor> rename_planned(std::vector<tensor> in, const name_map& map, const rename_options& options,
                                               std::string_view what) {
  std::vector<tensor> out;
  std::vector<const std::string*> seen;  // the keys found (a vector: no allocation per tensor)
  for (tensor& t : in) {
    const auto it = map.find(std::string_view(t.name));
    if (it == map.end()) continue;
    seen.push_back(&it->first);
    if (t.name != it->second) t.name = it->second;  // an unchanged name keeps borrowing
    out.push_back(std::move(t));
  }
  if (!options.allow_missing) {
    std::sort(seen.begin(), seen.end(), std::less<>());
    for (const auto& [from, to] : map)
      if (!std::binary_search(seen.begin(), seen.end(), &from, std::less<>()))
        out.push_back(problem(absl::NotFoundError(absl::StrFormat("%s: '%s' is not in the input", what, printable_key(from))), to));
  }
  return out;
}

TFCKPT_DECL std::vector<tensor> assignment_map_planned(std::vector<tensor> in, const name_map& map) {
  std::vector<tensor> out;
  std::set<std::string_view> used;
  for (tensor& t : in) {
    const std::string* best_key = nullptr;
    for (const auto& [key, value] : map) {
      const bool scope = !key.empty() && key.back() == '/';
      const bool matches = scope ? (key == "/" || t.name.rfind(key, 0) == 0) : t.name == key;
      if (matches && (best_key == nullptr || key.size() > best_key->size())) best_key = &key;
    }
    if (best_key == nullptr) continue;
    used.insert(*best_key);
    const std::string& value = map.at(*best_key);
    const bool scope = best_key->back() == '/';
    if (!scope) {
      if (t.name != value) t.name = value;
    } else {
      const std::string_view rest = *best_key == "/" ? std::string_view(t.name) : t.name.substr(best_key->size());
      std::string renamed = value == "/" ? std::string() : value;
      renamed.append(rest);
      t.name = std::move(renamed);
    }
    out.push_back(std::move(t));
  }
  for (const auto& [key, value] : map)
    if (!used.count(key))
      out.push_back(problem(
          absl::NotFoundError(absl::StrFormat("assignment_map: '%s' matches no tensor of the input", printable_key(key))), value));
  return out;
}

TFCKPT_DECL std::vector<tensor> ema_restore_planned(std::vector<tensor> in) {
  std::set<std::string, std::less<>> shadowed;
  for (const tensor& t : in)
    if (t.name.size() > kEmaSuffix.size() && t.name.ends_with(kEmaSuffix))
      shadowed.emplace(t.name.substr(0, t.name.size() - kEmaSuffix.size()));
  std::vector<tensor> out;
  for (tensor& t : in) {
    if (shadowed.contains(std::string_view(t.name))) continue;  // replaced by its average
    if (t.name.size() > kEmaSuffix.size() && t.name.ends_with(kEmaSuffix)) t.name.resize(t.name.size() - kEmaSuffix.size());
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_VIEWS_TRANSFORM_NAMES

#endif  // TFCKPT_VIEWS_TRANSFORM_NAMES_HPP_
