// SPDX-License-Identifier: Apache-2.0
// A whole V2 bundle through the public API: the input is a 4-byte little-endian index length, the
// `.index` bytes, then the `.data-00000-of-00001` bytes. The index's block checksums are fixed up
// first (the sstable target covers checksum failures) so mutations reach the records behind them.
// Then tfckpt::open, every entry's bytes, typed values or strings, slice metadata, find(), and
// verify(). Every error must name a file of this checkpoint.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace {

void read_entry(const tfckpt::checkpoint& ckpt, const tfckpt::entry& e, std::string_view dir) {
  const auto bytes = e.bytes();
  tfckpt_fuzz::expect_names(bytes.status(), dir);
  if (bytes.ok() && bytes->size() != e.size()) tfckpt_fuzz::broken_promise("bytes() size differs from size()", bytes.status());
  const absl::Status visited = e.visit_values([&](const auto& values) {
    volatile std::size_t n = values.size();
    (void)n;
  });
  if (visited.code() != absl::StatusCode::kUnimplemented) tfckpt_fuzz::expect_names(visited, dir);
  for (std::uint32_t i = 0; i < e.num_slices(); ++i) {
    if (e.slice_extents(i).size() != e.shape().size()) tfckpt_fuzz::broken_promise("slice rank differs", absl::OkStatus());
    (void)e.slice_entry(i).name();
  }
  if (ckpt.find(e.name()) != &e) tfckpt_fuzz::broken_promise("find() does not return the entry", absl::OkStatus());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tfckpt_fuzz::input_reader in(data, size);
  const std::uint32_t index_len = in.u32();
  std::string index(in.bytes(index_len));
  const std::string_view shard = in.rest();
  tfckpt_fuzz::fix_table_checksums(std::span<std::byte>(reinterpret_cast<std::byte*>(index.data()), index.size()));

  const std::filesystem::path& dir = tfckpt_fuzz::scratch_dir();
  const std::string prefix = (dir / "model.ckpt").string();
  tfckpt_fuzz::write_file(prefix + ".index", index);
  tfckpt_fuzz::write_file(prefix + ".data-00000-of-00001", shard);

  auto ckpt = tfckpt::open(prefix);
  tfckpt_fuzz::expect_names(ckpt.status(), dir.string());
  if (!ckpt.ok()) return 0;
  for (const tfckpt::entry& e : ckpt->entries()) read_entry(*ckpt, e, dir.string());
  for (const tfckpt::entry& e : ckpt->stored_entries()) (void)e.bytes();
  const tfckpt::verify_report report = ckpt->verify();
  for (const absl::Status& s : report.problems) tfckpt_fuzz::expect_names(s, dir.string());
  if (report.tensors_checked > report.tensors_total || report.bytes_checked > report.bytes_total)
    tfckpt_fuzz::broken_promise("verify checked more than there is", absl::OkStatus());
  (void)ckpt->find("");
  (void)ckpt->get("no such tensor");
  return 0;
}
