// SPDX-License-Identifier: Apache-2.0
// Reads the ground truth out of the fixtures' MANIFEST.md: for every V2 index it lists, the
// header facts (entries, shards, compression) and the table of `key dtype shape shard offset size`
// that an independent reader decoded from the files TensorFlow wrote.
#ifndef TFCKPT_TESTING_MANIFEST_HPP_
#define TFCKPT_TESTING_MANIFEST_HPP_

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace tfckpt_testing {

struct manifest_entry {
  std::string key, dtype;
  std::vector<std::int64_t> shape;
  std::int32_t shard = 0;
  std::uint64_t offset = 0, size = 0;
};

struct manifest_index {
  std::filesystem::path index;  // absolute path of the `.index` file
  std::size_t num_entries = 0;
  std::int32_t num_shards = 0;
  bool snappy = false;
  std::size_t crcs_verified = 0;   // entries whose data is present and whose CRC the manifest checked
  std::vector<manifest_entry> entries;  // empty when the manifest says "same ... as <other>"
  std::string same_as;                  // the index whose table this one shares, if any
};

inline std::vector<std::int64_t> parse_manifest_shape(const std::string& s) {
  std::vector<std::int64_t> dims;
  std::string inner = s.substr(1, s.size() - 2);
  std::stringstream in(inner);
  std::string d;
  while (std::getline(in, d, ',')) dims.push_back(std::stoll(d));
  return dims;
}

/// Every "V2 bundle index" described in `<fixtures>/MANIFEST.md`.
inline std::vector<manifest_index> read_manifest(const std::filesystem::path& fixtures) {
  std::ifstream in(fixtures / "MANIFEST.md");
  std::vector<manifest_index> out;
  std::string line, set;
  const std::regex set_re(R"(^## `([^`]+)`)");
  const std::regex index_re(
      R"(^\*\*`([^`]+\.index)`\*\* — V2 bundle index: (\d+) entries \(\+header\), num_shards=(\d+).*compression=(\w+).*entry CRCs verified: (\d+))");
  const std::regex same_re(R"(^\(same \d+ keys.* as ([\w.-]+),)");
  std::smatch m;
  manifest_index* current = nullptr;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, set_re)) {
      set = m[1];
      current = nullptr;
      continue;
    }
    if (std::regex_search(line, m, index_re)) {
      out.push_back({});
      current = &out.back();
      current->index = fixtures / set / m[1].str();
      current->num_entries = std::stoul(m[2]);
      current->num_shards = std::stoi(m[3]);
      current->snappy = m[4] == "snappy";
      current->crcs_verified = std::stoul(m[5]);
      continue;
    }
    if (current == nullptr) continue;
    if (std::regex_search(line, m, same_re)) {
      current->same_as = m[1];
      current = nullptr;
      continue;
    }
    if (line == "# key  dtype  shape  shard  offset  size") {
      in_table = true;
      continue;
    }
    if (in_table) {
      if (line.rfind("```", 0) == 0) {
        in_table = false;
        current = nullptr;
        continue;
      }
      // Columns are separated by two spaces; keys contain no spaces.
      std::stringstream row(line);
      manifest_entry e;
      std::string shape;
      row >> e.key >> e.dtype >> shape >> e.shard >> e.offset >> e.size;
      e.shape = parse_manifest_shape(shape);
      current->entries.push_back(e);
    }
  }
  return out;
}

}  // namespace tfckpt_testing

#endif  // TFCKPT_TESTING_MANIFEST_HPP_
