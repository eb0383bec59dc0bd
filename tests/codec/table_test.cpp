// SPDX-License-Identifier: Apache-2.0
// tfckpt/codec/table.hpp and block.hpp against LevelDB: every SSTable in the TensorFlow fixtures
// (V2 `.index` files and V1 checkpoints) and tables written by LevelDB's own TableBuilder across
// block sizes, restart intervals and compression must yield exactly the (key, value) sequence that
// LevelDB's iterator yields. Plus the block and footer decoding edge cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/codec/block.hpp"
#include "tfckpt/codec/table.hpp"

namespace table_test {

namespace {

namespace codec = tfckpt::codec;
namespace fs = std::filesystem;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::tfckpt_testing::StatusIs;

using kv_list = std::vector<std::pair<std::string, std::string>>;

std::vector<std::byte> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  std::copy(chars.begin(), chars.end(), reinterpret_cast<char*>(out.data()));
  return out;
}

/// Everything LevelDB's Table iterator yields for `path`, with checksum verification on. Fails
/// the test (and returns what it got) when LevelDB reports an error.
kv_list leveldb_entries(const fs::path& path) {
  kv_list out;
  leveldb::Env* env = leveldb::Env::Default();
  std::uint64_t size = 0;
  EXPECT_TRUE(env->GetFileSize(path.string(), &size).ok()) << path;
  leveldb::RandomAccessFile* raw_file = nullptr;
  leveldb::Status s = env->NewRandomAccessFile(path.string(), &raw_file);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  std::unique_ptr<leveldb::RandomAccessFile> file(raw_file);
  leveldb::Options options;
  options.paranoid_checks = true;
  leveldb::Table* raw_table = nullptr;
  s = leveldb::Table::Open(options, file.get(), size, &raw_table);
  EXPECT_TRUE(s.ok()) << path << ": " << s.ToString();
  if (!s.ok()) return out;
  std::unique_ptr<leveldb::Table> table(raw_table);
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  read.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(read));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key().ToString(), it->value().ToString());
  EXPECT_TRUE(it->status().ok()) << path << ": " << it->status().ToString();
  return out;
}

/// Everything our codec yields for `bytes`, or its error.
absl::StatusOr<kv_list> tfckpt_entries(std::string_view name, std::span<const std::byte> bytes,
                                       codec::table_stats* stats = nullptr) {
  kv_list out;
  absl::Status s = codec::for_each_table_entry(
      name, bytes,
      [&](std::string_view key, std::span<const std::byte> value, std::uint64_t) {
        out.emplace_back(std::string(key), std::string(codec::as_chars(value)));
        return absl::OkStatus();
      },
      stats);
  if (!s.ok()) return s;
  return out;
}

