// SPDX-License-Identifier: Apache-2.0
// checkpoint::verify() on several threads, and over a tensor large enough to be checked in 64 MiB
// pieces whose checksums are combined: the report (problems in key order, counts, progress) must be
// the same whatever the thread count, and corruption anywhere in a piece must be found. Bundles
// come from tests/testing/bundle_builder.hpp (LevelDB's TableBuilder), not from the library's writer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace verify_threads_test {

namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::tfckpt_testing::float_tensor;
using ::tfckpt_testing::scratch_dir;
using ::tfckpt_testing::StatusIs;
using ::tfckpt_testing::string_tensor;

// 64 MiB + 4 KiB of float32: two pieces, the second short.
constexpr std::int64_t kBigElements = (std::int64_t{64} << 20) / 4 + 1024;

std::vector<float> ramp(std::int64_t n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 10007) * 0.5f;
  return v;
}

class VerifyThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = (dir_ / "model.ckpt").string();
    data_ = prefix_ + ".data-00000-of-00001";
    tfckpt_testing::write_bundle(prefix_, {
                                              float_tensor("a", {4}, {1, 2, 3, 4}),
                                              float_tensor("big", {kBigElements}, ramp(kBigElements)),
                                              float_tensor("c", {3}, {5, 6, 7}),
                                              string_tensor("d", {2}, {"x", "yz"}),
                                          });
  }

  // Flips one bit at each offset, writing a new file renamed over the old (never in place).
  void corrupt(const std::vector<std::uint64_t>& offsets) {
    std::string bytes(static_cast<std::size_t>(fs::file_size(data_)), '\0');
    {
      std::ifstream in(data_, std::ios::binary);
      in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      ASSERT_TRUE(in) << data_;
    }
    for (const std::uint64_t at : offsets) bytes[at] ^= 0x10;
    {
      std::ofstream out(data_ + ".new", std::ios::binary);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    fs::rename(data_ + ".new", data_);
  }

  scratch_dir dir_;
  std::string prefix_, data_;
};

TEST_F(VerifyThreadsTest, IntactCheckpointPassesWithAnyThreadCount) {
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix_));
  for (const unsigned threads : {1u, 2u, 3u, 0u}) {
    SCOPED_TRACE(threads);
    std::vector<std::uint64_t> seen;
    std::uint64_t reported_total = 0;
    const tfckpt::verify_report report = ckpt.verify({.progress =
                                                          [&](std::uint64_t done, std::uint64_t total) {
                                                            seen.push_back(done);
                                                            reported_total = total;
                                                          },
                                                      .threads = threads});
    EXPECT_TRUE(report.ok()) << report.problems.front();
    EXPECT_EQ(report.tensors_checked, 4u);
    EXPECT_EQ(report.tensors_total, 4u);
    EXPECT_EQ(report.bytes_checked, report.bytes_total);
    EXPECT_EQ(report.bytes_total, fs::file_size(data_));
    EXPECT_EQ(reported_total, report.bytes_total);
    ASSERT_FALSE(seen.empty());
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(seen.back(), report.bytes_total);
  }
}

TEST_F(VerifyThreadsTest, CorruptionInEitherPieceIsFoundAndReportedInKeyOrder) {
  std::uint64_t big_offset = 0, big_size = 0, c_offset = 0;
  {
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix_));
    big_offset = (*ckpt.get("big"))->offset();
    big_size = (*ckpt.get("big"))->size();
    c_offset = (*ckpt.get("c"))->offset();
  }
  for (const std::uint64_t in_big : {std::uint64_t{100}, big_size - 8}) {  // first piece, second piece
    SCOPED_TRACE(in_big);
    SetUp();  // a fresh copy
    corrupt({big_offset + in_big, c_offset + 2});
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix_));
    for (const unsigned threads : {1u, 2u, 4u}) {
      SCOPED_TRACE(threads);
      const tfckpt::verify_report report = ckpt.verify({.threads = threads});
      ASSERT_EQ(report.problems.size(), 2u);
      EXPECT_THAT(report.problems[0],
                  StatusIs(absl::StatusCode::kDataLoss,
                           AllOf(HasSubstr(absl::StrFormat("%s @%d: checksum mismatch over %d bytes", data_, big_offset,
                                                           big_size)),
                                 HasSubstr("for key 'big'"))));
      EXPECT_THAT(report.problems[1], StatusIs(absl::StatusCode::kDataLoss, HasSubstr("for key 'c'")));
      EXPECT_EQ(report.tensors_checked, 4u);
    }
    ASSERT_OK_AND_ASSIGN(const tfckpt::entry* big, ckpt.get("big"));
    EXPECT_THAT(big->verify(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("for key 'big'")));
  }
}

TEST_F(VerifyThreadsTest, MissingShardIsReportedOnceWhateverTheThreads) {
  fs::remove(data_);
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix_));
  for (const unsigned threads : {1u, 4u}) {
    const tfckpt::verify_report report = ckpt.verify({.threads = threads});
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_THAT(report.problems[0], StatusIs(absl::StatusCode::kNotFound, HasSubstr("is missing")));
    EXPECT_EQ(report.tensors_checked, 0u);
  }
}

