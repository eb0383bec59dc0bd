// SPDX-License-Identifier: Apache-2.0
// `tfckpt import SRC --out PREFIX [STEP]... [--from FORMAT] [--shards N] [--dry-run] [--force]`:
// safetensors, .npz, a .npy file or a directory of .npy files as a TensorFlow checkpoint, through the
// library's readers (sources/), the transform steps of steps.hpp, and the checkpoint sink.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "parse.hpp"
#include "pipeline.hpp"
#include "steps.hpp"
#include "tfckpt/sources/npy.hpp"
#include "tfckpt/sources/safetensors.hpp"
#include "tfckpt/views/plan.hpp"

namespace tfckpt_cli {
namespace {

struct import_options {
  std::string source;
  std::string from = "auto";  // auto, safetensors, npz, npy, npy-dir
  output_options output;
  step_options steps;
};

// What SRC is, from the file itself: a directory holds .npy files; otherwise its first bytes
// ("\x93NUMPY", a ZIP signature) or, failing those, its extension decide; safetensors has no magic.
std::string detect_format(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return "npy-dir";
  char head[8] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(head, sizeof head);
  const std::string_view magic(head, static_cast<std::size_t>(in.gcount()));
  if (magic.starts_with(tfckpt::codec::kNpyMagic)) return "npy";
  if (magic.starts_with("PK\x03\x04") || magic.starts_with("PK\x05\x06")) return "npz";
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".npz") return "npz";
  if (ext == ".npy") return "npy";
  return "safetensors";
}

// The opened source: it owns the mappings the planned tensors borrow.
using opened_source = std::variant<tfckpt::safetensors_file, tfckpt::npy_arrays>;

absl::StatusOr<opened_source> open_source(const std::string& path, const std::string& format) {
  if (format == "safetensors") {
    auto f = tfckpt::open_safetensors(path);
    if (!f.ok()) return f.status();
    return opened_source(*std::move(f));
  }
  absl::StatusOr<tfckpt::npy_arrays> a = format == "npz"   ? tfckpt::open_npz(path)
                                         : format == "npy" ? tfckpt::open_npy(path)
                                                           : tfckpt::open_npy_dir(path);
  if (!a.ok()) return a.status();
  return opened_source(*std::move(a));
}

int run_import(const CLI::App& app, const import_options& opt) {
  const auto steps = given_steps(app, opt.steps);
  if (!steps.ok()) return usage_error("import", to_std(steps.status().message()));
  const std::string format = opt.from == "auto" ? detect_format(opt.source) : opt.from;
  absl::StatusOr<opened_source> src = open_source(opt.source, format);
  if (!src.ok()) return report_error(src.status());

  // The planned tensors, in the source's order (the checkpoint's index sorts them by name), after
  // the transform steps.
  auto transformed = apply_steps(std::visit([](const auto& s) { return tfckpt::collect(tfckpt::entries(s)); }, *src),
                                 *steps, opt.steps.allow_missing);
  if (!transformed.ok()) {
    if (transformed.status().code() != absl::StatusCode::kInvalidArgument) return report_error(transformed.status());
    return usage_error("import", to_std(transformed.status().message()));
  }
  const std::vector<tfckpt::tensor> planned = *std::move(transformed);

  if (opt.output.dry_run) {
    const int rc = print_plan(planned, opt.output.json);
    if (rc == kExitOk && !opt.output.json) {
      stdout_writer out;
      absl::StrAppendFormat(&out.buf(), "dry run: would import %s (%s) into %s\n", opt.source, format, opt.output.out);
      return out.finish(kExitOk);
    }
    return rc;
  }
  if (const int rc = write_planned(planned, opt.output.out, opt.output.force, opt.output.quiet, "importing",
                                   tfckpt::byte_order_from_name(opt.output.byte_order).value_or(tfckpt::host_byte_order),
                                   tfckpt::data_reuse::none, opt.output.shards);
      rc != kExitOk)
    return rc;
  if (opt.output.quiet) return kExitOk;
  std::uint64_t bytes = 0;
  for (const tfckpt::tensor& t : planned) bytes += t.size();
  stdout_writer out;
  absl::StrAppendFormat(&out.buf(), "wrote %s: %d tensors, %d bytes, from %s (%s)\n", opt.output.out, planned.size(), bytes,
                        opt.source, format);
  return out.finish(kExitOk);
}

}  // namespace

command add_import(CLI::App& parent) {
  auto opt = std::make_shared<import_options>();
  CLI::App* app =
      parent.add_subcommand("import", "Write safetensors, .npz or .npy files (PyTorch, JAX, NumPy) as a TensorFlow checkpoint");
  app->add_option("SRC", opt->source, "A .safetensors file, an .npz archive, a .npy file or a directory of .npy files")
      ->type_name("SRC")
      ->required();
  add_output_options(app, opt->output);
  add_shards_option(app, opt->output);
  add_step_options(app, opt->steps);
  app->add_option("--from", opt->from, "Format of SRC: auto (from the file), safetensors, npz, npy, npy-dir")
      ->check(CLI::IsMember({"auto", "safetensors", "npz", "npy", "npy-dir"}))
      ->type_name("FORMAT")
      ->capture_default_str();
  app->footer(
      "Tensor names: safetensors keys as they are; .npz member 'a/b.npy' -> 'a/b'; DIR/a/b.npy -> 'a/b' (a flat\n"
      "'a__b.npy' stays 'a__b'); a single .npy file is named after the file. The source is validated first\n"
      "(safetensors: header size, dtypes, offsets that tile the data; .npy: header, dtype, data size) and\n"
      "every problem names the file, the byte offset and the tensor. Bytes stream from the mapped source\n"
      "(.npz members written by savez_compressed are inflated as they stream); the write is atomic.\n"
      "Big-endian .npy arrays are swapped; bfloat16 that NumPy widened to float32 stays float32.\n"
      "Transform steps run in the order given, as for convert; --rules FILE reads them from a file.\n"
      "\n"
      "Examples:\n"
      "  tfckpt import model.safetensors --out tf/model.ckpt\n"
      "  tfckpt import weights.npz --out tf/model.ckpt --shards 4\n"
      "  tfckpt import weights/ --out tf/model.ckpt --dry-run\n"
      "  tfckpt import model.safetensors --out bert/model.ckpt --rules examples/rules/pytorch_to_bert.rules");
  return {app, [app, opt] { return run_import(*app, *opt); }};
}

}  // namespace tfckpt_cli
