// SPDX-License-Identifier: Apache-2.0
// The seed-000 merge (16 checkpoints sharing a trunk, heads concatenated), against copying the same
// bytes with a read/write loop to the same filesystem, in the same run.
//
// BM_MergeHeads/1   16 checkpoints x 256 MiB: trunk 3 x 64 MiB `trunk/conv{j}/weights` [4096,4096]
//                   (+ small biases, a Momentum slot, global_step), head `out{i}/weights`
//                   [16384,1024] float32 (64 MiB, a 4 KiB row block per member) and `out{i}/biases`.
//                   Output: the trunk of log_0 + out/weights [16384,16384] + out/biases = 1.19 GiB.
// BM_MergeHeads/4   the same at 4x (16 x 1 GiB; out/weights [16384,65536], 16 KiB row blocks).
//
// Inputs live in /dev/shm when it has room (statvfs), else in /tmp; at 4x they are 16 GiB, too much
// for a tmpfs that counts against RAM, so they go to /tmp (the label says where). Outputs always go
// to /dev/shm. Everything is written once per size and deleted at the end (and at exit).
//
// Counters:
//   x_cp_bandwidth       merge bandwidth / copy bandwidth: the median of 5 alternating pairs (one copy,
//                        one merge) of the pair's ratio (goal >= 0.8).
//                        The baseline copies, with pread/write in 1 MiB pieces into one new file, exactly
//                        the input byte ranges the merge reads (= the bytes it writes).
//   peak_rss_MiB         ru_maxrss of a forked child running tfckpt::merge_heads_pipeline + write_bundle,
//                        what `tfckpt merge` does (goal <= 64).
//   peak_rss_views_MiB   the same for the README's 10-line views pipeline (entries | filter | filter |
//                        concat_by_group | write_bundle), whose pass-through tensors come from to_tensor.
//   parent_rss_MiB       this process's resident set when it forks (a floor for both).
// Left out: process start and opening the 16 inputs' indexes happen in-process (the end-to-end
// `tfckpt merge` beside `cp -r` is in bench/cli/run.sh); the inputs are in the page cache.
// The mapped input pages a member keeps between two releases are bounded by the view (16 MiB over all
// members), but a fault maps a whole page-cache folio: 64 KiB on tmpfs, up to ~1 MiB on ext4 (large
// folios), so the 4x run (inputs in /tmp) shows more resident pages per member than the 1x run.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_stats.hpp"
#include "tfckpt/tfckpt.hpp"

namespace {
namespace fs = std::filesystem;

constexpr int kLogs = 16;
constexpr std::int64_t kRows = 16384;     // out{i}/weights rows (K)
constexpr std::int64_t kTrunkRows = 4096;

const std::vector<std::pair<std::string, std::string>> kRules = {{R"(^out(\d+)/(weights|biases)$)", "out/$2"}};

// A directory removed at exit by the process that created it (not by forked children).
struct scratch {
  fs::path path;
  pid_t owner = ::getpid();
  explicit scratch(const fs::path& parent) : path(parent / absl::StrFormat("tfckpt-merge-bench-%d", ::getpid())) {
    fs::create_directories(path);
  }
  ~scratch() {
    std::error_code ec;
    if (::getpid() == owner) fs::remove_all(path, ec);
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
};

std::uint64_t free_bytes(const fs::path& dir) {
  struct statvfs s {};
  if (::statvfs(dir.c_str(), &s) != 0) return 0;
  return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
}

double rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Deterministic bytes: a 1 MiB pattern per (checkpoint, tensor), each chunk stamped with its index so
// that no two chunks of a tensor are equal.
tfckpt::byte_source pattern(std::uint64_t size, std::uint32_t seed) {
  return tfckpt::byte_source::from_producer(size, [size, seed](const tfckpt::byte_source::emit_fn& emit) -> absl::Status {
    std::vector<std::byte> buf(std::size_t{1} << 20);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : buf) b = static_cast<std::byte>((x = x * 1664525u + 1013904223u) >> 24);
    for (std::uint64_t done = 0, chunk = 0; done < size; done += buf.size(), ++chunk) {
      std::memcpy(buf.data(), &chunk, sizeof chunk);
      TFCKPT_RETURN_IF_ERROR(emit(std::span(buf).first(static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done)))));
    }
    return absl::OkStatus();
  });
}

