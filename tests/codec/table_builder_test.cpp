// SPDX-License-Identifier: Apache-2.0
// table_builder against TensorFlow's own index files (byte identity) and LevelDB's reader.
#include "tfckpt/codec/table_builder.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/io/mapped_file.hpp"

namespace table_builder_test {

namespace {
namespace fs = std::filesystem;
using tfckpt::codec::as_bytes;

std::string build(const std::vector<std::pair<std::string, std::string>>& records, tfckpt::codec::table_options o) {
  std::string out;
  tfckpt::codec::table_builder t(o, [&](std::string_view b) {
    out.append(b);
    return absl::OkStatus();
  });
  for (const auto& [k, v] : records) EXPECT_OK(t.add(k, v));
  EXPECT_OK(t.finish());
  EXPECT_EQ(t.file_size(), out.size());
  return out;
}

std::vector<std::pair<std::string, std::string>> read_records(std::string_view file, std::span<const std::byte> bytes,
                                                              tfckpt::codec::table_stats* stats = nullptr) {
  std::vector<std::pair<std::string, std::string>> records;
  const absl::Status s = tfckpt::codec::for_each_table_entry(
      file, bytes,
      [&](std::string_view k, std::span<const std::byte> v, std::uint64_t) {
        records.emplace_back(std::string(k), std::string(tfckpt::codec::as_chars(v)));
        return absl::OkStatus();
      },
      stats);
  EXPECT_OK(s);
  return records;
}

TEST(Separators, MatchLevelDbRules) {
  using tfckpt::codec::shortest_separator;
  using tfckpt::codec::short_successor;
  EXPECT_EQ(short_successor("counter"), "d");  // spec §2.7
  EXPECT_EQ(short_successor("output/w/Adam_1"), "p");
  EXPECT_EQ(short_successor(std::string("\x00w", 2)), std::string("\x01"));
  EXPECT_EQ(short_successor("\xff\xff"), "\xff\xff");
  EXPECT_EQ(short_successor(""), "");
  EXPECT_EQ(shortest_separator("abc", "abe"), "abd");
  EXPECT_EQ(shortest_separator("abc", "abd"), "abc");  // +1 would not stay below the limit
  EXPECT_EQ(shortest_separator("ab", "abc"), "ab");    // prefix
  EXPECT_EQ(shortest_separator("a\xff", "b"), "a\xff");
  EXPECT_EQ(shortest_separator("helloworld", "hellz"), "hellp");
}

TEST(TableBuilder, SpecExampleIndexIsByteExact) {
  // The 123-byte index of one float scalar "counter" (spec §2.7).
  const std::string header("\x08\x01\x1a\x02\x08\x01", 6);
  const std::string entry("\x08\x01\x12\x00\x28\x04\x35\xa6\x7b\x11\x3a", 11);
  const std::string out = build({{"", header}, {"counter", entry}}, {});
  ASSERT_EQ(out.size(), 123u);
  EXPECT_EQ(out.substr(43, 13), std::string("\x00\x00\x00\x00\x01\x00\x00\x00\x00\xc0\xf2\xa1\xb0", 13));
  EXPECT_EQ(out.substr(out.size() - 8), std::string("\x57\xfb\x80\x8b\x24\x75\x47\xdb", 8));
  EXPECT_EQ(out.substr(75, 4), std::string("\x2b\x08\x38\x0e", 4));
}

TEST(TableBuilder, RewritesEveryFixtureIndexByteForByte) {
  TFCKPT_REQUIRE_FIXTURES();
  std::size_t identical = 0, tables = 0;
  for (const auto& f : fs::recursive_directory_iterator(tfckpt_testing::fixtures_dir())) {
    if (f.path().extension() != ".index") continue;
    SCOPED_TRACE(f.path().string());
    ASSERT_OK_AND_ASSIGN(const auto file, tfckpt::io::mapped_file::open(f.path().string()));
    tfckpt::codec::table_stats stats;
    const auto records = read_records(file.path(), file.bytes(), &stats);
    ++tables;
    const std::string out = build(records, {.snappy = stats.snappy_blocks > 0});
    const std::string original(tfckpt::codec::as_chars(file.bytes()));
    // Snappy originals too: libsnappy's output for these blocks matches what TensorFlow stored.
    EXPECT_EQ(out, original) << (stats.snappy_blocks ? "snappy" : "uncompressed") << " index not reproduced";
    identical += out == original;
  }
  EXPECT_GE(tables, 15u);
  EXPECT_EQ(identical, tables);
}

TEST(TableBuilder, LevelDbReadsWhatWeWrite) {
  std::mt19937 rng(3);
  for (std::size_t block_size : {64u, 4096u, 262144u}) {
    for (bool snappy : {false, true}) {
      std::map<std::string, std::string> m;
      for (int i = 0; i < 3000; ++i) {
        std::string k(rng() % 30, '\0');
        for (char& c : k) c = static_cast<char>(rng() % 4 == 0 ? (rng() % 2 ? 0 : 0xff) : 'a' + rng() % 26);
        std::string v(rng() % 200, 'v');
        if (rng() % 2) for (char& c : v) c = static_cast<char>(rng());
        m[k] = v;
      }
      const std::vector<std::pair<std::string, std::string>> records(m.begin(), m.end());
      const std::string out = build(records, {.block_size = block_size, .snappy = snappy});
      tfckpt_testing::scratch_dir dir;
      const std::string path = (dir / "t.index").string();
      std::ofstream(path, std::ios::binary).write(out.data(), static_cast<std::streamsize>(out.size()));
      leveldb::RandomAccessFile* raf = nullptr;
      ASSERT_TRUE(leveldb::Env::Default()->NewRandomAccessFile(path, &raf).ok());
      std::unique_ptr<leveldb::RandomAccessFile> raf_owner(raf);
      leveldb::Options options;
      options.paranoid_checks = true;
      leveldb::Table* table = nullptr;
      ASSERT_TRUE(leveldb::Table::Open(options, raf, out.size(), &table).ok());
      std::unique_ptr<leveldb::Table> table_owner(table);
      leveldb::ReadOptions ro;
      ro.verify_checksums = true;
      std::unique_ptr<leveldb::Iterator> it(table->NewIterator(ro));
      std::size_t i = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next(), ++i) {
        ASSERT_LT(i, records.size());
        EXPECT_EQ(it->key().ToString(), records[i].first);
        EXPECT_EQ(it->value().ToString(), records[i].second);
      }
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
      EXPECT_EQ(i, records.size());
    }
  }
}

TEST(TableBuilder, RejectsKeysOutOfOrder) {
  tfckpt::codec::table_builder t({}, [](std::string_view) { return absl::OkStatus(); });
  ASSERT_OK(t.add("b", "1"));
  EXPECT_THAT(t.add("a", "2"), tfckpt_testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("out of order")));
  EXPECT_THAT(t.add("b", "2"), tfckpt_testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST(TableBuilder, SinkErrorsPropagate) {
  tfckpt::codec::table_builder t({.block_size = 64}, [](std::string_view) { return absl::ResourceExhaustedError("disk full"); });
  absl::Status s = absl::OkStatus();
  for (int i = 0; i < 100 && s.ok(); ++i) s = t.add(absl::StrFormat("key%03d", i), std::string(50, 'x'));
  EXPECT_THAT(s, tfckpt_testing::StatusIs(absl::StatusCode::kResourceExhausted, ::testing::HasSubstr("disk full")));
}
}  // namespace

}  // namespace table_builder_test
