// SPDX-License-Identifier: Apache-2.0
// Opening and searching a 1,000,000-entry bundle index: tfckpt::open against LevelDB's own Table
// reader on the same file, in the same process.
//
// The index is written once per process (in a temporary directory, removed at exit) by LevelDB's
// TableBuilder with TensorFlow's options (block_size 256 KiB, restart interval 16, no compression)
// and the record format of tests/testing/bundle_builder.hpp: names `layer_%06d/{bias,kernel}[/Adam]`,
// canonical BundleEntryProto values. Data files are absent: opening never touches them.
//
//   BM_OpenAndIterate_tfckpt    open (map + check every block CRC + decode every entry) and walk
//                               entries() reading name, dtype and shape
//   BM_Iterate_tfckpt           walk entries() of an already open checkpoint (every later pass)
//   BM_Pipeline_tfckpt          the same walk as a pipeline, entries(ckpt) | views::filter(...),
//                               reading each tensor's name and shape: x_entries is its time over
//                               the plain entries() walk's (what building pipeline tensors costs)
//   BM_Iterate_leveldb          Table::Open + iterate with verify_checksums, parsing each value
//                               with BundleEntryProto::ParseFromArray into one reused message: what
//                               a reader must do to learn dtype and shape
//   BM_Iterate_leveldb_raw      the same without parsing
//   BM_Lookup_tfckpt            checkpoint::find of random names
//   BM_Lookup_leveldb           Table iterator Seek to the same names (+ key comparison), with a
//                               block cache and verify_checksums off (LevelDB's fastest setup)
//
// The tfckpt benchmarks report x_leveldb (tfckpt time / LevelDB-with-parse time, < 1 is faster)
// and x_leveldb_raw: the median over alternating pairs (one tfckpt pass, then, untimed by the
// framework, one LevelDB pass of each kind) of the pair's ratio, so both sides meet the same
// moment of a shared machine; never a best-of. Before any timing both readers are checked to see
// the same 1,000,001 keys and tfckpt's dtype/shape/offset to match what protobuf parses; a mismatch
// skips the benchmark with an error.
// Left out: process start and the first read of the index file (the page cache is warm: `tfckpt ls`
// in a fresh process, page faults and all, is measured by bench/cli/run.sh), and printing.
#include <benchmark/benchmark.h>
#include <leveldb/cache.h>
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <utility>
#include <string>
#include <vector>

#include "bench_stats.hpp"
#include "../tests/testing/bundle_builder.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/index_scan.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/tensor.hpp"
#include "tfckpt/proto/tensor_bundle.pb.h"

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr int kLayers = 250000;  // 4 entries per layer: 1,000,000 entries + the header

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// The benchmark index, written on first use and deleted when the process exits.
class bench_index {
 public:
  static const bench_index& get() {
    static const bench_index instance;
    return instance;
  }
  ~bench_index() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& prefix() const { return prefix_; }
  std::string index_path() const { return prefix_ + ".index"; }
  const std::vector<std::string>& names() const { return names_; }  // key order, header excluded
  std::uint64_t file_size() const { return file_size_; }

 private:
  bench_index() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("tfckpt-index-bench-" + std::to_string(rd()));
    fs::create_directories(dir_);
    prefix_ = (dir_ / "model.ckpt-1000000").string();
    const auto start = clock_type::now();
    // Realistic records: float32 bias [256] and kernel [32,128] with their Adam slots, offsets
    // running through a (nonexistent) data file. Payloads are shared per shape: the builder needs
    // the bytes to compute size and CRC, and identical payloads keep generation fast.
    tfckpt_testing::tensor_spec bias, kernel;
    bias.dtype = kernel.dtype = tfckpt::dtype::float32;
    bias.shape = {256};
    kernel.shape = {32, 128};
    std::mt19937 rng(42);
    for (auto* t : {&bias, &kernel}) {
      std::vector<float> v(static_cast<std::size_t>(tfckpt_testing::element_count(t->shape)));
      for (float& x : v) x = static_cast<float>(rng()) / static_cast<float>(std::mt19937::max());
      t->data.assign(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    }
    names_.reserve(4 * kLayers);
    std::int64_t offset = 0;
    tensorflow::BundleHeaderProto header;
    header.set_num_shards(1);
    header.mutable_version()->set_producer(1);
    tfckpt_testing::build_options options;  // TensorFlow's: 256 KiB blocks, restart 16, no compression
    tfckpt_testing::write_table(
        index_path(),
        [&](auto add) {
          add("", header.SerializeAsString());
          char name[64];
          for (int layer = 0; layer < kLayers; ++layer) {
            for (const char* suffix : {"bias", "bias/Adam", "kernel", "kernel/Adam"}) {
              std::snprintf(name, sizeof name, "layer_%06d/%s", layer, suffix);
              const tfckpt_testing::tensor_spec& t = suffix[0] == 'b' ? bias : kernel;
              add(name, tfckpt_testing::entry_record(t, offset));
              offset += static_cast<std::int64_t>(t.data.size());
              names_.emplace_back(name);
            }
          }
        },
        options);
    file_size_ = fs::file_size(index_path());
    std::fprintf(stderr, "index_bench: wrote %zu entries, %.1f MiB index, in %.1f s (%s)\n", names_.size(),
                 static_cast<double>(file_size_) / (1 << 20), seconds_since(start), index_path().c_str());
  }

