// SPDX-License-Identifier: Apache-2.0
// Corruption and truncation sweeps over the TensorFlow-written fixtures.
//
// Each fixture is copied into a scratch directory. Then, one at a time, every byte of its index and
// data files is flipped (XOR 0xFF); files larger than kFullSweepBytes get every bit of a sampled set
// of bytes flipped instead (kSampledPositions positions, one drawn at random inside each of as many
// equal strata, fixed seed). After each flip the checkpoint is opened and verified through the
// library: the outcome must be an error naming the flipped file, or a checkpoint whose every
// tensor's name, dtype, shape and bytes equal the original's (the flip hit bytes nothing reads).
// Bytes covered by a checksum (SSTable blocks and their trailers; a tensor's payload, covered by
// the entry's crc32c) must always be detected. Then every file is truncated at every offset (or
// at sampled offsets plus every entry boundary for large files), longest first so that each cut
// only shortens the previous one: never a crash, and never a
// successful verify unless only bytes past the last tensor were cut.
//
// Under AddressSanitizer (detected at compile time) the sampling is coarser so that the test stays
// within a few minutes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "testing/sanitizer.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/table.hpp"

namespace corruption_sweep_test {

namespace {

namespace fs = std::filesystem;

constexpr bool kSanitized = tfckpt_testing::kAddressSanitizer;

constexpr std::uint64_t kFullSweepBytes = 256 * 1024;
constexpr std::size_t kSampledPositions = kSanitized ? 96 : 1024;
constexpr std::uint64_t kFullTruncationBytes = kSanitized ? 16 * 1024 : 64 * 1024;
constexpr std::size_t kSampledTruncations = kSanitized ? 64 : 512;
constexpr int kMaxReportedFailures = 10;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Overwrites one byte in place (the file keeps its size and inode).
void poke(const fs::path& p, std::uint64_t offset, char value) {
  std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(value);
}

struct tensor_snapshot {
  std::string name;
  tfckpt::dtype type;
  std::vector<std::int64_t> shape;
  std::string bytes;
  friend bool operator==(const tensor_snapshot&, const tensor_snapshot&) = default;
};

// What one corrupted checkpoint gave.
struct outcome {
  bool error = false;
  std::string message;  // the first error
  bool equal = false;   // no error, and every tensor equals the original's
};

absl::StatusOr<std::vector<tensor_snapshot>> snapshot(const tfckpt::checkpoint& ckpt) {
  std::vector<tensor_snapshot> out;
  for (const tfckpt::entry& e : ckpt.entries()) {
    auto bytes = e.bytes();
    if (!bytes.ok()) return bytes.status();
    out.push_back({std::string(e.name()), e.dtype(), {e.shape().begin(), e.shape().end()},
                   std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size())});
  }
  return out;
}

// Opens, verifies (unless index_only) and compares with `original`.
outcome check(const std::string& prefix, bool index_only, const std::vector<tensor_snapshot>& original) {
  outcome o;
  auto ckpt = tfckpt::open(prefix);
  if (!ckpt.ok()) {
    o.error = true;
    o.message = std::string(ckpt.status().message());
    return o;
  }
  if (index_only) {
    std::vector<tensor_snapshot> meta;
    for (const tfckpt::entry& e : ckpt->entries())
      meta.push_back({std::string(e.name()), e.dtype(), {e.shape().begin(), e.shape().end()},
                      absl::StrFormat("%d/%d/%d/%08x", e.shard(), e.offset(), e.size(), e.stored_crc32c())});
    o.equal = meta == original;
    return o;
  }
  const tfckpt::verify_report report = ckpt->verify();
  if (!report.ok()) {
    o.error = true;
    o.message = std::string(report.problems.front().message());
    return o;
  }
  auto now = snapshot(*ckpt);
  if (!now.ok()) {
    o.error = true;
    o.message = std::string(now.status().message());
    return o;
  }
  o.equal = *now == original;
  return o;
}

// One fixture checkpoint: where it is inside the fixtures, and whether its data is complete.
struct fixture_case {
  const char* name;    // test name
  const char* prefix;  // relative to the fixtures directory
  bool v1 = false;     // one SSTable file; the prefix is the file
};

void PrintTo(const fixture_case& c, std::ostream* out) { *out << c.prefix; }

struct file_under_test {
  fs::path path;
  bool is_table = false;  // an SSTable (the index, or a V1 checkpoint)
  // Byte ranges whose corruption a checksum must reveal: for a table, everything before the
  // footer (blocks and trailers tile it); for a data shard, every tensor payload.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> covered;
  std::uint64_t required_size = 0;  // a data shard: end of the last payload
  bool covers(std::uint64_t at) const {
    return std::any_of(covered.begin(), covered.end(), [&](const auto& r) { return at >= r.first && at < r.second; });
  }
};

class CorruptionSweep : public testing::TestWithParam<fixture_case> {
 protected:
  void SetUp() override {
    TFCKPT_REQUIRE_FIXTURES();
    const fixture_case& c = GetParam();
    const fs::path source = tfckpt_testing::fixtures_dir() / c.prefix;
    const fs::path source_dir = source.parent_path();
    const std::string stem = source.filename().string();
    if (!fs::exists(c.v1 ? source : fs::path(source.string() + ".index")))
      GTEST_SKIP() << "fixture " << source << " is absent";
    // Only the checkpoint's own files are copied (not the .meta or other checkpoints beside it).
    for (const auto& f : fs::directory_iterator(source_dir)) {
      const std::string name = f.path().filename().string();
      const bool mine = c.v1 ? name == stem : (name == stem + ".index" || name.rfind(stem + ".data-", 0) == 0);
      if (mine) {
        fs::copy_file(f.path(), scratch_ / name);
        fs::permissions(scratch_ / name, fs::perms::owner_read | fs::perms::owner_write);
      }
    }
    prefix_ = (scratch_ / stem).string();

    auto ckpt = tfckpt::open(prefix_);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    // A checkpoint whose data is incomplete (shipped index-only) is swept on its index alone,
    // compared on metadata.
    index_only_ = !ckpt->verify().ok();
    if (index_only_) {
      for (const tfckpt::entry& e : ckpt->entries())
        original_.push_back({std::string(e.name()), e.dtype(), {e.shape().begin(), e.shape().end()},
                             absl::StrFormat("%d/%d/%d/%08x", e.shard(), e.offset(), e.size(), e.stored_crc32c())});
    } else {
      auto snap = snapshot(*ckpt);
      ASSERT_TRUE(snap.ok()) << snap.status();
      original_ = std::move(*snap);
    }

    const auto add_table = [&](const fs::path& p) {
      file_under_test f;
      f.path = p;
      f.is_table = true;
      const std::uint64_t size = fs::file_size(p);
      f.covered.push_back({0, size >= tfckpt::codec::kFooterSize ? size - tfckpt::codec::kFooterSize : 0});
      files_.push_back(std::move(f));
    };
    if (c.v1) {
      add_table(prefix_);
      return;
    }
    add_table(prefix_ + ".index");
    if (index_only_) return;
    for (std::int32_t shard = 0; shard < ckpt->num_shards(); ++shard) {
      file_under_test f;
      f.path = ckpt->data_path(shard);
      for (const tfckpt::entry& e : ckpt->stored_entries()) {
        if (e.is_partitioned() || e.shard() != shard) continue;
        if (e.size() > 0) f.covered.push_back({e.offset(), e.offset() + e.size()});
        f.required_size = std::max(f.required_size, e.offset() + e.size());
      }
      files_.push_back(std::move(f));
    }
  }

