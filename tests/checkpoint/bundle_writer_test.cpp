// SPDX-License-Identifier: Apache-2.0
// The writer: byte identity with TensorFlow's files, round trips, sharding, atomicity, bad input.
#include "tfckpt/checkpoint/bundle_writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bundle_writer_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(dir)) names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Rewrites `src` into `dst` adding entries in their original data order (shard, offset).
absl::Status rewrite(const tfckpt::checkpoint& src, const fs::path& dst, bool snappy_index) {
  tfckpt::bundle_writer_options o;
  o.num_shards = src.num_shards();
  o.index_options.snappy = snappy_index;
  o.sync = false;
  TFCKPT_ASSIGN_OR_RETURN(auto w, tfckpt::bundle_writer::create(dst, o));
  std::vector<const tfckpt::entry*> order;
  for (const auto& e : src.entries()) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return std::pair(a->shard(), a->offset()) < std::pair(b->shard(), b->offset());
  });
  for (const tfckpt::entry* e : order) {
    TFCKPT_ASSIGN_OR_RETURN(auto bytes, e->bytes());
    TFCKPT_RETURN_IF_ERROR(w.add(e->name(), e->dtype(), e->shape(), tfckpt::byte_source::from_span(bytes), e->shard()));
  }
  return w.finish();
}

// One test per TensorFlow-written index in the fixtures (found when the test binary starts).
std::vector<std::string> fixture_prefixes() {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(tfckpt_testing::fixtures_dir(), ec)) return out;
  for (const auto& f : fs::recursive_directory_iterator(tfckpt_testing::fixtures_dir(), ec))
    if (f.path().extension() == ".index") out.push_back(f.path().string().substr(0, f.path().string().size() - 6));
  std::sort(out.begin(), out.end());
  return out;
}

class FixtureRewrite : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureRewrite, IsByteForByteIdentical) {
  const std::string prefix = GetParam();
  ASSERT_OK_AND_ASSIGN(const auto src, tfckpt::open(prefix));
  if (!src.verify().ok()) GTEST_SKIP() << prefix << " is index-only: its data is not here to copy";
  // Three fixtures were written by TensorFlow builds that compress the index with snappy.
  tfckpt_testing::scratch_dir out;
  const fs::path dst = out / fs::path(prefix).filename().string();
  ASSERT_OK(rewrite(src, dst, src.index_compressed()));
  EXPECT_EQ(slurp(dst.string() + ".index"), slurp(prefix + ".index"));
  for (std::int32_t i = 0; i < src.num_shards(); ++i)
    EXPECT_EQ(slurp(tfckpt::data_file_name(dst.string(), i, src.num_shards())), slurp(src.data_path(i))) << "shard " << i;
  EXPECT_EQ(files_in(out.path()).size(), 1u + static_cast<std::size_t>(src.num_shards()));  // no temporaries left
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureRewrite, ::testing::ValuesIn(fixture_prefixes()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = fs::relative(info.param, tfckpt_testing::fixtures_dir()).string();
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FixtureRewrite);

TEST(BundleWriter, FixturesArePresent) {
  TFCKPT_REQUIRE_FIXTURES();
  EXPECT_GE(fixture_prefixes().size(), 15u);
}

// Random tensors of every writable dtype, including strings, scalars and empty tensors.
struct sample {
  std::string name;
  tfckpt::dtype type;
  std::vector<std::int64_t> shape;
  std::string bytes;                  // stored payload
  std::vector<std::string> strings;   // for DT_STRING
};

std::vector<sample> random_samples(std::mt19937& rng, int count) {
  std::vector<sample> out;
  for (int i = 0; i < count; ++i) {
    sample s;
    s.name = absl::StrFormat("t%04d/%c", i, 'a' + static_cast<char>(rng() % 26));
    do {
      s.type = static_cast<tfckpt::dtype>(1 + rng() % tfckpt::kMaxDtype);
    } while (s.type == tfckpt::dtype::resource || s.type == tfckpt::dtype::variant);
    const int rank = static_cast<int>(rng() % 4);
    for (int d = 0; d < rank; ++d) s.shape.push_back(static_cast<std::int64_t>(rng() % (i % 10 == 0 ? 1 : 6)));
    const auto n = static_cast<std::size_t>(*tfckpt::checked_num_elements(s.shape));
    if (s.type == tfckpt::dtype::string) {
      for (std::size_t k = 0; k < n; ++k) {
        std::string e(rng() % 20, '\0');
        for (char& c : e) c = static_cast<char>(rng());
        s.strings.push_back(e);
      }
    } else {
      s.bytes.resize(n * tfckpt::element_size(s.type));
      for (char& c : s.bytes) c = static_cast<char>(rng());
      if (s.type == tfckpt::dtype::boolean) for (char& c : s.bytes) c &= 1;
    }
    out.push_back(std::move(s));
  }
  return out;
}

TEST(BundleWriter, RoundTripsEveryDtypeAcrossShards) {
  std::mt19937 rng(11);
  const auto samples = random_samples(rng, 400);
  tfckpt_testing::scratch_dir dir;
  tfckpt::bundle_writer_options o;
  o.num_shards = 7;
  o.sync = false;
  ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "sub/model", o));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const sample& s = samples[i];
    const auto shard = static_cast<std::int32_t>(i % 7);
    if (s.type == tfckpt::dtype::string) {
      std::vector<std::string_view> views(s.strings.begin(), s.strings.end());
      ASSERT_OK(w.add_strings(s.name, s.shape, views, shard));
    } else {
      ASSERT_OK(w.add(s.name, s.type, s.shape, tfckpt::byte_source::from_span(tfckpt::codec::as_bytes(s.bytes)), shard));
    }
  }
  ASSERT_OK(w.finish());
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "sub/model"));
  ASSERT_EQ(ckpt.size(), samples.size());
  EXPECT_EQ(ckpt.num_shards(), 7);
  const auto report = ckpt.verify();
  EXPECT_TRUE(report.ok()) << report.problems.front();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const sample& s = samples[i];
    ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get(s.name));
    EXPECT_EQ(e->dtype(), s.type);
    EXPECT_EQ(std::vector<std::int64_t>(e->shape().begin(), e->shape().end()), s.shape);
    EXPECT_EQ(e->shard(), static_cast<std::int32_t>(i % 7));
    if (s.type == tfckpt::dtype::string) {
      ASSERT_OK_AND_ASSIGN(const auto got, e->strings());
      EXPECT_EQ(std::vector<std::string>(got.begin(), got.end()), s.strings);
    } else {
      ASSERT_OK_AND_ASSIGN(const auto got, e->bytes());
      EXPECT_EQ(std::string(tfckpt::codec::as_chars(got)), s.bytes);
    }
  }
}