  fs::path dir_;
  std::string prefix_;
  std::vector<std::string> names_;
  std::uint64_t file_size_ = 0;
};

/// An open LevelDB Table over the benchmark index. With `cached`, blocks may stay in a block cache
/// large enough for the whole index (LevelDB caches only blocks it had to copy; blocks of an
/// mmapped file are used in place).
struct leveldb_table {
  std::unique_ptr<leveldb::Cache> cache;
  std::unique_ptr<leveldb::RandomAccessFile> file;
  std::unique_ptr<leveldb::Table> table;
  leveldb::Status status;

  explicit leveldb_table(const bench_index& idx, bool cached = false) {
    if (cached) cache.reset(leveldb::NewLRUCache(std::size_t{1} << 30));
    leveldb::RandomAccessFile* f = nullptr;
    status = leveldb::Env::Default()->NewRandomAccessFile(idx.index_path(), &f);
    if (!status.ok()) return;
    file.reset(f);
    leveldb::Options options;
    options.paranoid_checks = true;
    options.block_cache = cache.get();
    leveldb::Table* t = nullptr;
    status = leveldb::Table::Open(options, file.get(), idx.file_size(), &t);
    table.reset(t);
  }
  std::unique_ptr<leveldb::Iterator> iterator(bool verify_checksums = true) const {
    leveldb::ReadOptions read;
    read.verify_checksums = verify_checksums;
    read.fill_cache = cache != nullptr;
    return std::unique_ptr<leveldb::Iterator>(table->NewIterator(read));
  }
};

/// One full LevelDB pass: open, iterate with checksums, optionally parse every value. Returns the
/// number of entries (or -1 on error) and folds what it read into `sink`.
std::int64_t leveldb_pass(const bench_index& idx, bool parse, std::uint64_t* sink) {
  leveldb_table t(idx);
  if (!t.status.ok()) return -1;
  auto it = t.iterator();
  tensorflow::BundleEntryProto entry;  // reused: what a careful reader does
  std::int64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const leveldb::Slice key = it->key();
    const leveldb::Slice value = it->value();
    *sink += key.size();
    if (parse && !key.empty()) {
      if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) return -1;
      *sink += static_cast<std::uint64_t>(entry.dtype()) + static_cast<std::uint64_t>(entry.shape().dim_size());
      for (const auto& d : entry.shape().dim()) *sink += static_cast<std::uint64_t>(d.size());
    } else {
      *sink += value.size();
    }
    ++n;
  }
  return it->status().ok() ? n : -1;
}

/// One full tfckpt pass: open and walk entries reading name, dtype and shape.
std::int64_t tfckpt_pass(const bench_index& idx, std::uint64_t* sink) {
  auto ckpt = tfckpt::open(idx.prefix());
  if (!ckpt.ok()) return -1;
  std::int64_t n = 0;
  for (const tfckpt::entry& e : ckpt->entries()) {
    *sink += e.name().size() + static_cast<std::uint64_t>(e.dtype()) + e.shape().size();
    for (std::int64_t d : e.shape()) *sink += static_cast<std::uint64_t>(d);
    ++n;
  }
  return n;
}

