// SPDX-License-Identifier: Apache-2.0
// Laziness, measured: rewriting a checkpoint filtered to 1 of its 1,000 tensors costs time in
// proportion to the bytes kept, not to the checkpoint's size.
//
// BM_FilterRewrite/1     keep 1 tensor of 1,000 (1 MiB of a 1,000 MiB checkpoint in /dev/shm)
// BM_FilterRewrite/1000  keep all of them
// Counters (same run: the median of 5 alternating rounds, each round one copy of the kept bytes,
// one filtered rewrite and, for /1, one full rewrite; the ratio is taken per round):
//   x_bytes_kept   rewrite time / the time to copy just the kept bytes with pread/write into a new
//                  file: what the rewrite costs beyond moving its payload (the index is opened and
//                  walked, a new index written)
//   x_full_rewrite rewrite time / the time of the full (1,000-tensor) rewrite; the kept fraction of
//                  bytes is 0.001 for /1
// Left out: process start and cold reads (the checkpoint is in /dev/shm, warm); no fsync.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_files.hpp"
#include "bench_stats.hpp"
#include "tfckpt/tfckpt.hpp"

namespace {
namespace fs = std::filesystem;

constexpr int kTensors = 1000;
constexpr std::uint64_t kTensorBytes = std::uint64_t{1} << 20;

struct scratch {
  fs::path path = fs::path("/dev/shm") / ("tfckpt-filter-bench-" + std::to_string(::getpid()));
  scratch() { fs::create_directories(path); }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const scratch& dir() {
  static const scratch d;
  return d;
}

using tfckpt_bench::seconds_since;

const tfckpt::checkpoint& input() {
  static const tfckpt::checkpoint ckpt = [] {
    const fs::path prefix = dir().path / "in";
    auto w = tfckpt::bundle_writer::create(prefix, {.sync = false});
    std::vector<std::byte> bytes(kTensorBytes);
    for (int i = 0; i < kTensors; ++i) {
      for (std::size_t j = 0; j < bytes.size(); j += 4096) bytes[j] = static_cast<std::byte>(i);
      (void)w->add("layer" + std::to_string(i) + "/w", tfckpt::dtype::float32,
                   std::vector<std::int64_t>{static_cast<std::int64_t>(kTensorBytes / 4)},
                   tfckpt::byte_source::from_span(bytes));
    }
    (void)w->finish();
    return *tfckpt::open(prefix);
  }();
  return ckpt;
}

absl::Status rewrite(int keep, const fs::path& out) {
  const auto kept = [keep](const tfckpt::tensor& t) {
    return keep == kTensors || t.name == "layer500/w";
  };
  return tfckpt::write_bundle(tfckpt::entries(input()) | tfckpt::views::filter(kept), out,
                              {.writer = {.sync = false, .overwrite = true}});
}

double copy_seconds(std::uint64_t bytes, const fs::path& to) {
  const std::string data = tfckpt::data_file_name((dir().path / "in").string(), 0, 1);
  std::vector<char> buf(std::size_t{1} << 20);
  const auto t0 = std::chrono::steady_clock::now();
  const int in = ::open(data.c_str(), O_RDONLY);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (std::uint64_t done = 0; done < bytes;) {
    const ssize_t n = ::pread(in, buf.data(), std::min<std::uint64_t>(buf.size(), bytes - done), static_cast<off_t>(done));
    if (n <= 0 || ::write(out, buf.data(), static_cast<std::size_t>(n)) != n) break;
    done += static_cast<std::uint64_t>(n);
  }
  ::close(in);
  ::close(out);
  return seconds_since(t0);
}

double rewrite_seconds(int keep) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!rewrite(keep, dir().path / "out").ok()) return -1;
  return seconds_since(t0);
}

void BM_FilterRewrite(benchmark::State& state) {
  const int keep = static_cast<int>(state.range(0));
  (void)input();
  {  // Check before timing: the kept tensors, and only those, with their bytes.
    if (absl::Status s = rewrite(keep, dir().path / "out"); !s.ok()) return state.SkipWithError(s.ToString().c_str());
    auto out = tfckpt::open(dir().path / "out");
    if (!out.ok() || out->size() != static_cast<std::size_t>(keep) || !out->verify().ok())
      return state.SkipWithError("the rewrite does not hold the kept tensors");
  }
  const std::uint64_t kept_bytes = kTensorBytes * static_cast<std::uint64_t>(keep);
  std::vector<double> rewrite_s, x_bytes_kept, x_full_rewrite;
  for (auto _ : state) {
    for (int round = 0; round < 5; ++round) {
      const double copy = copy_seconds(kept_bytes, dir().path / "copy");
      const double ours = rewrite_seconds(keep);
      const double full = keep == kTensors ? ours : rewrite_seconds(kTensors);
      if (ours < 0 || full < 0) return state.SkipWithError("rewrite failed");
      rewrite_s.push_back(ours);
      x_bytes_kept.push_back(ours / copy);
      x_full_rewrite.push_back(ours / full);
    }
    state.SetIterationTime(tfckpt_bench::median(rewrite_s));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(kept_bytes) * state.iterations());
  state.counters["x_bytes_kept"] = tfckpt_bench::median(x_bytes_kept);
  state.counters["x_full_rewrite"] = tfckpt_bench::median(x_full_rewrite);
  state.counters["kept_fraction"] = static_cast<double>(keep) / kTensors;
}
BENCHMARK(BM_FilterRewrite)->Arg(1)->Arg(kTensors)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
