// SPDX-License-Identifier: Apache-2.0
// checkpoint::verify() on a checkpoint holding >= 1 GiB of float tensors, against memcpy of the
// same bytes out of the same mapped shard, in the same process.
//
// The checkpoint (64 tensors x 16 MiB of random floats, one shard) is written once per process to
// a temporary directory under the system temp dir and deleted at exit. When the temp filesystem
// has less than 4 GiB free, a smaller checkpoint is used and a note is printed. The page cache is
// warmed by one verify() before timing.
//
//   BM_Verify        checkpoint::verify() (all cores, up to 4 threads): CRC-32C over every tensor,
//                    compared with the index
//   BM_Memcpy        memcpy of every tensor's bytes (from entry::bytes(), the same mapping) into a
//                    reused, pre-faulted buffer, one thread
//
// Both sides release the mapped pages they read (verify() does; the memcpy baseline calls
// io::release_mapped_pages after each tensor), so each run maps the shard's pages again from the
// warm page cache, as a fresh process would. BM_Verify reports x_memcpy_bandwidth, the median over
// alternating pairs (one verify, one memcpy pass) of verify bytes/s / memcpy bytes/s; goal >= 1.0.
// Left out: process start, opening the checkpoint (its index is parsed once), reading from disk
// (the page cache is warm) and the first mapping of the file.
#include <benchmark/benchmark.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../tests/testing/bundle_builder.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// The benchmark checkpoint, written on first use and deleted when the process exits.
class bench_checkpoint {
 public:
  static bench_checkpoint& get() {
    static bench_checkpoint instance;
    return instance;
  }
  ~bench_checkpoint() {
    ckpt_.reset();  // unmap before deleting
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const absl::StatusOr<tfckpt::checkpoint>& checkpoint() const { return *ckpt_; }
  std::uint64_t total_bytes() const { return total_bytes_; }

 private:
  bench_checkpoint() {
    const fs::path tmp = fs::temp_directory_path();
    std::size_t tensor_bytes = std::size_t{16} << 20;
    const std::size_t count = 64;
    struct statvfs vfs {};
    if (::statvfs(tmp.c_str(), &vfs) == 0) {
      const double free_bytes = static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize);
      if (free_bytes < 4.0 * (1 << 30)) {
        tensor_bytes = std::size_t{1} << 20;
        std::fprintf(stderr,
                     "verify_bench: NOTE only %.1f GiB free in %s (< 4 GiB): using 64 x 1 MiB tensors instead of "
                     "64 x 16 MiB\n",
                     free_bytes / (1 << 30), tmp.c_str());
      }
    }
    std::random_device rd;
    dir_ = tmp / ("tfckpt-verify-bench-" + std::to_string(rd()));
    fs::create_directories(dir_);
    const std::string prefix = (dir_ / "model.ckpt-1").string();
    const auto start = clock_type::now();

    // Stream the data shard one tensor at a time (memory stays at one tensor), recording each
    // tensor's BundleEntryProto in the bundle_builder format; then write the index with LevelDB.
    std::ofstream data(tfckpt::data_file_name(prefix, 0, 1), std::ios::binary);
    std::map<std::string, std::string> records;
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> values(tensor_bytes / sizeof(float));
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < count; ++i) {
      for (float& v : values) v = dist(rng);
      tfckpt_testing::tensor_spec t = tfckpt_testing::float_tensor(
          "layer_" + std::to_string(100 + i) + "/kernel", {static_cast<std::int64_t>(values.size() / 1024), 1024},
          values);
      records[t.name] = tfckpt_testing::entry_record(t, offset);
      data.write(t.data.data(), static_cast<std::streamsize>(t.data.size()));
      offset += static_cast<std::int64_t>(t.data.size());
    }
    data.close();
    total_bytes_ = static_cast<std::uint64_t>(offset);
    tensorflow::BundleHeaderProto header;
    header.set_num_shards(1);
    header.mutable_version()->set_producer(1);
    tfckpt_testing::write_table(prefix + ".index", [&](auto add) {
      add("", header.SerializeAsString());
      for (const auto& [k, v] : records) add(k, v);
    });
    std::fprintf(stderr, "verify_bench: wrote %zu x %zu MiB = %.2f GiB in %.1f s (%s)\n", count, tensor_bytes >> 20,
                 static_cast<double>(total_bytes_) / (1 << 30), seconds_since(start), prefix.c_str());
    ckpt_ = std::make_unique<absl::StatusOr<tfckpt::checkpoint>>(tfckpt::open(prefix));
  }

  fs::path dir_;
  std::uint64_t total_bytes_ = 0;
  std::unique_ptr<absl::StatusOr<tfckpt::checkpoint>> ckpt_;
};

