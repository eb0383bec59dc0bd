// SPDX-License-Identifier: Apache-2.0
#include "tfckpt/codec/string_tensor.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/bundle_builder.hpp"
#include "testing/status_matchers.hpp"

namespace string_tensor_test {

namespace {
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt::codec::as_bytes;
using tfckpt_testing::StatusIs;

TEST(StringTensor, SpecExample) {
  // ["ab", ""] -> 02 00 | 78 27 0b 34 | 61 62, entry crc 0x4db08891 masked (spec §3.5).
  const std::string bytes("\x02\x00\x78\x27\x0b\x34\x61\x62", 8);
  ASSERT_OK_AND_ASSIGN(const auto s, tfckpt::codec::decode_string_tensor("d", "k", 0, as_bytes(bytes), 2));
  EXPECT_THAT(s.elements, ElementsAre("ab", ""));
  EXPECT_EQ(tfckpt::codec::crc32c_mask(s.crc32c), 0x4db08891u);
  EXPECT_EQ(tfckpt_testing::encode_strings({"ab", ""}), bytes);
}

TEST(StringTensor, EmptyTensorIsJustTheChecksum) {
  const std::string bytes("\xd8\xea\x82\xa2", 4);  // mask(0)
  ASSERT_OK_AND_ASSIGN(const auto s, tfckpt::codec::decode_string_tensor("d", "k", 0, as_bytes(bytes), 0));
  EXPECT_TRUE(s.elements.empty());
}

TEST(StringTensor, ArbitraryBytesRoundTrip) {
  const std::vector<std::string> v = {std::string("\0\xff\x80", 3), std::string(300, 'x'), "", "z"};
  const std::string bytes = tfckpt_testing::encode_strings(v);
  ASSERT_OK_AND_ASSIGN(const auto s, tfckpt::codec::decode_string_tensor("d", "k", 0, as_bytes(bytes), 4));
  ASSERT_EQ(s.elements.size(), 4u);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(s.elements[i], v[i]);
  EXPECT_EQ(tfckpt::codec::crc32c_mask(s.crc32c),
            tfckpt_testing::payload_masked_crc(tfckpt::dtype::string, bytes, 4));
}

TEST(StringTensor, CorruptionIsReportedWithKeyAndOffset) {
  std::string bytes = tfckpt_testing::encode_strings({"ab", "cd"});
  bytes[2] ^= 1;  // length checksum
  EXPECT_THAT(tfckpt::codec::decode_string_tensor("s.data", "names", 500, as_bytes(bytes), 2),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("s.data @502: string length checksum mismatch")));
  EXPECT_THAT(tfckpt::codec::decode_string_tensor("s.data", "names", 500, as_bytes(bytes), 2),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("for key 'names'")));
  std::string lying = tfckpt_testing::encode_strings({"ab"});
  lying[0] = 9;  // claims 9 bytes, has 2
  EXPECT_THAT(tfckpt::codec::decode_string_tensor("s.data", "names", 0, as_bytes(lying), 1),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("runs past")));
  // An element count larger than the payload could hold is refused before any allocation.
  EXPECT_THAT(tfckpt::codec::decode_string_tensor("s.data", "names", 0, as_bytes(lying), 1ull << 60),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cannot fit")));
}
}  // namespace

}  // namespace string_tensor_test
