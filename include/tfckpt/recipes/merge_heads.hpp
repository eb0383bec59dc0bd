// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/recipes/merge_heads.hpp
//
// The seed-000 merge as one call: N training runs share a trunk and each trained its own head;
// the merged checkpoint holds the first run's trunk and every head concatenated (views::filter +
// views::concat_by_group, composed). Recipes are whole user stories built from the views; the
// `tfckpt merge` command is this function plus formatting.
#ifndef TFCKPT_RECIPES_MERGE_HEADS_HPP_
#define TFCKPT_RECIPES_MERGE_HEADS_HPP_

#include <map>
#include <regex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/views/concat_by_group.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

struct merge_heads_options {
  /// (regex, output name) rules, as group_by_regex takes them: {R"(^out(\d+)/(weights|biases)$)", "out/$2"}.
  std::vector<std::pair<std::string, std::string>> groups{};
  /// Concatenation axis per output name (negative: from the end); groups not listed use 0.
  std::map<std::string, int> axes{};
  /// Regexes (searched in input names): matching tensors are left out, grouped or not.
  std::vector<std::string> drop{};
  /// Keep optimizer state (is_optimizer_state: Momentum, Adam, ... slots); dropped by default.
  bool keep_optimizer_state = false;
  concat_order order = concat_order::automatic();
};

/// Plans the merge of `checkpoints` (seeds/000): every tensor no group rule matches (the trunk) is
/// taken from the first checkpoint only; grouped tensors are concatenated across all of them (see
/// concat_by_group_view); optimizer state and `drop` matches are left out first. Returns the planned
/// tensors (metadata only; no tensor byte is read) for check_pipeline, describe_plan and
/// write_bundle. A rule that matches no tensor, or an axis given for a name no group produces, is
/// reported as an error tensor, with the concatenation problems.
/// Errors: kInvalidArgument for a bad regex, no checkpoint or no rule. The checkpoints must outlive
/// the result.
///
/// Example:
///   TFCKPT_ASSIGN_OR_RETURN(auto planned, tfckpt::merge_heads_pipeline(ckpts, {
///       .groups = {{R"(^out(\d+)/(weights|biases)$)", "out/$2"}}, .axes = {{"out/weights", 1}}}));
///   TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(planned, "merged/model.ckpt"));
TFCKPT_DECL absl::StatusOr<std::vector<tensor>> merge_heads_pipeline(std::span<const checkpoint> checkpoints,
                                                                     const merge_heads_options& options);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_RECIPES_MERGE_HEADS)

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<std::vector<tensor>> merge_heads_pipeline(std::span<const checkpoint> checkpoints,
                                                                     const merge_heads_options& options) {
  if (checkpoints.empty()) return absl::InvalidArgumentError("merge: no checkpoint to merge");
  if (options.groups.empty()) return absl::InvalidArgumentError("merge: no group rule (e.g. '^out(\\d+)/(weights|biases)$=out/$2')");
  std::vector<std::regex> drop;
  std::string pattern;  // the one being compiled, for the message
  try {
    for (const auto& rule : options.groups) (void)std::regex(pattern = rule.first);
    for (const std::string& d : options.drop) drop.emplace_back(pattern = d);
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(absl::StrFormat("merge: bad regex '%s': %s", pattern, e.what()));
  }
  const regex_grouping grouping = group_by_regex(options.groups);
  const auto kept = [&](const tensor& t) {
    if (!options.keep_optimizer_state && is_optimizer_state(t.name)) return false;
    for (const std::regex& re : drop)
      if (std::regex_search(t.name.begin(), t.name.end(), re)) return false;
    return t.origins[0].checkpoint_index == 0 || grouping(t).has_value();
  };
  std::vector<tensor> planned =
      collect(entries(checkpoints) | views::filter(kept) |
              views::concat_by_group(grouping, {.order = options.order, .axis = axis_rule(options.axes)}));
  // Rules and axes that do nothing are most likely typos: say so.
  std::vector<bool> used(grouping.num_rules(), false);
  std::set<std::string, std::less<>> outputs;
  for (std::size_t i = 0; i < checkpoints.size(); ++i)
    for (const entry& e : checkpoints[i].entries()) {
      tensor probe;
      probe.name = std::string(e.name());
      probe.origins.push_back({checkpoints[i].prefix(), i, probe.name});
      if (!kept(probe)) continue;
      if (auto g = grouping(probe)) {
        used[g->rule] = true;
        outputs.insert(g->name);
      }
    }
  const auto report = [&planned](absl::Status s) {
    tensor t;
    t.status = std::move(s);
    planned.push_back(std::move(t));
  };
  for (std::size_t r = 0; r < used.size(); ++r)
    if (!used[r])
      report(absl::NotFoundError(absl::StrFormat("merge: group rule '%s=%s' matches no tensor that is kept",
                                                 grouping.pattern(r), grouping.format(r))));
  for (const auto& [name, axis] : options.axes)
    if (!outputs.count(name))
      report(absl::InvalidArgumentError(
          absl::StrFormat("merge: an axis is given for '%s', but no group has that name", printable_key(name))));
  return planned;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_RECIPES_MERGE_HEADS

#endif  // TFCKPT_RECIPES_MERGE_HEADS_HPP_
