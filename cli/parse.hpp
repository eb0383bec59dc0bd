// SPDX-License-Identifier: Apache-2.0
// Small parsing helpers the subcommands share.
#ifndef TFCKPT_CLI_PARSE_HPP_
#define TFCKPT_CLI_PARSE_HPP_

#include <string>
#include <vector>

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

}  // namespace tfckpt_cli

#endif  // TFCKPT_CLI_PARSE_HPP_
