// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/match.hpp
//
// Partial restore (user story 2): a model gained a branch, and restoring an older checkpoint fails
// with "Key ... not found in checkpoint". Given the target model's variables (name -> dtype, shape),
// match_variables() reports, all at once, which are missing from the checkpoint, which checkpoint
// tensors the model does not have, and which names exist on both sides with another dtype or shape;
// views::match(model) yields the tensors the model can take as they are.
//
// Example:
//   std::vector<tfckpt::variable_spec> model = {{"A/w", dtype::float32, {784, 256}}, {"C/w", ...}};
//   auto report = tfckpt::match_variables(tfckpt::entries(ckpt), model);
//   std::fputs(report.describe().c_str(), stdout);     // missing: C/w ...
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(tfckpt::entries(ckpt) | tfckpt::views::match(model), out));
#ifndef TFCKPT_VIEWS_MATCH_HPP_
#define TFCKPT_VIEWS_MATCH_HPP_

#include <map>
#include <ranges>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/planning_view.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

/// One variable of the model to restore into. dtype::invalid matches any dtype; an empty
/// `shape` with `any_shape` set matches any shape (variables whose shape the graph leaves open).
struct variable_spec {
  std::string name;
  tfckpt::dtype dtype = tfckpt::dtype::invalid;
  std::vector<std::int64_t> shape{};
  bool any_shape = false;
};

struct match_report {
  struct mismatch {
    std::string name;
    tfckpt::dtype model_dtype = tfckpt::dtype::invalid;
    std::vector<std::int64_t> model_shape{};
    tfckpt::dtype checkpoint_dtype = tfckpt::dtype::invalid;
    std::vector<std::int64_t> checkpoint_shape{};
  };
  std::vector<std::string> matched;     // restorable as they are, in model order
  std::vector<std::string> missing;     // in the model, not in the checkpoint
  std::vector<std::string> unexpected;  // in the checkpoint, not in the model
  std::vector<mismatch> mismatched;     // on both sides, with another dtype or shape

  /// True when every model variable can be restored (unexpected checkpoint tensors do not count).
  bool complete() const { return missing.empty() && mismatched.empty(); }

  /// A human-readable report, every problem on its own line.
  std::string describe() const {
    std::string out = absl::StrFormat("%d matched, %d missing, %d shape/dtype mismatches, %d unexpected\n",
                                      matched.size(), missing.size(), mismatched.size(), unexpected.size());
    for (const std::string& n : missing) absl::StrAppendFormat(&out, "missing:    %s\n", printable_key(n));
    for (const mismatch& m : mismatched)
      absl::StrAppendFormat(&out, "mismatch:   %s: model %s %s, checkpoint %s %s\n", printable_key(m.name),
                            m.model_dtype == tfckpt::dtype::invalid ? "any" : dtype_name(m.model_dtype),
                            shape_string(m.model_shape), dtype_name(m.checkpoint_dtype), shape_string(m.checkpoint_shape));
    for (const std::string& n : unexpected) absl::StrAppendFormat(&out, "unexpected: %s\n", printable_key(n));
    return out;
  }
};

namespace detail {
inline bool spec_accepts(const variable_spec& v, const tensor& t) {
  const bool dtype_ok = v.dtype == tfckpt::dtype::invalid || v.dtype == t.dtype;
  const bool shape_ok = v.any_shape || v.shape == t.shape;
  return dtype_ok && shape_ok;
}
}  // namespace detail

/// Compares the checkpoint's tensors (metadata only) with the model's variables.
TFCKPT_DECL match_report match_variables(std::span<const tensor> checkpoint_tensors, std::span<const variable_spec> model);

template <tensor_range R>
  requires(!std::convertible_to<R, std::span<const tensor>>)
match_report match_variables(R&& range, std::span<const variable_spec> model) {
  const std::vector<tensor> all = collect(std::forward<R>(range));
  return match_variables(std::span<const tensor>(all), model);
}

struct match_options {
  /// Report missing and mismatched variables as pipeline errors (a full restore); by default the
  /// view just yields what matches (a partial restore).
  bool require_complete = false;
};

namespace detail {
TFCKPT_DECL std::vector<tensor> match_planned(std::vector<tensor> in, std::span<const variable_spec> model, const match_options& options);

// The planner behind views::match.
struct match_planner {
  std::vector<variable_spec> model;
  match_options options;
  std::vector<tensor> operator()(std::vector<tensor> in) const { return match_planned(std::move(in), model, options); }
};
}  // namespace detail

namespace views {

/// Yields the input tensors the model can restore as they are (see match_variables); with
/// require_complete, also an error for every missing or mismatched variable. A whole-input adaptor
/// (views/planning_view.hpp): views::match(r, model) or r | views::match(model).
struct match_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<std::views::all_t<R>>
  auto operator()(R&& r, std::vector<variable_spec> model, match_options options = {}) const {
    return planned(std::forward<R>(r), tfckpt::detail::match_planner{std::move(model), options});
  }
  auto operator()(std::vector<variable_spec> model, match_options options = {}) const {
    return planned(tfckpt::detail::match_planner{std::move(model), options});
  }
};
inline constexpr match_fn match{};

}  // namespace views
}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_MATCH)

namespace tfckpt {

TFCKPT_DECL match_report match_variables(std::span<const tensor> checkpoint_tensors, std::span<const variable_spec> model) {
  match_report r;
  std::map<std::string_view, const tensor*> by_name;
  for (const tensor& t : checkpoint_tensors) by_name.emplace(t.name, &t);
  std::map<std::string_view, bool> in_model;
  for (const variable_spec& v : model) {
    in_model.emplace(v.name, true);
    const auto it = by_name.find(v.name);
    if (it == by_name.end()) {
      r.missing.push_back(v.name);
    } else if (!detail::spec_accepts(v, *it->second)) {
      r.mismatched.push_back({v.name, v.dtype, v.shape, it->second->dtype, it->second->shape});
    } else {
      r.matched.push_back(v.name);
    }
  }
  for (const tensor& t : checkpoint_tensors)
    if (!in_model.count(t.name)) r.unexpected.push_back(t.name);
  return r;
}
}  // namespace tfckpt

namespace tfckpt::detail {

TFCKPT_DECL std::vector<tensor> match_planned(std::vector<tensor> in, std::span<const variable_spec> model, const match_options& options) {
  const match_report report = match_variables(std::span<const tensor>(in), model);
  std::map<std::string_view, bool> keep;
  for (const std::string& n : report.matched) keep.emplace(n, true);
  std::vector<tensor> out;
  for (tensor& t : in)
    if (keep.count(t.name)) out.push_back(std::move(t));
  if (options.require_complete) {
    for (const std::string& n : report.missing)
      out.push_back(problem(absl::NotFoundError(absl::StrFormat("model variable '%s' is not in the checkpoint",
                                                                printable_key(n))),
                            n));
    for (const match_report::mismatch& m : report.mismatched)
      out.push_back(problem(
          absl::FailedPreconditionError(absl::StrFormat(
              "model variable '%s' is %s %s, the checkpoint has %s %s", printable_key(m.name),
              m.model_dtype == tfckpt::dtype::invalid ? "any" : dtype_name(m.model_dtype), shape_string(m.model_shape),
              dtype_name(m.checkpoint_dtype), shape_string(m.checkpoint_shape))),
          m.name));
  }
  return out;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_VIEWS_MATCH

#endif  // TFCKPT_VIEWS_MATCH_HPP_