TEST(BundleWriter, HundredThousandEntriesAndLevelDbVerifiesTheIndex) {
  tfckpt_testing::scratch_dir dir;
  tfckpt::bundle_writer_options o;
  o.sync = false;
  ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "big", o));
  for (int i = 0; i < 100000; ++i) {
    const float v = static_cast<float>(i);
    const std::string bytes(reinterpret_cast<const char*>(&v), 4);
    ASSERT_OK(w.add(absl::StrFormat("layer_%06d/kernel", (i * 7919) % 100000), tfckpt::dtype::float32, std::vector<std::int64_t>{1},
                    tfckpt::byte_source::from_bytes(bytes)));
  }
  ASSERT_OK(w.finish());
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "big"));
  ASSERT_EQ(ckpt.size(), 100000u);
  EXPECT_TRUE(ckpt.verify().ok());
  ASSERT_OK_AND_ASSIGN(const tfckpt::entry* e, ckpt.get("layer_007919/kernel"));
  ASSERT_OK_AND_ASSIGN(const auto v, e->values<float>());
  EXPECT_EQ(v[0], 1.0f);
  // An independent reader with paranoid checks and checksum verification.
  const std::string path = (dir / "big.index").string();
  leveldb::RandomAccessFile* raf = nullptr;
  ASSERT_TRUE(leveldb::Env::Default()->NewRandomAccessFile(path, &raf).ok());
  std::unique_ptr<leveldb::RandomAccessFile> raf_owner(raf);
  leveldb::Options options;
  options.paranoid_checks = true;
  leveldb::Table* table = nullptr;
  ASSERT_TRUE(leveldb::Table::Open(options, raf, fs::file_size(path), &table).ok());
  std::unique_ptr<leveldb::Table> table_owner(table);
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(ro));
  std::size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(n, 100001u);  // + the header
}

