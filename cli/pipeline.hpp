// SPDX-License-Identifier: Apache-2.0
// What every transforming subcommand (select, rename, ...) shares: the --out/--dry-run/--force/
// --quiet options, and running a planned pipeline either as a dry run (print the plan, write
// nothing) or into a checkpoint through the atomic writer.
#ifndef TFCKPT_CLI_PIPELINE_HPP_
#define TFCKPT_CLI_PIPELINE_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/views/plan.hpp"

namespace tfckpt_cli {

struct output_options {
  std::string out;
  bool dry_run = false;
  bool force = false;
  bool quiet = false;
};

/// Declares --out (required), --dry-run, --force and --quiet on `app`.
inline void add_output_options(CLI::App* app, output_options& o) {
  app->add_option("--out,-o", o.out, "Prefix of the checkpoint to write")->type_name("PREFIX")->required();
  app->add_flag("--dry-run,-n", o.dry_run, "Print what would be written (names, dtypes, shapes, bytes, sources); write nothing");
  app->add_flag("--force,-f", o.force, "Replace a checkpoint that already exists at --out");
  app->add_flag("--quiet,-q", o.quiet, "No progress on stderr");
}

/// Dry run: prints the plan (and exits 3 if the pipeline has problems, listing them all).
/// Otherwise: writes the planned tensors as a checkpoint at o.out.
inline int run_planned(const std::vector<tfckpt::tensor>& planned, const output_options& o) {
  if (o.dry_run) {
    stdout_writer out;
    out.buf() += tfckpt::describe_plan(planned);
    const absl::Status problems = tfckpt::check_pipeline(planned);
    if (!problems.ok()) {
      (void)out.finish(kExitOk);
      return report_error(problems);
    }
    return out.finish(kExitOk);
  }
  tfckpt::write_bundle_options w;
  w.writer.overwrite = o.force;
  progress_line progress("writing");
  if (show_progress(o.quiet))
    w.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  if (absl::Status s = tfckpt::write_bundle(std::span<const tfckpt::tensor>(planned), o.out, w); !s.ok()) {
    if (s.code() == absl::StatusCode::kAlreadyExists && !o.force && s.message().find("already exists") != absl::string_view::npos)
      return report_error(absl::StrFormat("%s already exists (pass --force to replace it)", o.out + ".index"));
    return report_error(s);
  }
  return kExitOk;
}

}  // namespace tfckpt_cli

#endif  // TFCKPT_CLI_PIPELINE_HPP_
