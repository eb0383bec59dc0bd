// SPDX-License-Identifier: Apache-2.0
// The SSTable reader (codec/table.hpp, codec/block.hpp) on arbitrary bytes: the whole input as a
// table (walked as stored, then again with its block checksums made to match), and as one block.
// A walk that succeeds must yield strictly increasing keys; a failed one must name the file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tfckpt/codec/block.hpp"
#include "tfckpt/codec/table.hpp"

namespace {

constexpr std::string_view kFile = "fuzz.index";

void walk_table(std::span<const std::byte> bytes) {
  std::string previous;
  bool first = true;
  std::uint64_t entries = 0;
  tfckpt::codec::table_stats stats;
  const absl::Status s = tfckpt::codec::for_each_table_entry(
      kFile, bytes,
      [&](std::string_view key, std::span<const std::byte> value, std::uint64_t at) -> absl::Status {
        if (!first && key <= std::string_view(previous))
          tfckpt_fuzz::broken_promise("table keys are not increasing", absl::OkStatus());
        if (at >= bytes.size()) tfckpt_fuzz::broken_promise("entry offset lies outside the table", absl::OkStatus());
        volatile std::byte sink{};
        if (!value.empty()) sink = value.back();  // the value view must be readable
        (void)sink;
        previous.assign(key);
        first = false;
        ++entries;
        return absl::OkStatus();
      },
      &stats);
  tfckpt_fuzz::expect_names(s, kFile);
  if (s.ok() && stats.entries != entries) tfckpt_fuzz::broken_promise("table_stats miscounts entries", s);
}

void walk_block(std::span<const std::byte> bytes) {
  const tfckpt::codec::block_location where{kFile, 0, false};
  const auto block = tfckpt::codec::block_view::parse(bytes, where);
  tfckpt_fuzz::expect_names(block.status(), kFile);
  if (!block.ok()) return;
  if (block->entries_size() > bytes.size()) tfckpt_fuzz::broken_promise("entry area exceeds the block", absl::OkStatus());
  const absl::Status s = block->for_each([&](std::string_view, std::span<const std::byte>, std::uint64_t pos) {
    if (pos >= block->entries_size()) tfckpt_fuzz::broken_promise("entry position outside the entries", absl::OkStatus());
    return absl::OkStatus();
  });
  tfckpt_fuzz::expect_names(s, kFile);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  walk_table(bytes);
  walk_block(bytes);
  std::vector<std::byte> fixed(bytes.begin(), bytes.end());
  tfckpt_fuzz::fix_table_checksums(fixed);
  if (!std::equal(fixed.begin(), fixed.end(), bytes.begin())) walk_table(fixed);
  return 0;
}
