// SPDX-License-Identifier: Apache-2.0
// Transform steps given at run time: what `convert` and `import` apply to the tensors they write,
// from the command line (`--rule X --transpose Y ...`, in the order given) or from a rules file
// (`--rules FILE`, expanded where it appears), so that a model family's mapping is one reusable file.
//
// A rules file has one step per line: the option's name without its dashes, then its argument,
// which runs to the end of the line (no shell quoting needed; one pair of quotes around the whole
// argument is removed). Blank lines and lines starting with '#' are ignored. Paths in `map` and
// `rules` lines are relative to the rules file's directory.
//
//   # BERT -> Hugging Face names
//   no-slots
//   drop ^global_step$
//   rule ^bert/encoder/layer_(\d+)/=bert.encoder.layer.$1.
//   transpose /kernel$
//
// Steps rewrite the planned list (names, dtypes, shapes and byte sources: nothing is read); a
// problem a step finds in a tensor (a --map name that is absent, a permutation of the wrong rank)
// becomes an error tensor, reported with every other problem before anything is written.
#ifndef TFCKPT_CLI_STEPS_HPP_
#define TFCKPT_CLI_STEPS_HPP_

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <ranges>
#include <regex>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "parse.hpp"
#include "tfckpt/views/cast.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/permute.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/transform_names.hpp"

namespace tfckpt_cli {

/// One step: its kind (an option name without dashes), its argument, and where it was given (for
/// messages: "--rule" or "bert.rules:12").
struct transform_step {
  std::string kind;
  std::string argument;
  std::string where;
};

/// The options that are steps, with their help, in the order --help lists them.
struct step_kind {
  const char* name;
  const char* value;  // the argument's type name; nullptr for a flag
  const char* help;
};
inline constexpr std::array<step_kind, 11> kStepKinds = {{
    {"filter", "GLOB", "Keep only tensors whose name matches this shell glob (adjacent --filter steps: any of them)"},
    {"drop", "REGEX", "Leave out tensors whose name matches REGEX (ECMAScript, anywhere in the name)"},
    {"no-slots", nullptr, "Drop optimizer state (Momentum, Adam, adam_m/adam_v, beta1_power, TF2 slots, ...)"},
    {"ema", nullptr, "Restore moving averages: x/ExponentialMovingAverage becomes x (replacing x)"},
    {"map", "FILE", "Keep and rename exactly the names FILE lists (lines 'OLD NEW' or a JSON object), as tf.train.Saver"},
    {"scope", "OLD=NEW", "init_from_checkpoint's assignment map: 'old_scope/=new_scope/' or 'old=new' (adjacent ones: one map)"},
    {"rule", "REGEX=FORMAT", "Rename: every match of REGEX is replaced by FORMAT ($1 for groups)"},
    {"transpose", "REGEX", "Transpose the 2-D tensors whose name matches REGEX (a Dense kernel [in,out] -> [out,in])"},
    {"permute", "REGEX=AXES", "Permute the axes of matching tensors: output axis i is input axis AXES[i] (HWIO->OIHW: 3,2,0,1)"},
    {"cast", "DTYPE[:REGEX]", "Convert floating-point tensors (those matching REGEX) to DTYPE, rounding to nearest even"},
    {"rules", "FILE", "Steps from FILE, one per line ('rule A=B', 'transpose REGEX', ...; see --help's footer)"},
}};

/// Where the step options' values land while CLI11 parses.
struct step_options {
  std::map<std::string, std::vector<std::string>> values;  // by kind, in the order given
  std::map<std::string, bool> flags;
  bool allow_missing = false;
};

/// Declares every step option (kStepKinds) and --allow-missing on `app`.
inline void add_step_options(CLI::App* app, step_options& o) {
  for (const step_kind& k : kStepKinds) {
    const std::string flag = std::string("--") + k.name;
    if (k.value == nullptr) {
      app->add_flag(flag, o.flags[k.name], k.help)->group("Transform steps (applied in the order given)");
    } else {
      app->add_option(flag, o.values[k.name], k.help)
          ->type_name(k.value)
          ->allow_extra_args(false)
          ->group("Transform steps (applied in the order given)");
    }
  }
  app->add_flag("--allow-missing", o.allow_missing, "With --map: skip listed names that are absent");
}

namespace detail {

// A step's argument with one pair of surrounding quotes removed.
inline std::string unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return std::string(s);
}

inline const step_kind* find_step_kind(std::string_view name) {
  for (const step_kind& k : kStepKinds)
    if (name == k.name) return &k;
  return nullptr;
}

inline std::string known_step_names() {
  std::string out;
  for (const step_kind& k : kStepKinds) absl::StrAppendFormat(&out, "%s%s", out.empty() ? "" : ", ", k.name);
  return out;
}

// Appends FILE's steps to `out`, nested rules files expanded (at most `depth` deep: a cycle stops).
inline absl::Status read_rules_into(const std::filesystem::path& path, int depth, std::vector<transform_step>& out) {
  if (depth > 16) return absl::InvalidArgumentError(absl::StrFormat("%s: rules files nest more than 16 deep (a cycle?)", path.string()));
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrFormat("%s: cannot read the rules file", path.string()));
  const std::filesystem::path dir = path.parent_path();
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    std::string_view rest = std::string_view(line).substr(start);
    while (rest.starts_with('-')) rest.remove_prefix(1);  // "--rule X" reads as "rule X"
    const auto space = rest.find_first_of(" \t");
    const std::string_view name = rest.substr(0, space);
    std::string_view arg = space == std::string_view::npos ? std::string_view() : rest.substr(space);
    arg.remove_prefix(std::min(arg.size(), arg.find_first_not_of(" \t")));
    const std::string where = absl::StrFormat("%s:%d", path.string(), n);
    const step_kind* kind = find_step_kind(name);
    if (kind == nullptr)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: unknown step '%s' (steps: %s)", where, std::string(name), known_step_names()));
    if ((kind->value == nullptr) != arg.empty())
      return absl::InvalidArgumentError(
          kind->value == nullptr ? absl::StrFormat("%s: '%s' takes no argument", where, kind->name)
                                 : absl::StrFormat("%s: '%s' needs an argument (%s)", where, kind->name, kind->value));
    std::string value = unquote(arg);
    if (kind->name == std::string_view("map") || kind->name == std::string_view("rules")) {
      const std::filesystem::path p(value);
      if (p.is_relative() && !dir.empty()) value = (dir / p).string();
    }
    if (kind->name == std::string_view("rules")) {
      TFCKPT_RETURN_IF_ERROR(read_rules_into(value, depth + 1, out));
      continue;
    }
    out.push_back({kind->name, std::move(value), where});
  }
  return absl::OkStatus();
}

}  // namespace detail