absl::Status write_log(const fs::path& prefix, int i, int scale) {
  tfckpt::bundle_writer_options o;
  o.sync = false;  // throwaway input; fsync to /tmp's disk would time the disk
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(prefix, o));
  const auto f32 = [&](const std::string& name, std::vector<std::int64_t> shape, std::uint32_t seed) {
    const auto n = static_cast<std::uint64_t>(*tfckpt::checked_num_elements(shape));
    return w.add(name, tfckpt::dtype::float32, shape, pattern(n * 4, seed));
  };
  const auto u = static_cast<std::uint32_t>(i) * 100;
  for (int j = 0; j < 3; ++j) {  // the trunk: the same in every log
    TFCKPT_RETURN_IF_ERROR(f32(absl::StrFormat("trunk/conv%d/weights", j), {kTrunkRows, 4096 * scale}, 10 + static_cast<std::uint32_t>(j)));
    TFCKPT_RETURN_IF_ERROR(f32(absl::StrFormat("trunk/conv%d/biases", j), {4096}, 20 + static_cast<std::uint32_t>(j)));
  }
  TFCKPT_RETURN_IF_ERROR(f32("trunk/conv0/biases/Momentum", {4096}, 30));
  TFCKPT_RETURN_IF_ERROR(f32(absl::StrFormat("out%d/weights", i), {kRows, 1024 * scale}, u + 1));
  TFCKPT_RETURN_IF_ERROR(f32(absl::StrFormat("out%d/biases", i), {1024 * scale}, u + 2));
  TFCKPT_RETURN_IF_ERROR(f32(absl::StrFormat("out%d/biases/Momentum", i), {1024 * scale}, u + 3));
  const std::int64_t step = 1000;
  TFCKPT_RETURN_IF_ERROR(w.add("global_step", tfckpt::dtype::int64, std::vector<std::int64_t>{},
                               tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(&step), 8))));
  return w.finish();
}

absl::StatusOr<std::vector<tfckpt::checkpoint>> open_logs(const fs::path& dir) {
  std::vector<tfckpt::checkpoint> logs;
  for (int i = 0; i < kLogs; ++i) {
    TFCKPT_ASSIGN_OR_RETURN(auto c, tfckpt::open(dir / absl::StrFormat("log_%d", i) / "model.ckpt"));
    logs.push_back(std::move(c));
  }
  return logs;
}

// What `tfckpt merge --group '^out(\d+)/(weights|biases)$=out/$2' --axis out/weights=1` does.
absl::Status merge(const fs::path& in, const fs::path& out) {
  TFCKPT_ASSIGN_OR_RETURN(const auto logs, open_logs(in));
  TFCKPT_ASSIGN_OR_RETURN(const auto planned, tfckpt::merge_heads_pipeline(logs, {.groups = kRules, .axes = {{"out/weights", 1}}}));
  return tfckpt::write_bundle(planned, out, {.writer = {.overwrite = true}});
}

// The README's views pipeline.
absl::Status merge_with_views(const fs::path& in, const fs::path& out) {
  TFCKPT_ASSIGN_OR_RETURN(const auto logs, open_logs(in));
  const auto heads = tfckpt::group_by_regex(kRules);
  return tfckpt::write_bundle(
      tfckpt::entries(std::span(logs)) |
          tfckpt::views::filter([&](const tfckpt::tensor& t) { return t.origins[0].checkpoint_index == 0 || heads(t); }) |
          tfckpt::views::filter(tfckpt::not_optimizer_slot()) |
          tfckpt::views::concat_by_group(heads, {.order = tfckpt::concat_order::numeric_capture(1), .axis = {{"out/weights", 1}}}),
      out, {.writer = {.overwrite = true}});
}

void remove_checkpoint(const fs::path& prefix) {
  std::error_code ec;
  fs::remove(prefix.string() + ".index", ec);
  fs::remove(tfckpt::data_file_name(prefix.string(), 0, 1), ec);
}

