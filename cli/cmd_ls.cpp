// SPDX-License-Identifier: Apache-2.0
// `tfckpt ls CKPT [--json]`: every tensor's name, dtype, shape, shard, offset and size, in key order.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace tfckpt_cli {
namespace {

struct ls_options {
  std::string checkpoint;
  bool json = false;
};

void print_json(const tfckpt::checkpoint& ckpt, stdout_writer& out) {
  // One object per line inside the array: valid JSON that still greps and diffs well.
  std::string& buf = out.buf();
  buf += '[';
  bool first = true;
  for (const tfckpt::entry& e : ckpt.entries()) {
    const nlohmann::ordered_json obj = {
        {"name", std::string(e.name())},
        {"dtype", std::string(tfckpt::dtype_name(e.dtype()))},
        {"shape", std::vector<std::int64_t>(e.shape().begin(), e.shape().end())},
        {"shard", e.shard()},
        {"offset", e.offset()},
        {"size", e.size()},
    };
    buf += first ? "\n  " : ",\n  ";
    first = false;
    buf += obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.maybe_flush();
  }
  buf += first ? "]\n" : "\n]\n";
}

void print_text(const tfckpt::checkpoint& ckpt, stdout_writer& out) {
  struct row {
    std::string name, dtype, shape, shard, offset, size;
  };
  std::vector<row> rows;
  rows.reserve(ckpt.size() + 1);
  rows.push_back({"NAME", "DTYPE", "SHAPE", "SHARD", "OFFSET", "SIZE"});
  for (const tfckpt::entry& e : ckpt.entries())
    rows.push_back({tfckpt::printable_key(e.name()), std::string(tfckpt::dtype_name(e.dtype())),
                    tfckpt::shape_string(e.shape()), std::to_string(e.shard()), std::to_string(e.offset()),
                    std::to_string(e.size())});
  std::size_t w[6] = {};
  for (const row& r : rows) {
    w[0] = std::max(w[0], r.name.size());
    w[1] = std::max(w[1], r.dtype.size());
    w[2] = std::max(w[2], r.shape.size());
    w[3] = std::max(w[3], r.shard.size());
    w[4] = std::max(w[4], r.offset.size());
    w[5] = std::max(w[5], r.size.size());
  }
  const auto iw = [](std::size_t n) { return static_cast<int>(n); };
  for (const row& r : rows) {
    absl::StrAppendFormat(&out.buf(), "%-*s  %-*s  %-*s  %*s  %*s  %*s\n", iw(w[0]), r.name, iw(w[1]), r.dtype,
                          iw(w[2]), r.shape, iw(w[3]), r.shard, iw(w[4]), r.offset, iw(w[5]), r.size);
    out.maybe_flush();
  }
}

int run_ls(const ls_options& opt) {
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  stdout_writer out;
  if (opt.json) {
    print_json(*ckpt, out);
  } else {
    print_text(*ckpt, out);
  }
  return out.finish(kExitOk);
}

}  // namespace

command add_ls(CLI::App& parent) {
  auto opt = std::make_shared<ls_options>();
  CLI::App* app = parent.add_subcommand("ls", "List every tensor: name, dtype, shape, shard, offset, size (key order)");
  app->add_option("CKPT", opt->checkpoint, kCheckpointHelp)
      ->type_name("PATH")
      ->required();
  app->add_flag("--json", opt->json,
                "Print a JSON array of {name, dtype, shape, shard, offset, size} objects instead of a table");
  app->footer(
      "Text output: a header line, then one tensor per line in aligned columns (non-printable bytes\n"
      "in names are shown as \\xHH). The index alone is read; no tensor data is touched.\n"
      "\n"
      "Examples:\n"
      "  tfckpt ls train/model.ckpt-1000\n"
      "  tfckpt ls train/ --json | jq -r '.[] | select(.dtype == \"float32\") | .name'");
  return {app, [opt] { return run_ls(*opt); }};
}

}  // namespace tfckpt_cli
