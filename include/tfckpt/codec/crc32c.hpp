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
// Hand-written because Abseil 20220623 has no crc32c and Debian ships no C++ crc32c library. Three
// implementations, chosen at run time: carry-less multiplication folding 256 bytes at a time with
// AVX-512 VPCLMULQDQ, SSE4.2 `crc32` instructions over three interleaved streams, and a portable
// slicing-by-8 table. bench/crc32c_bench.cpp measures them: the `crc32` streams reach ~24 GB/s in
// cache, half of memcpy; folding roughly doubles that, which is what a checksum of data just read
// into a cached buffer (verify, the writer) pays on top of the read.
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

/// x^(2^k) mod P for every k a 64-bit exponent can use.
struct crc32c_power_table {
  std::array<std::uint32_t, 64> x_2k{};
};
constexpr crc32c_power_table make_crc32c_power_table() {
  crc32c_power_table t;
  t.x_2k[0] = crc32c_times_x(kCrc32cOne);  // x^1
  for (std::size_t k = 1; k < t.x_2k.size(); ++k) t.x_2k[k] = crc32c_multiply(t.x_2k[k - 1], t.x_2k[k - 1]);
  return t;
}
inline constexpr crc32c_power_table kCrc32cPowers = make_crc32c_power_table();

/// x^k mod P, by the bits of k: O(log k) multiplications, so large k stays cheap in constant
/// evaluation.
constexpr std::uint32_t crc32c_x_pow(std::uint64_t k) {
  std::uint32_t result = kCrc32cOne;
  for (std::size_t bit = 0; k != 0; k >>= 1, ++bit) {
    if ((k & 1u) != 0) result = crc32c_multiply(kCrc32cPowers.x_2k[bit], result);
  }
  return result;
}

/// x^(8n) mod P: what feeding n zero bytes multiplies the register by.
constexpr std::uint32_t crc32c_x_pow_8n(std::uint64_t n) { return crc32c_x_pow(8 * n); }

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

/// The raw register (no final XOR) after feeding the n bytes at p to the SSE4.2 loops.
__attribute__((target("sse4.2"))) inline std::uint32_t crc32c_sse42_raw(std::uint32_t state,
                                                                       const unsigned char* p,
                                                                       std::size_t n) {
  // Byte steps up to an 8-byte boundary so the word loads below never straddle cache lines.
  for (; n != 0 && (reinterpret_cast<std::uintptr_t>(p) & 7u) != 0; ++p, --n) {
    state = _mm_crc32_u8(state, *p);
  }
  state = crc32c_hardware_3way<kCrc32cLongStream>(state, p, n, kCrc32cLongShift);
  state = crc32c_hardware_3way<kCrc32cShortStream>(state, p, n, kCrc32cShortShift);
  std::uint64_t wide = state;
  for (; n >= 8; p += 8, n -= 8) wide = _mm_crc32_u64(wide, crc32c_load_le64(p));
  state = static_cast<std::uint32_t>(wide);
  for (; n != 0; ++p, --n) state = _mm_crc32_u8(state, *p);
  return state;
}

// Folding with carry-less multiplication. A 16-byte chunk C, read little-endian into a 128-bit
// lane, is the polynomial H * x^64 + L (H the low quadword: the reflected CRC's first bits are the
// highest powers). Moving C forward by F bits means replacing it with something congruent to
// C * x^F mod P that can be XORed into the chunk F bits later; H * x^(F+64) + L * x^F is, and
// each term is one 64x64-bit carry-less product with a 32-bit constant. In the reflected layout
// such a product comes out multiplied by an extra x, so the constants are x^(F+63) and x^(F-1)
// mod P, placed in the top half of their quadword (bit 63 - d holds x^d). The last lane left is
// reduced by the crc32 instruction itself, which computes exactly C * x^32 mod P from a zero
// register. The GCC and Clang builtins are called directly: <immintrin.h> alone would add ~47,000
// lines to every unit that includes this header.
using crc32c_v8di = long long __attribute__((vector_size(64)));
using crc32c_v2di = long long __attribute__((vector_size(16)));

