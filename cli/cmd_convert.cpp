// SPDX-License-Identifier: Apache-2.0
// `tfckpt convert CKPT --to npz|npy-dir|safetensors OUT [STEP]... [--dry-run] [--force]`: a
// checkpoint's tensors as NumPy or safetensors files, through the library's sinks, after the
// transform steps of steps.hpp (renames, transposes, casts, ...) in one pass.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "pipeline.hpp"
#include "steps.hpp"
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
  step_options steps;
  write_flags write;
  std::string strings = "reject";
  std::string bfloat16 = "float32";
  bool flat = false;
};

int run_convert(const CLI::App& app, const convert_options& opt) {
  const format to = opt.to == "npz" ? format::npz : opt.to == "npy-dir" ? format::npy_dir : format::safetensors;
  const auto steps = given_steps(app, opt.steps);
  if (!steps.ok()) return usage_error("convert", to_std(steps.status().message()));
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  auto transformed = apply_steps(tfckpt::collect(tfckpt::entries(*ckpt)), *steps, opt.steps.allow_missing);
  if (!transformed.ok()) {
    if (transformed.status().code() != absl::StatusCode::kInvalidArgument) return report_error(transformed.status());
    return usage_error("convert", to_std(transformed.status().message()));
  }
  const std::vector<tfckpt::tensor> planned = *std::move(transformed);

  tfckpt::npy_options npy;
  npy.strings = opt.strings == "bytes" ? tfckpt::npy_strings::fixed_width_bytes : tfckpt::npy_strings::reject;
  npy.bfloat16 = opt.bfloat16 == "raw" ? tfckpt::npy_bfloat16::raw_uint16 : tfckpt::npy_bfloat16::widen_to_float32;
  npy.file_names = opt.flat ? tfckpt::npy_file_names::flat : tfckpt::npy_file_names::subdirectories;
  npy.overwrite = opt.write.force;
  tfckpt::safetensors_options st;
  st.overwrite = opt.write.force;
  progress_line progress("converting");
  if (show_progress(opt.write.quiet || opt.write.dry_run)) {
    npy.progress = st.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  }

  if (opt.write.dry_run) {
    const absl::Status checked = to == format::npz       ? tfckpt::check_npz(planned, npy)
                                 : to == format::npy_dir ? tfckpt::check_npy_dir(planned, npy)
                                                             : tfckpt::check_safetensors(planned, st);
    stdout_writer out;
    out.buf() += opt.write.json ? plan_json(planned) : tfckpt::describe_plan(planned);
    if (!checked.ok()) {
      out.finish(kExitOk);
      return report_error(checked);
    }
    static const std::map<format, const char*> kWhat = {
        {format::npz, "an .npz archive"}, {format::npy_dir, ".npy files in"}, {format::safetensors, "a safetensors file"}};
    if (!opt.write.json) absl::StrAppendFormat(&out.buf(), "dry run: would write %s %s\n", kWhat.at(to), opt.out);
    return out.finish(kExitOk);
  }

  const absl::Status s = to == format::npz       ? tfckpt::write_npz(planned, opt.out, npy)
                         : to == format::npy_dir ? tfckpt::write_npy_dir(planned, opt.out, npy)
                                                     : tfckpt::write_safetensors(planned, opt.out, st);
  if (!s.ok()) {
    if (s.code() == absl::StatusCode::kAlreadyExists && !opt.write.force)
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
  add_step_options(app, opt->steps);
  add_write_flags(app, opt->write, "existing output files");
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
      "Transform steps run in the order given, each on what the previous one left, so a rename, a transpose\n"
      "and a cast happen in the same pass; --rules FILE reads steps from FILE, one per line: the option's\n"
      "name without dashes, a space, its argument to the end of the line ('#' starts a comment line).\n"
      "\n"
      "Examples:\n"
      "  tfckpt convert train/model.ckpt-1000 --to npz model.npz --no-slots\n"
      "  tfckpt convert train/ --to npy-dir weights/ --filter 'layer1/*'\n"
      "  tfckpt convert train/ --to safetensors model.safetensors --dry-run\n"
      "  tfckpt convert bert/model.ckpt --to safetensors model.safetensors --rules bert_to_pytorch.rules");
  return {app, [app, opt] { return run_convert(*app, *opt); }};
}

}  // namespace tfckpt_cli