// The input byte ranges the merge reads: (data file, offset, size) for every tensor it writes.
struct range {
  std::string file;
  std::uint64_t offset = 0, size = 0;
};
absl::StatusOr<std::vector<range>> read_set(const fs::path& in) {
  TFCKPT_ASSIGN_OR_RETURN(const auto logs, open_logs(in));
  TFCKPT_ASSIGN_OR_RETURN(const auto planned, tfckpt::merge_heads_pipeline(logs, {.groups = kRules, .axes = {{"out/weights", 1}}}));
  std::vector<range> out;
  for (const tfckpt::tensor& t : planned)
    for (const tfckpt::tensor_origin& o : t.origins) {
      const tfckpt::checkpoint& c = logs[o.checkpoint_index];
      const tfckpt::entry* e = c.find(o.name);
      out.push_back({c.data_path(e->shard()), e->offset(), e->size()});
    }
  return out;
}

// The baseline: the same bytes, pread + write in 1 MiB pieces, into one new file.
double copy_seconds(const std::vector<range>& ranges, const fs::path& to) {
  std::vector<char> buf(std::size_t{1} << 20);
  const auto t0 = std::chrono::steady_clock::now();
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string open_file;
  int in = -1;
  bool ok = out >= 0;
  for (const range& r : ranges) {
    if (r.file != open_file) {
      if (in >= 0) ::close(in);
      in = ::open(r.file.c_str(), O_RDONLY);
      open_file = r.file;
    }
    for (std::uint64_t done = 0; ok && done < r.size;) {
      const auto n = ::pread(in, buf.data(), std::min<std::uint64_t>(buf.size(), r.size - done), static_cast<off_t>(r.offset + done));
      ok = n > 0 && ::write(out, buf.data(), static_cast<std::size_t>(n)) == n;
      done += static_cast<std::uint64_t>(std::max<ssize_t>(n, 0));
    }
  }
  if (in >= 0) ::close(in);
  ok = ::close(out) == 0 && ok;
  const double dt = seconds_since(t0);
  std::error_code ec;
  fs::remove(to, ec);
  return ok ? dt : -1;
}

// Checks the merged checkpoint against its inputs, byte for byte (and its CRCs).
absl::Status check_output(const fs::path& in, const fs::path& out, int scale) {
  TFCKPT_ASSIGN_OR_RETURN(const auto logs, open_logs(in));
  TFCKPT_ASSIGN_OR_RETURN(const auto merged, tfckpt::open(out));
  if (!merged.verify().ok()) return absl::DataLossError("merged checkpoint does not verify");
  if (merged.size() != 9) return absl::InternalError(absl::StrFormat("merged checkpoint has %d tensors", merged.size()));
  const std::uint64_t row = 1024 * static_cast<std::uint64_t>(scale) * 4;
  TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* w, merged.get("out/weights"));
  TFCKPT_ASSIGN_OR_RETURN(const auto wb, w->bytes());
  TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* b, merged.get("out/biases"));
  TFCKPT_ASSIGN_OR_RETURN(const auto bb, b->bytes());
  for (int i = 0; i < kLogs; ++i) {
    TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* hw, logs[static_cast<std::size_t>(i)].get(absl::StrFormat("out%d/weights", i)));
    TFCKPT_ASSIGN_OR_RETURN(const auto hb, hw->bytes());
    for (std::int64_t r = 0; r < kRows; ++r)
      if (std::memcmp(wb.data() + static_cast<std::uint64_t>(r) * row * kLogs + static_cast<std::uint64_t>(i) * row,
                      hb.data() + static_cast<std::uint64_t>(r) * row, row) != 0)
        return absl::InternalError(absl::StrFormat("out/weights row %d, head %d differs", r, i));
    TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* hbias, logs[static_cast<std::size_t>(i)].get(absl::StrFormat("out%d/biases", i)));
    TFCKPT_ASSIGN_OR_RETURN(const auto hbb, hbias->bytes());
    if (std::memcmp(bb.data() + static_cast<std::uint64_t>(i) * row, hbb.data(), row) != 0)
      return absl::InternalError(absl::StrFormat("out/biases, head %d differs", i));
  }
  for (int j = 0; j < 3; ++j) {
    const std::string name = absl::StrFormat("trunk/conv%d/weights", j);
    TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* a, merged.get(name));
    TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* s, logs[0].get(name));
    if (a->stored_crc32c() != s->stored_crc32c()) return absl::InternalError(name + " differs");
  }
  return absl::OkStatus();
}

// Runs `fn` in a forked child; returns its peak resident set in MiB, or -1 if it failed.
template <class Fn>
double child_peak_rss_mib(Fn fn) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn().ok() ? 0 : 1);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
}