TEST(BundleWriter, SizeBudgetSplitsShards) {
  tfckpt_testing::scratch_dir dir;
  tfckpt::bundle_writer_options o;
  o.max_shard_bytes = 1000;
  o.sync = false;
  ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "m", o));
  const std::string four_hundred(400, 'x');
  for (int i = 0; i < 5; ++i)
    ASSERT_OK(w.add(absl::StrFormat("t%d", i), tfckpt::dtype::uint8, std::vector<std::int64_t>{400},
                    tfckpt::byte_source::from_bytes(four_hundred)));
  ASSERT_OK(w.add("huge", tfckpt::dtype::uint8, std::vector<std::int64_t>{3000}, tfckpt::byte_source::from_bytes(std::string(3000, 'y'))));
  ASSERT_OK(w.finish());
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  EXPECT_EQ(ckpt.num_shards(), 4);  // [t0 t1] [t2 t3] [t4] [huge]
  EXPECT_EQ(ckpt.find("t1")->shard(), 0);
  EXPECT_EQ(ckpt.find("t2")->shard(), 1);
  EXPECT_EQ(ckpt.find("huge")->shard(), 3);
  EXPECT_TRUE(ckpt.verify().ok());
  EXPECT_EQ(files_in(dir.path()), (std::vector<std::string>{"m.data-00000-of-00004", "m.data-00001-of-00004",
                                                             "m.data-00002-of-00004", "m.data-00003-of-00004", "m.index"}));
}

TEST(BundleWriter, StreamsFromAProducerInChunks) {
  tfckpt_testing::scratch_dir dir;
  ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "m", {.sync = false}));
  const std::uint64_t n = 1000000;  // float32 elements
  auto producer = [&](const tfckpt::byte_source::emit_fn& emit) -> absl::Status {
    std::vector<float> chunk(4096);
    for (std::uint64_t i = 0; i < n; i += chunk.size()) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), n - i));
      for (std::size_t j = 0; j < k; ++j) chunk[j] = static_cast<float>(i + j);
      TFCKPT_RETURN_IF_ERROR(emit(std::as_bytes(std::span(chunk.data(), k))));
    }
    return absl::OkStatus();
  };
  ASSERT_OK(w.add("ramp", tfckpt::dtype::float32, std::vector<std::int64_t>{1000, 1000},
                  tfckpt::byte_source::from_producer(n * 4, producer)));
  ASSERT_OK(w.finish());
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const auto v, ckpt.find("ramp")->values<float>());
  EXPECT_EQ(v[999999], 999999.0f);
  EXPECT_TRUE(ckpt.verify().ok());
}

TEST(BundleWriter, PartitionedSlicesRoundTrip) {
  tfckpt_testing::scratch_dir dir;
  ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "m", {.sync = false}));
  std::vector<float> full(40);
  for (int i = 0; i < 40; ++i) full[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const std::vector<std::int64_t> shape = {10, 4};
  for (int part = 0; part < 2; ++part) {
    const std::vector<tfckpt::codec::slice_extent> slice = {{part * 5, 5}, {0, 4}};
    const auto bytes = std::as_bytes(std::span(full.data() + part * 20, 20));
    ASSERT_OK(w.add_slice("w", shape, slice, tfckpt::dtype::float32, tfckpt::byte_source::from_span(bytes)));
  }
  ASSERT_OK(w.finish());
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  ASSERT_EQ(ckpt.size(), 1u);
  const tfckpt::entry& e = ckpt.entries()[0];
  EXPECT_TRUE(e.is_partitioned());
  ASSERT_OK_AND_ASSIGN(const auto v, e.values<float>());
  EXPECT_EQ(std::vector<float>(v.begin(), v.end()), full);
  EXPECT_TRUE(ckpt.verify().ok());
}

TEST(BundleWriter, DataAlignmentPadsAfterEachTensor) {
  tfckpt_testing::scratch_dir dir;
  ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "m", {.data_alignment = 8, .sync = false}));
  ASSERT_OK(w.add("a", tfckpt::dtype::boolean, std::vector<std::int64_t>{}, tfckpt::byte_source::from_bytes(std::string(1, '\1'))));
  ASSERT_OK(w.add("b", tfckpt::dtype::float64, std::vector<std::int64_t>{2}, tfckpt::byte_source::from_bytes(std::string(16, '\0'))));
  ASSERT_OK(w.finish());
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  EXPECT_EQ(ckpt.find("b")->offset(), 8u);
  EXPECT_EQ(fs::file_size(ckpt.data_path(0)), 24u);
  ASSERT_OK_AND_ASSIGN(const auto v, ckpt.find("b")->values<double>());
  EXPECT_TRUE(v.is_zero_copy());
}

