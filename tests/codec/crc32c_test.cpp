// SPDX-License-Identifier: Apache-2.0
// Tests for tfckpt/codec/crc32c.hpp: published vectors, mask, composition, each hardware path
// (SSE4.2 streams, AVX-512 folding, the dispatch between them) == portable on every short length
// and misaligned start, and a cross-check against python3-crc32c.
#include "tfckpt/codec/crc32c.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "testing/paths.hpp"

namespace crc32c_test {

namespace {

using tfckpt::codec::crc32c;
using tfckpt::codec::crc32c_extend;
using tfckpt::codec::crc32c_extend_folding;
using tfckpt::codec::crc32c_extend_hardware;
using tfckpt::codec::crc32c_extend_portable;
using tfckpt::codec::crc32c_extend_sse42;
using tfckpt::codec::crc32c_folding_available;
using tfckpt::codec::crc32c_hardware_available;
using tfckpt::codec::crc32c_mask;
using tfckpt::codec::crc32c_unmask;
using tfckpt::codec::kCrc32cMaskDelta;

using extend_fn = std::uint32_t (*)(std::uint32_t, const void*, std::size_t);

/// One hardware implementation, and what the CPU needs to run it.
struct hardware_path {
  const char* name;
  extend_fn extend;
  bool (*available)();
  const char* needs;
};

const hardware_path kHardwarePaths[] = {
    {"sse42", crc32c_extend_sse42, crc32c_hardware_available, "SSE4.2"},
    {"folding", crc32c_extend_folding, crc32c_folding_available, "AVX-512F, VPCLMULQDQ and PCLMUL"},
    {"dispatch", crc32c_extend_hardware, crc32c_hardware_available, "SSE4.2"},
};

/// Each hardware path; a test skips, saying why, where the CPU cannot run it.
class Crc32cHardware : public ::testing::TestWithParam<hardware_path> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) {
      GTEST_SKIP() << "this CPU lacks " << GetParam().needs << ": the " << GetParam().name
                   << " CRC-32C path cannot be tested here";
    }
  }
  static std::uint32_t extend(std::uint32_t crc, const void* p, std::size_t n) {
    return GetParam().extend(crc, p, n);
  }
};

INSTANTIATE_TEST_SUITE_P(Paths, Crc32cHardware, ::testing::ValuesIn(kHardwarePaths),
                         [](const auto& info) { return std::string(info.param.name); });

std::vector<std::byte> random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<std::byte> out(n);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t w = rng();
    std::memcpy(out.data() + i, &w, 8);
  }
  for (; i < n; ++i) out[i] = static_cast<std::byte>(rng());
  return out;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

struct known_vector {
  std::vector<std::byte> data;
  std::uint32_t crc;
  const char* name;
};

// Values checked against python3-crc32c.
/// 1000 bytes 0, 1, ..., 255, 0, 1, ...: long enough to be folded.
std::vector<std::byte> long_vector() {
  std::vector<std::byte> out(1000);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(i);
  return out;
}
constexpr std::uint32_t kLongVectorCrc = 0x1A318E30u;

std::vector<known_vector> known_vectors() {
  std::vector<known_vector> out;
  out.push_back({bytes_of("123456789"), 0xE3069283u, "\"123456789\""});
  out.push_back({{}, 0u, "empty"});
  out.push_back({std::vector<std::byte>(32, std::byte{0x00}), 0x8A9136AAu, "32 zero bytes"});
  out.push_back({std::vector<std::byte>(32, std::byte{0xFF}), 0x62A8AB43u, "32 0xFF bytes"});
  std::vector<std::byte> ascending(32);
  for (std::size_t i = 0; i < ascending.size(); ++i) ascending[i] = static_cast<std::byte>(i);
  out.push_back({ascending, 0x46DD794Eu, "bytes 0..31"});
  return out;
}