std::vector<fs::path> fixture_tables() {
  std::vector<fs::path> out;
  const fs::path root = tfckpt_testing::fixtures_dir();
  for (const auto& f : fs::recursive_directory_iterator(root))
    if (f.is_regular_file() && f.path().extension() == ".index") out.push_back(f.path());
  // V1 checkpoints: one SSTable each, named by their save path.
  out.push_back(root / "nxt_v1_adam/model.ckpt");
  out.push_back(root / "mnist_softmax_v1_frozen/model/model.ckpt");
  for (const auto& f : fs::recursive_directory_iterator(root / "serving_session_bundle_v1")) {
    const std::string name = f.path().filename().string();
    if (f.is_regular_file() && name.rfind("export", 0) == 0 && f.path().extension() != ".meta")
      out.push_back(f.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- Fixtures written by TensorFlow ---

TEST(TableFixtures, EveryFixtureTableMatchesLevelDB) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto tables = fixture_tables();
  ASSERT_GE(tables.size(), 16u);
  std::size_t v1 = 0, snappy = 0, total_entries = 0;
  for (const fs::path& path : tables) {
    SCOPED_TRACE(path.string());
    ASSERT_TRUE(fs::is_regular_file(path));
    const auto bytes = read_file(path);
    const kv_list expected = leveldb_entries(path);
    ASSERT_FALSE(expected.empty());
    codec::table_stats stats;
    ASSERT_OK_AND_ASSIGN(const kv_list actual, tfckpt_entries(path.string(), bytes, &stats));
    EXPECT_EQ(actual.size(), expected.size());
    EXPECT_TRUE(actual == expected);
    EXPECT_EQ(stats.entries, actual.size());
    EXPECT_GE(stats.data_blocks, 1u);
    if (path.extension() != ".index") ++v1;
    if (stats.snappy_blocks > 0) ++snappy;
    total_entries += actual.size();
  }
  EXPECT_EQ(v1, 4u);
  // serving_half_plus_two_tf1/tf2 and t5x are Snappy-compressed (fixtures/MANIFEST.md).
  EXPECT_GE(snappy, 3u);
  EXPECT_GT(total_entries, 300u);
}

TEST(TableFixtures, OffsetsPointAtTheEntryInUncompressedBlocks) {
  TFCKPT_REQUIRE_FIXTURES();
  // For an uncompressed block the reported offset is where the entry starts: its three varints are
  // followed by the key suffix, and the value ends the entry.
  const fs::path path = tfckpt_testing::fixtures_dir() / "tflearn_and_bool_frozen/and.tflearn.index";
  const auto bytes = read_file(path);
  std::size_t checked = 0;
  ASSERT_OK(codec::for_each_table_entry(
      path.string(), bytes, [&](std::string_view, std::span<const std::byte> value, std::uint64_t at) {
        EXPECT_LT(at, static_cast<std::uint64_t>(value.data() - bytes.data()));
        EXPECT_LE(static_cast<std::uint64_t>(value.data() - bytes.data()), at + 3 + 255);
        ++checked;
        return absl::OkStatus();
      }));
  EXPECT_EQ(checked, 14u);
}

// --- Tables written by LevelDB's TableBuilder ---

/// Table options (g++ warns about designated initializers that leave members out).
tfckpt_testing::build_options table_options(std::size_t block_size = 262144, int restart_interval = 16,
                                            bool snappy = false) {
  tfckpt_testing::build_options o;
  o.block_size = block_size;
  o.restart_interval = restart_interval;
  o.snappy = snappy;
  return o;
}

struct table_config {
  std::size_t block_size;
  int restart_interval;
  bool snappy;
};

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

/// ~2000 distinct random keys of 0-40 random bytes (0x00 and 0xff included, the empty key once),
/// with values of 0-300 bytes: a third compressible runs, a third random, a third mixed.
std::map<std::string, std::string> random_table_contents(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<std::string, std::string> kv;
  kv[""] = "the empty key";
  kv[std::string(1, '\0')] = std::string(3, '\0');
  kv[std::string(40, '\xff')] = std::string(7, '\xff');
  kv[std::string("a\0b", 3)] = "";
  while (kv.size() < 2000) {
    const std::size_t klen = rng() % 41;
    std::string key = random_bytes(rng, klen);
    // Bias some keys towards shared prefixes so prefix compression does real work.
    if (rng() % 3 == 0 && !kv.empty()) {
      auto it = kv.lower_bound(key);
      if (it == kv.end()) --it;
      key = it->first.substr(0, rng() % (it->first.size() + 1)) + random_bytes(rng, rng() % 8);
      if (key.size() > 40) key.resize(40);
    }
    const std::size_t vlen = rng() % 301;
    std::string value;
    switch (rng() % 3) {
      case 0: value.assign(vlen, static_cast<char>('a' + rng() % 26)); break;
      case 1: value = random_bytes(rng, vlen); break;
      default:
        for (std::size_t i = 0; i < vlen; ++i) value.push_back("tensor/kernel/"[i % 14]);
        if (vlen > 0) value[rng() % vlen] = static_cast<char>(rng() & 0xff);
    }
    kv.emplace(std::move(key), std::move(value));
  }
  return kv;
}

class LevelDBWrittenTable : public ::testing::TestWithParam<table_config> {};

TEST_P(LevelDBWrittenTable, SameSequenceAsLevelDB) {
  const table_config c = GetParam();
  tfckpt_testing::scratch_dir dir;
  const fs::path path = dir / "t.sst";
  const auto kv = random_table_contents(c.block_size * 31 + static_cast<std::uint64_t>(c.restart_interval) * 7 +
                                        (c.snappy ? 1 : 0));
  tfckpt_testing::write_table(
      path.string(), [&](auto add) { for (const auto& [k, v] : kv) add(k, v); },
      table_options(c.block_size, c.restart_interval, c.snappy));
  const auto bytes = read_file(path);
  const kv_list expected = leveldb_entries(path);
  ASSERT_EQ(expected.size(), kv.size());
  ASSERT_TRUE(std::equal(expected.begin(), expected.end(), kv.begin(), kv.end(),
                         [](const auto& a, const auto& b) { return a.first == b.first && a.second == b.second; }));

  codec::table_stats stats;
  ASSERT_OK_AND_ASSIGN(const kv_list actual, tfckpt_entries(path.string(), bytes, &stats));
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    ASSERT_EQ(actual[i].first, expected[i].first) << "entry " << i;
    ASSERT_EQ(actual[i].second, expected[i].second) << "entry " << i;
  }
  EXPECT_EQ(stats.entries, kv.size());
  // ~300 KB of entries: many blocks except at 256 KiB, where there are two.
  if (c.block_size <= 4096) {
    EXPECT_GT(stats.data_blocks, 50u);
  } else {
    EXPECT_GE(stats.data_blocks, 2u);
  }
  if (c.snappy) {
    EXPECT_GT(stats.snappy_blocks, 0u);  // the compressible values make most blocks shrink
  } else {
    EXPECT_EQ(stats.snappy_blocks, 0u);
  }
}

std::vector<table_config> all_configs() {
  std::vector<table_config> out;
  for (std::size_t block_size : {std::size_t{64}, std::size_t{256}, std::size_t{4096}, std::size_t{262144}})
    for (int restart : {1, 2, 16})
      for (bool snappy : {false, true}) out.push_back({block_size, restart, snappy});
  return out;
}

INSTANTIATE_TEST_SUITE_P(BlockSizesRestartsCompression, LevelDBWrittenTable, ::testing::ValuesIn(all_configs()),
                         [](const ::testing::TestParamInfo<table_config>& info) {
                           return "block" + std::to_string(info.param.block_size) + "_restart" +
                                  std::to_string(info.param.restart_interval) +
                                  (info.param.snappy ? "_snappy" : "_raw");
                         });

/// Writes `kv` with LevelDB and checks both readers agree; returns our entries.
kv_list round_trip(const kv_list& kv, const tfckpt_testing::build_options& options) {
  tfckpt_testing::scratch_dir dir;
  const fs::path path = dir / "t.sst";
  tfckpt_testing::write_table(path.string(), [&](auto add) { for (const auto& [k, v] : kv) add(k, v); }, options);
  const kv_list expected = leveldb_entries(path);
  EXPECT_TRUE(expected == kv);
  const auto bytes = read_file(path);
  auto actual = tfckpt_entries(path.string(), bytes);
  EXPECT_OK(actual.status());
  if (!actual.ok()) return {};
  EXPECT_TRUE(*actual == expected);
  return *std::move(actual);
}

TEST(LevelDBWrittenEdgeCases, EmptyKeyOnly) {
  for (bool snappy : {false, true}) {
    const kv_list kv = {{"", "08 01 1a 02 08 01"}};
    EXPECT_EQ(round_trip(kv, table_options(262144, 16, snappy)), kv);
    const kv_list empty_value = {{"", ""}};
    EXPECT_EQ(round_trip(empty_value, table_options(262144, 16, snappy)), empty_value);
  }
}

TEST(LevelDBWrittenEdgeCases, NoEntriesAtAll) {
  EXPECT_TRUE(round_trip({}, table_options()).empty());
}

TEST(LevelDBWrittenEdgeCases, SingleLongValue) {
  std::mt19937_64 rng(7);
  const kv_list random = {{"k", random_bytes(rng, 100 * 1024)}};
  const kv_list runs = {{"k", std::string(100 * 1024, 'z')}};
  for (std::size_t block_size : {std::size_t{64}, std::size_t{4096}, std::size_t{262144}}) {
    for (bool snappy : {false, true}) {
      EXPECT_EQ(round_trip(random, table_options(block_size, 16, snappy)), random);
      EXPECT_EQ(round_trip(runs, table_options(block_size, 16, snappy)), runs);
    }
  }
  // A long value between small ones triggers TableBuilder's "overly large entry" flush.
  const kv_list mixed = {{"a", "small"}, {"k", random[0].second}, {"z", "tail"}};
  EXPECT_EQ(round_trip(mixed, table_options(4096)), mixed);
}

// --- Blocks ---

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

TEST(Block, EmptyBlockHasOneRestartAndNoEntries) {
  const auto contents = bytes_of({0, 0, 0, 0, 1, 0, 0, 0});
  ASSERT_OK_AND_ASSIGN(const codec::block_view b, codec::block_view::parse(contents, {"t.index", 43}));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.num_restarts(), 1u);
  EXPECT_EQ(b.entries_size(), 0u);
  int calls = 0;
  EXPECT_OK(b.for_each([&](std::string_view, std::span<const std::byte>, std::uint64_t) {
    ++calls;
    return absl::OkStatus();
  }));
  EXPECT_EQ(calls, 0);
}