  // Byte positions swept in a file of `size` bytes, and whether every bit of each is flipped.
  static std::vector<std::uint64_t> positions(std::uint64_t size, bool* every_bit) {
    std::vector<std::uint64_t> out;
    *every_bit = size > kFullSweepBytes;
    if (!*every_bit) {
      for (std::uint64_t i = 0; i < size; ++i) out.push_back(i);
      return out;
    }
    std::mt19937_64 rng(size);
    for (std::size_t k = 0; k < kSampledPositions; ++k) {
      const std::uint64_t lo = size * k / kSampledPositions;
      const std::uint64_t hi = size * (k + 1) / kSampledPositions;
      out.push_back(lo + rng() % std::max<std::uint64_t>(hi - lo, 1));
    }
    return out;
  }

  void sweep_flips(const file_under_test& f) {
    const std::string pristine = read_all(f.path);
    const std::uint64_t size = pristine.size();
    bool every_bit = false;
    const std::vector<std::uint64_t> at = positions(size, &every_bit);
    std::uint64_t flips = 0, covered = 0, covered_detected = 0, uncovered_detected = 0, harmless = 0;
    int failures = 0;
    for (const std::uint64_t pos : at) {
      const auto original_byte = static_cast<unsigned char>(pristine[pos]);
      std::vector<unsigned char> masks;
      if (every_bit) {
        for (int b = 0; b < 8; ++b) masks.push_back(static_cast<unsigned char>(1u << b));
      } else {
        masks.push_back(0xff);
      }
      for (const unsigned char mask : masks) {
        poke(f.path, pos, static_cast<char>(original_byte ^ mask));
        const outcome o = check(prefix_, index_only_, original_);
        ++flips;
        const bool is_covered = f.covers(pos);
        covered += is_covered;
        if (o.error) {
          (is_covered ? covered_detected : uncovered_detected) += 1;
          if (o.message.find(f.path.string()) == std::string::npos && failures++ < kMaxReportedFailures)
            ADD_FAILURE() << f.path << " @" << pos << " ^0x" << std::hex << int{mask} << std::dec
                          << ": the error does not name the file: " << o.message;
        } else if (o.equal) {
          ++harmless;
          if (is_covered && failures++ < kMaxReportedFailures)
            ADD_FAILURE() << f.path << " @" << pos << " ^0x" << std::hex << int{mask} << std::dec
                          << ": a checksummed byte changed and nothing noticed";
        } else if (failures++ < kMaxReportedFailures) {
          ADD_FAILURE() << f.path << " @" << pos << " ^0x" << std::hex << int{mask} << std::dec
                        << ": opened and verified, but the tensors differ from the original";
        }
      }
      poke(f.path, pos, static_cast<char>(original_byte));
    }
    ASSERT_EQ(read_all(f.path), pristine);
    const double rate = covered == 0 ? 1.0 : static_cast<double>(covered_detected) / static_cast<double>(covered);
    std::printf(
        "[sweep] %s: %llu bytes, %s %zu positions, %llu flips: %llu detected (%llu of %llu covered, %llu uncovered), "
        "%llu undetected but harmless; covered detection rate %.2f%%\n",
        f.path.filename().c_str(), static_cast<unsigned long long>(size), every_bit ? "sampled (every bit)" : "all",
        at.size(), static_cast<unsigned long long>(flips),
        static_cast<unsigned long long>(covered_detected + uncovered_detected),
        static_cast<unsigned long long>(covered_detected), static_cast<unsigned long long>(covered),
        static_cast<unsigned long long>(uncovered_detected), static_cast<unsigned long long>(harmless), 100.0 * rate);
    std::fflush(stdout);
    EXPECT_EQ(covered_detected, covered) << f.path;
  }