TEST(Crc32c, KnownVectors) {
  for (const auto& v : known_vectors()) {
    EXPECT_EQ(crc32c(v.data), v.crc) << v.name;
    EXPECT_EQ(crc32c_extend_portable(0, v.data.data(), v.data.size()), v.crc) << v.name;
    EXPECT_EQ(crc32c_extend(0, v.data), v.crc) << v.name;
  }
  EXPECT_EQ(crc32c(long_vector()), kLongVectorCrc);
  EXPECT_EQ(crc32c_extend_portable(0, long_vector().data(), 1000), kLongVectorCrc);
  EXPECT_EQ(crc32c(std::string_view("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string_view()), 0u);
  EXPECT_EQ(crc32c(std::span<const std::byte>()), 0u);
}

TEST_P(Crc32cHardware, KnownVectors) {
  for (const auto& v : known_vectors()) {
    EXPECT_EQ(extend(0, v.data.data(), v.data.size()), v.crc) << v.name;
  }
  const auto bytes = long_vector();
  EXPECT_EQ(extend(0, bytes.data(), bytes.size()), kLongVectorCrc);
}

TEST(Crc32c, ZeroBytesLeaveCrcUnchanged) {
  EXPECT_EQ(crc32c_extend_portable(0x12345678u, nullptr, 0), 0x12345678u);
  EXPECT_EQ(crc32c_extend(0x12345678u, nullptr, 0), 0x12345678u);
}

TEST_P(Crc32cHardware, ZeroBytesLeaveCrcUnchanged) {
  EXPECT_EQ(extend(0x12345678u, nullptr, 0), 0x12345678u);
}

TEST(Crc32c, Mask) {
  static_assert(crc32c_mask(0) == kCrc32cMaskDelta);
  static_assert(crc32c_unmask(crc32c_mask(0xE3069283u)) == 0xE3069283u);
  EXPECT_EQ(crc32c_mask(0), 0xA282EAD8u);
  EXPECT_EQ(crc32c_unmask(0xA282EAD8u), 0u);
  // The definition, written out: rotate right by 15, add with 32-bit wrap-around.
  const std::uint32_t c = 0xE3069283u;
  EXPECT_EQ(crc32c_mask(c), static_cast<std::uint32_t>(((c >> 15) | (c << 17)) + 0xA282EAD8u));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const auto v = static_cast<std::uint32_t>(rng());
    ASSERT_EQ(crc32c_unmask(crc32c_mask(v)), v) << v;
    ASSERT_EQ(crc32c_mask(crc32c_unmask(v)), v) << v;
  }
  for (std::uint32_t v : {0u, 1u, 0xFFFFFFFFu, 0x80000000u, 0x5D7D1527u}) {
    EXPECT_EQ(crc32c_unmask(crc32c_mask(v)), v) << v;
  }
}

void check_composition(extend_fn extend, const char* name) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 300; ++round) {
    const std::size_t n = round < 200 ? rng() % 2000 : rng() % 200000;
    const auto data = random_bytes(rng, n);
    const std::uint32_t whole = extend(0, data.data(), n);
    ASSERT_EQ(whole, crc32c_extend_portable(0, data.data(), n)) << name << " n=" << n;
    // Two and three pieces at random split points.
    const std::size_t a = n == 0 ? 0 : rng() % (n + 1);
    const std::size_t b = a + (n - a == 0 ? 0 : rng() % (n - a + 1));
    ASSERT_EQ(extend(extend(0, data.data(), a), data.data() + a, n - a), whole)
        << name << " n=" << n << " split=" << a;
    ASSERT_EQ(extend(extend(extend(0, data.data(), a), data.data() + a, b - a), data.data() + b,
                     n - b),
              whole)
        << name << " n=" << n << " splits=" << a << "," << b;
  }
}

TEST(Crc32c, ExtendCompositionPortable) { check_composition(crc32c_extend_portable, "portable"); }

TEST_P(Crc32cHardware, ExtendComposition) { check_composition(GetParam().extend, GetParam().name); }

TEST(Crc32c, ExtendCompositionDispatch) {
  check_composition([](std::uint32_t crc, const void* p, std::size_t n) {
    return crc32c_extend(crc, p, n);
  }, "dispatch");
}

TEST(Crc32c, SpanOverloadsAgree) {
  std::mt19937_64 rng(3);
  const auto data = random_bytes(rng, 5000);
  const std::span<const std::byte> all(data);
  EXPECT_EQ(crc32c(all), crc32c_extend_portable(0, data.data(), data.size()));
  EXPECT_EQ(crc32c_extend(crc32c(all.first(1234)), all.subspan(1234)), crc32c(all));
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  EXPECT_EQ(crc32c(text), crc32c(all));
}

// Each buffer ends exactly where its allocation ends, so ASan reports any read past data + n.
TEST_P(Crc32cHardware, MatchesPortableEveryShortLengthAndOffset) {
  std::mt19937_64 rng(19);
  for (std::size_t n = 0; n <= 1100; ++n) {
    for (int trial = 0; trial < 4; ++trial) {
      const std::size_t offset = trial == 0 ? 0 : rng() % 16;
      const auto buf = random_bytes(rng, offset + n);
      const std::byte* p = buf.data() + offset;
      const auto seed = static_cast<std::uint32_t>(trial == 1 ? 0 : rng());
      ASSERT_EQ(extend(seed, p, n), crc32c_extend_portable(seed, p, n))
          << "n=" << n << " offset=" << offset << " seed=" << seed;
    }
  }
}