/// The folding constant pair for a distance of `bits`, as one 128-bit lane {low, high}.
struct crc32c_fold_pair {
  long long for_low = 0;   // multiplies the lane's low quadword: x^(bits+63) mod P
  long long for_high = 0;  // multiplies its high quadword: x^(bits-1) mod P
};
constexpr crc32c_fold_pair make_crc32c_fold_pair(std::uint64_t bits) {
  const auto place = [](std::uint32_t reflected) {
    return static_cast<long long>(std::uint64_t{reflected} << 32);
  };
  return {place(crc32c_x_pow(bits + 63)), place(crc32c_x_pow(bits - 1))};
}

// Bytes per step: four 64-byte vectors, so every lane moves 256 bytes (2048 bits) per fold.
inline constexpr std::size_t kCrc32cFoldBlock = 256;
inline constexpr crc32c_fold_pair kCrc32cFold2048 = make_crc32c_fold_pair(2048);
inline constexpr crc32c_fold_pair kCrc32cFold512 = make_crc32c_fold_pair(512);
inline constexpr crc32c_fold_pair kCrc32cFold128 = make_crc32c_fold_pair(128);

#define TFCKPT_CRC32C_FOLD_TARGET __attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.2")))

TFCKPT_CRC32C_FOLD_TARGET inline crc32c_v8di crc32c_fold512(crc32c_v8di lanes, crc32c_v8di k,
                                                            crc32c_v8di next) {
#if defined(__clang__)
  return __builtin_ia32_pclmulqdq512(lanes, k, 0x00) ^ __builtin_ia32_pclmulqdq512(lanes, k, 0x11) ^ next;
#else
  return __builtin_ia32_vpclmulqdq_v8di(lanes, k, 0x00) ^ __builtin_ia32_vpclmulqdq_v8di(lanes, k, 0x11) ^
         next;
#endif
}

TFCKPT_CRC32C_FOLD_TARGET inline crc32c_v2di crc32c_fold128(crc32c_v2di lane, crc32c_v2di k,
                                                            crc32c_v2di next) {
  return __builtin_ia32_pclmulqdq128(lane, k, 0x00) ^ __builtin_ia32_pclmulqdq128(lane, k, 0x11) ^ next;
}

TFCKPT_CRC32C_FOLD_TARGET inline crc32c_v8di crc32c_load_v8di(const unsigned char* p) {
  crc32c_v8di v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

TFCKPT_CRC32C_FOLD_TARGET inline crc32c_v8di crc32c_broadcast(const crc32c_fold_pair& k) {
  return crc32c_v8di{k.for_low, k.for_high, k.for_low, k.for_high,
                     k.for_low, k.for_high, k.for_low, k.for_high};
}

/// Consumes whole blocks of kCrc32cFoldBlock bytes (at least one) and returns the raw register.
TFCKPT_CRC32C_FOLD_TARGET inline std::uint32_t crc32c_fold_raw(std::uint32_t state,
                                                               const unsigned char*& p,
                                                               std::size_t& n) {
  crc32c_v8di x0 = crc32c_load_v8di(p);
  crc32c_v8di x1 = crc32c_load_v8di(p + 64);
  crc32c_v8di x2 = crc32c_load_v8di(p + 128);
  crc32c_v8di x3 = crc32c_load_v8di(p + 192);
  x0[0] ^= static_cast<long long>(state);  // the register so far enters as the first 4 bytes
  p += kCrc32cFoldBlock;
  n -= kCrc32cFoldBlock;
  const crc32c_v8di k2048 = crc32c_broadcast(kCrc32cFold2048);
  for (; n >= kCrc32cFoldBlock; p += kCrc32cFoldBlock, n -= kCrc32cFoldBlock) {
    x0 = crc32c_fold512(x0, k2048, crc32c_load_v8di(p));
    x1 = crc32c_fold512(x1, k2048, crc32c_load_v8di(p + 64));
    x2 = crc32c_fold512(x2, k2048, crc32c_load_v8di(p + 128));
    x3 = crc32c_fold512(x3, k2048, crc32c_load_v8di(p + 192));
  }
  const crc32c_v8di k512 = crc32c_broadcast(kCrc32cFold512);
  x3 = crc32c_fold512(crc32c_fold512(crc32c_fold512(x0, k512, x1), k512, x2), k512, x3);
  const crc32c_v2di k128{kCrc32cFold128.for_low, kCrc32cFold128.for_high};
  crc32c_v2di lane{x3[0], x3[1]};
  lane = crc32c_fold128(lane, k128, crc32c_v2di{x3[2], x3[3]});
  lane = crc32c_fold128(lane, k128, crc32c_v2di{x3[4], x3[5]});
  lane = crc32c_fold128(lane, k128, crc32c_v2di{x3[6], x3[7]});
  const std::uint64_t low = _mm_crc32_u64(0, static_cast<std::uint64_t>(lane[0]));
  return static_cast<std::uint32_t>(_mm_crc32_u64(low, static_cast<std::uint64_t>(lane[1])));
}
#undef TFCKPT_CRC32C_FOLD_TARGET
#endif

}  // namespace detail

