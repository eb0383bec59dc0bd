// SPDX-License-Identifier: Apache-2.0
// `tfckpt merge --out DST --group 'REGEX=NAME' [--axis 'NAME=AXIS'] [--drop REGEX] [--keep-slots]
// [--dry-run] [--force] CKPT...`: seed 000's merge of heads (tfckpt::merge_heads_pipeline).
#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "parse.hpp"
#include "pipeline.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/recipes/merge_heads.hpp"

namespace tfckpt_cli {
namespace {

struct merge_options {
  std::vector<std::string> checkpoints;
  std::vector<std::string> groups;
  std::vector<std::string> axes;
  std::vector<std::string> drops;
  std::string order = "auto";
  bool keep_slots = false;
  output_options output;
};

int merge_usage_error(std::string_view message) { return tfckpt_cli::usage_error("merge", message); }

bool parse_int(std::string_view s, int* v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

int run_merge(const merge_options& opt) {
  tfckpt::merge_heads_options m;
  for (const std::string& g : opt.groups) {
    auto pair = split_last_equals(g);
    if (!pair || pair->second.empty()) return merge_usage_error(absl::StrFormat("--group '%s' is not REGEX=NAME", g));
    m.groups.push_back(*std::move(pair));
  }
  for (const std::string& a : opt.axes) {
    const auto pair = split_last_equals(a);
    int axis = 0;
    if (!pair || !parse_int(pair->second, &axis))
      return merge_usage_error(absl::StrFormat("--axis '%s' is not NAME=AXIS (an integer; negative counts from the end)", a));
    m.axes[pair->first] = axis;
  }
  m.drop = opt.drops;
  m.keep_optimizer_state = opt.keep_slots;
  int k = 0;
  if (opt.order == "auto") {
    m.order = tfckpt::concat_order::automatic();
  } else if (opt.order == "checkpoint") {
    m.order = tfckpt::concat_order::by_source_checkpoint();
  } else if (opt.order.rfind("capture:", 0) == 0 && parse_int(std::string_view(opt.order).substr(8), &k) && k >= 1) {
    m.order = tfckpt::concat_order::numeric_capture(k);
  } else {
    return merge_usage_error(absl::StrFormat("--order '%s' is not auto, checkpoint or capture:K", opt.order));
  }

  std::vector<tfckpt::checkpoint> ckpts;
  if (const int rc = open_all(opt.checkpoints, ckpts); rc != kExitOk) return rc;

  auto planned = tfckpt::merge_heads_pipeline(ckpts, m);
  if (!planned.ok()) return merge_usage_error(to_std(planned.status().message()));
  if (opt.output.dry_run) return print_plan(*planned, opt.output.json);

  if (const int rc = write_planned(*planned, opt.output.out, opt.output.force, opt.output.quiet, "merging",
                                   tfckpt::byte_order_from_name(opt.output.byte_order).value_or(tfckpt::host_byte_order));
      rc != kExitOk)
    return rc;
  std::uint64_t bytes = 0;
  std::size_t groups = 0;
  for (const tfckpt::tensor& t : *planned) {
    bytes += t.size();
    groups += t.stored == nullptr ? 1 : 0;
  }
  stdout_writer out;
  absl::StrAppendFormat(&out.buf(), "wrote %s: %d tensors (%d concatenated from %d checkpoints), %d bytes\n", opt.output.out,
                        planned->size(), groups, ckpts.size(), bytes);
  return out.finish(kExitOk);
}

}  // namespace

command add_merge(CLI::App& parent) {
  auto opt = std::make_shared<merge_options>();
  CLI::App* app = parent.add_subcommand("merge", "Merge checkpoints: trunk from the first, grouped tensors concatenated across all");
  app->add_option("CKPT", opt->checkpoints, kCheckpointHelp)->type_name("CKPT...")->required();
  add_output_options(app, opt->output);
  app->add_option("--group,-g", opt->groups,
                  "Tensors whose name matches REGEX form one output NAME ($1, $2: the regex's groups); repeatable")
      ->type_name("'REGEX=NAME'")
      ->allow_extra_args(false)  // one value per --group: CKPT... may follow
      ->required();
  app->add_option("--axis,-a", opt->axes, "Concatenate output NAME along AXIS (default 0; -1 is the last); repeatable")
      ->type_name("'NAME=AXIS'")
      ->allow_extra_args(false);
  app->add_option("--drop", opt->drops, "Leave out tensors whose name matches REGEX; repeatable")->type_name("REGEX")->allow_extra_args(false);
  app->add_option("--order", opt->order,
                  "Member order: auto (by the first numeric regex group, else checkpoint order), checkpoint (the\n"
                  "order of CKPT...), capture:K (by the number in regex group K)")
      ->type_name("ORDER");
  app->add_flag("--keep-slots", opt->keep_slots, "Keep optimizer state (Momentum, Adam, ... slots); dropped by default");
  app->footer(
      "Every tensor no --group matches (the trunk) is taken from the FIRST checkpoint only; the tensors a group\n"
      "matches are concatenated across all checkpoints. Bytes stream from the inputs' mapped files to --out row\n"
      "block by row block: memory use does not grow with the checkpoints' size. Problems (shapes that do not\n"
      "concatenate, a rule that matches nothing) are all listed before anything is written; the write is atomic.\n"
      "\n"
      "Example (seeds/000: N heads out0..outN-1 on one trunk):\n"
      "  tfckpt merge --out merged/model.ckpt --group '^out(\\d+)/(weights|biases)$=out/$2' \\\n"
      "               --axis out/weights=1 log_*/model.ckpt-1000");
  return {app, [opt] { return run_merge(*opt); }};
}

}  // namespace tfckpt_cli
