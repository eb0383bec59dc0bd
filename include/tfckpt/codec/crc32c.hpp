// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/crc32c.hpp
//
// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF), the
// checksum of TensorFlow's record files and of LevelDB-format table blocks, plus the "mask" those
// formats apply to a CRC stored next to the data it covers.
//
// Example:
//   std::uint32_t crc = tfckpt::codec::crc32c(block_bytes);
//   crc = tfckpt::codec::crc32c_extend(crc, &block_type, 1);
//   if (tfckpt::codec::crc32c_unmask(stored) != crc) { /* corrupt */ }
//
// Hand-written because Abseil 20220623 has no crc32c and Debian ships no C++ crc32c library. Two
// implementations: SSE4.2 `crc32` instructions over three interleaved streams (chosen at run time)
// and a portable slicing-by-8 table; bench/crc32c_bench.cpp shows the former runs near memcpy speed
// on buffers larger than the caches (in cache, memcpy is about twice as fast).
#ifndef TFCKPT_CODEC_CRC32C_HPP_
#define TFCKPT_CODEC_CRC32C_HPP_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace tfckpt::codec {

/// Added to the rotated CRC by crc32c_mask (TensorFlow/LevelDB constant).
inline constexpr std::uint32_t kCrc32cMaskDelta = 0xA282EAD8u;

/// Masks a CRC before storing it beside the data: computing the CRC of bytes that embed their
/// own CRC is then less likely to give a degenerate result.
constexpr std::uint32_t crc32c_mask(std::uint32_t crc) {
  return std::rotr(crc, 15) + kCrc32cMaskDelta;
}

/// Inverse of crc32c_mask.
constexpr std::uint32_t crc32c_unmask(std::uint32_t masked) {
  return std::rotl(masked - kCrc32cMaskDelta, 15);
}

namespace detail {

inline constexpr std::uint32_t kCrc32cPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

// Polynomials mod P are held "reflected": bit 31 is the coefficient of x^0, bit 0 that of x^31.
// This is the CRC register's own layout, so register operations are polynomial operations.
inline constexpr std::uint32_t kCrc32cOne = 0x80000000u;

/// v * x mod P.
constexpr std::uint32_t crc32c_times_x(std::uint32_t v) {
  return (v >> 1) ^ ((v & 1u) != 0 ? kCrc32cPoly : 0u);
}

/// a * b mod P.
constexpr std::uint32_t crc32c_multiply(std::uint32_t a, std::uint32_t b) {
  std::uint32_t product = 0;
  for (std::uint32_t bit = kCrc32cOne; bit != 0; bit >>= 1) {
    if ((a & bit) != 0) product ^= b;
    b = crc32c_times_x(b);
  }
  return product;
}

/// x^(8n) mod P: what feeding n zero bytes multiplies the register by. Square-and-multiply, so
/// large n stays cheap in constant evaluation.
constexpr std::uint32_t crc32c_x_pow_8n(std::size_t n) {
  std::uint32_t base = kCrc32cOne;
  for (int i = 0; i < 8; ++i) base = crc32c_times_x(base);  // x^8
  std::uint32_t result = kCrc32cOne;
  for (; n != 0; n >>= 1) {
    if ((n & 1u) != 0) result = crc32c_multiply(result, base);
    base = crc32c_multiply(base, base);
  }
  return result;
}

using crc32c_byte_tables = std::array<std::array<std::uint32_t, 256>, 8>;

/// tables[k][b]: the register after feeding byte b then k zero bytes, starting from 0; the
/// slicing-by-8 step looks up all eight bytes of a word at once.
constexpr crc32c_byte_tables make_crc32c_byte_tables() {
  crc32c_byte_tables tables{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t r = b;
    for (int bit = 0; bit < 8; ++bit) r = crc32c_times_x(r);
    tables[0][b] = r;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t b = 0; b < 256; ++b) {
      const std::uint32_t r = tables[k - 1][b];
      tables[k][b] = (r >> 8) ^ tables[0][r & 0xFFu];
    }
  }
  return tables;
}

inline constexpr crc32c_byte_tables kCrc32cByteTables = make_crc32c_byte_tables();

