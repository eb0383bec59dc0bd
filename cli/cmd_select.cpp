// SPDX-License-Identifier: Apache-2.0
// `tfckpt select CKPT --out DST [NAME...] [--glob G]... [--regex R]... [--object G]... [--no-slots]`:
// keep some tensors of a checkpoint. A TF2 checkpoint's object graph is rewritten to match.
#include <algorithm>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "pipeline.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/object_graph.hpp"
#include "tfckpt/views/transform_names.hpp"

namespace tfckpt_cli {
namespace {

struct select_options {
  std::string checkpoint;
  std::vector<std::string> names;
  std::vector<std::string> globs;
  std::vector<std::string> regexes;
  std::vector<std::string> objects;
  bool no_slots = false;
  bool allow_missing = false;
  output_options output;
};

int run_select(const select_options& opt) {
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  auto graph = tfckpt::object_graph::load(*ckpt);
  if (!graph.ok()) return report_error(graph.status());
  if (!opt.objects.empty() && !graph->has_value())
    return report_error(absl::StrFormat("%s: --object needs an object-based (TF2) checkpoint; this one has no %s",
                                        ckpt->prefix(), tfckpt::kObjectGraphKey));
  std::vector<std::function<bool(const tfckpt::tensor&)>> patterns;
  for (const std::string& g : opt.objects) patterns.push_back(tfckpt::object_path_glob(**graph, g));
  for (const std::string& g : opt.globs) patterns.push_back(tfckpt::name_glob(g));
  try {
    for (const std::string& r : opt.regexes) patterns.push_back(tfckpt::name_regex(r));
  } catch (const std::regex_error& e) {
    return report_error(absl::StrFormat("bad --regex: %s", e.what()));
  }
  // Explicit names follow TensorFlow Saver semantics (each must exist); a tensor matching any
  // pattern is kept too; with neither, everything is.
  std::vector<tfckpt::tensor> planned;
  if (!opt.names.empty())
    planned = tfckpt::collect(tfckpt::entries(*ckpt) | tfckpt::views::select(opt.names, {.allow_missing = opt.allow_missing}));
  const std::set<std::string> named(opt.names.begin(), opt.names.end());
  if (!patterns.empty() || opt.names.empty()) {
    const auto matches = [&](const tfckpt::tensor& t) {
      return patterns.empty() || std::any_of(patterns.begin(), patterns.end(), [&](const auto& p) { return p(t); });
    };
    for (tfckpt::tensor& t : tfckpt::collect(tfckpt::entries(*ckpt) | tfckpt::views::filter(matches)))
      if (!named.count(t.name)) planned.push_back(std::move(t));
  }
  if (opt.no_slots)
    std::erase_if(planned, [](const tfckpt::tensor& t) { return t.status.ok() && tfckpt::is_optimizer_state(t.name); });
  // The object graph always follows what is kept, so that TensorFlow can restore the result.
  planned = tfckpt::collect(std::views::all(std::move(planned)) | tfckpt::views::sync_object_graph(*ckpt));
  return run_planned(planned, opt.output);
}

}  // namespace

command add_select(CLI::App& parent) {
  auto opt = std::make_shared<select_options>();
  CLI::App* app = parent.add_subcommand("select", "Write a checkpoint holding some of CKPT's tensors");
  app->add_option("CKPT", opt->checkpoint, kCheckpointHelp)->type_name("PATH")->required();
  app->add_option("NAME", opt->names, "Tensors to keep, by exact name (each must exist, unless --allow-missing)");
  app->add_option("--glob", opt->globs, "Also keep tensors whose whole name matches this shell glob")->type_name("GLOB");
  app->add_option("--regex", opt->regexes, "Also keep tensors whose name contains a match of this regex")->type_name("REGEX");
  app->add_option("--object", opt->objects,
                  "TF2 checkpoints: also keep tensors whose object path (e.g. actor/hidden1/kernel) matches this glob")
      ->type_name("GLOB");
  app->add_flag("--no-slots", opt->no_slots, "Drop optimizer state (Momentum, Adam, .OPTIMIZER_SLOT, beta1_power, ...)");
  app->add_flag("--allow-missing", opt->allow_missing, "Skip NAMEs the checkpoint lacks instead of failing");
  add_output_options(app, opt->output);
  app->footer(
      "Without NAME, --glob or --regex every tensor is kept (useful with --no-slots). Bytes are copied straight\n"
      "from the source's mapped files; the output is written atomically. For a TF2 checkpoint the object graph\n"
      "is rewritten to name exactly the tensors kept (objects left without values are removed).\n"
      "\n"
      "Examples:\n"
      "  tfckpt select train/ --out export/model --no-slots\n"
      "  tfckpt select train/ --out enc/model --glob 'encoder/*' --dry-run\n"
      "  tfckpt select train/ --out w/model dense/kernel dense/bias\n"
      "  tfckpt select training_checkpoints/ --out actor/ckpt --object 'actor/*' --no-slots");
  return {app, [opt] { return run_select(*opt); }};
}

}  // namespace tfckpt_cli