// Many small tensors: verify reads neighbours in one pread (a run) and checks each on its own. A
// string tensor and one too large for a run sit among them.
class VerifyRunsTest : public ::testing::Test {
 protected:
  static constexpr int kCount = 1200;
  static std::string name_of(int i) { return absl::StrFormat("t%04d", i); }

  void SetUp() override {
    prefix_ = (dir_ / "model.ckpt").string();
    data_ = prefix_ + ".data-00000-of-00001";
    std::vector<tfckpt_testing::tensor_spec> tensors;
    for (int i = 0; i < kCount; ++i) {
      const std::int64_t n = i == 600 ? (std::int64_t{300} << 10) / 4 : 1 + (i * 37) % 300;
      if (i == 300) {
        tensors.push_back(string_tensor(name_of(i), {2}, {"x", "yz"}));
      } else {
        tensors.push_back(float_tensor(name_of(i), {n}, ramp(n)));
      }
    }
    tfckpt_testing::write_bundle(prefix_, tensors);
  }

  void flip_in_place(std::uint64_t offset) {
    std::fstream f(data_, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(offset));
    const int c = f.get();
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x40));
  }

  scratch_dir dir_;
  std::string prefix_, data_;
};

TEST_F(VerifyRunsTest, EveryDamagedTensorIsNamedWhateverTheThreads) {
  const std::vector<int> damaged = {0, 1, 299, 301, 599, 601, 1199};
  {
    ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix_));
    for (const int i : damaged) {
      ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get(name_of(i)));
      flip_in_place(e->offset() + e->size() - 1);
    }
  }
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix_));
  for (const unsigned threads : {1u, 2u, 3u}) {
    SCOPED_TRACE(threads);
    std::vector<std::uint64_t> seen;
    const tfckpt::verify_report report =
        ckpt.verify({.progress = [&](std::uint64_t done, std::uint64_t) { seen.push_back(done); }, .threads = threads});
    EXPECT_EQ(report.tensors_checked, static_cast<std::uint64_t>(kCount));
    EXPECT_EQ(report.bytes_checked, report.bytes_total);
    ASSERT_EQ(report.problems.size(), damaged.size());
    for (std::size_t k = 0; k < damaged.size(); ++k) {
      ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get(name_of(damaged[k])));
      EXPECT_THAT(report.problems[k],
                  StatusIs(absl::StatusCode::kDataLoss,
                           AllOf(HasSubstr(absl::StrFormat("%s @%d: checksum mismatch over %d bytes", data_, e->offset(),
                                                           e->size())),
                                 HasSubstr("for key '" + name_of(damaged[k]) + "'"))));
    }
    ASSERT_FALSE(seen.empty());
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(seen.back(), report.bytes_total);
  }
}

TEST_F(VerifyRunsTest, AShardCutShortAfterMappingFailsOnlyTheTensorsPastTheCut) {
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix_));
  ASSERT_TRUE(ckpt.verify().ok());  // the shard is mapped now, at its full size
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* cut_in, ckpt.get(name_of(900)));
  fs::resize_file(data_, cut_in->offset() + 1);  // in place, against the rules: reads must fail cleanly
  for (const unsigned threads : {1u, 2u}) {
    SCOPED_TRACE(threads);
    const tfckpt::verify_report report = ckpt.verify({.threads = threads});
    ASSERT_EQ(report.problems.size(), static_cast<std::size_t>(kCount - 900));
    for (std::size_t k = 0; k < report.problems.size(); ++k) {
      const std::string key = name_of(900 + static_cast<int>(k));
      EXPECT_THAT(report.problems[k], StatusIs(absl::StatusCode::kDataLoss,
                                               AllOf(HasSubstr(data_), HasSubstr("for key '" + key + "'"))));
    }
  }
}

// A string tensor is decoded whole; with its shard cut short in place after mapping, the pages past
// the cut are gone, and verify must say so instead of faulting on them.
TEST(VerifyStrings, AShardCutShortUnderAStringTensorIsAnErrorNotAFault) {
  scratch_dir dir;
  const std::string prefix = (dir / "model.ckpt").string(), data = prefix + ".data-00000-of-00001";
  std::vector<std::string> words;
  for (int i = 0; i < 4000; ++i) words.push_back(absl::StrFormat("word-%010d", i));  // ~64 KB stored
  tfckpt_testing::write_bundle(prefix, {float_tensor("a", {2}, {1, 2}),
                                        string_tensor("vocab", {static_cast<std::int64_t>(words.size())}, words)});
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(prefix));
  ASSERT_TRUE(ckpt.verify().ok());  // the shard is mapped now, at its full size
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* vocab, ckpt.get("vocab"));
  ASSERT_GT(vocab->size(), 8u * 4096);
  fs::resize_file(data, vocab->offset() + 10);  // in place, against the rules: reads must fail cleanly
  const tfckpt::verify_report report = ckpt.verify();
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_THAT(report.problems[0],
              StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(data), HasSubstr("for key 'vocab'"))));
}

}  // namespace

}  // namespace verify_threads_test
