// SPDX-License-Identifier: Apache-2.0
// io::mapped_file: read() copies the same bytes as the mapping holds, without needing it; a file
// replaced or truncated after mapping never yields wrong bytes or a fault.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/io/mapped_file.hpp"

namespace mapped_file_test {

namespace {
using ::testing::HasSubstr;
using tfckpt::io::mapped_file;
using tfckpt_testing::StatusIs;

std::string pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 4099 + static_cast<std::size_t>(seed)) & 0xff);
  return s;
}

void spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

std::string read_string(const mapped_file& f, std::uint64_t offset, std::size_t n, absl::Status* status) {
  std::string out(n, '\0');
  *status = f.read(offset, {reinterpret_cast<std::byte*>(out.data()), n});
  return out;
}

TEST(MappedFileRead, CopiesTheBytesOfAnyRange) {
  tfckpt_testing::scratch_dir dir;
  const std::string data = pattern(300'000, 7);
  spit(dir / "f", data);
  ASSERT_OK_AND_ASSIGN(const mapped_file f, mapped_file::open((dir / "f").string()));
  for (const auto& [offset, n] : std::vector<std::pair<std::uint64_t, std::size_t>>{
           {0, 0}, {0, 1}, {4095, 2}, {12345, 70'000}, {0, data.size()}, {data.size() - 3, 3}, {data.size(), 0}}) {
    absl::Status s;
    const std::string got = read_string(f, offset, n, &s);
    ASSERT_OK(s);
    EXPECT_EQ(got, data.substr(offset, n)) << offset << "+" << n;
  }
}

TEST(MappedFileRead, PastTheEndIsOutOfRangeNamingTheFile) {
  tfckpt_testing::scratch_dir dir;
  spit(dir / "f", pattern(100, 1));
  ASSERT_OK_AND_ASSIGN(const mapped_file f, mapped_file::open((dir / "f").string()));
  absl::Status s;
  read_string(f, 90, 11, &s);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kOutOfRange, HasSubstr((dir / "f").string())));
  read_string(f, 101, 0, &s);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("@101")));
}