/// From this many bytes crc32c_extend_hardware folds where it can: one 256-byte block, lanes
/// reduced and all, already takes 0.6x the time of the crc32 streams (bench/crc32c_bench.cpp).
inline constexpr std::size_t kCrc32cFoldThreshold = 256;

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

/// True when the CPU has SSE4.2, i.e. crc32c_extend_hardware and crc32c_extend_sse42 may be
/// called. Checked once.
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

/// True when the CPU (and the OS, for the AVX-512 registers) supports the carry-less
/// multiplication folding of crc32c_extend_folding. Checked once.
inline bool crc32c_folding_available() {
#if defined(__x86_64__)
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0 && __builtin_cpu_supports("pclmul") != 0 &&
           __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("vpclmulqdq") != 0;
  }();
  return available;
#else
  return false;
#endif
}

/// Continues a CRC with the SSE4.2 crc32 instruction over three interleaved streams.
/// REQUIRES crc32c_hardware_available() (on non-x86 targets it falls back to the portable code).
inline std::uint32_t crc32c_extend_sse42(std::uint32_t crc, const void* data, std::size_t n) {
#if defined(__x86_64__)
  return ~detail::crc32c_sse42_raw(~crc, static_cast<const unsigned char*>(data), n);
#else
  return crc32c_extend_portable(crc, data, n);
#endif
}

/// Continues a CRC by folding blocks of 256 bytes with AVX-512 VPCLMULQDQ; the last partial block
/// goes through the crc32 instruction. REQUIRES crc32c_folding_available() (on non-x86 targets it
/// falls back to the portable code).
inline std::uint32_t crc32c_extend_folding(std::uint32_t crc, const void* data, std::size_t n) {
#if defined(__x86_64__)
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t state = ~crc;
  if (n >= detail::kCrc32cFoldBlock) state = detail::crc32c_fold_raw(state, p, n);
  return ~detail::crc32c_sse42_raw(state, p, n);
#else
  return crc32c_extend_portable(crc, data, n);
#endif
}

/// Continues a CRC with the fastest hardware path the CPU has: folding for buffers of
/// kCrc32cFoldThreshold bytes or more where available, else the crc32 instruction.
/// REQUIRES crc32c_hardware_available().
inline std::uint32_t crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t n) {
  if (n >= kCrc32cFoldThreshold && crc32c_folding_available()) return crc32c_extend_folding(crc, data, n);
  return crc32c_extend_sse42(crc, data, n);
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

/// The CRC of A ++ B from crc_a = crc32c(A), crc_b = crc32c(B) and the length of B, in O(log |B|):
/// crc32c_extend(crc_a, B) == crc32c_combine(crc_a, crc_b, |B|). Lets independent pieces be
/// checksummed in parallel.
constexpr std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t length_b) {
  return detail::crc32c_multiply(detail::crc32c_x_pow_8n(length_b), crc_a) ^ crc_b;
}

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_CRC32C_HPP_