  void sweep_truncations(const file_under_test& f) {
    const std::string pristine = read_all(f.path);
    const std::uint64_t size = pristine.size();
    std::vector<std::uint64_t> cuts;
    if (size <= kFullTruncationBytes) {
      for (std::uint64_t t = 0; t < size; ++t) cuts.push_back(t);
    } else {
      std::mt19937_64 rng(size + 1);
      for (std::size_t k = 0; k < kSampledTruncations; ++k) cuts.push_back(rng() % size);
      // Every payload boundary and its neighbours: where an off-by-one would hide.
      for (const auto& [begin, end] : f.covered)
        for (const std::uint64_t t : {begin, begin + 1, end - 1, end, end + 1})
          if (t < size) cuts.push_back(t);
      cuts.push_back(0);
      cuts.push_back(size - 1);
      std::sort(cuts.begin(), cuts.end());
      cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    }
    // Longest first: each cut then only shortens the file further, and it is restored once at the end.
    std::sort(cuts.begin(), cuts.end(), std::greater<>());
    std::uint64_t detected = 0, harmless = 0;
    int failures = 0;
    for (const std::uint64_t t : cuts) {
      fs::resize_file(f.path, t);
      const outcome o = check(prefix_, index_only_, original_);
      // A table loses its footer; a data shard loses payload bytes unless only its tail past the
      // last tensor went.
      const bool must_fail = f.is_table || t < f.required_size;
      if (o.error) {
        ++detected;
        if (o.message.find(f.path.string()) == std::string::npos && failures++ < kMaxReportedFailures)
          ADD_FAILURE() << f.path << " cut at " << t << ": the error does not name the file: " << o.message;
      } else if (must_fail) {
        if (failures++ < kMaxReportedFailures) ADD_FAILURE() << f.path << " cut at " << t << ": verified successfully";
      } else if (o.equal) {
        ++harmless;
      } else if (failures++ < kMaxReportedFailures) {
        ADD_FAILURE() << f.path << " cut at " << t << ": tensors differ from the original";
      }
    }
    write_all(f.path, pristine);
    std::printf("[truncate] %s: %llu bytes, %zu cuts (%s): %llu detected, %llu harmless (only bytes past the last tensor)\n",
                f.path.filename().c_str(), static_cast<unsigned long long>(size), cuts.size(),
                size <= kFullTruncationBytes ? "every offset" : "sampled + payload boundaries",
                static_cast<unsigned long long>(detected), static_cast<unsigned long long>(harmless));
    std::fflush(stdout);
  }

