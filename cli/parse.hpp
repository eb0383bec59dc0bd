// SPDX-License-Identifier: Apache-2.0
// Small parsing helpers the subcommands share.
#ifndef TFCKPT_CLI_PARSE_HPP_
#define TFCKPT_CLI_PARSE_HPP_

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands.hpp"

namespace tfckpt_cli {

/// "a, b,,c" -> {"a", "b", "c"}: comma-separated names, spaces and empty items dropped (node names,
/// tag sets).
inline std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  for (char c : s + ",") {
    if (c == ',') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else if (c != ' ') {
      item += c;
    }
  }
  return out;
}

/// "LEFT=RIGHT" split at the last '=' (a regex may hold one; names and axes never do); nullopt
/// without an '=' or with nothing left of it. RIGHT may be empty (a rename to nothing). Every
/// NAME=VALUE option (--rule, --scope, --group, --axis, ...) parses this way.
inline std::optional<std::pair<std::string, std::string>> split_last_equals(std::string_view s) {
  const auto eq = s.rfind('=');
  if (eq == std::string_view::npos || eq == 0) return std::nullopt;
  return std::pair(std::string(s.substr(0, eq)), std::string(s.substr(eq + 1)));
}

/// A bad command line: prints "tfckpt: MESSAGE" and where the usage of `command` is, and returns
/// kExitUsage.
inline int usage_error(std::string_view command, std::string_view message) {
  std::fprintf(stderr, "tfckpt: %.*s\nRun 'tfckpt %.*s --help' for usage.\n", static_cast<int>(message.size()),
               message.data(), static_cast<int>(command.size()), command.data());
  return kExitUsage;
}

}  // namespace tfckpt_cli

#endif  // TFCKPT_CLI_PARSE_HPP_
