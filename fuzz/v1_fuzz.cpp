// SPDX-License-Identifier: Apache-2.0
// A V1 checkpoint (one SSTable of SavedTensorSlices records, codec/v1_values.hpp and the V1 path
// of checkpoint.hpp) through tfckpt::open: the input is the file, block checksums fixed up so that
// mutations reach the records. Every tensor is read (values decoded at open, assembled slices) and
// verified. Every error must name the file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string file(reinterpret_cast<const char*>(data), size);
  tfckpt_fuzz::fix_table_checksums(std::span<std::byte>(reinterpret_cast<std::byte*>(file.data()), file.size()));
  const std::filesystem::path& dir = tfckpt_fuzz::scratch_dir();
  const std::string path = (dir / "model.ckpt").string();
  tfckpt_fuzz::write_file(path, file);

  auto ckpt = tfckpt::open(path);
  tfckpt_fuzz::expect_names(ckpt.status(), dir.string());
  if (!ckpt.ok()) return 0;
  if (!ckpt->is_v1()) tfckpt_fuzz::broken_promise("a lone SSTable opened as something other than V1", absl::OkStatus());
  for (const tfckpt::entry& e : ckpt->entries()) {
    const auto bytes = e.bytes();
    tfckpt_fuzz::expect_names(bytes.status(), dir.string());
    if (bytes.ok() && bytes->size() != e.size()) tfckpt_fuzz::broken_promise("bytes() size differs from size()", bytes.status());
    const absl::Status visited = e.visit_values([](const auto& values) {
      volatile std::size_t n = values.size();
      (void)n;
    });
    if (visited.code() != absl::StatusCode::kUnimplemented) tfckpt_fuzz::expect_names(visited, dir.string());
  }
  const tfckpt::verify_report report = ckpt->verify();
  for (const absl::Status& s : report.problems) tfckpt_fuzz::expect_names(s, dir.string());
  // V1 stores no checksums: they are computed from the values decoded at open, so a V1 checkpoint
  // that opened cannot fail verification.
  if (!report.ok()) tfckpt_fuzz::broken_promise("an opened V1 checkpoint fails verify", report.problems.front());
  return 0;
}
