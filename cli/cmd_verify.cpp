// SPDX-License-Identifier: Apache-2.0
// `tfckpt verify CKPT [--quiet] [--json]`: check every index block checksum (at open), every tensor's
// checksum and every bound against the data files.
//
// Output (stdout): one line per problem, then a one-line summary. Exit 0 when every check holds,
// 1 when one fails (a corrupt index counts), 3 when the checkpoint cannot be opened at all.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace tfckpt_cli {
namespace {

struct verify_options {
  std::string checkpoint;
  bool quiet = false;
  bool json = false;
  unsigned threads = 0;
};

// {"ok", "checkpoint", "problems": [...], "tensors_checked", "tensors_total", "bytes_checked", "bytes_total"}
int finish_json(stdout_writer& out, const std::string& checkpoint, const std::vector<std::string>& problems,
                const tfckpt::verify_report* report, std::optional<tfckpt::byte_order> byte_order = std::nullopt) {
  nlohmann::ordered_json j;
  j["ok"] = problems.empty();
  j["checkpoint"] = checkpoint;
  j["problems"] = problems;
  if (byte_order) j["byte_order"] = std::string(tfckpt::byte_order_name(*byte_order));
  if (report != nullptr) {
    j["tensors_checked"] = report->tensors_checked;
    j["tensors_total"] = report->tensors_total;
    j["bytes_checked"] = report->bytes_checked;
    j["bytes_total"] = report->bytes_total;
  }
  out.buf() += j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return out.finish(problems.empty() ? kExitOk : kExitCheckFailed);
}

const char* plural(std::uint64_t n) { return n == 1 ? "" : "s"; }

void append_line(std::string& buf, std::string_view line) {
  buf += line;
  buf += '\n';
}

int run_verify(const verify_options& opt) {
  stdout_writer out;
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) {
    // Bytes that contradict the format (a bad block checksum, a malformed record) are a failed check.
    if (ckpt.status().code() != absl::StatusCode::kDataLoss) return report_error(ckpt.status());
    if (opt.json) return finish_json(out, opt.checkpoint, {std::string(to_std(ckpt.status().message()))}, nullptr);
    append_line(out.buf(), to_std(ckpt.status().message()));
    append_line(out.buf(), absl::StrFormat(
                               "FAILED: %s: corrupt checkpoint metadata (see above); no tensor data was checked",
                               opt.checkpoint));
    return out.finish(kExitCheckFailed);
  }

  tfckpt::verify_report report;
  {
    progress_line progress;
    tfckpt::verify_options vopt;
    vopt.threads = opt.threads;
    if (show_progress(opt.quiet))
      vopt.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
    report = ckpt->verify(vopt);
  }

  if (opt.json) {
    std::vector<std::string> problems;
    for (const absl::Status& p : report.problems) problems.emplace_back(to_std(p.message()));
    return finish_json(out, ckpt->prefix(), problems, &report, ckpt->payload_order());
  }
  for (const absl::Status& p : report.problems) append_line(out.buf(), to_std(p.message()));
  if (report.ok()) {
    append_line(out.buf(), absl::StrFormat("OK: %s: %d tensor%s, %d bytes checked (%s)%s", ckpt->prefix(),
                                           report.tensors_checked, plural(report.tensors_checked),
                                           report.bytes_checked, human_bytes(report.bytes_checked),
                                           ckpt->big_endian() ? ", big-endian" : ""));
    return out.finish(kExitOk);
  }
  append_line(out.buf(), absl::StrFormat("FAILED: %s: %d problem%s; %d of %d tensors, %d of %d bytes checked (%s)",
                                         ckpt->prefix(), report.problems.size(), plural(report.problems.size()),
                                         report.tensors_checked, report.tensors_total, report.bytes_checked,
                                         report.bytes_total, human_bytes(report.bytes_checked)));
  return out.finish(kExitCheckFailed);
}

}  // namespace

command add_verify(CLI::App& parent) {
  auto opt = std::make_shared<verify_options>();
  CLI::App* app = parent.add_subcommand(
      "verify", "Check every index block checksum, tensor checksum and bound (reads all tensor data once)");
  app->add_option("CKPT", opt->checkpoint, kCheckpointHelp)
      ->type_name("PATH")
      ->required();
  app->add_flag("-q,--quiet", opt->quiet, "No progress display on stderr (shown only when stderr is a terminal)");
  app->add_flag("--json", opt->json, "The result as JSON: ok, problems, tensors and bytes checked");
  app->add_option("--threads,-j", opt->threads, "Threads checksumming side by side (default 0: one per core, at most 4)")
      ->type_name("N");
  app->footer(
      "Prints one line per problem (naming the file, byte offset and tensor key), then a summary line.\n"
      "Exit 0 when every check holds, 1 when one fails (a corrupt index or a missing data shard counts),\n"
      "3 when the checkpoint cannot be opened (not found, not a checkpoint, ...).\n"
      "\n"
      "Examples:\n"
      "  tfckpt verify train/model.ckpt-1000\n"
      "  tfckpt verify -q train/ && echo intact");
  return {app, [opt] { return run_verify(*opt); }};
}

}  // namespace tfckpt_cli
