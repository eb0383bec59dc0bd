// SPDX-License-Identifier: Apache-2.0
// The tfckpt tool's subcommands and exit codes.
//
// Adding a subcommand: write cli/cmd_<name>.cpp defining `command add_<name>(CLI::App& parent)`
// (declare its options on a subcommand of `parent`, return the code that runs it), declare it
// below, append it to kCommands, and list the file in cli/CMakeLists.txt. A subcommand should be a
// few library calls plus formatting (output.hpp); anything more belongs in include/tfckpt/.
#ifndef TFCKPT_CLI_COMMANDS_HPP_
#define TFCKPT_CLI_COMMANDS_HPP_

#include <functional>
#include <string_view>

#include <CLI/CLI.hpp>

namespace tfckpt_cli {

/// The tool's exit codes.
enum exit_code : int {
  kExitOk = 0,           // success; for verify: every check held
  kExitCheckFailed = 1,  // verify found a problem
  kExitUsage = 2,        // bad command line
  kExitError = 3,        // I/O or format error (message on stderr, prefixed "tfckpt: ")
};

/// A registered subcommand: its CLI11 app (owned by the parent) and what runs it after a parse.
struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

command add_ls(CLI::App& parent);
command add_cat(CLI::App& parent);
command add_verify(CLI::App& parent);
command add_cp(CLI::App& parent);
command add_latest(CLI::App& parent);
command add_prune(CLI::App& parent);
command add_select(CLI::App& parent);
command add_rename(CLI::App& parent);
command add_avg(CLI::App& parent);
command add_merge(CLI::App& parent);
command add_convert(CLI::App& parent);
command add_freeze(CLI::App& parent);
command add_inspect(CLI::App& parent);
command add_diff(CLI::App& parent);
command add_match(CLI::App& parent);
command add_graph(CLI::App& parent);
command add_import(CLI::App& parent);

/// Help text of the CKPT argument every subcommand takes (resolved by tfckpt::open).
inline constexpr const char* kCheckpointHelp =
    "Checkpoint prefix, its .index file, a directory with a 'checkpoint' file, or a SavedModel directory";

/// A subcommand's name, as `tfckpt NAME` spells it and as add_NAME declares it, and what declares it.
struct command_entry {
  std::string_view name;
  command (*add)(CLI::App&);
};

/// Every subcommand, in the order `tfckpt --help` lists them.
inline constexpr command_entry kCommands[] = {
    {"ls", add_ls},
    {"cat", add_cat},
    {"inspect", add_inspect},
    {"diff", add_diff},
    {"verify", add_verify},
    {"match", add_match},
    {"graph", add_graph},
    {"cp", add_cp},
    {"latest", add_latest},
    {"prune", add_prune},
    {"select", add_select},
    {"rename", add_rename},
    {"convert", add_convert},
    {"import", add_import},
    {"merge", add_merge},
    {"avg", add_avg},
    {"freeze", add_freeze},
};

}  // namespace tfckpt_cli

#endif  // TFCKPT_CLI_COMMANDS_HPP_