TEST_P(Crc32cHardware, MatchesPortableLargeBuffers) {
  std::mt19937_64 rng(23);
  // Around the 3-way block sizes (3 * 8 KiB, 3 * 256 B), the 256-byte folding blocks, and a few MiB.
  const std::size_t sizes[] = {24575,       24576,       24577,           24576 + 767,
                               24576 + 768, 2 * 24576 + 5, 1u << 20,      (3u << 20) + 7,
                               (4u << 20) + 12345};
  for (std::size_t n : sizes) {
    for (std::size_t offset : {std::size_t{0}, std::size_t{3}, std::size_t{13}}) {
      const auto buf = random_bytes(rng, offset + n);
      const std::byte* p = buf.data() + offset;
      ASSERT_EQ(extend(0, p, n), crc32c_extend_portable(0, p, n))
          << "n=" << n << " offset=" << offset;
    }
  }
  // Zeros and ones stress the join tables with long runs of identical words.
  for (std::byte fill : {std::byte{0x00}, std::byte{0xFF}}) {
    const std::vector<std::byte> buf((2u << 20) + 1, fill);
    EXPECT_EQ(extend(0, buf.data(), buf.size()), crc32c_extend_portable(0, buf.data(), buf.size()));
  }
}

// Runs a shell command, returning its stdout and exit status.
struct command_result {
  std::string out;
  int status = -1;
};

command_result run_command(const std::string& cmd) {
  command_result result;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return result;
  char chunk[4096];
  std::size_t got;
  while ((got = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) result.out.append(chunk, got);
  result.status = ::pclose(pipe);
  return result;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

TEST(Crc32c, MatchesPython3Crc32c) {
  const std::string python = TFCKPT_SYSTEM_PYTHON;
  if (python.empty() || !std::filesystem::exists(python)) {
    GTEST_SKIP() << "system python3 not found (TFCKPT_SYSTEM_PYTHON='" << python
                 << "'); install it and python3-crc32c: apt-get install python3-crc32c";
  }
  if (run_command(shell_quote(python) + " -c 'import crc32c' 2>/dev/null").status != 0) {
    GTEST_SKIP() << "the Python module crc32c is missing for " << python
                 << "; install it with: apt-get install python3-crc32c";
  }

  tfckpt_testing::scratch_dir dir;
  std::mt19937_64 rng(29);
  std::vector<std::uint32_t> ours;
  std::string args;
  for (int i = 0; i < 50; ++i) {
    std::size_t n;
    if (i < 20) {
      n = rng() % 100;  // short and odd
    } else if (i < 40) {
      n = rng() % 70000;
    } else {
      n = (rng() % (4u << 20)) | 1u;  // up to 4 MiB, odd
    }
    const auto data = random_bytes(rng, n);
    const auto path = dir / ("buf" + std::to_string(i));
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(n));
    ours.push_back(crc32c(data));
    args += " " + shell_quote(path.string());
  }
  const std::string script =
      "import crc32c, sys\n"
      "for name in sys.argv[1:]:\n"
      "    with open(name, 'rb') as f:\n"
      "        print(crc32c.crc32c(f.read()))\n";
  const auto result = run_command(shell_quote(python) + " -c " + shell_quote(script) + args);
  ASSERT_EQ(result.status, 0) << "python3 failed; output:\n" << result.out;
  std::istringstream lines(result.out);
  for (std::size_t i = 0; i < ours.size(); ++i) {
    std::uint64_t theirs = 0;
    ASSERT_TRUE(lines >> theirs) << "python printed too few lines:\n" << result.out;
    EXPECT_EQ(ours[i], theirs) << "buffer " << i;
  }
}

}  // namespace

namespace {
TEST(Crc32cCombine, EqualsExtendingForAnySplit) {
  std::mt19937_64 rng(99);
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<std::byte> data(rng() % 5000);
    for (auto& b : data) b = static_cast<std::byte>(rng());
    const std::size_t cut = data.empty() ? 0 : rng() % (data.size() + 1);
    const std::span<const std::byte> all(data), a = all.first(cut), b = all.subspan(cut);
    EXPECT_EQ(tfckpt::codec::crc32c_combine(tfckpt::codec::crc32c(a), tfckpt::codec::crc32c(b), b.size()),
              tfckpt::codec::crc32c(all));
  }
  // Long lengths: combining with n zero bytes equals extending over them.
  std::vector<std::byte> zeros(3 << 20);
  const std::uint32_t start = tfckpt::codec::crc32c(std::string_view("prefix"));
  EXPECT_EQ(tfckpt::codec::crc32c_combine(start, tfckpt::codec::crc32c(zeros), zeros.size()),
            tfckpt::codec::crc32c_extend(start, zeros));
  static_assert(tfckpt::codec::crc32c_combine(0x12345678u, 0, 0) == 0x12345678u);
}
}  // namespace

}  // namespace crc32c_test