/// The linear map "feed n zero bytes" (multiply by x^(8n) mod P), one table per register byte.
/// It joins CRCs computed independently over consecutive blocks of n bytes.
struct crc32c_shift_table {
  std::array<std::array<std::uint32_t, 256>, 4> by_byte{};

  constexpr std::uint32_t apply(std::uint32_t v) const {
    return by_byte[0][v & 0xFFu] ^ by_byte[1][(v >> 8) & 0xFFu] ^ by_byte[2][(v >> 16) & 0xFFu] ^
           by_byte[3][v >> 24];
  }
};

constexpr crc32c_shift_table make_crc32c_shift_table(std::size_t n) {
  const std::uint32_t factor = crc32c_x_pow_8n(n);
  crc32c_shift_table table;
  for (std::size_t k = 0; k < 4; ++k) {
    for (std::uint32_t b = 0; b < 256; ++b) {
      table.by_byte[k][b] = crc32c_multiply(b << (8 * k), factor);
    }
  }
  return table;
}

// Stream lengths for the 3-way hardware loop. Long blocks make the join (8 lookups) negligible;
// short blocks keep medium buffers (a few KiB) on three streams too.
inline constexpr std::size_t kCrc32cLongStream = 8192;
inline constexpr std::size_t kCrc32cShortStream = 256;
inline constexpr crc32c_shift_table kCrc32cLongShift = make_crc32c_shift_table(kCrc32cLongStream);
inline constexpr crc32c_shift_table kCrc32cShortShift = make_crc32c_shift_table(kCrc32cShortStream);

/// 8 bytes as a little-endian integer (the order the reflected CRC consumes them in).
inline std::uint64_t crc32c_load_le64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

#if defined(__x86_64__)
/// Consumes whole blocks of 3 * kStream bytes: three independent crc32 chains (the instruction
/// has 3-cycle latency but issues every cycle), joined by shifting with `shift`.
template <std::size_t kStream>
__attribute__((target("sse4.2"))) inline std::uint32_t crc32c_hardware_3way(
    std::uint32_t state, const unsigned char*& p, std::size_t& n, const crc32c_shift_table& shift) {
  static_assert(kStream % 8 == 0);
  while (n >= 3 * kStream) {
    std::uint64_t a = state;
    std::uint64_t b = 0;
    std::uint64_t c = 0;
    for (const unsigned char* end = p + kStream; p != end; p += 8) {
      a = _mm_crc32_u64(a, crc32c_load_le64(p));
      b = _mm_crc32_u64(b, crc32c_load_le64(p + kStream));
      c = _mm_crc32_u64(c, crc32c_load_le64(p + 2 * kStream));
    }
    // crc(s, A|B|C) = shift(shift(crc(s, A)) ^ crc(0, B)) ^ crc(0, C), by linearity.
    state = shift.apply(shift.apply(static_cast<std::uint32_t>(a)) ^ static_cast<std::uint32_t>(b)) ^
            static_cast<std::uint32_t>(c);
    p += 2 * kStream;
    n -= 3 * kStream;
  }
  return state;
}
#endif

}  // namespace detail

/// Continues a CRC with the portable slicing-by-8 implementation (any CPU).
inline std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t n) {
  const auto& t = detail::kCrc32cByteTables;
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t state = ~crc;
  for (; n >= 8; p += 8, n -= 8) {
    const std::uint64_t w = detail::crc32c_load_le64(p) ^ state;
    state = t[7][w & 0xFFu] ^ t[6][(w >> 8) & 0xFFu] ^ t[5][(w >> 16) & 0xFFu] ^
            t[4][(w >> 24) & 0xFFu] ^ t[3][(w >> 32) & 0xFFu] ^ t[2][(w >> 40) & 0xFFu] ^
            t[1][(w >> 48) & 0xFFu] ^ t[0][w >> 56];
  }
  for (; n != 0; ++p, --n) state = (state >> 8) ^ t[0][(state ^ *p) & 0xFFu];
  return ~state;
}

/// True when the CPU has SSE4.2, i.e. crc32c_extend_hardware may be called. Checked once.
inline bool crc32c_hardware_available() {
#if defined(__x86_64__)
  // __builtin_cpu_init makes the check valid even if first reached from a static constructor.
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return available;
#else
  return false;
#endif
}