/// Wall time of one call of fn.
template <class Fn>
double time_once(Fn fn) {
  const auto start = clock_type::now();
  fn();
  return seconds_since(start);
}

using tfckpt_bench::median;

/// Checks once that LevelDB and tfckpt see the same 1,000,001 keys, and that tfckpt's decoded
/// dtype, shape and offset equal protobuf's parse of every record. Empty string = OK.
const std::string& verification_error() {
  static const std::string error = [&]() -> std::string {
    const bench_index& idx = bench_index::get();
    leveldb_table t(idx);
    if (!t.status.ok()) return "leveldb cannot open the index: " + t.status.ToString();
    auto ckpt = tfckpt::open(idx.prefix());
    if (!ckpt.ok()) return "tfckpt cannot open the index: " + ckpt.status().ToString();
    // 1. The raw table walk: every key and value byte-identical, header included.
    auto it = t.iterator();
    it->SeekToFirst();
    std::uint64_t codec_keys = 0;
    std::string mismatch;
    auto index_file = tfckpt::io::mapped_file::open(idx.index_path());
    if (!index_file.ok()) return std::string(index_file.status().message());
    const absl::Status walked = tfckpt::codec::for_each_table_entry(
        idx.index_path(), index_file->bytes(),
        [&](std::string_view key, std::span<const std::byte> value, std::uint64_t) {
          if (!it->Valid() || it->key().ToString() != key ||
              it->value().ToString() != tfckpt::codec::as_chars(value))
            return absl::DataLossError("key/value mismatch at entry " + std::to_string(codec_keys));
          ++codec_keys;
          it->Next();
          return absl::OkStatus();
        });
    if (!walked.ok()) return std::string(walked.message());
    if (it->Valid() || !it->status().ok()) return "leveldb has more entries than tfckpt's table walk";
    if (codec_keys != idx.names().size() + 1) return "expected 1,000,001 keys, saw " + std::to_string(codec_keys);
    // 2. The checkpoint's entries against protobuf's parse.
    if (ckpt->size() != idx.names().size()) return "tfckpt lists " + std::to_string(ckpt->size()) + " entries";
    it->SeekToFirst();
    it->Next();  // the header
    tensorflow::BundleEntryProto proto;
    for (const tfckpt::entry& e : ckpt->entries()) {
      if (!it->Valid() || it->key().ToString() != e.name()) return "entry order differs at " + std::string(e.name());
      if (!proto.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
        return "protobuf cannot parse " + std::string(e.name());
      bool same = static_cast<int>(e.dtype()) == proto.dtype() &&
                  static_cast<int>(e.shape().size()) == proto.shape().dim_size() &&
                  static_cast<std::int64_t>(e.offset()) == proto.offset() &&
                  static_cast<std::int64_t>(e.size()) == proto.size() && e.stored_crc32c() == proto.crc32c();
      for (int d = 0; same && d < proto.shape().dim_size(); ++d)
        same = e.shape()[static_cast<std::size_t>(d)] == proto.shape().dim(d).size();
      if (!same) return "decoded metadata differs for " + std::string(e.name());
      it->Next();
    }
    return {};
  }();
  return error;
}

/// One LevelDB full pass of each kind: (with parse, raw) seconds.
std::pair<double, double> leveldb_sample(const bench_index& idx) {
  std::uint64_t sink = 0;
  const double parse = time_once([&] { benchmark::DoNotOptimize(leveldb_pass(idx, true, &sink)); });
  const double raw = time_once([&] { benchmark::DoNotOptimize(leveldb_pass(idx, false, &sink)); });
  benchmark::DoNotOptimize(sink);
  return {parse, raw};
}

bool check_or_skip(benchmark::State& state) {
  if (const std::string& error = verification_error(); !error.empty()) {
    state.SkipWithError(error.c_str());
    return false;
  }
  return true;
}

void BM_OpenAndIterate_tfckpt(benchmark::State& state) {
  if (!check_or_skip(state)) return;
  const bench_index& idx = bench_index::get();
  // The machine is shared: each of our runs is paired with LevelDB runs right after it (untimed),
  // and the pairs' ratios are summarised by their median.
  std::uint64_t sink = 0;
  std::vector<double> x_parse, x_raw;
  for (auto _ : state) {
    const auto start = clock_type::now();
    if (tfckpt_pass(idx, &sink) != static_cast<std::int64_t>(idx.names().size())) {
      state.SkipWithError("tfckpt pass failed");
      return;
    }
    const double ours = seconds_since(start);
    state.PauseTiming();
    const auto [parse, raw] = leveldb_sample(idx);
    x_parse.push_back(ours / parse);
    x_raw.push_back(ours / raw);
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * idx.names().size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * idx.file_size()));
  state.counters["x_leveldb"] = median(x_parse);
  state.counters["x_leveldb_raw"] = median(x_raw);
}