TEST(Block, EmptyBlockWithItsTrailerIsTheKnown13Bytes) {
  // spec §2.2: "00000000 01000000 00 c0f2a1b0", as the metaindex at offset 43 of a file.
  std::vector<std::byte> file(43, std::byte{0});
  const auto block = bytes_of({0, 0, 0, 0, 1, 0, 0, 0, 0x00, 0xc0, 0xf2, 0xa1, 0xb0});
  file.insert(file.end(), block.begin(), block.end());
  ASSERT_OK_AND_ASSIGN(const codec::block_contents c, codec::read_block("t.index", file, {43, 8}, "metaindex block"));
  EXPECT_FALSE(c.decompressed());
  EXPECT_EQ(c.bytes().data(), file.data() + 43);  // zero-copy
  EXPECT_EQ(c.bytes().size(), 8u);
  file[44] = std::byte{1};  // any change breaks the CRC, reported at the trailer
  EXPECT_THAT(codec::read_block("t.index", file, {43, 8}, "metaindex block"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @51: checksum mismatch in metaindex block")));
}

TEST(Block, TooShortForARestartCount) {
  for (std::size_t n = 0; n < 4; ++n) {
    const std::vector<std::byte> contents(n, std::byte{0});
    EXPECT_THAT(codec::block_view::parse(contents, {"t.index", 100}),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @100: block of")))
        << n;
  }
}

TEST(Block, BadRestartCounts) {
  // Zero restarts, and more restarts than the block can hold.
  EXPECT_THAT(codec::block_view::parse(bytes_of({0, 0, 0, 0}), {"t.index", 10}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @10: bad restart count 0")));
  EXPECT_THAT(codec::block_view::parse(bytes_of({0, 0, 0, 0, 2, 0, 0, 0}), {"t.index", 10}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @14: bad restart count 2")));
  EXPECT_THAT(codec::block_view::parse(bytes_of({0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}), {"t.index", 10}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad restart count 4294967295")));
  // The first restart must be 0.
  EXPECT_THAT(codec::block_view::parse(bytes_of({0, 1, 0, 'a', 1, 0, 0, 0, 1, 0, 0, 0}), {"t.index", 0}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("restart 0 points at 1")));
}

TEST(Block, EntryRunningPastTheEntriesFails) {
  // One entry claiming a 5-byte value where only 1 byte follows, then restarts [0], count 1.
  const auto contents = bytes_of({0, 1, 5, 'k', 'v', 0, 0, 0, 0, 1, 0, 0, 0});
  ASSERT_OK_AND_ASSIGN(const codec::block_view b, codec::block_view::parse(contents, {"t.index", 200}));
  EXPECT_THAT(b.for_each([](auto, auto, auto) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @200: entry of 1+5 bytes runs past")));
}

TEST(Block, SharingMoreThanThePreviousKeyFails) {
  // entry0 "k" -> "", entry1 shares 3 bytes of a 1-byte key. restart_interval 16: restarts [0].
  const auto contents = bytes_of({0, 1, 0, 'k', 3, 1, 0, 'x', 0, 0, 0, 0, 1, 0, 0, 0});
  ASSERT_OK_AND_ASSIGN(const codec::block_view b, codec::block_view::parse(contents, {"t.index", 0}));
  EXPECT_THAT(b.for_each([](auto, auto, auto) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @4: entry shares 3 key bytes")));
}

TEST(Block, DecodesPrefixCompressedKeys) {
  // "counter" -> "1", then "county" sharing "coun" -> "2": restarts [0].
  const auto contents = bytes_of({0, 7, 1, 'c', 'o', 'u', 'n', 't', 'e', 'r', '1',  //
                                  4, 2, 1, 't', 'y', '2', 0, 0, 0, 0, 1, 0, 0, 0});
  ASSERT_OK_AND_ASSIGN(const codec::block_view b, codec::block_view::parse(contents, {"t.index", 0}));
  kv_list seen;
  std::vector<std::uint64_t> positions;
  ASSERT_OK(b.for_each([&](std::string_view k, std::span<const std::byte> v, std::uint64_t pos) {
    seen.emplace_back(std::string(k), std::string(codec::as_chars(v)));
    positions.push_back(pos);
    return absl::OkStatus();
  }));
  EXPECT_EQ(seen, (kv_list{{"counter", "1"}, {"county", "2"}}));
  EXPECT_THAT(positions, ElementsAreArray({0u, 11u}));
}

// --- Footer ---

/// A minimal valid table: the spec §2.7 example, 123 bytes.
std::vector<std::byte> spec_example_table() {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "m", {tfckpt_testing::float_tensor("counter", {}, {0})});
  return read_file(dir / "m.index");
}

TEST(Footer, SpecExampleDecodes) {
  const auto bytes = spec_example_table();
  ASSERT_EQ(bytes.size(), 123u);
  ASSERT_OK_AND_ASSIGN(const codec::table_footer f, codec::decode_footer("t.index", bytes));
  EXPECT_EQ(f.metaindex, (codec::block_handle{43, 8}));
  EXPECT_EQ(f.index, (codec::block_handle{56, 14}));
}

TEST(Footer, TooShort) {
  const auto bytes = spec_example_table();
  for (std::size_t n : {0, 1, 8, 47}) {
    EXPECT_THAT(codec::decode_footer("t.index", std::span(bytes).last(n)),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("t.index @0: " + std::to_string(n) + " bytes is too short for an SSTable")));
  }
  // 48 bytes: long enough for a footer, but its handles point before the file.
  EXPECT_THAT(codec::decode_footer("t.index", std::span(bytes).last(48)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("overlaps the footer")));
}

TEST(Footer, BadMagic) {
  auto bytes = spec_example_table();
  for (std::size_t i = bytes.size() - 8; i < bytes.size(); ++i) {
    auto copy = bytes;
    copy[i] ^= std::byte{0x20};
    EXPECT_THAT(codec::decode_footer("t.index", copy),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @115: bad table magic")))
        << i;
  }
}

TEST(Footer, HandleOverlappingTheFooter) {
  auto bytes = spec_example_table();
  const std::size_t footer_at = bytes.size() - 48;  // 75
  // Index handle (56, 14) -> (56, 20): the block plus trailer would end at 81, inside the footer.
  ASSERT_EQ(bytes[footer_at + 3], std::byte{14});
  auto grown = bytes;
  grown[footer_at + 3] = std::byte{20};
  EXPECT_THAT(codec::decode_footer("t.index", grown),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("t.index @77: index block [56, +20) overlaps the footer at 75")));
  // Exactly touching the footer is fine: (56, 14) + 5-byte trailer ends at 75.
  EXPECT_OK(codec::decode_footer("t.index", bytes).status());
  // A metaindex handle with a huge offset must not overflow the bounds check.
  auto huge = bytes;
  const auto handle = bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x08});
  std::copy(handle.begin(), handle.end(), huge.begin() + static_cast<std::ptrdiff_t>(footer_at));
  huge[footer_at + 11] = std::byte{0x38};
  huge[footer_at + 12] = std::byte{0x0e};
  EXPECT_THAT(codec::decode_footer("t.index", huge),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @75: metaindex block")));
  // A varint that never terminates inside the 40 handle bytes.
  auto endless = bytes;
  std::fill(endless.begin() + static_cast<std::ptrdiff_t>(footer_at), endless.end() - 8, std::byte{0x80});
  EXPECT_THAT(codec::decode_footer("t.index", endless),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @75: bad metaindex handle")));
}

// A window of the file holding only some blocks (bytes_offset: where it starts) walks exactly as the
// whole file does over those blocks, with the file's offsets; a block outside the window is an error
// naming its offset, not a read out of bounds.
TEST(Table, AWindowOfBlocksWalksAsTheWholeFile) {
  tfckpt_testing::scratch_dir dir;
  std::vector<tfckpt_testing::tensor_spec> specs;
  for (int i = 0; i < 400; ++i) specs.push_back(tfckpt_testing::float_tensor("t/" + std::to_string(1000 + i), {1}, {1}));
  tfckpt_testing::build_options options;
  options.block_size = 512;
  tfckpt_testing::write_bundle((dir / "m").string(), specs, options);
  const std::vector<std::byte> file = read_file(dir / "m.index");
  ASSERT_OK_AND_ASSIGN(const codec::table_blocks blocks, codec::table_blocks::read("m.index", file));
  ASSERT_GT(blocks.size(), 8u);
  using seen = std::vector<std::pair<std::string, std::uint64_t>>;
  const auto walk = [&](std::span<const std::byte> bytes, std::uint64_t offset, seen& out) {
    return codec::for_each_block_entry(
        "m.index", bytes, blocks, 3, 7,
        [&](std::string_view key, std::span<const std::byte>, std::uint64_t at) {
          out.emplace_back(std::string(key), at);
          return absl::OkStatus();
        },
        nullptr, offset);
  };
  seen whole, windowed;
  ASSERT_OK(walk(file, 0, whole));
  const std::uint64_t from = blocks.handle(3).offset;
  const std::uint64_t to = blocks.handle(6).offset + blocks.handle(6).size + codec::kBlockTrailerSize;
  const std::span<const std::byte> window = std::span(file).subspan(from, to - from);
  ASSERT_OK(walk(window, from, windowed));
  EXPECT_EQ(windowed, whole);
  ASSERT_FALSE(whole.empty());
  EXPECT_EQ(whole.front().second, from);  // the first entry of block 3 starts it

  seen partial;
  const absl::Status short_window = walk(window.first(window.size() - 1), from, partial);
  EXPECT_THAT(short_window, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("data block 6")));
  EXPECT_THAT(short_window.message(), HasSubstr("@" + std::to_string(blocks.handle(6).offset)));
}

TEST(Table, EveryTruncationFailsAndEveryFlipIsCaughtOrHarmless) {
  const auto bytes = spec_example_table();
  const kv_list original = *tfckpt_entries("t.index", bytes);
  ASSERT_EQ(original.size(), 2u);
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THAT(tfckpt_entries("t.index", std::span(bytes).first(n)),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @")))
        << n;
  const std::size_t footer_at = bytes.size() - 48;
  const std::size_t padding_begin = footer_at + 4;  // after the handles "2b 08 38 0e"
  const std::size_t padding_end = bytes.size() - 8;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (std::byte mask : {std::byte{0x01}, std::byte{0x80}, std::byte{0xff}}) {
      auto copy = bytes;
      copy[i] ^= mask;
      auto r = tfckpt_entries("t.index", copy);
      if (i >= padding_begin && i < padding_end) {
        ASSERT_OK(r.status()) << i;  // the padding is not checked (neither does LevelDB)
        EXPECT_EQ(*r, original);
      } else if (r.ok()) {
        // Only a flip that leaves the handles' values unchanged may pass: 0x0e -> 0x8e followed by a
        // padding 00 is an overlong encoding of the same 14 (protobuf and LevelDB accept it too).
        EXPECT_EQ(i, footer_at + 3) << "mask " << static_cast<int>(mask);
        EXPECT_EQ(mask, std::byte{0x80});
        EXPECT_EQ(*r, original);
      } else {
        EXPECT_THAT(r, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @"))) << i;
      }
    }
  }
}

TEST(Table, UnknownCompressionTypeIsRejected) {
  // Rewrite the data block's type byte to 2 and fix up its CRC: only the type is wrong.
  auto bytes = spec_example_table();
  bytes[38] = std::byte{2};
  const std::uint32_t crc = codec::crc32c_mask(codec::crc32c(std::span(bytes).first(39)));
  for (int i = 0; i < 4; ++i) bytes[39 + i] = static_cast<std::byte>((crc >> (8 * i)) & 0xff);
  EXPECT_THAT(tfckpt_entries("t.index", bytes),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @38: data block 0 has unknown compression type 2")));
}

TEST(Table, InvalidSnappyBlockIsRejected) {
  // Claim the data block is snappy (type 1) with a consistent CRC: the contents do not decompress.
  auto bytes = spec_example_table();
  bytes[38] = std::byte{1};
  const std::uint32_t crc = codec::crc32c_mask(codec::crc32c(std::span(bytes).first(39)));
  for (int i = 0; i < 4; ++i) bytes[39 + i] = static_cast<std::byte>((crc >> (8 * i)) & 0xff);
  EXPECT_THAT(tfckpt_entries("t.index", bytes),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("t.index @0: data block 0 is not a valid snappy block")));
}

}  // namespace

}  // namespace table_test
