// SPDX-License-Identifier: Apache-2.0
// tfckpt: inspect and check TensorFlow V2 checkpoints without TensorFlow.
//
// Sets up the command line, dispatches to the subcommand (see commands.hpp) and maps parse errors
// to exit code 2. Exit codes: 0 ok, 1 check failed, 2 usage error, 3 I/O or format error.
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "tfckpt/version.hpp"
#if TFCKPT_CLI_REMOTE
#include "tfckpt/io/remote_http.hpp"  // installs the store that lets every reading command take a URL
#endif

namespace {

// The subcommand the command line names: its first word that is not an option (the tool itself has
// only --help and --version, which take no value), or nullptr when that word names none or help
// is asked for before it.
const tfckpt_cli::command_entry* named_command(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "-h" || word == "--help") return nullptr;
    if (word.starts_with('-')) continue;
    for (const tfckpt_cli::command_entry& c : tfckpt_cli::kCommands)
      if (c.name == word) return &c;
    return nullptr;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tfckpt_cli;
  CLI::App app{"Inspect and check TensorFlow V2 checkpoints (tensor bundles) without TensorFlow.", "tfckpt"};
  app.set_version_flag("--version", std::string("tfckpt ") + tfckpt::kVersion);
  app.require_subcommand(1);
  app.footer(
      "CKPT is a checkpoint prefix (model.ckpt-1000), its .index file, or a directory with a 'checkpoint'\n"
      "state file (the latest checkpoint it names is used).\n"
      "\n"
      "Exit codes: 0 ok, 1 verification failed, 2 usage error, 3 I/O or format error.\n"
      "\n"
      "Examples:\n"
      "  tfckpt ls train/model.ckpt-1000\n"
      "  tfckpt cat train/ dense/kernel --json\n"
      "  tfckpt verify train/model.ckpt-1000.index\n"
      "Run 'tfckpt <command> --help' for a command's options.");

  // Only the subcommand being run declares its options: declaring all of them took a quarter of the
  // instructions of every start (CLI11 builds each option's validators and help). Help at the top
  // level, or a command line naming no known subcommand, declares them all.
  const command_entry* chosen = named_command(argc, argv);
  std::vector<command> commands;
  for (const command_entry& c : kCommands)
    if (chosen == nullptr || chosen == &c) commands.push_back(c.add(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help, --version
    std::string usage = "tfckpt";
    for (const command& c : commands)
      if (c.app->parsed()) usage += " " + c.app->get_name();
    std::string message = e.what();
    if (usage == "tfckpt") {
      // No subcommand matched: name the word that should have been one.
      for (int i = 1; i < argc; ++i) {
        if (argv[i][0] == '-') continue;
        std::string names;
        for (const command& c : commands) names += (names.empty() ? "" : ", ") + c.app->get_name();
        message = "unknown command '" + std::string(argv[i]) + "' (commands: " + names + ")";
        break;
      }
    }
    std::cerr << "tfckpt: " << message << "\nRun '" << usage << " --help' for usage.\n";
    return kExitUsage;
  }
  for (const command& c : commands)
    if (c.app->parsed()) return c.run();
  return kExitUsage;  // unreachable: require_subcommand(1)
}