// scan_index: the same records and checks as open + iterate, nothing kept (what `tfckpt ls` does,
// twice). Leaves out process start-up and output formatting.
void BM_Scan_tfckpt(benchmark::State& state) {
  if (!check_or_skip(state)) return;
  const bench_index& idx = bench_index::get();
  std::uint64_t sink = 0;
  std::vector<double> x_parse;
  for (auto _ : state) {
    const auto start = clock_type::now();
    std::int64_t n = 0;
    const absl::Status scanned = tfckpt::scan_index(idx.prefix(), [&](const tfckpt::index_record& e) {
      sink += e.name.size() + static_cast<std::uint64_t>(e.dtype) + e.shape.size();
      for (std::int64_t d : e.shape) sink += static_cast<std::uint64_t>(d);
      ++n;
      return absl::OkStatus();
    });
    const double ours = seconds_since(start);
    if (!scanned.ok() || n != static_cast<std::int64_t>(idx.names().size())) {
      state.SkipWithError("scan failed");
      return;
    }
    state.PauseTiming();
    x_parse.push_back(ours / leveldb_sample(idx).first);
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * idx.names().size()));
  state.counters["x_leveldb"] = median(x_parse);
}

// Iterating an open checkpoint (what every later pass over the entries costs), against LevelDB's own
// iterator walking the same table without decoding the values.
void BM_Iterate_tfckpt(benchmark::State& state) {
  if (!check_or_skip(state)) return;
  const bench_index& idx = bench_index::get();
  auto ckpt = tfckpt::open(idx.prefix());
  if (!ckpt.ok()) return state.SkipWithError(std::string(ckpt.status().message()).c_str());
  std::uint64_t sink = 0;
  std::vector<double> x_raw;
  for (auto _ : state) {
    const auto start = clock_type::now();
    for (const tfckpt::entry& e : ckpt->entries()) {
      sink += e.name().size() + static_cast<std::uint64_t>(e.dtype()) + e.shape().size();
      for (std::int64_t d : e.shape()) sink += static_cast<std::uint64_t>(d);
    }
    const double ours = seconds_since(start);
    state.PauseTiming();
    x_raw.push_back(ours / leveldb_sample(idx).second);
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * idx.names().size()));
  state.counters["x_leveldb_raw"] = median(x_raw);
}

// A pipeline over the open checkpoint, paired with an untimed plain walk of its entries.
void BM_Pipeline_tfckpt(benchmark::State& state) {
  if (!check_or_skip(state)) return;
  const bench_index& idx = bench_index::get();
  auto ckpt = tfckpt::open(idx.prefix());
  if (!ckpt.ok()) return state.SkipWithError(std::string(ckpt.status().message()).c_str());
  std::uint64_t sink = 0;
  std::vector<double> x_entries;
  for (auto _ : state) {
    const auto start = clock_type::now();
    for (const tfckpt::tensor& t : tfckpt::entries(*ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot())) {
      sink += t.name.size() + static_cast<std::uint64_t>(t.dtype) + t.shape.size();
      for (std::int64_t d : t.shape) sink += static_cast<std::uint64_t>(d);
    }
    const double ours = seconds_since(start);
    state.PauseTiming();
    const double plain = time_once([&] {
      for (const tfckpt::entry& e : ckpt->entries()) {
        if (tfckpt::is_optimizer_state(e.name())) continue;
        sink += e.name().size() + static_cast<std::uint64_t>(e.dtype()) + e.shape().size();
        for (std::int64_t d : e.shape()) sink += static_cast<std::uint64_t>(d);
      }
    });
    x_entries.push_back(ours / plain);
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * idx.names().size()));
  state.counters["x_entries"] = median(x_entries);
}

