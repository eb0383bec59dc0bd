// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/plan.hpp
//
// Running a pipeline's metadata without its bytes: collect() walks a range of tensors (reading no
// tensor byte), check_pipeline() gathers every problem at once (adaptor findings, duplicate output
// names, sizes that disagree with dtype and shape), and describe_plan() prints the output manifest
// a dry run shows: names, dtypes, shapes, bytes, and where each comes from.
//
// Example:
//   auto planned = tfckpt::collect(tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot()));
//   TFCKPT_RETURN_IF_ERROR(tfckpt::check_pipeline(planned));
//   std::fputs(tfckpt::describe_plan(planned).c_str(), stdout);
#ifndef TFCKPT_VIEWS_PLAN_HPP_
#define TFCKPT_VIEWS_PLAN_HPP_

#include <iterator>
#include <map>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

namespace detail {
// An error tensor: carries an adaptor's finding through the pipeline to the sink or plan, which
// report every such finding at once.
inline tensor problem(absl::Status status, std::string name = {}) {
  tensor t;
  t.name = std::move(name);
  t.status = std::move(status);
  return t;
}
}  // namespace detail

/// Walks the pipeline and keeps its tensors' metadata (sources stay lazy). Adaptors do their
/// metadata work here (grouping, matching); no tensor byte is read.
template <tensor_range R>
std::vector<tensor> collect(R&& range) {
  std::vector<tensor> out;
  for (auto&& t : range) out.push_back(static_cast<tensor>(t));
  return out;
}

namespace detail {
/// Every problem check_pipeline() finds, one status each, in pipeline order.
TFCKPT_DECL std::vector<absl::Status> pipeline_problems(std::span<const tensor> planned);

/// One status listing `problems` ("<what>: N problems" then a line per problem); OK when there are
/// none. The code is the one they share, else kFailedPrecondition.
TFCKPT_DECL absl::Status problems_status(std::string_view what, const std::vector<absl::Status>& problems);
}  // namespace detail

/// Every problem with a planned output, in one status (kFailedPrecondition unless all problems share
/// another code): adaptor findings, empty or duplicate names, unknown dtypes, and byte counts that
/// disagree with dtype and shape. OK when the pipeline can be written.
inline absl::Status check_pipeline(std::span<const tensor> planned) {
  return detail::problems_status("the pipeline cannot be written", detail::pipeline_problems(planned));
}

/// check_pipeline()'s problems and a sink's own findings (`extra`), in one status listing every
/// problem ("<what>: N problems"); with no findings of the sink, exactly check_pipeline(planned).
inline absl::Status check_pipeline(std::span<const tensor> planned, std::string_view what, std::vector<absl::Status> extra) {
  if (extra.empty()) return check_pipeline(planned);
  std::vector<absl::Status> all = detail::pipeline_problems(planned);
  all.insert(all.end(), std::make_move_iterator(extra.begin()), std::make_move_iterator(extra.end()));
  return detail::problems_status(what, all);
}

/// The output manifest, one line per tensor: name, dtype, shape, bytes, and where it comes from
/// ("ckpt-a:name", or every member of a computed tensor). A trailing line sums the bytes.
TFCKPT_DECL std::string describe_plan(std::span<const tensor> planned);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_PLAN)

namespace tfckpt::detail {

TFCKPT_DECL std::vector<absl::Status> pipeline_problems(std::span<const tensor> planned) {
  std::vector<absl::Status> problems;
  std::map<std::string_view, std::size_t> first_at;
  for (std::size_t i = 0; i < planned.size(); ++i) {
    const tensor& t = planned[i];
    if (!t.status.ok()) {
      problems.push_back(t.status);
      continue;
    }
    if (t.name.empty()) problems.push_back(absl::InvalidArgumentError(absl::StrFormat("output %d has an empty name", i)));
    if (auto [it, fresh] = first_at.emplace(t.name, i); !fresh) {
      const auto& a = planned[it->second].origins;
      problems.push_back(absl::AlreadyExistsError(absl::StrFormat(
          "two outputs are named '%s' (from '%s' and from '%s')", printable_key(t.name),
          a.empty() ? "?" : printable_key(a[0].name), t.origins.empty() ? "?" : printable_key(t.origins[0].name))));
    }
    if (!is_known_dtype(static_cast<std::int32_t>(t.dtype))) {
      problems.push_back(absl::InvalidArgumentError(
          absl::StrFormat("'%s' has unknown dtype %d", printable_key(t.name), static_cast<int>(t.dtype))));
      continue;
    }
    const auto n = checked_num_elements(t.shape);
    if (!n) {
      problems.push_back(absl::InvalidArgumentError(
          absl::StrFormat("'%s' has a bad shape %s", printable_key(t.name), shape_string(t.shape))));
    } else if (is_fixed_size(t.dtype) &&
               (!checked_mul(*n, static_cast<std::int64_t>(element_size(t.dtype))) ||
                static_cast<std::uint64_t>(*n) * element_size(t.dtype) != t.size())) {
      problems.push_back(absl::InvalidArgumentError(absl::StrFormat(
          "'%s' is %s %s but its source holds %d bytes", printable_key(t.name), dtype_name(t.dtype),
          shape_string(t.shape), t.size())));
    }
  }
  return problems;
}

TFCKPT_DECL absl::Status problems_status(std::string_view what, const std::vector<absl::Status>& problems) {
  if (problems.empty()) return absl::OkStatus();
  absl::StatusCode code = problems[0].code();
  for (const absl::Status& p : problems)
    if (p.code() != code) code = absl::StatusCode::kFailedPrecondition;
  std::string message = absl::StrFormat("%s: %d problem%s", what, problems.size(), problems.size() == 1 ? "" : "s");
  for (const absl::Status& p : problems) absl::StrAppendFormat(&message, "\n  - %s", p.message());
  return absl::Status(code, message);
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL std::string describe_plan(std::span<const tensor> planned) {
  std::size_t width = 4;
  for (const tensor& t : planned) width = std::max(width, printable_key(t.name).size());
  std::string out = absl::StrFormat("%-*s  %-9s %-16s %12s  %s\n", width, "NAME", "DTYPE", "SHAPE", "BYTES", "FROM");
  std::uint64_t total = 0;
  for (const tensor& t : planned) {
    std::string from;
    for (std::size_t i = 0; i < t.origins.size(); ++i) {
      if (i == 3 && t.origins.size() > 4) {
        absl::StrAppendFormat(&from, " ... (%d in all)", t.origins.size());
        break;
      }
      absl::StrAppendFormat(&from, "%s%s:%s", i ? " + " : "", t.origins[i].checkpoint, printable_key(t.origins[i].name));
    }
    if (!t.status.ok()) from = absl::StrFormat("ERROR: %s", t.status.message());
    absl::StrAppendFormat(&out, "%-*s  %-9s %-16s %12d  %s\n", width, printable_key(t.name), dtype_name(t.dtype),
                          shape_string(t.shape), t.size(), from);
    total += t.size();
  }
  absl::StrAppendFormat(&out, "%d tensors, %d bytes\n", planned.size(), total);
  return out;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_VIEWS_PLAN

#endif  // TFCKPT_VIEWS_PLAN_HPP_
