// SPDX-License-Identifier: Apache-2.0
// decode_string_tensor (codec/string_tensor.hpp) on arbitrary payloads and element counts: the
// first 4 input bytes are the element count (little-endian), the rest the payload. A decode that
// succeeds must hold exactly that many elements inside the payload, and re-encoding them must
// decode to the same elements with the same CRC whenever the payload was canonical. Then the same
// payload is read as big-endian: converting a valid one to little-endian and back must give back
// exactly the input bytes and CRC.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tfckpt/codec/string_tensor.hpp"

namespace {
constexpr std::string_view kFile = "fuzz.data-00000-of-00001";

void big_endian_round_trip(std::span<const std::byte> bytes, std::uint64_t n) {
  namespace codec = tfckpt::codec;
  using tfckpt::byte_order;
  const auto big = codec::decode_string_tensor(kFile, "fuzz/key", 77, bytes, n, byte_order::big);
  tfckpt_fuzz::expect_names(big.status(), kFile);
  if (!big.ok()) return;
  std::vector<std::byte> copy(bytes.begin(), bytes.end());
  const auto little = codec::convert_string_tensor(kFile, "fuzz/key", 77, copy, n, byte_order::big, byte_order::little);
  if (!little.ok()) tfckpt_fuzz::broken_promise("a valid big-endian payload does not convert", little.status());
  if (!codec::decode_string_tensor(kFile, "fuzz/key", 77, copy, n, byte_order::little).ok())
    tfckpt_fuzz::broken_promise("the converted payload does not decode little-endian", absl::OkStatus());
  const auto back = codec::convert_string_tensor(kFile, "fuzz/key", 77, copy, n, byte_order::little, byte_order::big);
  if (!back.ok() || *back != big->crc32c || !std::equal(copy.begin(), copy.end(), bytes.begin()))
    tfckpt_fuzz::broken_promise("big -> little -> big changed the payload or its CRC", back.status());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace codec = tfckpt::codec;
  tfckpt_fuzz::input_reader in(data, size);
  // Mostly small counts; the top bit asks for a hostile one (up to 2^31) to check the early bound.
  const std::uint32_t raw = in.u32();
  const std::uint64_t n = (raw & 0x80000000u) ? (raw & 0x7fffffffu) : (raw & 0xffffu);
  const std::string_view payload = in.rest();
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(payload.data()), payload.size());
  const auto decoded = codec::decode_string_tensor(kFile, "fuzz/key", 77, bytes, n);
  tfckpt_fuzz::expect_names(decoded.status(), kFile);
  if (!decoded.ok()) return 0;
  if (decoded->elements.size() != n) tfckpt_fuzz::broken_promise("wrong element count", decoded.status());
  for (std::string_view e : decoded->elements) {
    const auto* p = reinterpret_cast<const std::byte*>(e.data());
    if (p < bytes.data() || p + e.size() > bytes.data() + bytes.size())
      tfckpt_fuzz::broken_promise("an element lies outside the payload", decoded.status());
  }
  const std::string again = codec::encode_string_tensor(decoded->elements);
  const std::span<const std::byte> again_bytes(reinterpret_cast<const std::byte*>(again.data()), again.size());
  const auto redecoded = codec::decode_string_tensor(kFile, "fuzz/key", 0, again_bytes, n);
  if (!redecoded.ok()) tfckpt_fuzz::broken_promise("our own encoding does not decode", redecoded.status());
  if (redecoded->elements != decoded->elements) tfckpt_fuzz::broken_promise("re-encoding changed the elements", absl::OkStatus());
  if (std::string_view(payload) == again && redecoded->crc32c != decoded->crc32c)
    tfckpt_fuzz::broken_promise("same bytes, different CRC", absl::OkStatus());
  big_endian_round_trip(bytes, n);
  return 0;
}
