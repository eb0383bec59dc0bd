// SPDX-License-Identifier: Apache-2.0
// `tfckpt diff A B [--json] [--exit-code]`: tensors only in A, only in B, dtype/shape changes, and
// per common tensor whether it is equal and the largest absolute difference (tfckpt::diff_checkpoints).
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/diff.hpp"

namespace tfckpt_cli {
namespace {

struct diff_options {
  std::string a, b;
  bool json = false;
  bool exit_code = false;
  bool quiet = false;
};

int run_diff(const diff_options& opt) {
  auto a = tfckpt::open(opt.a);
  if (!a.ok()) return report_error(a.status());
  auto b = tfckpt::open(opt.b);
  if (!b.ok()) return report_error(b.status());
  std::optional<absl::StatusOr<tfckpt::checkpoint_diff>> compared;
  {
    progress_line progress("comparing");
    std::function<void(std::uint64_t, std::uint64_t)> report;
    if (show_progress(opt.quiet)) report = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
    compared = tfckpt::diff_checkpoints(*a, *b, report);
  }
  auto& d = *compared;
  if (!d.ok()) return report_error(d.status());
  stdout_writer out;
  std::string& buf = out.buf();
  const auto number = [](double v, style st) {
    std::string s;
    append_value(s, v, st);
    return s;
  };
  if (opt.json) {
    nlohmann::ordered_json j;
    j["identical"] = d->identical();
    j["only_in_a"] = d->only_in_a;
    j["only_in_b"] = d->only_in_b;
    j["changed"] = nlohmann::ordered_json::array();
    for (const auto& c : d->changed)
      j["changed"].push_back({{"name", c.name},
                              {"dtype_a", std::string(tfckpt::dtype_name(c.dtype_a))},
                              {"shape_a", c.shape_a},
                              {"dtype_b", std::string(tfckpt::dtype_name(c.dtype_b))},
                              {"shape_b", c.shape_b}});
    j["common"] = nlohmann::ordered_json::array();
    for (const auto& c : d->common)
      j["common"].push_back({{"name", c.name},
                             {"equal", c.equal},
                             {"differing", c.differing},
                             {"max_abs_diff", c.numeric ? nlohmann::ordered_json::parse(number(c.max_abs_diff, style::json))
                                                        : nlohmann::ordered_json()}});
    buf += j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    for (const auto& n : d->only_in_a) absl::StrAppendFormat(&buf, "only in A:  %s\n", tfckpt::printable_key(n));
    for (const auto& n : d->only_in_b) absl::StrAppendFormat(&buf, "only in B:  %s\n", tfckpt::printable_key(n));
    for (const auto& c : d->changed)
      absl::StrAppendFormat(&buf, "changed:    %s: %s %s -> %s %s\n", tfckpt::printable_key(c.name),
                            tfckpt::dtype_name(c.dtype_a), tfckpt::shape_string(c.shape_a), tfckpt::dtype_name(c.dtype_b),
                            tfckpt::shape_string(c.shape_b));
    std::size_t equal = 0;
    for (const auto& c : d->common) {
      if (c.equal) {
        ++equal;
        continue;
      }
      absl::StrAppendFormat(&buf, "differs:    %s: %d elements%s\n", tfckpt::printable_key(c.name), c.differing,
                            c.numeric ? ", max abs diff " + number(c.max_abs_diff, style::text) : std::string());
    }
    absl::StrAppendFormat(&buf, "%d only in A, %d only in B, %d changed, %d of %d common tensors equal\n",
                          d->only_in_a.size(), d->only_in_b.size(), d->changed.size(), equal, d->common.size());
  }
  return out.finish(opt.exit_code && !d->identical() ? kExitCheckFailed : kExitOk);
}

}  // namespace

command add_diff(CLI::App& parent) {
  auto opt = std::make_shared<diff_options>();
  CLI::App* app = parent.add_subcommand("diff", "Compare two checkpoints: names, dtypes, shapes and values");
  app->add_option("A", opt->a, kCheckpointHelp)->type_name("CKPT")->required();
  app->add_option("B", opt->b, kCheckpointHelp)->type_name("CKPT")->required();
  app->add_flag("--json", opt->json, "The comparison as JSON");
  app->add_flag("--exit-code", opt->exit_code, "Exit 1 when the checkpoints differ (like git diff --exit-code)");
  app->add_flag("--quiet,-q", opt->quiet, "No progress on stderr (shown only when stderr is a terminal)");
  app->footer(
      "Equal tensors are found by comparing bytes; differing ones are compared element by element\n"
      "(in double; two NaNs at one place are equal, a NaN against a number differs by inf).\n"
      "\n"
      "Examples:\n"
      "  tfckpt diff train/model.ckpt-1000 train/model.ckpt-2000\n"
      "  tfckpt diff a/ b/ --json --exit-code");
  return {app, [opt] { return run_diff(*opt); }};
}

}  // namespace tfckpt_cli
