// SPDX-License-Identifier: Apache-2.0
// `tfckpt prune DIR --max-to-keep N [--json]`: keep the newest N checkpoints a directory lists.
#include <memory>
#include <string>

#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/manager.hpp"

namespace tfckpt_cli {
namespace {

struct prune_options {
  std::string dir;
  int max_to_keep = 0;
  bool json = false;
};

int run_prune(const prune_options& opt) {
  auto result = tfckpt::prune(opt.dir, opt.max_to_keep);
  if (!result.ok()) return report_error(result.status());
  stdout_writer out;
  if (opt.json) {
    nlohmann::json j = {{"removed", result->removed}, {"kept", result->kept}, {"deleted_files", result->deleted_files}};
    out.buf() += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.buf() += '\n';
  } else {
    for (const std::string& p : result->removed) absl::StrAppendFormat(&out.buf(), "removed %s\n", p);
    absl::StrAppendFormat(&out.buf(), "%d checkpoint%s kept, %d removed, %d files deleted\n", result->kept.size(),
                          result->kept.size() == 1 ? "" : "s", result->removed.size(), result->deleted_files.size());
  }
  return out.finish(kExitOk);
}

}  // namespace

command add_prune(CLI::App& parent) {
  auto opt = std::make_shared<prune_options>();
  CLI::App* app = parent.add_subcommand("prune", "Keep the newest N checkpoints listed in DIR/checkpoint; delete the rest");
  app->add_option("DIR", opt->dir, "A directory holding a 'checkpoint' state file")->type_name("DIR")->required();
  app->add_option("--max-to-keep", opt->max_to_keep, "How many of the newest checkpoints to keep")
      ->required()
      ->check(CLI::PositiveNumber);
  app->add_flag("--json", opt->json, "Print {\"removed\", \"kept\", \"deleted_files\"} as JSON");
  app->footer(
      "Deletes <prefix>.index and <prefix>.data-NNNNN-of-NNNNN of every dropped checkpoint (never .meta files,\n"
      "never a file of another prefix), then rewrites the state file atomically. The latest checkpoint is\n"
      "always kept. Do not run it on a directory a trainer is saving into at the same time.\n"
      "\n"
      "Example:\n"
      "  tfckpt prune train/ --max-to-keep 3");
  return {app, [opt] { return run_prune(*opt); }};
}

}  // namespace tfckpt_cli
