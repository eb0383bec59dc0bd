// SPDX-License-Identifier: Apache-2.0
// `tfckpt rename CKPT --out DST [--rule 'REGEX=FORMAT']... [--scope 'OLD/=NEW/']... [--map FILE]
//  [--object 'REGEX=FORMAT']... [--ema]`: write a checkpoint under other names. A TF2 checkpoint's
//  object graph is rewritten to match.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "parse.hpp"
#include "pipeline.hpp"
#include "steps.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"
#include "tfckpt/views/object_graph.hpp"
#include "tfckpt/views/transform_names.hpp"

namespace tfckpt_cli {
namespace {

struct rename_options {
  std::string checkpoint;
  std::vector<std::string> rules;
  std::vector<std::string> scopes;
  std::vector<std::string> objects;
  std::string map_file;
  bool ema = false;
  bool allow_missing = false;
  bool copy = false;
  output_options output;
};

int run_rename(const rename_options& opt) {
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  auto graph = tfckpt::object_graph::load(*ckpt);
  if (!graph.ok()) return report_error(graph.status());
  if (!opt.objects.empty() && !graph->has_value())
    return report_error(absl::StrFormat("%s: --object needs an object-based (TF2) checkpoint; this one has no %s",
                                        ckpt->prefix(), tfckpt::kObjectGraphKey));
  std::vector<tfckpt::tensor> planned = tfckpt::collect(tfckpt::entries(*ckpt));
  const auto apply = [&planned](auto adaptor) { planned = tfckpt::collect(std::views::all(std::move(planned)) | adaptor); };
  for (const std::string& arg : opt.objects) {
    auto pair = split_pair(arg, "--object", "REGEX=FORMAT");
    if (!pair.ok()) return report_error(pair.status());
    try {
      apply(tfckpt::views::transform_names(tfckpt::object_path_rename(**graph, pair->first, pair->second)));
    } catch (const std::regex_error& e) {
      return report_error(absl::StrFormat("bad --object regex '%s': %s", pair->first, e.what()));
    }
  }
  if (opt.ema) apply(tfckpt::views::ema_restore());
  if (!opt.map_file.empty()) {
    auto map = read_map_file(opt.map_file);
    if (!map.ok()) return report_error(map.status());
    apply(tfckpt::views::rename(*std::move(map), {.allow_missing = opt.allow_missing}));
  }
  if (!opt.scopes.empty()) {
    std::map<std::string, std::string> scopes;
    for (const std::string& arg : opt.scopes) {
      auto pair = split_pair(arg, "--scope", "OLD=NEW");
      if (!pair.ok()) return report_error(pair.status());
      scopes.insert(*std::move(pair));
    }
    apply(tfckpt::views::assignment_map(std::move(scopes)));
  }
  for (const std::string& arg : opt.rules) {
    auto pair = split_pair(arg, "--rule", "REGEX=FORMAT");
    if (!pair.ok()) return report_error(pair.status());
    try {
      apply(tfckpt::views::transform_names(tfckpt::regex_rename(pair->first, pair->second)));
    } catch (const std::regex_error& e) {
      return report_error(absl::StrFormat("bad --rule regex '%s': %s", pair->first, e.what()));
    }
  }
  // The object graph follows the new names (and drops what --map or --scope left out).
  apply(tfckpt::views::sync_object_graph(*ckpt));
  output_options output = opt.output;
  output.reuse_data = opt.copy ? tfckpt::data_reuse::copy : tfckpt::data_reuse::link;
  return run_planned(planned, output);
}

}  // namespace

command add_rename(CLI::App& parent) {
  auto opt = std::make_shared<rename_options>();
  CLI::App* app = parent.add_subcommand("rename", "Write a checkpoint with its tensors under other names");
  app->add_option("CKPT", opt->checkpoint, kCheckpointHelp)->type_name("PATH")->required();
  app->add_flag("--ema", opt->ema, "Restore moving averages: x/ExponentialMovingAverage becomes x (replacing x)");
  app->add_option("--map", opt->map_file,
                  "A file of OLD NEW lines or a JSON object {\"old\": \"new\"}; keeps ONLY the listed tensors "
                  "(TensorFlow Saver semantics)")
      ->type_name("FILE");
  app->add_flag("--allow-missing", opt->allow_missing, "With --map: skip listed names the checkpoint lacks");
  app->add_option("--scope", opt->scopes,
                  "init_from_checkpoint's assignment map, 'old_scope/=new_scope/' ('/' is the root) or 'old=new'; "
                  "keeps ONLY the mapped tensors")
      ->type_name("OLD=NEW");
  app->add_option("--rule", opt->rules, "Rename every tensor: 'REGEX=FORMAT' (ECMAScript, $1 for groups), applied in order")
      ->type_name("REGEX=FORMAT");
  app->add_option("--object", opt->objects,
                  "TF2 checkpoints: rename objects, 'REGEX=FORMAT' over object paths (e.g. '^actor/=policy/'); keys, "
                  "optimizer slots and the object graph's edges follow")
      ->type_name("REGEX=FORMAT");
  app->add_flag("--copy", opt->copy, "Copy the data files even when every tensor keeps its bytes (default: hard links)");
  add_output_options(app, opt->output);
  app->footer(
      "Steps run in this order: each --object, --ema, --map, --scope, then each --rule. Problems (a --map or --scope entry\n"
      "that names nothing, two outputs with one name) are all reported before anything is written.\n"
      "When every tensor keeps its bytes (only names change), only a new index is written and the data files are\n"
      "hard-linked (copied by the kernel across file systems, or with --copy): the result shares them with CKPT.\n"
      "\n"
      "Examples:\n"
      "  tfckpt rename train/ --out eval/model --ema\n"
      "  tfckpt rename train/ --out v2/model --rule '^out(\\d+)/=head_$1/' --dry-run\n"
      "  tfckpt rename old.ckpt --out new.ckpt --scope 'old_scope/=new_scope/'\n"
      "  tfckpt rename old.ckpt --out new.ckpt --map names.txt\n"
      "  tfckpt rename training_checkpoints/ --out renamed/ckpt --object '^actor/=policy/'");
  return {app, [opt] { return run_rename(*opt); }};
}

}  // namespace tfckpt_cli
