// SPDX-License-Identifier: Apache-2.0
// `tfckpt cat CKPT NAME [--json]`: one tensor's values, row-major.
#include <complex>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace tfckpt_cli {
namespace {

struct cat_options {
  std::string checkpoint;
  std::string name;
  bool json = false;
};

// Text: the values, one row of the last dimension per line (a scalar: one line).
template <class T>
void print_text_values(std::span<const T> values, tfckpt::shape_view shape, stdout_writer& out) {
  const auto row = static_cast<std::size_t>(shape.empty() ? 1 : shape.back());
  for (std::size_t i = 0; i < values.size(); ++i) {
    append_value(out.buf(), values[i], style::text);
    out.buf() += (i + 1) % row == 0 ? '\n' : ' ';
    out.maybe_flush();
  }
}

template <class T>
void print_json_values(std::span<const T> values, stdout_writer& out) {
  out.buf() += '[';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out.buf() += ',';
    append_value(out.buf(), values[i], style::json);
    out.maybe_flush();
  }
  out.buf() += ']';
}

int run_cat(const cat_options& opt) {
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  auto found = ckpt->get(opt.name);
  if (!found.ok()) return report_error(found.status());
  const tfckpt::entry& e = **found;

  stdout_writer out;
  std::string& buf = out.buf();
  if (opt.json) {
    buf += "{\"name\":";
    append_json_string(buf, e.name());
    absl::StrAppendFormat(&buf, ",\"dtype\":\"%s\",\"shape\":[", tfckpt::dtype_name(e.dtype()));
    for (std::size_t d = 0; d < e.shape().size(); ++d) absl::StrAppendFormat(&buf, "%s%d", d ? "," : "", e.shape()[d]);
    buf += "],\"values\":";
  } else {
    absl::StrAppendFormat(&buf, "%s %s %s\n", tfckpt::printable_key(e.name()), tfckpt::dtype_name(e.dtype()),
                          tfckpt::shape_string(e.shape()));
  }
  const absl::Status s = e.visit_values([&](const auto& typed) {
    const std::span values(typed.begin(), typed.end());
    if (opt.json) {
      print_json_values(values, out);
    } else {
      print_text_values(values, e.shape(), out);
    }
  });
  if (!s.ok()) return report_error(s);  // nothing was written yet: the header is still buffered
  if (opt.json) buf += "}\n";
  return out.finish(kExitOk);
}

}  // namespace

command add_cat(CLI::App& parent) {
  auto opt = std::make_shared<cat_options>();
  CLI::App* app = parent.add_subcommand("cat", "Print one tensor's values (row-major)");
  app->add_option("CKPT", opt->checkpoint, kCheckpointHelp)
      ->type_name("PATH")
      ->required();
  app->add_option("NAME", opt->name, "The tensor's name (its key, as `tfckpt ls` shows it)")
      ->type_name("KEY")
      ->required();
  app->add_flag("--json", opt->json, "Print {\"name\", \"dtype\", \"shape\", \"values\"} as one JSON object");
  app->footer(
      "Text output: a header line 'NAME DTYPE SHAPE', then one row of the last dimension per line.\n"
      "Floats print in their shortest round-trip form (float16/bfloat16 widened to float); strings are\n"
      "quoted with \\xHH escapes. JSON: values flattened row-major; 64-bit integers exact; complex as\n"
      "[re, im]; non-finite floats as \"NaN\"/\"Infinity\"/\"-Infinity\"; invalid UTF-8 in strings becomes\n"
      "U+FFFD. Quantized dtypes print as their storage integers; float8/int4/variant are not supported.\n"
      "\n"
      "Examples:\n"
      "  tfckpt cat train/model.ckpt-1000 global_step\n"
      "  tfckpt cat train/ dense/kernel --json | jq '.values | add'");
  return {app, [opt] { return run_cat(*opt); }};
}

}  // namespace tfckpt_cli
