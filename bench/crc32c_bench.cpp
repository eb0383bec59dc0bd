// SPDX-License-Identifier: Apache-2.0
// CRC-32C throughput against memcpy of the same bytes, measured in the same process: the paths of
// tfckpt/codec/crc32c.hpp (the dispatching hardware path; AVX-512 VPCLMULQDQ folding; 3-way
// interleaved SSE4.2 crc32; portable slicing-by-8), and a plain single-stream crc32 loop as the
// reference the interleaving must beat. The small sizes place the folding threshold. Each CRC benchmark
// reports x_memcpy_bandwidth = CRC bytes/s / memcpy bytes/s: the median over 11 alternating pairs
// (one memcpy pass, one CRC pass, each repeated until ~64 MiB have moved) of the pair's ratio.
// Left out: page faults (both buffers are touched first), process start, and anything but the
// in-cache loop: what a user sees of checksumming is in bench/cli/run.sh's verify.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "bench_stats.hpp"
#include "tfckpt/codec/crc32c.hpp"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace {

namespace codec = tfckpt::codec;
using clock_type = std::chrono::steady_clock;

/// Random bytes of length n, generated once per size and shared by all benchmarks.
const std::vector<std::byte>& source(std::size_t n) {
  static std::map<std::size_t, std::vector<std::byte>> cache;
  auto [it, inserted] = cache.try_emplace(n);
  if (inserted) {
    std::mt19937_64 rng(n);
    it->second.resize(n);
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      const std::uint64_t w = rng();
      std::memcpy(it->second.data() + i, &w, 8);
    }
  }
  return it->second;
}

/// A destination for memcpy, touched so page faults stay out of the timing.
std::vector<std::byte>& destination(std::size_t n) {
  static std::map<std::size_t, std::vector<std::byte>> cache;
  auto [it, inserted] = cache.try_emplace(n);
  if (inserted) it->second.assign(n, std::byte{1});
  return it->second;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Repetitions of an n-byte pass that move ~64 MiB, so small buffers are not timed at clock resolution.
std::size_t reps_for(std::size_t n) { return std::max<std::size_t>(1, (std::size_t{64} << 20) / n); }

/// memcpy bandwidth (bytes copied per second) on these bytes, one run of reps_for(n) copies.
double memcpy_bandwidth(std::size_t n) {
  const auto& src = source(n);
  auto& dst = destination(n);
  const std::size_t reps = reps_for(n);
  const auto start = clock_type::now();
  for (std::size_t r = 0; r < reps; ++r) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  return static_cast<double>(n * reps) / seconds_since(start);
}

#if defined(__x86_64__)
/// The reference: one dependent chain of crc32 instructions, 8 bytes at a time.
__attribute__((target("sse4.2"))) std::uint32_t single_stream_crc32c(const std::byte* p,
                                                                      std::size_t n) {
  std::uint64_t state = 0xFFFFFFFFu;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    state = _mm_crc32_u64(state, word);
  }
  auto narrow = static_cast<std::uint32_t>(state);
  for (; n != 0; ++p, --n) narrow = _mm_crc32_u8(narrow, static_cast<unsigned char>(*p));
  return ~narrow;
}
#endif

std::uint32_t run_hardware(const std::byte* p, std::size_t n) {
  return codec::crc32c_extend_hardware(0, p, n);
}
std::uint32_t run_folding(const std::byte* p, std::size_t n) {
  return codec::crc32c_extend_folding(0, p, n);
}
std::uint32_t run_sse42(const std::byte* p, std::size_t n) {
  return codec::crc32c_extend_sse42(0, p, n);
}
std::uint32_t run_portable(const std::byte* p, std::size_t n) {
  return codec::crc32c_extend_portable(0, p, n);
}
std::uint32_t run_single_stream(const std::byte* p, std::size_t n) {
#if defined(__x86_64__)
  return single_stream_crc32c(p, n);
#else
  return codec::crc32c_extend_portable(0, p, n);
#endif
}

void BM_Memcpy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& src = source(n);
  auto& dst = destination(n);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
}

/// Times `crc` over the buffer and reports its bandwidth relative to memcpy's.
/// `available` says whether the CPU can run it (null: any CPU).
void crc_benchmark(benchmark::State& state, std::uint32_t (*crc)(const std::byte*, std::size_t),
                   bool (*available)()) {
  if (available != nullptr && !available()) {
    state.SkipWithError("the CPU lacks the instructions of this path");
    return;
  }
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& src = source(n);
  if (codec::crc32c_hardware_available() &&
      (codec::crc32c_extend_hardware(0, src.data(), n) !=
           codec::crc32c_extend_portable(0, src.data(), n) ||
       crc(src.data(), n) != codec::crc32c_extend_portable(0, src.data(), n))) {
    state.SkipWithError("CRC mismatch between implementations");
    return;
  }
  std::vector<double> ratio;
  const std::size_t reps = reps_for(n);
  for (int pair = 0; pair < 11; ++pair) {
    const double copy_bps = memcpy_bandwidth(n);
    const auto start = clock_type::now();
    for (std::size_t r = 0; r < reps; ++r) benchmark::DoNotOptimize(crc(src.data(), n));
    ratio.push_back(static_cast<double>(n * reps) / seconds_since(start) / copy_bps);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(crc(src.data(), n));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
  state.counters["x_memcpy_bandwidth"] = tfckpt_bench::median(ratio);
}

void BM_Crc32cHardware(benchmark::State& state) {
  crc_benchmark(state, run_hardware, codec::crc32c_hardware_available);
}
void BM_Crc32cFolding(benchmark::State& state) {
  crc_benchmark(state, run_folding, codec::crc32c_folding_available);
}
void BM_Crc32cSse42(benchmark::State& state) {
  crc_benchmark(state, run_sse42, codec::crc32c_hardware_available);
}
void BM_Crc32cPortable(benchmark::State& state) { crc_benchmark(state, run_portable, nullptr); }
void BM_Crc32cSingleStream(benchmark::State& state) {
  crc_benchmark(state, run_single_stream, codec::crc32c_hardware_available);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(64 << 10)->Arg(16 << 20)->Arg(256 << 20)->Unit(benchmark::kMicrosecond);
}

/// Around the folding threshold (kCrc32cFoldThreshold) and a few cache-sized buffers.
void threshold_sizes(benchmark::internal::Benchmark* b) {
  b->Arg(256)->Arg(384)->Arg(512)->Arg(1024)->Arg(4096)->Unit(benchmark::kNanosecond);
}

BENCHMARK(BM_Memcpy)->Apply(sizes);
BENCHMARK(BM_Crc32cHardware)->Apply(sizes);
BENCHMARK(BM_Crc32cFolding)->Apply(sizes)->Apply(threshold_sizes);
BENCHMARK(BM_Crc32cSse42)->Apply(sizes)->Apply(threshold_sizes);
BENCHMARK(BM_Crc32cPortable)->Apply(sizes);
BENCHMARK(BM_Crc32cSingleStream)->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