/// Continues a CRC with the SSE4.2 crc32 instruction. REQUIRES crc32c_hardware_available()
/// (on non-x86 targets it falls back to the portable code).
#if defined(__x86_64__)
__attribute__((target("sse4.2")))
#endif
inline std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t n) {
#if defined(__x86_64__)
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t state = ~crc;
  // Byte steps up to an 8-byte boundary so the word loads below never straddle cache lines.
  for (; n != 0 && (reinterpret_cast<std::uintptr_t>(p) & 7u) != 0; ++p, --n) {
    state = _mm_crc32_u8(state, *p);
  }
  state = detail::crc32c_hardware_3way<detail::kCrc32cLongStream>(state, p, n,
                                                                   detail::kCrc32cLongShift);
  state = detail::crc32c_hardware_3way<detail::kCrc32cShortStream>(state, p, n,
                                                                    detail::kCrc32cShortShift);
  std::uint64_t wide = state;
  for (; n >= 8; p += 8, n -= 8) wide = _mm_crc32_u64(wide, detail::crc32c_load_le64(p));
  state = static_cast<std::uint32_t>(wide);
  for (; n != 0; ++p, --n) state = _mm_crc32_u8(state, *p);
  return ~state;
#else
  return crc32c_extend_portable(crc, data, n);
#endif
}

/// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a ++ b), and
/// crc32c_extend(0, x) == crc32c(x). Uses the hardware path when the CPU has it.
inline std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) {
  return crc32c_hardware_available() ? crc32c_extend_hardware(crc, data, n)
                                     : crc32c_extend_portable(crc, data, n);
}

/// Continues a CRC over `data`; see the pointer overload.
inline std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> data) {
  return crc32c_extend(crc, data.data(), data.size());
}

/// CRC-32C of `data` (0 for no bytes).
inline std::uint32_t crc32c(std::span<const std::byte> data) {
  return crc32c_extend(0, data.data(), data.size());
}

/// CRC-32C of the bytes of `data` (0 for no bytes).
inline std::uint32_t crc32c(std::string_view data) {
  return crc32c_extend(0, data.data(), data.size());
}

namespace detail {
// Polynomial arithmetic modulo the CRC-32C polynomial, in the reflected bit order the CRC uses
// (bit 31 is x^0). Multiplying a register by x^(8n) is what n zero bytes do to it.
constexpr std::uint32_t crc32c_multiply_mod_p(std::uint32_t a, std::uint32_t b) {
  std::uint32_t product = 0;
  for (std::uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) product ^= b;
    b = (b & 1) ? (b >> 1) ^ 0x82F63B78u : b >> 1;
  }
  return product;
}

struct crc32c_power_table {
  std::uint32_t x_2k[64] = {};  // x^(2^k) mod P
};
constexpr crc32c_power_table make_crc32c_power_table() {
  crc32c_power_table t;
  t.x_2k[0] = 1u << 30;  // x^1
  for (int k = 1; k < 64; ++k) t.x_2k[k] = crc32c_multiply_mod_p(t.x_2k[k - 1], t.x_2k[k - 1]);
  return t;
}
inline constexpr crc32c_power_table kCrc32cPowers = make_crc32c_power_table();

// x^(8n) mod P, by squaring: O(log n).
constexpr std::uint32_t crc32c_x8n_mod_p(std::uint64_t n) {
  std::uint32_t p = 1u << 31;  // x^0
  for (int k = 3; n != 0 && k < 64; n >>= 1, ++k)
    if (n & 1) p = crc32c_multiply_mod_p(kCrc32cPowers.x_2k[k], p);
  return p;
}
}  // namespace detail

/// The CRC of A ++ B from crc_a = crc32c(A), crc_b = crc32c(B) and the length of B, in O(log |B|):
/// crc32c_extend(crc_a, B) == crc32c_combine(crc_a, crc_b, |B|). Lets independent pieces be
/// checksummed in parallel.
constexpr std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t length_b) {
  return detail::crc32c_multiply_mod_p(detail::crc32c_x8n_mod_p(length_b), crc_a) ^ crc_b;
}

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_CRC32C_HPP_