TEST(BundleWriter, RejectsBadInputBeforeWriting) {
  tfckpt_testing::scratch_dir dir;
  ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "m", {.sync = false}));
  const auto four = tfckpt::byte_source::from_bytes(std::string(4, 'x'));
  ASSERT_OK(w.add("x", tfckpt::dtype::float32, std::vector<std::int64_t>{}, four));
  EXPECT_THAT(w.add("x", tfckpt::dtype::float32, std::vector<std::int64_t>{}, four),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("duplicate tensor 'x'")));
  EXPECT_THAT(w.add("y", tfckpt::dtype::float32, std::vector<std::int64_t>{2}, four),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs 8 bytes, the source has 4")));
  EXPECT_THAT(w.add("", tfckpt::dtype::float32, std::vector<std::int64_t>{}, four), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(w.add("z", static_cast<tfckpt::dtype>(99), std::vector<std::int64_t>{}, four), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot be written")));
  EXPECT_THAT(w.add("s", tfckpt::dtype::string, std::vector<std::int64_t>{1}, four),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a valid string tensor")));
  EXPECT_THAT(w.add("q", tfckpt::dtype::float32, std::vector<std::int64_t>{}, four, 3), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shard 3")));
  ASSERT_OK(w.finish());  // the writer stayed usable
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  EXPECT_EQ(ckpt.size(), 1u);
}

// Writes a small valid checkpoint at `prefix` (the "previous" one tests try to protect).
void write_previous(const fs::path& prefix) {
  auto w = tfckpt::bundle_writer::create(prefix, {.sync = false});
  ASSERT_OK(w.status());
  ASSERT_OK(w->add("old", tfckpt::dtype::int32, std::vector<std::int64_t>{}, tfckpt::byte_source::from_bytes(std::string("\x07\0\0\0", 4))));
  ASSERT_OK(w->finish());
}

void expect_previous_intact(const fs::path& prefix) {
  auto ckpt = tfckpt::open(prefix);
  ASSERT_OK(ckpt.status());
  ASSERT_EQ(ckpt->size(), 1u);
  ASSERT_OK_AND_ASSIGN(const auto v, ckpt->find("old")->values<std::int32_t>());
  EXPECT_EQ(v[0], 7);
  EXPECT_TRUE(ckpt->verify().ok());
}

TEST(BundleWriter, FailuresLeaveNothingBehindAndThePreviousCheckpointIntact) {
  tfckpt_testing::scratch_dir dir;
  const fs::path prefix = dir / "m";
  write_previous(prefix);
  const auto before = files_in(dir.path());
  // A source that fails mid-stream.
  {
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(prefix, {.sync = false, .overwrite = true}));
    auto failing = tfckpt::byte_source::from_producer(8, [](const tfckpt::byte_source::emit_fn& emit) -> absl::Status {
      TFCKPT_RETURN_IF_ERROR(emit(tfckpt::codec::as_bytes("abcd")));
      return absl::DataLossError("upstream shard vanished");
    });
    EXPECT_THAT(w.add("t", tfckpt::dtype::float32, std::vector<std::int64_t>{2}, failing),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("for key 't'")));
    EXPECT_THAT(w.finish(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("upstream")));
  }
  EXPECT_EQ(files_in(dir.path()), before);
  expect_previous_intact(prefix);
  // A full disk: the data file's writes fail after 1 MiB.
  {
    tfckpt::bundle_writer_options o;
    o.sync = false;
    o.overwrite = true;
    o.write_hook = [](std::string_view path, std::uint64_t offset, std::size_t) -> absl::Status {
      if (offset >= (1u << 20)) return absl::ResourceExhaustedError(absl::StrFormat("%s: no space left on device", path));
      return absl::OkStatus();
    };
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(prefix, o));
    absl::Status s;
    for (int i = 0; i < 8 && s.ok(); ++i)
      s = w.add(absl::StrFormat("t%d", i), tfckpt::dtype::uint8, std::vector<std::int64_t>{1 << 20},
                tfckpt::byte_source::from_bytes(std::string(1 << 20, 'z')));
    if (s.ok()) s = w.finish();
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("no space")));
  }
  EXPECT_EQ(files_in(dir.path()), before);
  expect_previous_intact(prefix);
  // The index write fails (after the data files were complete).
  {
    tfckpt::bundle_writer_options o;
    o.sync = false;
    o.overwrite = true;
    o.write_hook = [](std::string_view path, std::uint64_t, std::size_t) -> absl::Status {
      if (path.find(".index") != std::string_view::npos) return absl::UnavailableError("index device gone");
      return absl::OkStatus();
    };
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(prefix, o));
    ASSERT_OK(w.add("new", tfckpt::dtype::int32, std::vector<std::int64_t>{}, tfckpt::byte_source::from_bytes(std::string(4, '\1'))));
    EXPECT_THAT(w.finish(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("index device gone")));
  }
  EXPECT_EQ(files_in(dir.path()), before);
  expect_previous_intact(prefix);
  // Destroyed before finish.
  {
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(prefix, {.sync = false, .overwrite = true}));
    ASSERT_OK(w.add("new", tfckpt::dtype::int32, std::vector<std::int64_t>{}, tfckpt::byte_source::from_bytes(std::string(4, '\1'))));
  }
  EXPECT_EQ(files_in(dir.path()), before);
  expect_previous_intact(prefix);
}