/// The steps of a rules file (see the file comment), nested `rules` lines expanded.
inline absl::StatusOr<std::vector<transform_step>> read_rules_file(const std::filesystem::path& path) {
  std::vector<transform_step> steps;
  TFCKPT_RETURN_IF_ERROR(detail::read_rules_into(path, 0, steps));
  return steps;
}

/// The step options of a parsed `app`, in the order they were given, rules files expanded in place.
inline absl::StatusOr<std::vector<transform_step>> given_steps(const CLI::App& app, const step_options& o) {
  std::vector<transform_step> steps;
  std::map<std::string, std::size_t> seen;  // occurrences of each option so far
  for (const CLI::Option* opt : app.parse_order()) {
    if (opt->get_lnames().empty()) continue;
    const std::string& name = opt->get_lnames().front();  // the long name, without dashes
    const step_kind* kind = detail::find_step_kind(name);
    if (kind == nullptr) continue;
    if (kind->value == nullptr) {
      if (seen[name]++ == 0) steps.push_back({name, "", "--" + name});
      continue;
    }
    const std::vector<std::string>& values = o.values.at(name);
    const std::size_t i = seen[name]++;
    if (i >= values.size()) continue;
    if (name == "rules") {
      TFCKPT_RETURN_IF_ERROR(detail::read_rules_into(values[i], 0, steps));
    } else {
      steps.push_back({name, values[i], "--" + name});
    }
  }
  return steps;
}

/// A map file: a JSON object {"old": "new", ...}, or lines "old new" (blank lines and # comments
/// ignored).
inline absl::StatusOr<std::map<std::string, std::string>> read_map_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrFormat("%s: cannot read the map file", path));
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  std::map<std::string, std::string> map;
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && s[first] == '{') {
    const nlohmann::json j = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return absl::InvalidArgumentError(absl::StrFormat("%s: not a JSON object of strings", path));
    for (const auto& [k, v] : j.items()) {
      if (!v.is_string()) return absl::InvalidArgumentError(absl::StrFormat("%s: the value of '%s' is not a string", path, k));
      map[k] = v.get<std::string>();
    }
    return map;
  }
  std::istringstream lines(s);
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    std::istringstream fields(line);
    std::string from, to, extra;
    if (!(fields >> from) || from[0] == '#') continue;
    if (!(fields >> to) || (fields >> extra))
      return absl::InvalidArgumentError(absl::StrFormat("%s:%d: expected 'OLD NEW'", path, n));
    map[from] = to;
  }
  return map;
}

/// A LEFT=RIGHT value (split_last_equals), or an error naming where it was given and the `form`
/// expected ("OLD=NEW", "REGEX=FORMAT").
inline absl::StatusOr<std::pair<std::string, std::string>> split_pair(const std::string& arg, std::string_view where,
                                                                      std::string_view form) {
  auto pair = split_last_equals(arg);
  if (!pair)
    return absl::InvalidArgumentError(
        absl::StrFormat("%s '%s' is not of the form %s", std::string(where), arg, std::string(form)));
  return *std::move(pair);
}