  tfckpt_testing::scratch_dir scratch_;
  std::string prefix_;
  bool index_only_ = false;
  std::vector<tensor_snapshot> original_;
  std::vector<file_under_test> files_;
};

TEST_P(CorruptionSweep, EveryFlipIsDetectedOrHarmless) {
  for (const file_under_test& f : files_) sweep_flips(f);
}

TEST_P(CorruptionSweep, EveryTruncationFailsCleanly) {
  for (const file_under_test& f : files_) sweep_truncations(f);
}

const fixture_case kFixtures[] = {
    {"a2c_ckpt_7", "a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-7"},
    {"a2c_ckpt_9", "a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-9"},
    {"estimator_proximal_adagrad", "estimator_proximal_adagrad/model.ckpt-300"},
    {"iris_keras_sharded_tf2", "iris_keras_sharded_tf2/model.ckpt"},
    {"mnist_ema", "mnist_ema/MNIST_model/mnist_model-30000"},
    {"mnist_fc2_adam_fc2", "mnist_fc2_adam/fc2.ckpt"},
    {"mnist_fc2_adam_cnn_index_only", "mnist_fc2_adam/cnn.ckpt"},
    {"rust_regression_savedmodel", "rust_regression_savedmodel/variables/variables"},
    {"serving_half_plus_two_tf1", "serving_half_plus_two_tf1/00000123/variables/variables"},
    {"serving_half_plus_two_tf2", "serving_half_plus_two_tf2/00000123/variables/variables"},
    {"t5x_mtf_tiny_bf16_index_only", "t5x_mtf_tiny_bf16_index_only/model.ckpt-0"},
    {"tf2onnx_regression_checkpoint", "tf2onnx_regression/checkpoint/model"},
    {"tflearn_and_bool_frozen", "tflearn_and_bool_frozen/and.tflearn"},
    {"mnist_softmax_v1", "mnist_softmax_v1_frozen/model/model.ckpt", true},
    {"nxt_v1_adam", "nxt_v1_adam/model.ckpt", true},
};

INSTANTIATE_TEST_SUITE_P(Fixtures, CorruptionSweep, testing::ValuesIn(kFixtures),
                         [](const testing::TestParamInfo<fixture_case>& info) { return std::string(info.param.name); });

}  // namespace

}  // namespace corruption_sweep_test