void BM_MergeHeads(benchmark::State& state) {
  const int scale = static_cast<int>(state.range(0));
  const std::uint64_t per_log = (std::uint64_t{256} << 20) * static_cast<std::uint64_t>(scale);
  const std::uint64_t inputs = per_log * kLogs;
  const std::uint64_t output = (std::uint64_t{192} << 20) * static_cast<std::uint64_t>(scale) +
                               (std::uint64_t{64} << 20) * static_cast<std::uint64_t>(scale) * kLogs;
  const fs::path shm = "/dev/shm";
  const std::uint64_t margin = std::uint64_t{2} << 30;
  if (free_bytes(shm) < output + margin) return state.SkipWithError("not enough room in /dev/shm for the output");
  const bool inputs_in_shm = scale == 1 && free_bytes(shm) >= inputs + output + margin;
  const fs::path input_parent = inputs_in_shm ? shm : fs::temp_directory_path();
  if (!inputs_in_shm && free_bytes(input_parent) < inputs + margin) return state.SkipWithError("not enough room for the inputs");
  state.SetLabel(absl::StrFormat("%d x %d MiB inputs in %s, output %.2f GiB in /dev/shm", kLogs, per_log >> 20,
                                 input_parent.string(), static_cast<double>(output) / (1 << 30)));

  scratch in(input_parent), out(shm);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kLogs; ++i)
    if (absl::Status s = write_log(in.path / absl::StrFormat("log_%d", i) / "model.ckpt", i, scale); !s.ok())
      return state.SkipWithError(s.ToString().c_str());
  const double gen_s = seconds_since(t0);

  // Check before timing.
  const fs::path prefix = out.path / "merged";
  if (absl::Status s = merge(in.path, prefix); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  if (absl::Status s = check_output(in.path, prefix, scale); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  const std::uint64_t written = fs::file_size(tfckpt::data_file_name(prefix.string(), 0, 1));
  remove_checkpoint(prefix);
  auto ranges = read_set(in.path);
  if (!ranges.ok()) return state.SkipWithError(ranges.status().ToString().c_str());
  std::uint64_t copied = 0;
  for (const range& r : *ranges) copied += r.size;
  if (copied != written) return state.SkipWithError("the baseline would not copy the bytes the merge writes");
  if (copy_seconds(*ranges, out.path / "warmup.bin") < 0) return state.SkipWithError("baseline copy failed");  // warms the read set

  std::vector<double> merge_s, copy_s, ratio;
  for (auto _ : state) {
    for (int round = 0; round < 5; ++round) {
      const double c = copy_seconds(*ranges, out.path / "copy.bin");
      if (c < 0) return state.SkipWithError("baseline copy failed");
      t0 = std::chrono::steady_clock::now();
      if (absl::Status s = merge(in.path, prefix); !s.ok()) return state.SkipWithError(s.ToString().c_str());
      const double m = seconds_since(t0);
      remove_checkpoint(prefix);
      merge_s.push_back(m);
      copy_s.push_back(c);
      ratio.push_back(c / m);
    }
    state.SetIterationTime(tfckpt_bench::median(merge_s));
  }
  const double parent_rss = rss_mib();
  const double rss = child_peak_rss_mib([&] { return merge(in.path, prefix); });
  remove_checkpoint(prefix);
  const double rss_views = child_peak_rss_mib([&] { return merge_with_views(in.path, prefix); });
  remove_checkpoint(prefix);

  state.SetBytesProcessed(static_cast<std::int64_t>(written) * state.iterations());
  state.counters["x_cp_bandwidth"] = tfckpt_bench::median(ratio);
  state.counters["merge_GBps"] = static_cast<double>(written) / tfckpt_bench::median(merge_s) / 1e9;
  state.counters["cp_GBps"] = static_cast<double>(copied) / tfckpt_bench::median(copy_s) / 1e9;
  state.counters["peak_rss_MiB"] = rss;
  state.counters["peak_rss_views_MiB"] = rss_views;
  state.counters["parent_rss_MiB"] = parent_rss;
  state.counters["written_GiB"] = static_cast<double>(written) / (1 << 30);
  state.counters["generate_s"] = gen_s;
}
BENCHMARK(BM_MergeHeads)->Arg(1)->Arg(4)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
