// SPDX-License-Identifier: Apache-2.0
// `tfckpt convert CKPT --to npz|npy-dir|safetensors OUT [--filter GLOB]... [--no-slots] [--dry-run]
// [--force]`: a checkpoint's tensors as NumPy or safetensors files, through the library's sinks.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "pipeline.hpp"
#include "tfckpt/sinks/npy.hpp"
#include "tfckpt/sinks/safetensors.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/plan.hpp"

namespace tfckpt_cli {
namespace {

enum class format { npz, npy_dir, safetensors };

struct convert_options {
  std::string checkpoint;
  std::string to;  // npz, npy-dir, safetensors
  std::string out;
  std::vector<std::string> globs;
  bool no_slots = false;
  bool dry_run = false;
  bool json = false;
  bool force = false;
  bool quiet = false;
  std::string strings = "reject";
  std::string bfloat16 = "float32";
  bool flat = false;
};

int run_convert(const convert_options& opt) {
  const format to = opt.to == "npz" ? format::npz : opt.to == "npy-dir" ? format::npy_dir : format::safetensors;
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  const std::vector<tfckpt::tensor> planned =
      tfckpt::collect(tfckpt::entries(*ckpt) | tfckpt::views::filter([&](const tfckpt::tensor& t) {
                        if (opt.no_slots && tfckpt::is_optimizer_state(t.name)) return false;
                        if (opt.globs.empty()) return true;
                        for (const std::string& g : opt.globs)
                          if (tfckpt::name_glob(g)(t)) return true;
                        return false;
                      }));

  tfckpt::npy_options npy;
  npy.strings = opt.strings == "bytes" ? tfckpt::npy_strings::fixed_width_bytes : tfckpt::npy_strings::reject;
  npy.bfloat16 = opt.bfloat16 == "raw" ? tfckpt::npy_bfloat16::raw_uint16 : tfckpt::npy_bfloat16::widen_to_float32;
  npy.file_names = opt.flat ? tfckpt::npy_file_names::flat : tfckpt::npy_file_names::subdirectories;
  npy.overwrite = opt.force;
  tfckpt::safetensors_options st;
  st.overwrite = opt.force;
  progress_line progress("converting");
  if (show_progress(opt.quiet || opt.dry_run)) {
    npy.progress = st.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  }

  if (opt.dry_run) {
    const absl::Status checked = to == format::npz       ? tfckpt::check_npz(planned, npy)
                                 : to == format::npy_dir ? tfckpt::check_npy_dir(planned, npy)
                                                             : tfckpt::check_safetensors(planned, st);
    stdout_writer out;
    out.buf() += opt.json ? plan_json(planned) : tfckpt::describe_plan(planned);
    if (!checked.ok()) {
      out.finish(kExitOk);
      return report_error(checked);
    }
    static const std::map<format, const char*> kWhat = {
        {format::npz, "an .npz archive"}, {format::npy_dir, ".npy files in"}, {format::safetensors, "a safetensors file"}};
    if (!opt.json) absl::StrAppendFormat(&out.buf(), "dry run: would write %s %s\n", kWhat.at(to), opt.out);
    return out.finish(kExitOk);
  }

  const absl::Status s = to == format::npz       ? tfckpt::write_npz(planned, opt.out, npy)
                         : to == format::npy_dir ? tfckpt::write_npy_dir(planned, opt.out, npy)
                                                     : tfckpt::write_safetensors(planned, opt.out, st);
  if (!s.ok()) {
    if (s.code() == absl::StatusCode::kAlreadyExists && !opt.force)
      return report_error(absl::StrFormat("%s\n(pass --force to replace existing files)", to_std(s.message())));
    return report_error(s);
  }
  return kExitOk;
}

}  // namespace

command add_convert(CLI::App& parent) {
  auto opt = std::make_shared<convert_options>();
  CLI::App* app = parent.add_subcommand("convert", "Write a checkpoint's tensors as .npz, .npy files or safetensors");
  app->add_option("CKPT", opt->checkpoint, kCheckpointHelp)->type_name("CKPT")->required();
  app->add_option("--to", opt->to, "Output format: npz (one archive), npy-dir (one .npy per tensor), safetensors")
      ->required()
      ->check(CLI::IsMember({"npz", "npy-dir", "safetensors"}, CLI::ignore_case))
      ->type_name("FORMAT");
  app->add_option("OUT", opt->out, "Output file (npz, safetensors) or directory (npy-dir)")->type_name("OUT")->required();
  app->add_option("--filter", opt->globs, "Keep only tensors whose name matches this shell glob (repeatable)")
      ->type_name("GLOB");
  app->add_flag("--no-slots", opt->no_slots, "Drop optimizer state (Momentum, Adam, beta1_power, TF2 slots, ...)");
  app->add_flag("--dry-run,-n", opt->dry_run, "Print what would be written and check it; write nothing");
  app->add_flag("--json", opt->json, "With --dry-run: the plan as JSON (name, dtype, shape, bytes, from)");
  app->add_flag("--force,-f", opt->force, "Replace existing output files");
  app->add_flag("--quiet,-q", opt->quiet, "No progress on stderr");
  app->add_option("--strings", opt->strings,
                  "npz/npy-dir: string tensors are an error (reject, the default) or fixed-width NUL-padded bytes")
      ->check(CLI::IsMember({"reject", "bytes"}, CLI::ignore_case))
      ->type_name("MODE");
  app->add_option("--bfloat16", opt->bfloat16,
                  "npz/npy-dir: widen bfloat16 to float32 (the default, exact) or keep the raw bits as uint16")
      ->check(CLI::IsMember({"float32", "raw"}, CLI::ignore_case))
      ->type_name("MODE");
  app->add_flag("--flat", opt->flat, "npy-dir: write OUT/a__b.npy for tensor a/b instead of OUT/a/b.npy");
  app->footer(
      "npy-dir writes OUT/<name>.npy for every tensor, the name's scopes becoming directories, so that\n"
      "numpy.load(os.path.join(OUT, name + '.npy')) finds it; npz writes one archive numpy.load opens as a\n"
      "dict keyed by tensor name. Bytes stream from the checkpoint; every file is written atomically.\n"
      "Tensors NumPy or safetensors cannot hold (strings unless --strings bytes, complex for safetensors,\n"
      "quantized) are all reported at once and nothing is written. --dry-run prints the plan.\n"
      "\n"
      "Examples:\n"
      "  tfckpt convert train/model.ckpt-1000 --to npz model.npz --no-slots\n"
      "  tfckpt convert train/ --to npy-dir weights/ --filter 'layer1/*'\n"
      "  tfckpt convert train/ --to safetensors model.safetensors --dry-run");
  return {app, [opt] { return run_convert(*opt); }};
}

}  // namespace tfckpt_cli