void leveldb_iterate(benchmark::State& state, bool parse) {
  if (!check_or_skip(state)) return;
  const bench_index& idx = bench_index::get();
  std::uint64_t sink = 0;
  for (auto _ : state) {
    if (leveldb_pass(idx, parse, &sink) != static_cast<std::int64_t>(idx.names().size()) + 1) {
      state.SkipWithError("leveldb pass failed");
      return;
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * idx.names().size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * idx.file_size()));
}
void BM_Iterate_leveldb(benchmark::State& state) { leveldb_iterate(state, true); }
void BM_Iterate_leveldb_raw(benchmark::State& state) { leveldb_iterate(state, false); }

/// Random names to look up, the same sequence for both readers.
const std::vector<std::string>& lookup_names() {
  static const std::vector<std::string> names = [] {
    const auto& all = bench_index::get().names();
    std::vector<std::string> out;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 100000; ++i) out.push_back(all[rng() % all.size()]);
    return out;
  }();
  return names;
}

/// Seconds per LevelDB Seek (+ key check, + parse when asked), one pass over lookup_names().
/// LevelDB's fastest setup: a block cache and no per-read checksum (tfckpt checked every block once
/// at open, and its find() reads nothing from the file either).
double leveldb_seek_seconds(bool parse) {
  const bench_index& idx = bench_index::get();
  leveldb_table t(idx, /*cached=*/true);
  auto it = t.iterator(/*verify_checksums=*/false);
  tensorflow::BundleEntryProto proto;
  std::uint64_t hits = 0;
  const auto& names = lookup_names();
  const double total = time_once([&] {
    for (const std::string& n : names) {
      it->Seek(n);
      if (it->Valid() && it->key() == leveldb::Slice(n)) {
        ++hits;
        if (parse) {
          proto.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()));
          hits += static_cast<std::uint64_t>(proto.dtype());
        }
      }
    }
  });
  benchmark::DoNotOptimize(hits);
  return total / static_cast<double>(names.size());
}

void BM_Lookup_tfckpt(benchmark::State& state) {
  if (!check_or_skip(state)) return;
  auto ckpt = tfckpt::open(bench_index::get().prefix());
  if (!ckpt.ok()) {
    state.SkipWithError(std::string(ckpt.status().message()).c_str());
    return;
  }
  const auto& names = lookup_names();
  // Whole passes over the lookup list, each paired with LevelDB passes over the same list.
  std::vector<double> per_lookup, x_parse, x_raw;
  std::uint64_t hits = 0;
  for (auto _ : state) {
    const auto start = clock_type::now();
    for (const std::string& n : names) {
      const tfckpt::entry* e = ckpt->find(n);
      if (e == nullptr) {
        state.SkipWithError(("lookup missed " + n).c_str());
        return;
      }
      hits += static_cast<std::uint64_t>(e->dtype());
    }
    const double ours = seconds_since(start) / static_cast<double>(names.size());
    state.PauseTiming();
    per_lookup.push_back(ours);
    x_parse.push_back(ours / leveldb_seek_seconds(true));  // LevelDB must parse to learn the dtype
    x_raw.push_back(ours / leveldb_seek_seconds(false));
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * names.size()));
  state.counters["ns_per_lookup"] = median(per_lookup) * 1e9;
  state.counters["x_leveldb"] = median(x_parse);
  state.counters["x_leveldb_raw"] = median(x_raw);
}

void BM_Lookup_leveldb(benchmark::State& state) {
  if (!check_or_skip(state)) return;
  const bench_index& idx = bench_index::get();
  leveldb_table t(idx, /*cached=*/true);
  auto it = t.iterator(/*verify_checksums=*/false);
  const auto& names = lookup_names();
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& n = names[i++ % names.size()];
    it->Seek(n);
    if (!it->Valid() || it->key() != leveldb::Slice(n)) {
      state.SkipWithError(("seek missed " + n).c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// At least a few samples of each side even with a short --benchmark_min_time.
BENCHMARK(BM_OpenAndIterate_tfckpt)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_Scan_tfckpt)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_Iterate_tfckpt)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_Pipeline_tfckpt)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_Iterate_leveldb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Iterate_leveldb_raw)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Lookup_tfckpt)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Lookup_leveldb)->Unit(benchmark::kNanosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
