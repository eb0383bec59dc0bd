// SPDX-License-Identifier: Apache-2.0
// Reading and converting a big-endian bundle, against the same work on bytes that need no swap, in
// the same process on the same data (64 tensors x 1 MiB of random floats, written little- and
// big-endian by bundle_writer to a temporary directory, deleted at exit).
//
//   BM_ValuesBigEndian   entry::values<float>() over every tensor of the big-endian bundle (a copy
//                        swapped into memory the values own)
//   BM_CopyToHeap        the baseline: each tensor's stored bytes memcpy'd into a new heap buffer,
//                        the allocation values<T>() makes too
//   BM_CopyConverting    copy_checkpoint of the big-endian bundle to little-endian (no fsync)
//   BM_CopyPlain         the baseline: copy_checkpoint of the little-endian bundle (no fsync)
//
// Ratios: BM_ValuesBigEndian reports x_heap_copy = its bytes/s over BM_CopyToHeap's; BM_CopyConverting
// reports x_plain_copy = its bytes/s over BM_CopyPlain's: the median over alternating pairs (one
// timed run, then one baseline run, untimed by the framework) of the pair's ratio.
// Left out: process start, writing the bundles, the first read of their pages (the page cache is
// warm), and fsync (copies are written without it).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench_stats.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/copy.hpp"

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

constexpr std::size_t kTensors = 64;
constexpr std::size_t kTensorBytes = std::size_t{1} << 20;
constexpr std::uint64_t kTotal = kTensors * kTensorBytes;

class bench_bundles {
 public:
  static bench_bundles& get() {
    static bench_bundles instance;
    return instance;
  }
  ~bench_bundles() {
    little_.reset();
    big_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const tfckpt::checkpoint* little() const { return little_ && little_->ok() ? &**little_ : nullptr; }
  const tfckpt::checkpoint* big() const { return big_ && big_->ok() ? &**big_ : nullptr; }
  const fs::path& dir() const { return dir_; }

 private:
  bench_bundles() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("tfckpt-byte-order-bench-" + std::to_string(rd()));
    fs::create_directories(dir_);
    std::mt19937 rng(99);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> values(kTensorBytes / sizeof(float));
    for (const tfckpt::byte_order order : {tfckpt::byte_order::little, tfckpt::byte_order::big}) {
      tfckpt::bundle_writer_options o;
      o.sync = false;
      o.payload_order = order;
      auto w = tfckpt::bundle_writer::create(dir_ / (order == tfckpt::byte_order::big ? "big" : "little"), o);
      if (!w.ok()) return;
      rng.seed(99);
      for (std::size_t i = 0; i < kTensors; ++i) {
        for (float& v : values) v = dist(rng);
        const std::vector<std::int64_t> shape = {static_cast<std::int64_t>(values.size())};
        if (!w->add("t" + std::to_string(1000 + i), tfckpt::dtype::float32, shape,
                    tfckpt::byte_source::from_span(std::as_bytes(std::span(values))))
                 .ok())
          return;
      }
      if (!w->finish().ok()) return;
    }
    little_ = std::make_unique<absl::StatusOr<tfckpt::checkpoint>>(tfckpt::open(dir_ / "little"));
    big_ = std::make_unique<absl::StatusOr<tfckpt::checkpoint>>(tfckpt::open(dir_ / "big"));
  }

  fs::path dir_;
  std::unique_ptr<absl::StatusOr<tfckpt::checkpoint>> little_, big_;
};

// Each tensor's stored bytes into a new heap buffer; returns the bytes copied.
std::uint64_t copy_to_heap(const tfckpt::checkpoint& ckpt) {
  std::uint64_t n = 0;
  for (const tfckpt::entry& e : ckpt.entries()) {
    const auto bytes = e.bytes();
    if (!bytes.ok()) return 0;
    auto buffer = std::make_unique_for_overwrite<std::byte[]>(bytes->size());
    std::memcpy(buffer.get(), bytes->data(), bytes->size());
    benchmark::DoNotOptimize(buffer.get());
    benchmark::ClobberMemory();
    n += bytes->size();
  }
  return n;
}

std::uint64_t values_all(const tfckpt::checkpoint& ckpt) {
  std::uint64_t n = 0;
  for (const tfckpt::entry& e : ckpt.entries()) {
    const auto v = e.values<float>();
    if (!v.ok() || v->is_zero_copy()) return 0;
    benchmark::DoNotOptimize(v->data());
    n += v->size() * sizeof(float);
  }
  return n;
}

// Bytes/s of one run of `work` (0 if it failed).
double bandwidth(const std::function<std::uint64_t()>& work) {
  const auto start = clock_type::now();
  const std::uint64_t n = work();
  if (n != kTotal) return 0;
  return static_cast<double>(n) / seconds_since(start);
}

bool ready(benchmark::State& state) {
  if (bench_bundles::get().little() == nullptr || bench_bundles::get().big() == nullptr) {
    state.SkipWithError("could not write the benchmark bundles");
    return false;
  }
  return true;
}

// Times `work` (which must process kTotal bytes) in the benchmark loop, each run followed by one
// untimed run of `baseline`, and reports `counter` = the median of the pairs' bytes/s ratios.
void report_ratio(benchmark::State& state, const char* counter, const std::function<std::uint64_t()>& work,
                  const std::function<std::uint64_t()>& baseline) {
  (void)bandwidth(baseline);  // warms the page cache
  std::vector<double> ratio;
  for (auto _ : state) {
    const auto start = clock_type::now();
    if (work() != kTotal) {
      state.SkipWithError("the measured work failed");
      return;
    }
    const double ours = static_cast<double>(kTotal) / seconds_since(start);
    state.PauseTiming();
    const double base = bandwidth(baseline);
    if (base > 0) ratio.push_back(ours / base);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kTotal));
  state.counters[counter] = tfckpt_bench::median(ratio);
}

void BM_ValuesBigEndian(benchmark::State& state) {
  if (!ready(state)) return;
  const tfckpt::checkpoint& big = *bench_bundles::get().big();
  report_ratio(state, "x_heap_copy", [&] { return values_all(big); }, [&] { return copy_to_heap(big); });
}

void BM_CopyToHeap(benchmark::State& state) {
  if (!ready(state)) return;
  for (auto _ : state)
    if (copy_to_heap(*bench_bundles::get().big()) != kTotal) state.SkipWithError("copy failed");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kTotal));
}

std::uint64_t copy_to(const tfckpt::checkpoint& src, const char* name, std::optional<tfckpt::byte_order> order) {
  tfckpt::copy_options o;
  o.sync = false;
  o.overwrite = true;
  o.payload_order = order;
  return tfckpt::copy_checkpoint(src, bench_bundles::get().dir() / name, o).ok() ? kTotal : 0;
}

void BM_CopyConverting(benchmark::State& state) {
  if (!ready(state)) return;
  report_ratio(
      state, "x_plain_copy", [] { return copy_to(*bench_bundles::get().big(), "converted", tfckpt::byte_order::little); },
      [] { return copy_to(*bench_bundles::get().little(), "plain", std::nullopt); });
}

void BM_CopyPlain(benchmark::State& state) {
  if (!ready(state)) return;
  for (auto _ : state)
    if (copy_to(*bench_bundles::get().little(), "plain", std::nullopt) != kTotal) state.SkipWithError("copy failed");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kTotal));
}

BENCHMARK(BM_ValuesBigEndian)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CopyToHeap)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CopyConverting)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CopyPlain)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