TEST(MappedFileRead, AFileReplacedAfterMappingStillReadsTheMappedBytes) {
  tfckpt_testing::scratch_dir dir;
  const std::string old_bytes = pattern(20'000, 3);
  spit(dir / "f", old_bytes);
  ASSERT_OK_AND_ASSIGN(const mapped_file f, mapped_file::open((dir / "f").string()));
  // As checkpoints are replaced: a new file renamed over the path.
  spit(dir / "new", pattern(20'000, 9));
  std::filesystem::rename(dir / "new", dir / "f");
  absl::Status s;
  EXPECT_EQ(read_string(f, 5000, 10'000, &s), old_bytes.substr(5000, 10'000));
  ASSERT_OK(s);
  std::filesystem::remove(dir / "f");
  EXPECT_EQ(read_string(f, 0, old_bytes.size(), &s), old_bytes);
  ASSERT_OK(s);
}

TEST(MappedFileRead, AFileTruncatedInPlaceIsDataLossNotAFault) {
  tfckpt_testing::scratch_dir dir;
  const std::string data = pattern(64 * 1024, 5);
  spit(dir / "f", data);
  ASSERT_OK_AND_ASSIGN(const mapped_file f, mapped_file::open((dir / "f").string()));
  absl::Status s;
  ASSERT_EQ(read_string(f, 0, 100, &s), data.substr(0, 100));  // opens the descriptor
  ASSERT_OK(s);
  std::filesystem::resize_file(dir / "f", 8192);
  EXPECT_EQ(read_string(f, 4096, 4096, &s), data.substr(4096, 4096));
  ASSERT_OK(s);
  read_string(f, 4096, 20'000, &s);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("@8192")));
}

// What read_rows() must produce: rows of `row` bytes from `offset`, `stride` apart, the gaps untouched.
std::string expected_rows(const std::string& data, std::uint64_t offset, std::size_t row, std::size_t rows,
                          std::size_t stride, char fill) {
  std::string out(rows == 0 ? 0 : (rows - 1) * stride + row, fill);
  for (std::size_t i = 0; i < rows; ++i) out.replace(i * stride, row, data, offset + i * row, row);
  return out;
}

TEST(MappedFileReadRows, PlacesEachRowAtItsStride) {
  tfckpt_testing::scratch_dir dir;
  const std::string data = pattern(300'000, 13);
  spit(dir / "f", data);
  ASSERT_OK_AND_ASSIGN(const mapped_file f, mapped_file::open((dir / "f").string()));
  // Strides wider than the row, equal to it, and more rows than one preadv call takes (1024).
  for (const auto& [offset, row, rows, stride] : std::vector<std::tuple<std::uint64_t, std::size_t, std::size_t, std::size_t>>{
           {0, 16, 10, 48}, {7, 100, 2500, 130}, {4093, 4096, 3, 4096}, {0, 1, 3000, 2}, {299'990, 10, 1, 10}, {5, 3, 0, 8}}) {
    std::string out(rows == 0 ? 0 : (rows - 1) * stride + row, '#');
    ASSERT_OK(f.read_rows(offset, row, rows, {reinterpret_cast<std::byte*>(out.data()), out.size()}, stride));
    EXPECT_EQ(out, expected_rows(data, offset, row, rows, stride, '#')) << offset << " " << row << "x" << rows << "/" << stride;
  }
}

TEST(MappedFileReadRows, PastTheEndOrTooSmallAnOutputIsAnErrorNamingTheFile) {
  tfckpt_testing::scratch_dir dir;
  spit(dir / "f", pattern(1000, 2));
  ASSERT_OK_AND_ASSIGN(const mapped_file f, mapped_file::open((dir / "f").string()));
  std::string out(4000, '\0');
  const std::span<std::byte> buf(reinterpret_cast<std::byte*>(out.data()), out.size());
  EXPECT_THAT(f.read_rows(900, 10, 11, buf, 20), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr((dir / "f").string())));
  EXPECT_THAT(f.read_rows(0, 1, 1000, buf, 5), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stride")));
  EXPECT_THAT(f.read_rows(0, 30, 2, buf, 20), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("30 bytes")));
  EXPECT_THAT(f.read_rows(1001, 10, 0, buf, 20), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("@1001")));
}

TEST(MappedFileReadRows, AFileTruncatedInPlaceIsDataLoss) {
  tfckpt_testing::scratch_dir dir;
  const std::string data = pattern(64 * 1024, 5);
  spit(dir / "f", data);
  ASSERT_OK_AND_ASSIGN(const mapped_file f, mapped_file::open((dir / "f").string()));
  std::string out(64 * 1024 * 2, '\0');
  const std::span<std::byte> buf(reinterpret_cast<std::byte*>(out.data()), out.size());
  ASSERT_OK(f.read_rows(0, 1024, 4, buf, 2048));  // opens the descriptor
  std::filesystem::resize_file(dir / "f", 8192);
  EXPECT_THAT(f.read_rows(4096, 1024, 16, buf, 2048), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("@8192")));
}

TEST(MappedFileRead, ConcurrentFirstReadsAgree) {
  tfckpt_testing::scratch_dir dir;
  const std::string data = pattern(1 << 20, 11);
  spit(dir / "f", data);
  ASSERT_OK_AND_ASSIGN(const mapped_file f, mapped_file::open((dir / "f").string()));
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      absl::Status s;
      const std::size_t at = static_cast<std::size_t>(t) * 100'000;
      ok[static_cast<std::size_t>(t)] = read_string(f, at, 50'000, &s) == data.substr(at, 50'000) && s.ok();
    });
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(ok, ::testing::Each(1));
}

TEST(MappedFileRead, MovedFilesKeepReading) {
  tfckpt_testing::scratch_dir dir;
  const std::string data = pattern(10'000, 2);
  spit(dir / "f", data);
  ASSERT_OK_AND_ASSIGN(mapped_file f, mapped_file::open((dir / "f").string()));
  absl::Status s;
  read_string(f, 0, 10, &s);  // opens the descriptor, which moves with the file
  mapped_file g = std::move(f);
  EXPECT_EQ(read_string(g, 9000, 1000, &s), data.substr(9000));
  ASSERT_OK(s);
}

}  // namespace

}  // namespace mapped_file_test
