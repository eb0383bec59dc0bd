// SPDX-License-Identifier: Apache-2.0
// Rewrites that keep a stored tensor's bytes as they are (select, drops, cp) have the kernel copy
// them (bundle_writer::add_copied, copy_file_range) with the checksum the source's index holds.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/copy.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/views/filter.hpp"

namespace kernel_copy_test {
namespace {

namespace fs = std::filesystem;

// Two tensors large enough for the kernel copy (2 MiB and 1 MiB), one small one.
std::vector<tfckpt_testing::tensor_spec> tensors() {
  std::vector<float> big(512 * 1024), mid(256 * 1024);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 1000) * 0.25f;
  for (std::size_t i = 0; i < mid.size(); ++i) mid[i] = -static_cast<float>(i % 77);
  return {tfckpt_testing::float_tensor("big", {512, 1024}, big), tfckpt_testing::float_tensor("mid", {256, 1024}, mid),
          tfckpt_testing::float_tensor("small", {4}, {1, 2, 3, 4})};
}

std::string data_of(const fs::path& prefix) {
  return tfckpt_testing::file_bytes(prefix.string() + ".data-00000-of-00001");
}

TEST(KernelCopy, AddCopiedKeepsBytesAndStoredChecksum) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir.path() / "src", tensors());
  auto src = tfckpt::open(dir.path() / "src");
  ASSERT_TRUE(src.ok()) << src.status();
  const tfckpt::entry& mid = **src->get("mid");
  const tfckpt::io::mapped_file* shard = tfckpt::detail::mapped_shard_of(mid);
  ASSERT_NE(shard, nullptr);

  auto w = tfckpt::bundle_writer::create(dir.path() / "out", {.sync = false});
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(w->add_copied("renamed", mid.dtype(), mid.shape(), *shard, mid.offset(), mid.size(), mid.stored_crc32c()).ok());
  // Checked as add() checks: a byte count that does not fit the shape, a range past the file.
  EXPECT_EQ(w->add_copied("bad", mid.dtype(), mid.shape(), *shard, mid.offset(), mid.size() - 4, 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w->add_copied("past", mid.dtype(), mid.shape(), *shard, shard->size() - 8, mid.size(), 0).code(),
            absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(w->finish().ok());

  auto out = tfckpt::open(dir.path() / "out");
  ASSERT_TRUE(out.ok()) << out.status();
  const tfckpt::entry& copied = **out->get("renamed");
  EXPECT_EQ(copied.stored_crc32c(), mid.stored_crc32c());
  EXPECT_TRUE(std::ranges::equal(*copied.bytes(), *mid.bytes()));
  EXPECT_TRUE(out->verify().ok());
}

TEST(KernelCopy, ASourceReplacedSinceOpenIsNotCopied) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir.path() / "src", tensors());
  auto src = tfckpt::open(dir.path() / "src");
  ASSERT_TRUE(src.ok());
  const tfckpt::entry& big = **src->get("big");
  ASSERT_TRUE(big.bytes().ok());  // maps the shard
  const std::string data = dir.path().string() + "/src.data-00000-of-00001";
  fs::rename(data, data + ".old");
  tfckpt_testing::set_file_bytes(data, std::string(8 << 20, 'x'));
  auto w = tfckpt::bundle_writer::create(dir.path() / "out", {.sync = false});
  ASSERT_TRUE(w.ok());
  const absl::Status s = w->add_copied("big", big.dtype(), big.shape(), *tfckpt::detail::mapped_shard_of(big), big.offset(),
                                       big.size(), big.stored_crc32c());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("replaced or removed"), std::string_view::npos) << s;
}

// A damaged source byte tells the paths apart: the kernel copy keeps the stored checksum, so the
// damage stays detectable; a streamed rewrite checksums what it writes.
TEST(KernelCopy, SelectAndCopyTakeLargeTensorsAsStored) {
  tfckpt_testing::scratch_dir dir;
  const fs::path src_prefix = dir.path() / "src";
  tfckpt_testing::write_bundle(src_prefix, tensors());
  std::string data = data_of(src_prefix);
  data[100] = static_cast<char>(data[100] ^ 0x40);  // inside "big", the first tensor
  tfckpt_testing::set_file_bytes(src_prefix.string() + ".data-00000-of-00001", data);
  auto src = tfckpt::open(src_prefix);
  ASSERT_TRUE(src.ok()) << src.status();

  // select big and small
  ASSERT_TRUE(tfckpt::write_bundle(tfckpt::collect(tfckpt::entries(*src) | tfckpt::views::filter([](const tfckpt::tensor& t) {
                                                     return t.name != "mid";
                                                   })),
                                   dir.path() / "selected",
                                   {.writer = {.sync = false, .copy_stored = tfckpt::bundle_writer_options::kernel_copy::always}})
                  .ok());
  auto selected = tfckpt::open(dir.path() / "selected");
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((**selected->get("big")).stored_crc32c(), (**src->get("big")).stored_crc32c());
  const tfckpt::verify_report report = selected->verify();
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].message().find("'big'"), std::string_view::npos) << report.problems[0];

  ASSERT_TRUE(tfckpt::copy_checkpoint(*src, dir.path() / "copy",
                                      {.sync = false, .copy_stored = tfckpt::bundle_writer_options::kernel_copy::always})
                  .ok());
  // Streamed instead (`never`), the copy checksums the damaged bytes anew: its index differs.
  ASSERT_TRUE(tfckpt::copy_checkpoint(*src, dir.path() / "streamed",
                                      {.sync = false, .copy_stored = tfckpt::bundle_writer_options::kernel_copy::never})
                  .ok());
  EXPECT_NE(tfckpt_testing::file_bytes(dir.path() / "streamed.index"), tfckpt_testing::file_bytes(src_prefix.string() + ".index"));
  EXPECT_EQ(tfckpt_testing::file_bytes(dir.path() / "copy.index"), tfckpt_testing::file_bytes(src_prefix.string() + ".index"));
  EXPECT_EQ(data_of(dir.path() / "copy"), data);
}

}  // namespace
}  // namespace kernel_copy_test