/// Copies every tensor's bytes into `dst` (sized for the largest tensor).
std::uint64_t copy_all(const tfckpt::checkpoint& ckpt, std::vector<std::byte>& dst) {
  std::uint64_t copied = 0;
  for (const tfckpt::entry& e : ckpt.entries()) {
    const auto bytes = e.bytes();
    if (!bytes.ok()) return 0;
    std::memcpy(dst.data(), bytes->data(), bytes->size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
    tfckpt::io::release_mapped_pages(*bytes, 0, bytes->size());
    copied += bytes->size();
  }
  return copied;
}

/// memcpy bandwidth over all tensors, one pass.
double memcpy_bandwidth(const tfckpt::checkpoint& ckpt, std::uint64_t total) {
  std::uint64_t largest = 0;
  for (const tfckpt::entry& e : ckpt.entries()) largest = std::max(largest, e.size());
  std::vector<std::byte> dst(largest, std::byte{1});  // pre-faulted
  const auto start = clock_type::now();
  if (copy_all(ckpt, dst) != total) return 0;
  return static_cast<double>(total) / seconds_since(start);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

/// Opens the checkpoint, checks it verifies cleanly (which also warms the page cache), or skips the
/// benchmark.
const tfckpt::checkpoint* ready_or_skip(benchmark::State& state) {
  const auto& ckpt = bench_checkpoint::get().checkpoint();
  if (!ckpt.ok()) {
    state.SkipWithError(std::string(ckpt.status().message()).c_str());
    return nullptr;
  }
  static const tfckpt::verify_report warm = ckpt->verify();
  if (!warm.ok() || warm.bytes_checked != bench_checkpoint::get().total_bytes()) {
    state.SkipWithError(warm.ok() ? "verify checked too few bytes" : std::string(warm.problems[0].message()).c_str());
    return nullptr;
  }
  return &*ckpt;
}

void BM_Verify(benchmark::State& state) {
  const tfckpt::checkpoint* ckpt = ready_or_skip(state);
  if (ckpt == nullptr) return;
  const std::uint64_t total = bench_checkpoint::get().total_bytes();
  // The machine is shared: each verify run is paired with a memcpy pass right after it (untimed by
  // the framework), and the medians of both sides and of the pairs' ratios are reported.
  std::vector<double> verify_bps, memcpy_bps, ratio;
  for (auto _ : state) {
    const auto start = clock_type::now();
    const tfckpt::verify_report report = ckpt->verify();
    verify_bps.push_back(static_cast<double>(total) / seconds_since(start));
    if (!report.ok() || report.bytes_checked != total) {
      state.SkipWithError("verify failed");
      return;
    }
    state.PauseTiming();
    memcpy_bps.push_back(memcpy_bandwidth(*ckpt, total));
    ratio.push_back(verify_bps.back() / memcpy_bps.back());
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total));
  state.counters["verify_GBps"] = median(verify_bps) / 1e9;
  state.counters["memcpy_GBps"] = median(memcpy_bps) / 1e9;
  state.counters["x_memcpy_bandwidth"] = median(ratio);
  state.counters["pairs"] = static_cast<double>(ratio.size());
}

void BM_Memcpy(benchmark::State& state) {
  const tfckpt::checkpoint* ckpt = ready_or_skip(state);
  if (ckpt == nullptr) return;
  const std::uint64_t total = bench_checkpoint::get().total_bytes();
  std::uint64_t largest = 0;
  for (const tfckpt::entry& e : ckpt->entries()) largest = std::max(largest, e.size());
  std::vector<std::byte> dst(largest, std::byte{1});
  for (auto _ : state) {
    if (copy_all(*ckpt, dst) != total) {
      state.SkipWithError("copy failed");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total));
}

BENCHMARK(BM_Verify)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
