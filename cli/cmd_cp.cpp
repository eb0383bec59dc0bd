// SPDX-License-Identifier: Apache-2.0
// `tfckpt cp SRC DST [--shards N] [--byte-order little|big] [--force]`: rewrite a checkpoint through
// the reader and writer.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/copy.hpp"

namespace tfckpt_cli {
namespace {

struct cp_options {
  std::string source;
  std::string destination;
  std::int32_t shards = 0;
  std::string byte_order;  // empty: the source's
  bool force = false;
  bool quiet = false;
};

int run_cp(const cp_options& opt) {
  auto src = tfckpt::open(opt.source);
  if (!src.ok()) return report_error(src.status());
  tfckpt::copy_options copy;
  if (opt.shards > 0) copy.num_shards = opt.shards;
  if (!opt.byte_order.empty()) copy.payload_order = tfckpt::byte_order_from_name(opt.byte_order);
  copy.overwrite = opt.force;
  progress_line progress("copying");
  if (show_progress(opt.quiet))
    copy.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  if (absl::Status s = tfckpt::copy_checkpoint(*src, opt.destination, copy); !s.ok()) {
    if (s.code() == absl::StatusCode::kAlreadyExists)
      return report_error(absl::StrFormat("%s already exists (pass --force to replace it)", opt.destination + ".index"));
    return report_error(s);
  }
  return kExitOk;
}

}  // namespace

command add_cp(CLI::App& parent) {
  auto opt = std::make_shared<cp_options>();
  CLI::App* app = parent.add_subcommand("cp", "Rewrite a checkpoint (optionally into another number of shards)");
  app->add_option("SRC", opt->source, kCheckpointHelp)->type_name("CKPT")->required();
  app->add_option("DST", opt->destination, "Prefix of the copy (e.g. out/model.ckpt-1000)")->type_name("PREFIX")->required();
  app->add_option("--shards", opt->shards, "Number of data shards of the copy (default: as the source)")
      ->check(CLI::Range(1, 1 << 20));
  app->add_option("--byte-order", opt->byte_order,
                  "Byte order of the copy's tensor data (default: as the source; TensorFlow reads either)")
      ->check(CLI::IsMember({"little", "big"}));
  app->add_flag("--force,-f", opt->force, "Replace a checkpoint that already exists at DST");
  app->add_flag("--quiet,-q", opt->quiet, "No progress on stderr");
  app->footer(
      "Tensors are written in their original data order straight from the source's mapped files; with the\n"
      "same number of shards the copy is byte-identical to the source. The write is atomic: on any error\n"
      "nothing changes at DST. With --byte-order, tensor data is byte-swapped as it streams and every\n"
      "checksum recomputed over the bytes written.\n"
      "\n"
      "Examples:\n"
      "  tfckpt cp train/model.ckpt-1000 export/model\n"
      "  tfckpt cp train/ export/model --shards 4\n"
      "  tfckpt cp train/ export/model-be --byte-order big");
  return {app, [opt] { return run_cp(*opt); }};
}

}  // namespace tfckpt_cli