namespace detail {

// "3,2,0,1" -> {3, 2, 0, 1}; whether it is a permutation of the right rank is the view's check.
inline absl::StatusOr<std::vector<int>> parse_axes(const std::string& text, std::string_view where) {
  std::vector<int> axes;
  for (const std::string& item : split_commas(text)) {
    int v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || end != item.data() + item.size() || v < 0)
      return absl::InvalidArgumentError(absl::StrFormat("%s: '%s' is not a list of axes like 3,2,0,1", std::string(where), text));
    axes.push_back(v);
  }
  if (axes.empty())
    return absl::InvalidArgumentError(absl::StrFormat("%s: '%s' is not a list of axes like 3,2,0,1", std::string(where), text));
  return axes;
}

inline std::function<bool(const tfckpt::tensor&)> regex_or_all(const std::string& pattern) {
  if (pattern.empty()) return {};
  return tfckpt::name_regex(pattern);
}

}  // namespace detail

/// `tensors` after every step, in order. Errors: a step's argument that does not parse (a bad
/// regex, dtype, axes or map file), naming where it was given. Problems with particular tensors
/// come back as error tensors (see the file comment).
inline absl::StatusOr<std::vector<tfckpt::tensor>> apply_steps(std::vector<tfckpt::tensor> tensors,
                                                               std::span<const transform_step> steps,
                                                               bool allow_missing = false) {
  const auto apply = [&tensors](auto adaptor) {
    tensors = tfckpt::collect(std::views::all(std::move(tensors)) | adaptor);
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const transform_step& step = steps[i];
    // Adjacent steps of these kinds act as one: filters keep what any of them matches, scopes form
    // one assignment map.
    std::size_t run_end = i + 1;
    while (run_end < steps.size() && steps[run_end].kind == step.kind) ++run_end;
    try {
      if (step.kind == "filter") {
        std::vector<std::string> globs;
        for (std::size_t j = i; j < run_end; ++j) globs.push_back(steps[j].argument);
        apply(tfckpt::views::filter([globs = std::move(globs)](const tfckpt::tensor& t) {
          return std::ranges::any_of(globs, [&](const std::string& g) { return tfckpt::name_glob(g)(t); });
        }));
        i = run_end - 1;
      } else if (step.kind == "drop") {
        apply(tfckpt::views::filter([keep = tfckpt::name_regex(step.argument)](const tfckpt::tensor& t) { return !keep(t); }));
      } else if (step.kind == "no-slots") {
        apply(tfckpt::views::filter(tfckpt::not_optimizer_slot()));
      } else if (step.kind == "ema") {
        apply(tfckpt::views::ema_restore());
      } else if (step.kind == "map") {
        TFCKPT_ASSIGN_OR_RETURN(auto map, read_map_file(step.argument));
        apply(tfckpt::views::rename(std::move(map), {.allow_missing = allow_missing}));
      } else if (step.kind == "scope") {
        std::map<std::string, std::string> scopes;
        for (std::size_t j = i; j < run_end; ++j) {
          TFCKPT_ASSIGN_OR_RETURN(auto pair, split_pair(steps[j].argument, steps[j].where, "OLD=NEW"));
          scopes.insert(std::move(pair));
        }
        apply(tfckpt::views::assignment_map(std::move(scopes)));
        i = run_end - 1;
      } else if (step.kind == "rule") {
        TFCKPT_ASSIGN_OR_RETURN(auto pair, split_pair(step.argument, step.where, "REGEX=FORMAT"));
        apply(tfckpt::views::transform_names(tfckpt::regex_rename(pair.first, pair.second)));
      } else if (step.kind == "transpose") {
        apply(tfckpt::views::transpose({.select = detail::regex_or_all(step.argument)}));
      } else if (step.kind == "permute") {
        TFCKPT_ASSIGN_OR_RETURN(auto pair, split_pair(step.argument, step.where, "REGEX=AXES"));
        TFCKPT_ASSIGN_OR_RETURN(std::vector<int> axes, detail::parse_axes(pair.second, step.where));
        apply(tfckpt::views::permute(std::move(axes), {.select = detail::regex_or_all(pair.first)}));
      } else if (step.kind == "cast") {
        const auto colon = step.argument.find(':');
        const std::string name = step.argument.substr(0, colon);
        const auto to = tfckpt::dtype_from_name(name);
        if (!to || !tfckpt::is_floating_point(*to))
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s '%s': '%s' is not a floating-point dtype (float16, bfloat16, float32, float64)", step.where,
              step.argument, name));
        const std::string pattern = colon == std::string::npos ? "" : step.argument.substr(colon + 1);
        const std::function<bool(const tfckpt::tensor&)> select = detail::regex_or_all(pattern);
        // Only floating-point tensors change: integer counters (global_step) keep their dtype.
        apply(tfckpt::views::cast(*to, {.select = [select](const tfckpt::tensor& t) {
                                    return tfckpt::is_floating_point(t.dtype) && (!select || select(t));
                                  }}));
      } else {
        return absl::InvalidArgumentError(absl::StrFormat("%s: unknown step '%s'", step.where, step.kind));
      }
    } catch (const std::regex_error& e) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: bad regex in '%s': %s", step.where, step.argument, e.what()));
    }
  }
  return tensors;
}

}  // namespace tfckpt_cli

#endif  // TFCKPT_CLI_STEPS_HPP_
