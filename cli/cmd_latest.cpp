// SPDX-License-Identifier: Apache-2.0
// `tfckpt latest DIR`: the newest checkpoint prefix named by DIR's `checkpoint` state file.
#include <memory>
#include <string>

#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/prefix.hpp"
#include "tfckpt/checkpoint/state_file.hpp"
#include "tfckpt/io/remote_store.hpp"

namespace tfckpt_cli {
namespace {

int run_latest(const std::string& dir) {
  auto prefix = tfckpt::io::is_remote_url(dir) ? tfckpt::latest_remote_checkpoint(dir) : tfckpt::latest_checkpoint(dir);
  if (!prefix.ok()) return report_error(prefix.status());
  stdout_writer out;
  out.buf() += *prefix;
  out.buf() += '\n';
  return out.finish(kExitOk);
}

}  // namespace

command add_latest(CLI::App& parent) {
  auto dir = std::make_shared<std::string>();
  CLI::App* app = parent.add_subcommand("latest", "Print the newest checkpoint prefix recorded in DIR/checkpoint");
  app->add_option("DIR", *dir, "A directory (or a directory URL) holding a 'checkpoint' state file")->type_name("DIR")->required();
  app->footer(
      "Relative paths in the state file are joined onto DIR, as TensorFlow's latest_checkpoint does; a\n"
      "path recorded on another machine is looked up by its last component inside DIR.\n"
      "\n"
      "Example:\n"
      "  tfckpt ls \"$(tfckpt latest train/)\"");
  return {app, [dir] { return run_latest(*dir); }};
}

}  // namespace tfckpt_cli
