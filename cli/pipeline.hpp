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
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/views/plan.hpp"

namespace tfckpt_cli {

/// The flags every writing subcommand takes.
struct write_flags {
  bool dry_run = false;
  bool json = false;  // the dry run's plan as JSON
  bool force = false;
  bool quiet = false;
};

/// Declares --dry-run, --json, --force and --quiet; `replaces` says what --force replaces.
inline void add_write_flags(CLI::App* app, write_flags& f, const char* replaces) {
  app->add_flag("--dry-run,-n", f.dry_run, "Print what would be written (names, dtypes, shapes, bytes, sources); write nothing");
  app->add_flag("--json", f.json, "With --dry-run: the plan as JSON");
  app->add_flag("--force,-f", f.force, std::string("Replace ") + replaces);
  app->add_flag("--quiet,-q", f.quiet, "No progress on stderr");
}

struct output_options : write_flags {
  std::string out;
  std::string byte_order = "little";
  tfckpt::data_reuse reuse_data = tfckpt::data_reuse::none;  // see write_bundle_options
  std::int32_t shards = 1;  // data shards of the written checkpoint (add_shards_option)
};

/// Declares --out (required), the write flags and --byte-order on `app`.
inline void add_output_options(CLI::App* app, output_options& o) {
  app->add_option("--out,-o", o.out, "Prefix of the checkpoint to write")->type_name("PREFIX")->required();
  add_write_flags(app, o, "a checkpoint that already exists at --out");
  app->add_option("--byte-order", o.byte_order, "Byte order of the written tensor data (TensorFlow reads either)")
      ->check(CLI::IsMember({"little", "big"}))
      ->capture_default_str();
}

/// Declares --shards on `app` (the number of data files written, as `cp --shards`).
inline void add_shards_option(CLI::App* app, output_options& o) {
  app->add_option("--shards", o.shards, "Number of data shards of the written checkpoint")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
}

/// Opens every checkpoint in `paths` into `out`; on failure reports all that failed at once and
/// returns kExitError, else kExitOk.
inline int open_all(const std::vector<std::string>& paths, std::vector<tfckpt::checkpoint>& out) {
  std::string failures;
  for (const std::string& path : paths) {
    auto c = tfckpt::open(path);
    if (c.ok()) {
      out.push_back(*std::move(c));
    } else {
      absl::StrAppendFormat(&failures, "%s%s", failures.empty() ? "" : "\n  ", to_std(c.status().message()));
    }
  }
  return failures.empty() ? kExitOk : report_error(failures);
}

/// The planned tensors as a JSON array: name, dtype, shape, bytes, and where each comes from
/// ("checkpoint:name" per source), or the problem that stops it.
inline std::string plan_json(const std::vector<tfckpt::tensor>& planned) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const tfckpt::tensor& t : planned) {
    nlohmann::ordered_json row = {{"name", t.name},
                                  {"dtype", std::string(tfckpt::dtype_name(t.dtype))},
                                  {"shape", t.shape},
                                  {"bytes", t.size()}};
    std::vector<std::string> from;
    for (const auto& o : t.origins) from.push_back(o.checkpoint + ":" + o.name);
    row["from"] = from;
    if (!t.status.ok()) row["error"] = std::string(to_std(t.status.message()));
    j.push_back(std::move(row));
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

/// Dry run: prints the plan (text, or JSON with `json`); exits 3 listing every problem if the
/// pipeline has any.
inline int print_plan(const std::vector<tfckpt::tensor>& planned, bool json) {
  stdout_writer out;
  out.buf() += json ? plan_json(planned) : tfckpt::describe_plan(planned);
  const absl::Status problems = tfckpt::check_pipeline(planned);
  if (!problems.ok()) {
    (void)out.finish(kExitOk);
    return report_error(problems);
  }
  return out.finish(kExitOk);
}

/// Writes the planned tensors as a checkpoint at `prefix` (progress labelled `what`).
inline int write_planned(const std::vector<tfckpt::tensor>& planned, const std::string& prefix, bool force, bool quiet,
                         const char* what = "writing", tfckpt::byte_order order = tfckpt::host_byte_order,
                         tfckpt::data_reuse reuse_data = tfckpt::data_reuse::none, std::int32_t shards = 1) {
  tfckpt::write_bundle_options w;
  w.writer.num_shards = shards;
  w.reuse_data = reuse_data;
  w.writer.overwrite = force;
  w.writer.payload_order = order;
  progress_line progress(what);
  if (show_progress(quiet))
    w.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  if (absl::Status s = tfckpt::write_bundle(std::span<const tfckpt::tensor>(planned), prefix, w); !s.ok()) {
    if (s.code() == absl::StatusCode::kAlreadyExists && !force && s.message().find("already exists") != absl::string_view::npos)
      return report_error(absl::StrFormat("%s already exists (pass --force to replace it)", prefix + ".index"));
    return report_error(s);
  }
  return kExitOk;
}

/// --dry-run: print the plan; otherwise write it to o.out.
inline int run_planned(const std::vector<tfckpt::tensor>& planned, const output_options& o) {
  return o.dry_run ? print_plan(planned, o.json)
                   : write_planned(planned, o.out, o.force, o.quiet, "writing",
                                   tfckpt::byte_order_from_name(o.byte_order).value_or(tfckpt::host_byte_order), o.reuse_data,
                                   o.shards);
}

}  // namespace tfckpt_cli

#endif  // TFCKPT_CLI_PIPELINE_HPP_
