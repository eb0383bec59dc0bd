// SPDX-License-Identifier: Apache-2.0
// Writing checkpoints, against the floor of writing the same bytes with write(2).
//
// BM_WriteBundle         1 GiB (64 tensors x 16 MiB, in-memory sources) through bundle_writer, no
//                        fsync; counter x_write_bandwidth = the median over alternating pairs (one
//                        bundle write, one write(2) pass of the same bytes to the same directory) of
//                        writer bandwidth / write(2) bandwidth (goal >= 0.9). Left out: fsync, process
//                        start, and reading the payload (it sits in memory, already faulted in).
// BM_StreamingWritePeakRss  4 GiB from a producer emitting 1 MiB chunks, written in a child process;
//                        counter peak_rss_MiB = the child's maximum resident set (goal <= 64).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "tfckpt/tfckpt.hpp"

namespace {
namespace fs = std::filesystem;

constexpr std::size_t kTensorBytes = 16u << 20;
constexpr int kTensors = 64;  // 1 GiB

// A scratch directory removed at exit (by the process that created it, not by forked children).
struct scratch {
  fs::path path = fs::temp_directory_path() / absl::StrFormat("tfckpt-writer-bench-%d", ::getpid());
  pid_t owner = ::getpid();
  scratch() { fs::create_directories(path); }
  ~scratch() {
    std::error_code ec;
    if (::getpid() == owner) fs::remove_all(path, ec);
  }
};

const fs::path& bench_dir() {
  static const scratch dir;
  return dir.path;
}

const std::vector<std::byte>& payload() {
  static const std::vector<std::byte> bytes = [] {
    std::vector<std::byte> b(kTensorBytes);
    std::uint32_t x = 12345;
    for (auto& v : b) v = static_cast<std::byte>((x = x * 1664525u + 1013904223u) >> 24);
    return b;
  }();
  return bytes;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The floor: the same bytes written with write(2) in the same chunk size, no fsync; one pass.
double write_baseline_seconds() {
  const std::string path = (bench_dir() / "baseline.bin").string();
  double seconds = 0;
  {
    const auto t0 = std::chrono::steady_clock::now();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < kTensors; ++i) {
      const std::byte* p = payload().data();
      std::size_t left = kTensorBytes;
      while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n <= 0) break;
        p += n;
        left -= static_cast<std::size_t>(n);
      }
    }
    ::close(fd);
    seconds = seconds_since(t0);
    ::unlink(path.c_str());
  }
  return seconds;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

absl::Status write_bundle(const fs::path& prefix) {
  tfckpt::bundle_writer_options o;
  o.sync = false;
  o.overwrite = true;
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(prefix, o));
  const std::vector<std::int64_t> shape = {static_cast<std::int64_t>(kTensorBytes / 4)};
  for (int i = 0; i < kTensors; ++i)
    TFCKPT_RETURN_IF_ERROR(w.add(absl::StrFormat("layer_%02d/kernel", i), tfckpt::dtype::float32, shape,
                                 tfckpt::byte_source::from_span(payload())));
  return w.finish();
}

void BM_StreamingWritePeakRss(benchmark::State& state) {
  const std::uint64_t total = std::uint64_t{4} << 30;
  const std::uint64_t tensor = std::uint64_t{512} << 20;  // 8 tensors of 512 MiB
  for (auto _ : state) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      std::vector<std::byte> chunk(1 << 20, std::byte{7});
      tfckpt::bundle_writer_options o;
      o.sync = false;
      o.overwrite = true;
      auto w = tfckpt::bundle_writer::create(bench_dir() / "stream", o);
      if (!w.ok()) ::_exit(2);
      for (std::uint64_t t = 0; t < total / tensor; ++t) {
        auto src = tfckpt::byte_source::from_producer(tensor, [&](const tfckpt::byte_source::emit_fn& emit) -> absl::Status {
          for (std::uint64_t done = 0; done < tensor; done += chunk.size()) TFCKPT_RETURN_IF_ERROR(emit(chunk));
          return absl::OkStatus();
        });
        if (!w->add(absl::StrFormat("t%d", t), tfckpt::dtype::uint8, std::vector<std::int64_t>{static_cast<std::int64_t>(tensor)}, src).ok())
          ::_exit(3);
      }
      ::_exit(w->finish().ok() ? 0 : 4);
    }
    int status = 0;
    struct rusage usage {};
    ::wait4(pid, &status, 0, &usage);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return state.SkipWithError("streaming write failed");
    state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(total) * state.iterations());
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(bench_dir(), ec))
    if (f.path().filename().string().rfind("stream", 0) == 0) fs::remove(f.path(), ec);
}
BENCHMARK(BM_StreamingWritePeakRss)->Unit(benchmark::kMillisecond)->Iterations(1);

void remove_checkpoint(const fs::path& prefix) {
  std::error_code ec;
  fs::remove(prefix.string() + ".index", ec);
  fs::remove(tfckpt::data_file_name(prefix.string(), 0, 1), ec);
}

void BM_WriteBundle(benchmark::State& state) {
  const fs::path prefix = bench_dir() / "model";
  // Check before timing: what we write reads back and verifies.
  if (absl::Status s = write_bundle(prefix); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  {
    auto ckpt = tfckpt::open(prefix);
    if (!ckpt.ok() || ckpt->size() != kTensors || !ckpt->verify().ok()) return state.SkipWithError("written checkpoint does not verify");
  }
  std::vector<double> writer_s, base_s, ratio;
  for (auto _ : state) {
    remove_checkpoint(prefix);  // like the baseline, write into fresh files
    const auto t0 = std::chrono::steady_clock::now();
    if (absl::Status s = write_bundle(prefix); !s.ok()) return state.SkipWithError(s.ToString().c_str());
    writer_s.push_back(seconds_since(t0));
    state.SetIterationTime(writer_s.back());
    base_s.push_back(write_baseline_seconds());
    ratio.push_back(base_s.back() / writer_s.back());
  }
  remove_checkpoint(prefix);
  const double bytes = static_cast<double>(kTensorBytes) * kTensors;
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["x_write_bandwidth"] = median(ratio);
  state.counters["writer_GBps"] = bytes / median(writer_s) / 1e9;
  state.counters["write2_GBps"] = bytes / median(base_s) / 1e9;
}
BENCHMARK(BM_WriteBundle)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);


}  // namespace

BENCHMARK_MAIN();
