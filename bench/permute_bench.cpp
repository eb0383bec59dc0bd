// SPDX-License-Identifier: Apache-2.0
// Transposing a 1 GiB float32 matrix from a mapped checkpoint into a written checkpoint
// (views::transpose + write_bundle), against copying the same bytes in the same run.
//
// BM_Transpose  a checkpoint in /dev/shm holding one float32 [16384, 16384] tensor (1 GiB);
//               write_bundle(entries(ckpt) | views::transpose()) to /dev/shm.
// Counters:
//   x_copy_time      transpose time / time to copy the checkpoint's data file with pread/write in
//                    1 MiB pieces to a new file on the same filesystem: the median of 3 alternating
//                    pairs' ratios
//   x_rewrite_time   transpose time / time of the same write_bundle without the transpose (the
//                    zero-copy rewrite of the stored tensor): median of the same alternating rounds
//   peak_rss_MiB     ru_maxrss of a forked child doing the whole transpose (open, plan, write)
//   peak_anon_MiB    the largest heap part of it (RssAnon, polled every 2 ms)
//   peak_mapped_MiB  the largest mapped-file part (RssFile + RssShmem: the input's pages)
//   rewrite_rss_MiB  ru_maxrss of the plain rewrite
// Left out: process start, and reading the checkpoint from disk (it is in /dev/shm); other tile
// sizes than the default 1 MiB; the transposed output is checked once (a sample of elements) before
// timing, not in the timed runs. The input's long runs are read with pread (entry::read), so its
// pages are not mapped into the process: peak_mapped_MiB stays small.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bench_files.hpp"
#include "bench_stats.hpp"
#include "tfckpt/tfckpt.hpp"

namespace {
namespace fs = std::filesystem;

constexpr std::int64_t kSide = 16384;  // [16384, 16384] float32 = 1 GiB

struct scratch : tfckpt_bench::scratch_dir {
  scratch() : scratch_dir("permute-bench") {}
};

using tfckpt_bench::seconds_since;

float value_at(std::uint64_t i) { return static_cast<float>(i % 1000003) * 0.5f; }

absl::Status write_input(const fs::path& prefix) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(prefix, {.sync = false}));
  const std::uint64_t n = static_cast<std::uint64_t>(kSide) * kSide;
  const auto source = tfckpt::byte_source::from_reader(n * 4, [](std::uint64_t offset, std::span<std::byte> out) {
    for (std::size_t k = 0; k < out.size(); k += 4) {  // offsets come in whole elements here
      const float v = value_at((offset + k) / 4);
      std::memcpy(out.data() + k, &v, 4);
    }
    return absl::OkStatus();
  });
  TFCKPT_RETURN_IF_ERROR(w.add("w", tfckpt::dtype::float32, std::vector<std::int64_t>{kSide, kSide}, source));
  return w.finish();
}

absl::Status rewrite(const fs::path& in, const fs::path& out, bool transpose) {
  TFCKPT_ASSIGN_OR_RETURN(const auto ckpt, tfckpt::open(in));
  if (transpose) return tfckpt::write_bundle(tfckpt::entries(ckpt) | tfckpt::views::transpose(), out, {.writer = {.sync = false, .overwrite = true}});
  return tfckpt::write_bundle(tfckpt::entries(ckpt), out, {.writer = {.sync = false, .overwrite = true}});
}

// The baseline: the checkpoint's data bytes copied with pread/write into a new file.
double timed(const fs::path& in, const fs::path& out, bool transpose) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool ok = rewrite(in, out, transpose).ok();
  const double dt = seconds_since(t0);
  std::error_code ec;
  fs::remove_all(out.parent_path(), ec);
  return ok ? dt : -1;
}

// Peak memory of a forked child that rewrites `in`, transposed or not (MiB; -1 on failure):
// ru_maxrss, and the largest heap (RssAnon) and mapped-file (RssFile + RssShmem) parts seen by
// polling /proc every 2 ms.
struct peak_memory {
  double rss = -1, anon = 0, mapped = 0;
};

double status_kib(const std::string& status, const char* key) {
  const auto at = status.find(key);
  return at == std::string::npos ? 0 : std::strtod(status.c_str() + at + std::strlen(key), nullptr);
}

peak_memory child_peak_memory(const fs::path& in, const fs::path& out, bool transpose) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(rewrite(in, out, transpose).ok() ? 0 : 1);
  peak_memory peak;
  int status = 0;
  struct rusage usage {};
  const std::string proc = "/proc/" + std::to_string(pid) + "/status";
  while (::wait4(pid, &status, WNOHANG, &usage) == 0) {
    std::ifstream f(proc);
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    peak.anon = std::max(peak.anon, status_kib(text, "RssAnon:") / 1024);
    peak.mapped = std::max(peak.mapped, (status_kib(text, "RssFile:") + status_kib(text, "RssShmem:")) / 1024);
    ::usleep(2000);
  }
  std::error_code ec;
  fs::remove_all(out.parent_path(), ec);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) peak.rss = static_cast<double>(usage.ru_maxrss) / 1024.0;
  return peak;
}

void BM_Transpose(benchmark::State& state) {
  scratch dir;
  const fs::path prefix = dir.path / "in" / "model.ckpt", out = dir.path / "out" / "model.ckpt";
  if (absl::Status s = write_input(prefix); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  // Check before timing: a sample of the output equals the input transposed.
  if (absl::Status s = rewrite(prefix, out, true); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  {
    auto ckpt = tfckpt::open(out);
    if (!ckpt.ok()) return state.SkipWithError("output unreadable");
    auto values = ckpt->entries()[0].values<float>();
    if (!values.ok()) return state.SkipWithError(values.status().ToString().c_str());
    for (std::uint64_t r = 0; r < kSide; r += 977)
      for (std::uint64_t c = 0; c < kSide; c += 1021)
        if ((*values)[r * kSide + c] != value_at(c * kSide + r)) return state.SkipWithError("transposed values differ");
  }
  std::error_code ec;
  fs::remove_all(out.parent_path(), ec);
  const fs::path data = tfckpt::data_file_name(prefix.string(), 0, 1);
  const std::uint64_t bytes = fs::file_size(data);
  std::vector<double> transpose_s, copy_ratio, rewrite_ratio;
  for (auto _ : state) {
    for (int round = 0; round < 3; ++round) {
      const double c = tfckpt_bench::copy_file_seconds(data, dir.path / "copy.bin");
      const double t = timed(prefix, out, true);
      const double w = timed(prefix, out, false);
      if (c < 0 || t < 0 || w < 0) return state.SkipWithError("a timed run failed");
      transpose_s.push_back(t);
      copy_ratio.push_back(t / c);
      rewrite_ratio.push_back(t / w);
    }
    state.SetIterationTime(tfckpt_bench::median(transpose_s));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["x_copy_time"] = tfckpt_bench::median(copy_ratio);
  state.counters["x_rewrite_time"] = tfckpt_bench::median(rewrite_ratio);
  const peak_memory transposing = child_peak_memory(prefix, out, true);
  const peak_memory rewriting = child_peak_memory(prefix, out, false);
  state.counters["peak_rss_MiB"] = transposing.rss;
  state.counters["peak_anon_MiB"] = transposing.anon;
  state.counters["peak_mapped_MiB"] = transposing.mapped;
  state.counters["rewrite_rss_MiB"] = rewriting.rss;
}
BENCHMARK(BM_Transpose)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