TEST(BundleWriter, RefusesToReplaceUnlessAsked) {
  tfckpt_testing::scratch_dir dir;
  write_previous(dir / "m");
  ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "m", {.sync = false}));
  EXPECT_THAT(w.finish(), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("m.index already exists")));
  expect_previous_intact(dir / "m");
  EXPECT_EQ(files_in(dir.path()).size(), 2u);
}

TEST(BundleWriter, OverwritingThePrefixBeingReadWorks) {
  tfckpt_testing::scratch_dir dir;
  std::mt19937 rng(5);
  std::string big(3 << 20, '\0');
  for (char& c : big) c = static_cast<char>(rng());
  {
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "m", {.num_shards = 2, .sync = false}));
    ASSERT_OK(w.add("a", tfckpt::dtype::uint8, std::vector<std::int64_t>{3 << 20}, tfckpt::byte_source::from_bytes(big)));
    ASSERT_OK(w.add("b", tfckpt::dtype::uint8, std::vector<std::int64_t>{3}, tfckpt::byte_source::from_bytes("xyz"), 1));
    ASSERT_OK(w.finish());
  }
  {
    // Read zero-copy from the old files while replacing them (one shard now): the mappings stay valid.
    ASSERT_OK_AND_ASSIGN(const auto src, tfckpt::open(dir / "m"));
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "m", {.sync = false, .overwrite = true}));
    for (const auto& e : src.entries()) {
      ASSERT_OK_AND_ASSIGN(auto bytes, e.bytes());
      ASSERT_OK(w.add(std::string(e.name()) + "_copy", e.dtype(), e.shape(), tfckpt::byte_source::from_span(bytes)));
    }
    ASSERT_OK(w.finish());
  }
  ASSERT_OK_AND_ASSIGN(const auto out, tfckpt::open(dir / "m"));
  EXPECT_EQ(out.num_shards(), 1);
  ASSERT_OK_AND_ASSIGN(auto a, out.find("a_copy")->bytes());
  EXPECT_EQ(tfckpt::codec::as_chars(a), big);
  EXPECT_TRUE(out.verify().ok());
  // The old two-shard data files were removed with the checkpoint they belonged to.
  EXPECT_EQ(files_in(dir.path()), (std::vector<std::string>{"m.data-00000-of-00001", "m.index"}));
}

TEST(BundleWriter, UnwritableDirectoryIsAClearError) {
  tfckpt_testing::scratch_dir dir;
  fs::path target;
  if (::geteuid() != 0) {
    fs::create_directory(dir / "ro");
    ::chmod((dir / "ro").c_str(), 0555);
    target = dir / "ro/m";
  } else if (fs::is_directory("/sys/kernel")) {
    target = "/sys/kernel/tfckpt-m";  // sysfs refuses new files even to root
  } else {
    GTEST_SKIP() << "running as root without /sys/kernel: no directory here is unwritable";
  }
  EXPECT_THAT(tfckpt::bundle_writer::create(target), StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(target.string())));
}

TEST(BundleWriter, MissingDirectoryAsAFileIsAClearError) {
  tfckpt_testing::scratch_dir dir;
  std::ofstream(dir / "file") << "x";
  EXPECT_FALSE(tfckpt::bundle_writer::create(dir / "file/m").ok());
}
}  // namespace

}  // namespace bundle_writer_test
