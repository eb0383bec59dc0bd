// SPDX-License-Identifier: Apache-2.0
// entry::read and the random-access reads of host_order_source(): the same bytes as the mapped
// payload, whether a range goes by pread (a page or more) or is copied from the mapping, on files
// this test writes and on files TensorFlow wrote; ranges past the tensor are errors naming it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace entry_read_test {

namespace {
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;

std::string as_string(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

std::string read_range(const tfckpt::entry& e, std::uint64_t offset, std::size_t n, bool through_source) {
  std::string out(n, '\0');
  const std::span<std::byte> to{reinterpret_cast<std::byte*>(out.data()), n};
  EXPECT_OK(through_source ? e.host_order_source().read(offset, to) : e.read(offset, to)) << e.name();
  return out;
}

// Ranges of every size class: empty, a few bytes, just under and over a page, the whole tensor.
std::vector<std::pair<std::uint64_t, std::size_t>> ranges_of(std::uint64_t size) {
  std::vector<std::pair<std::uint64_t, std::size_t>> r = {{0, 0}, {0, static_cast<std::size_t>(size)}};
  for (const std::uint64_t n : {std::uint64_t{3}, std::uint64_t{4095}, std::uint64_t{4096}, std::uint64_t{10'001}})
    if (n <= size) r.emplace_back((size - n) / 3, static_cast<std::size_t>(n));
  return r;
}

// Reads every range of ranges_of(e.size()) through entry::read and host_order_source().read and
// compares them with bytes(); returns how many ranges were checked.
int expect_reads_match_bytes(const tfckpt::entry& e) {
  const auto bytes = e.bytes();
  EXPECT_OK(bytes.status()) << e.name();
  if (!bytes.ok()) return 0;
  const std::string all = as_string(*bytes);
  int checked = 0;
  for (const auto& [offset, n] : ranges_of(e.size())) {
    EXPECT_EQ(read_range(e, offset, n, false), all.substr(offset, n)) << e.name() << " @" << offset << "+" << n;
    EXPECT_EQ(read_range(e, offset, n, true), all.substr(offset, n)) << e.name() << " @" << offset << "+" << n;
    ++checked;
  }
  return checked;
}

TEST(EntryRead, EveryRangeMatchesTheMappedBytes) {
  tfckpt_testing::scratch_dir dir;
  std::vector<float> big(30'000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i) * 0.25f - 7.0f;
  tfckpt_testing::write_bundle(dir / "m", {tfckpt_testing::float_tensor("big", {100, 300}, big),
                                           tfckpt_testing::float_tensor("small", {2}, {1.0f, 2.0f})});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  for (const tfckpt::entry& e : ckpt.entries()) EXPECT_GT(expect_reads_match_bytes(e), 0);
}

TEST(EntryRead, PastTheTensorIsOutOfRangeNamingIt) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "m", {tfckpt_testing::float_tensor("w", {4}, {1, 2, 3, 4})});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* w, ckpt.get("w"));
  std::string out(8, '\0');
  EXPECT_THAT(w->read(12, {reinterpret_cast<std::byte*>(out.data()), out.size()}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("'w'")));
}

TEST(EntryRead, AMissingShardIsNamed) {
  tfckpt_testing::scratch_dir dir;
  std::vector<float> v(2048, 1.0f);
  tfckpt_testing::write_bundle(dir / "m", {tfckpt_testing::float_tensor("w", {2048}, v)});
  std::filesystem::remove(dir / "m.data-00000-of-00001");
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* w, ckpt.get("w"));
  std::string out(8192, '\0');
  EXPECT_THAT(w->read(0, {reinterpret_cast<std::byte*>(out.data()), out.size()}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("data-00000-of-00001")));
}

TEST(EntryRead, TensorFlowWrittenFilesReadAsMapped) {
  TFCKPT_REQUIRE_FIXTURES();
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt,
                       tfckpt::open(tfckpt_testing::fixtures_dir() / "mnist_ema/MNIST_model"));
  int checked = 0;
  for (const tfckpt::entry& e : ckpt.entries())
    if (e.bytes_in_host_order()) checked += expect_reads_match_bytes(e);
  EXPECT_GT(checked, 10);
}

}  // namespace

}  // namespace entry_read_test
