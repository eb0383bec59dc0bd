// SPDX-License-Identifier: Apache-2.0
// `tfckpt avg --out DST [--weights w1,w2,...] [--dtype bfloat16] [--unaveraged last|first|error]
// [--allow-partial] [--dry-run] [--force] CKPT...`: checkpoint averaging (views::average, then
// views::cast for --dtype).
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "parse.hpp"
#include "pipeline.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/views/average.hpp"
#include "tfckpt/views/cast.hpp"

namespace tfckpt_cli {
namespace {

struct avg_options {
  std::vector<std::string> checkpoints;
  std::vector<double> weights;
  std::string dtype;
  std::string unaveraged = "last";
  bool allow_partial = false;
  output_options output;
};

int avg_usage_error(std::string_view message) { return tfckpt_cli::usage_error("avg", message); }

int run_avg(const avg_options& opt) {
  tfckpt::average_options a;
  a.allow_partial = opt.allow_partial;
  a.num_checkpoints = opt.checkpoints.size();
  if (!opt.weights.empty()) {
    if (opt.weights.size() != opt.checkpoints.size())
      return avg_usage_error(absl::StrFormat("--weights has %d values for %d checkpoints", opt.weights.size(), opt.checkpoints.size()));
    for (double w : opt.weights)
      if (!std::isfinite(w) || w < 0) return avg_usage_error(absl::StrFormat("--weights: %g is not a finite weight >= 0", w));
    a.weights = opt.weights;
  }
  if (opt.unaveraged == "last") {
    a.unaveraged = tfckpt::unaveraged_policy::last;
  } else if (opt.unaveraged == "first") {
    a.unaveraged = tfckpt::unaveraged_policy::first;
  } else if (opt.unaveraged == "error") {
    a.unaveraged = tfckpt::unaveraged_policy::error;
  } else {
    return avg_usage_error(absl::StrFormat("--unaveraged '%s' is not last, first or error", opt.unaveraged));
  }
  std::optional<tfckpt::dtype> cast_to;
  if (!opt.dtype.empty()) {
    cast_to = tfckpt::dtype_from_name(opt.dtype);
    if (!cast_to || !tfckpt::is_floating_point(*cast_to))
      return avg_usage_error(absl::StrFormat("--dtype '%s' is not a floating-point dtype (float16, bfloat16, float32, float64)", opt.dtype));
  }

  std::vector<tfckpt::checkpoint> ckpts;
  if (const int rc = open_all(opt.checkpoints, ckpts); rc != kExitOk) return rc;

  std::vector<tfckpt::tensor> planned = tfckpt::collect(tfckpt::entries(ckpts) | tfckpt::views::average(a));
  std::size_t averaged = 0;
  for (const tfckpt::tensor& t : planned) averaged += t.status.ok() && t.stored == nullptr ? 1 : 0;
  if (cast_to) planned = tfckpt::collect(planned | tfckpt::views::cast(*cast_to));
  if (opt.output.dry_run) return print_plan(planned, opt.output.json);

  if (const int rc = write_planned(planned, opt.output.out, opt.output.force, opt.output.quiet, "averaging",
                                   tfckpt::byte_order_from_name(opt.output.byte_order).value_or(tfckpt::host_byte_order));
      rc != kExitOk)
    return rc;
  std::uint64_t bytes = 0;
  for (const tfckpt::tensor& t : planned) bytes += t.size();
  stdout_writer out;
  absl::StrAppendFormat(&out.buf(), "wrote %s: %d tensors (%d averaged over %d checkpoints, %d taken from the %s%s), %d bytes\n",
                        opt.output.out, planned.size(), averaged, ckpts.size(), planned.size() - averaged, opt.unaveraged,
                        cast_to ? absl::StrFormat("; floating-point tensors as %s", tfckpt::dtype_name(*cast_to)) : "", bytes);
  return out.finish(kExitOk);
}

}  // namespace

command add_avg(CLI::App& parent) {
  auto opt = std::make_shared<avg_options>();
  CLI::App* app = parent.add_subcommand("avg", "Average checkpoints: the element-wise mean of every floating-point tensor");
  app->add_option("CKPT", opt->checkpoints, kCheckpointHelp)->type_name("CKPT...")->required();
  add_output_options(app, opt->output);
  app->add_option("--weights,-w", opt->weights, "One weight per CKPT, comma-separated (default: all equal)")
      ->type_name("W1,W2,...")
      ->delimiter(',')
      ->allow_extra_args(false);  // CKPT... may follow
  app->add_option("--dtype", opt->dtype, "Store the averaged floating-point tensors as DTYPE (e.g. bfloat16, float16)")
      ->type_name("DTYPE");
  app->add_option("--unaveraged", opt->unaveraged,
                  "Integer, bool and string tensors (step counters, the TF2 object graph): take them from the\n"
                  "last CKPT (default), the first, or fail (error)")
      ->type_name("last|first|error");
  app->add_flag("--allow-partial", opt->allow_partial,
                "Average a tensor over the checkpoints that have it (default: a tensor missing from some is an error)");
  app->footer(
      "Float16, bfloat16, float32 and float64 tensors (and complex ones) become sum(w_i * x_i) / sum(w_i),\n"
      "accumulated in float64 and stored in their dtype, rounded to nearest even. Every checkpoint must hold\n"
      "the same names with the same dtypes and shapes; all differences are reported together and nothing is\n"
      "written. Tensors stream in chunks: memory stays small whatever the checkpoints' size. The write is\n"
      "atomic.\n"
      "\n"
      "Examples:\n"
      "  tfckpt avg --out avg/model.ckpt train/model.ckpt-8000 train/model.ckpt-9000 train/model.ckpt-10000\n"
      "  tfckpt avg -o soup/model --weights 1,2 run_a/ run_b/ --dtype bfloat16\n"
      "  tfckpt avg -o avg/model --dry-run train/ckpt-7 train/ckpt-8 train/ckpt-9");
  return {app, [opt] { return run_avg(*opt); }};
}

}  // namespace tfckpt_cli
