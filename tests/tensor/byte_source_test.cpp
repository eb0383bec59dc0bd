// SPDX-License-Identifier: Apache-2.0
// byte_source: reads of byte ranges from spans, owned bytes and readers; streaming a reader in
// bounded chunks; producer-only sources; swap_copy_range against a byte-by-byte reference.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "testing/status_matchers.hpp"
#include "tfckpt/tensor/byte_order.hpp"
#include "tfckpt/tensor/byte_source.hpp"

namespace byte_source_test {

namespace {
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt::byte_source;
using tfckpt_testing::StatusIs;

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 256) & 0xff);
  return s;
}

absl::StatusOr<std::string> read_string(const byte_source& src, std::uint64_t offset, std::size_t n) {
  std::string out(n, '\0');
  absl::Status s = src.read(offset, {reinterpret_cast<std::byte*>(out.data()), n});
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> drain(const byte_source& src, std::vector<std::size_t>* chunks = nullptr) {
  std::string out;
  absl::Status s = src.stream([&](std::span<const std::byte> b) {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    if (chunks) chunks->push_back(b.size());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

// A reader over `bytes` that records every range it is asked for.
struct recording_reader {
  std::shared_ptr<const std::string> bytes;
  std::shared_ptr<std::vector<std::pair<std::uint64_t, std::size_t>>> calls;
  absl::Status operator()(std::uint64_t offset, std::span<std::byte> out) const {
    calls->emplace_back(offset, out.size());
    std::memcpy(out.data(), bytes->data() + offset, out.size());
    return absl::OkStatus();
  }
};

TEST(ByteSourceRead, OwnedBytesReadAnyRangeAndStayContiguous) {
  const std::string data = pattern(1000);
  const byte_source src = byte_source::from_bytes(data);
  ASSERT_TRUE(src.contiguous().has_value());
  EXPECT_TRUE(src.random_access());
  for (const auto& [offset, n] : std::vector<std::pair<std::uint64_t, std::size_t>>{{0, 1000}, {3, 7}, {999, 1}, {1000, 0}, {0, 0}}) {
    ASSERT_OK_AND_ASSIGN(const std::string got, read_string(src, offset, n));
    EXPECT_EQ(got, data.substr(offset, n)) << offset << "+" << n;
  }
}

TEST(ByteSourceRead, RangesPastTheEndAreOutOfRangeNamingTheSizes) {
  const byte_source src = byte_source::from_bytes(pattern(10));
  EXPECT_THAT(read_string(src, 8, 3), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("[8, 11) from a byte source of 10 bytes")));
  EXPECT_THAT(read_string(src, 11, 0), StatusIs(absl::StatusCode::kOutOfRange, ::testing::_));
  EXPECT_THAT(read_string(src, ~std::uint64_t{0}, 2), StatusIs(absl::StatusCode::kOutOfRange, ::testing::_));
}

TEST(ByteSourceRead, ReaderComputesTheRangeAsked) {
  auto data = std::make_shared<const std::string>(pattern(5000));
  auto calls = std::make_shared<std::vector<std::pair<std::uint64_t, std::size_t>>>();
  const byte_source src = byte_source::from_reader(data->size(), recording_reader{data, calls});
  EXPECT_FALSE(src.contiguous().has_value());
  EXPECT_TRUE(src.random_access());
  EXPECT_TRUE(calls->empty());
  ASSERT_OK_AND_ASSIGN(const std::string got, read_string(src, 1234, 77));
  EXPECT_EQ(got, data->substr(1234, 77));
  EXPECT_THAT(*calls, ElementsAre(std::pair<std::uint64_t, std::size_t>{1234, 77}));
  calls->clear();
  ASSERT_OK_AND_ASSIGN(const std::string none, read_string(src, 4999, 0));
  EXPECT_TRUE(calls->empty());  // an empty read asks the reader nothing
  EXPECT_THAT(read_string(src, 4990, 11), StatusIs(absl::StatusCode::kOutOfRange, ::testing::_));
  EXPECT_TRUE(calls->empty());  // and neither does a range that does not fit
}

TEST(ByteSourceRead, StreamingAReaderReadsBoundedChunksAndReleasesBehind) {
  const std::size_t size = 2 * byte_source::kStreamChunk + 12345;
  auto data = std::make_shared<const std::string>(pattern(size));
  auto calls = std::make_shared<std::vector<std::pair<std::uint64_t, std::size_t>>>();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> released;
  const byte_source src = byte_source::from_reader(size, recording_reader{data, calls}, {},
                                                   [&](std::uint64_t offset, std::uint64_t n) { released.emplace_back(offset, n); });
  std::vector<std::size_t> chunks;
  ASSERT_OK_AND_ASSIGN(const std::string all, drain(src, &chunks));
  EXPECT_EQ(all, *data);
  EXPECT_THAT(chunks, ElementsAre(byte_source::kStreamChunk, byte_source::kStreamChunk, 12345u));
  ASSERT_EQ(calls->size(), 3u);
  EXPECT_EQ((*calls)[2], (std::pair<std::uint64_t, std::size_t>{2 * byte_source::kStreamChunk, 12345}));
  EXPECT_EQ(released.size(), 3u);
  EXPECT_EQ(released[1], (std::pair<std::uint64_t, std::uint64_t>{byte_source::kStreamChunk, byte_source::kStreamChunk}));
  // release() clips to the source and is a no-op past its end.
  released.clear();
  src.release(size - 10, 100);
  src.release(size, 5);
  EXPECT_THAT(released, ElementsAre(std::pair<std::uint64_t, std::uint64_t>{size - 10, 10}));
}

TEST(ByteSourceRead, AReaderWithAStreamerStreamsThroughIt) {
  auto data = std::make_shared<const std::string>(pattern(100));
  auto calls = std::make_shared<std::vector<std::pair<std::uint64_t, std::size_t>>>();
  int streamed = 0;
  const byte_source src = byte_source::from_reader(100, recording_reader{data, calls}, [&](const byte_source::emit_fn& emit) {
    ++streamed;
    return emit({reinterpret_cast<const std::byte*>(data->data()), data->size()});
  });
  ASSERT_OK_AND_ASSIGN(const std::string all, drain(src));
  EXPECT_EQ(all, *data);
  EXPECT_EQ(streamed, 1);
  EXPECT_TRUE(calls->empty());
  ASSERT_OK_AND_ASSIGN(const std::string part, read_string(src, 50, 5));
  EXPECT_EQ(part, data->substr(50, 5));
  EXPECT_EQ(calls->size(), 1u);
}

TEST(ByteSourceRead, ProducerOnlySourcesStreamButHaveNoRandomAccess) {
  const std::string data = pattern(64);
  const byte_source src = byte_source::from_producer(64, [&](const byte_source::emit_fn& emit) {
    return emit({reinterpret_cast<const std::byte*>(data.data()), data.size()});
  });
  EXPECT_FALSE(src.random_access());
  ASSERT_OK_AND_ASSIGN(const std::string all, drain(src));
  EXPECT_EQ(all, data);
  EXPECT_THAT(read_string(src, 0, 4), StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("from_reader")));
  // A default source is empty and readable.
  EXPECT_TRUE(byte_source().random_access());
  EXPECT_OK(byte_source().read(0, {}));
}

TEST(ByteSourceRead, SwapCopyRangeMatchesAByteByByteSwapForEveryRange) {
  const std::string data = pattern(48);
  const auto whole = std::span(reinterpret_cast<const std::byte*>(data.data()), data.size());
  for (const std::size_t width : {1u, 2u, 4u, 8u}) {
    std::string swapped = data;
    for (std::size_t u = 0; u < data.size(); u += width)
      for (std::size_t j = 0; j < width; ++j) swapped[u + j] = data[u + width - 1 - j];
    for (std::size_t offset = 0; offset <= data.size(); ++offset)
      for (std::size_t n = 0; offset + n <= data.size(); ++n) {
        std::string out(n, '\0');
        tfckpt::swap_copy_range(whole, offset, {reinterpret_cast<std::byte*>(out.data()), n}, width);
        ASSERT_EQ(out, swapped.substr(offset, n)) << "width " << width << " at " << offset << "+" << n;
      }
  }
}

}  // namespace

}  // namespace byte_source_test
