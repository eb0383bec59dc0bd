// SPDX-License-Identifier: Apache-2.0
// `tfckpt inspect CKPT [--tensor NAME] [--all] [--stats] [--json]`: TensorFlow's inspect_checkpoint
// (names, dtypes and shapes; one tensor's or every tensor's values), plus per-tensor statistics
// computed in one pass (tfckpt::compute_stats).
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/stats.hpp"

namespace tfckpt_cli {
namespace {

struct inspect_options {
  std::string checkpoint;
  std::string tensor;
  bool all = false;
  bool stats = false;
  bool quiet = false;
  bool json = false;
};

// A double exactly (shortest round-trip form), for JSON.
std::string number(double v, style st) {
  std::string s;
  append_value(s, v, st);
  return s;
}

// For people: 7 significant digits, about what a float32 holds ("nan" when no value is finite).
std::string stats_text(const tfckpt::tensor_stats& s) {
  return absl::StrFormat("min=%.7g max=%.7g mean=%.7g std=%.7g nan=%d inf=%d", s.min, s.max, s.mean, s.stddev, s.nan,
                         s.pos_inf + s.neg_inf);
}

nlohmann::ordered_json stats_json(const tfckpt::tensor_stats& s) {
  const auto num = [](double v) { return nlohmann::ordered_json::parse(number(v, style::json)); };
  return {{"count", s.count}, {"min", num(s.min)},    {"max", num(s.max)},         {"mean", num(s.mean)},
          {"std", num(s.stddev)}, {"nan", s.nan}, {"pos_inf", s.pos_inf}, {"neg_inf", s.neg_inf}};
}

// Appends the values of `e` in text (one row of the last dimension per line) or as a JSON array.
absl::Status append_values(const tfckpt::entry& e, style st, std::string& buf) {
  return e.visit_values([&](const auto& typed) {
    const auto row = static_cast<std::size_t>(e.shape().empty() ? 1 : e.shape().back());
    std::size_t i = 0;
    if (st == style::json) buf += '[';
    for (const auto& v : typed) {
      if (st == style::json && i) buf += ',';
      append_value(buf, v, st);
      ++i;
      if (st == style::text) buf += row == 0 || i % row == 0 ? '\n' : ' ';
    }
    if (st == style::json) buf += ']';
  });
}

int run_inspect(const inspect_options& opt) {
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  std::vector<const tfckpt::entry*> selected;
  if (!opt.tensor.empty()) {
    auto e = ckpt->get(opt.tensor);
    if (!e.ok()) return report_error(e.status());
    selected.push_back(*e);
  } else {
    for (const tfckpt::entry& e : ckpt->entries()) selected.push_back(&e);
  }
  const bool values = opt.all || !opt.tensor.empty();
  // Statistics read every value: computed first, with progress on a terminal, then printed.
  std::vector<absl::StatusOr<tfckpt::tensor_stats>> all_stats;
  if (opt.stats) {
    std::uint64_t total = 0, done = 0;
    for (const tfckpt::entry* e : selected) total += e->size();
    progress_line progress("reading");
    const bool shown = show_progress(opt.quiet);
    all_stats.reserve(selected.size());
    for (const tfckpt::entry* e : selected) {
      all_stats.push_back(tfckpt::compute_stats(*e));
      if (!all_stats.back().ok() && all_stats.back().status().code() != absl::StatusCode::kInvalidArgument)
        return report_error(all_stats.back().status());
      done += e->size();
      if (shown) progress.update(done, total);
    }
  }
  stdout_writer out;
  std::string& buf = out.buf();
  if (opt.json) buf += "[";
  bool first = true;
  for (std::size_t k = 0; k < selected.size(); ++k) {
    const tfckpt::entry* e = selected[k];
    std::optional<tfckpt::tensor_stats> stats;
    std::string stats_error;
    if (opt.stats) {
      if (all_stats[k].ok()) {
        stats = *all_stats[k];
      } else {
        stats_error = "no statistics for " + std::string(tfckpt::dtype_name(e->dtype()));
      }
    }
    if (opt.json) {
      nlohmann::ordered_json j = {{"name", std::string(e->name())},
                                  {"dtype", std::string(tfckpt::dtype_name(e->dtype()))},
                                  {"shape", std::vector<std::int64_t>(e->shape().begin(), e->shape().end())}};
      if (stats) j["stats"] = stats_json(*stats);
      std::string obj = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (values) {
        obj.pop_back();  // reopen the object for "values"
        obj += ",\"values\":";
        if (absl::Status s = append_values(*e, style::json, obj); !s.ok()) return report_error(s);
        obj += '}';
      }
      buf += first ? "\n  " : ",\n  ";
      buf += obj;
    } else {
      absl::StrAppendFormat(&buf, "tensor_name:  %s %s %s", tfckpt::printable_key(e->name()), tfckpt::dtype_name(e->dtype()),
                            tfckpt::shape_string(e->shape()));
      if (stats) absl::StrAppendFormat(&buf, "  %s", stats_text(*stats));
      if (!stats_error.empty()) absl::StrAppendFormat(&buf, "  (%s)", stats_error);
      buf += '\n';
      if (values)
        if (absl::Status s = append_values(*e, style::text, buf); !s.ok()) return report_error(s);
    }
    first = false;
    out.maybe_flush();
  }
  if (opt.json) buf += first ? "]\n" : "\n]\n";
  return out.finish(kExitOk);
}

}  // namespace

command add_inspect(CLI::App& parent) {
  auto opt = std::make_shared<inspect_options>();
  CLI::App* app = parent.add_subcommand("inspect", "Names, dtypes, shapes, values and statistics (like inspect_checkpoint)");
  app->add_option("CKPT", opt->checkpoint, kCheckpointHelp)->type_name("PATH")->required();
  app->add_option("--tensor,-t", opt->tensor, "Only this tensor, with its values")->type_name("NAME");
  app->add_flag("--all,-a", opt->all, "Every tensor's values");
  app->add_flag("--stats,-s", opt->stats, "min, max, mean, std and NaN/Inf counts per tensor (one pass over the values)");
  app->add_flag("--quiet,-q", opt->quiet, "With --stats: no progress on stderr (shown only when stderr is a terminal)");
  app->add_flag("--json", opt->json, "One JSON object per tensor, in an array");
  app->footer(
      "Examples:\n"
      "  tfckpt inspect train/ --stats\n"
      "  tfckpt inspect train/model.ckpt-1000 --tensor dense/kernel\n"
      "  tfckpt inspect train/ --all --json");
  return {app, [opt] { return run_inspect(*opt); }};
}

}  // namespace tfckpt_cli
