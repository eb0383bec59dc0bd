// SPDX-License-Identifier: Apache-2.0
// The safetensors sink. Every file written here is read back by an independent parser: nlohmann-json
// for the header, and the checks safetensors' own reader makes (header length and padding, dtype
// strings, offsets from 0, contiguous, covering the data to the end of the file, sizes matching
// dtype and shape), then the data bytes are compared with the checkpoint's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <complex>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/sinks/safetensors.hpp"
#include "tfckpt/views/filter.hpp"

namespace safetensors_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;
using tfckpt_testing::tensor_spec;
using tfckpt_testing::typed_tensor;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& f : fs::recursive_directory_iterator(dir))
    if (f.is_regular_file()) out.push_back(fs::relative(f.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t st_size(const std::string& dtype) {
  static const std::map<std::string, std::size_t> kSizes = {
      {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},    {"F64", 8},     {"I64", 8}, {"U64", 8}};
  const auto it = kSizes.find(dtype);
  return it == kSizes.end() ? 0 : it->second;
}

// What an independent reader sees in a safetensors file.
struct parsed_file {
  nlohmann::json header;
  std::vector<std::string> order;                 // tensor names by data offset
  std::map<std::string, std::string> data;        // name -> bytes
  std::map<std::string, std::uint64_t> begin_of;  // name -> offset in the data buffer
};

// Parses `bytes` as safetensors' reader does, failing the test on any violation.
parsed_file parse(const std::string& bytes) {
  parsed_file out;
  EXPECT_GE(bytes.size(), 8u);
  if (bytes.size() < 8) return out;
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  EXPECT_LE(n, 100'000'000u);
  EXPECT_LE(n, bytes.size() - 8);
  EXPECT_EQ((8 + n) % 8, 0u) << "the data must start 8-aligned";
  const std::string text = bytes.substr(8, static_cast<std::size_t>(n));
  EXPECT_EQ(text.front(), '{');
  const std::size_t close = text.find_last_of('}');
  EXPECT_EQ(text.find_first_not_of(' ', close + 1), std::string::npos) << "padding must be spaces";
  EXPECT_LT(text.size() - close - 1, 8u) << "at most 7 spaces of padding";
  out.header = nlohmann::json::parse(text);  // throws (fails the test) on invalid JSON or UTF-8
  EXPECT_TRUE(out.header.is_object());
  const std::uint64_t data_size = bytes.size() - 8 - n;
  std::vector<std::pair<std::uint64_t, std::string>> by_offset;
  for (const auto& [name, info] : out.header.items()) {
    if (name == "__metadata__") {
      EXPECT_TRUE(info.is_object());
      for (const auto& [k, v] : info.items()) EXPECT_TRUE(v.is_string()) << k;
      continue;
    }
    EXPECT_EQ(info.size(), 3u) << name;
    const std::string dtype = info.at("dtype").get<std::string>();
    EXPECT_NE(st_size(dtype), 0u) << "unknown dtype " << dtype;
    std::uint64_t elements = 1;
    for (const auto& d : info.at("shape")) elements *= d.get<std::uint64_t>();
    const auto offsets = info.at("data_offsets").get<std::vector<std::uint64_t>>();
    EXPECT_EQ(offsets.size(), 2u);
    EXPECT_LE(offsets[0], offsets[1]);
    EXPECT_EQ(offsets[1] - offsets[0], elements * st_size(dtype)) << name;
    by_offset.emplace_back(offsets[0], name);
    if (offsets[1] <= data_size)
      out.data[name] = bytes.substr(static_cast<std::size_t>(8 + n + offsets[0]), static_cast<std::size_t>(offsets[1] - offsets[0]));
    out.begin_of[name] = offsets[0];
  }
  // Sorted by offset (ties: empty tensors before the one that starts there), each must begin where
  // the previous ended, and the last must end at the end of the file.
  std::sort(by_offset.begin(), by_offset.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return out.data[a.second].size() < out.data[b.second].size();
  });
  std::uint64_t at = 0;
  for (const auto& [begin, name] : by_offset) {
    EXPECT_EQ(begin, at) << "gap or overlap before " << name;
    at = begin + out.data[name].size();
    out.order.push_back(name);
  }
  EXPECT_EQ(at, data_size) << "the offsets must cover the data to the end of the file";
  return out;
}

struct case_spec {
  tensor_spec spec;
  std::string st_dtype;
};

std::vector<case_spec> every_dtype() {
  using tfckpt::dtype;
  return {
      {typed_tensor<std::uint8_t>("d/bool", dtype::boolean, {3}, {1, 0, 1}), "BOOL"},
      {typed_tensor<std::uint8_t>("d/uint8", dtype::uint8, {2}, {0, 255}), "U8"},
      {typed_tensor<std::int8_t>("d/int8", dtype::int8, {3}, {-128, 0, 127}), "I8"},
      {typed_tensor<std::int16_t>("d/int16", dtype::int16, {1}, {-2}), "I16"},
      {typed_tensor<std::uint16_t>("d/uint16", dtype::uint16, {2}, {1, 65535}), "U16"},
      {typed_tensor<std::uint16_t>("d/float16", dtype::float16, {2}, {0x3C00, 0xFBFF}), "F16"},
      {typed_tensor<std::uint16_t>("d/bfloat16", dtype::bfloat16, {3}, {0x3F80, 0x7FC1, 0x0001}), "BF16"},
      {typed_tensor<std::int32_t>("d/int32", dtype::int32, {2, 2}, {1, -2, 3, std::numeric_limits<std::int32_t>::min()}),
       "I32"},
      {typed_tensor<std::uint32_t>("d/uint32", dtype::uint32, {1}, {4294967295u}), "U32"},
      {typed_tensor<float>("d/float32", dtype::float32, {2, 3}, {1, 2, 3, 4, 5, 6}), "F32"},
      {typed_tensor<double>("d/float64", dtype::float64, {1}, {-1e300}), "F64"},
      {typed_tensor<std::int64_t>("d/int64", dtype::int64, {}, {std::numeric_limits<std::int64_t>::min()}), "I64"},
      {typed_tensor<std::uint64_t>("d/uint64", dtype::uint64, {1}, {std::numeric_limits<std::uint64_t>::max()}), "U64"},
      {typed_tensor<std::uint8_t>("d/f8e5m2", dtype::float8_e5m2, {2}, {0x3C, 0x7B}), "F8_E5M2"},
      {typed_tensor<std::uint8_t>("d/f8e4m3fn", dtype::float8_e4m3fn, {1}, {0x38}), "F8_E4M3"},
      {typed_tensor<float>("s/empty", dtype::float32, {0, 3}, {}), "F32"},
      {typed_tensor<std::uint8_t>("s/odd", dtype::uint8, {5}, {1, 2, 3, 4, 5}), "U8"},  // misaligns what follows
      {typed_tensor<double>("s/after_odd", dtype::float64, {2}, {1.0, 2.0}), "F64"},
  };
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<tensor_spec> specs;
    for (const case_spec& c : every_dtype()) specs.push_back(c.spec);
    tfckpt_testing::write_bundle(dir_ / "ckpt" / "model", specs);
    auto c = tfckpt::open(dir_ / "ckpt" / "model");
    ASSERT_OK(c.status());
    ckpt_ = std::make_unique<tfckpt::checkpoint>(*std::move(c));
  }
  static tfckpt::safetensors_options quick() {
    tfckpt::safetensors_options o;
    o.sync = false;
    return o;
  }
  tfckpt_testing::scratch_dir dir_;
  std::unique_ptr<tfckpt::checkpoint> ckpt_;
};

TEST_F(SafetensorsTest, EveryDtypeReadsBackWithTheCheckpointsBytes) {
  const fs::path out = dir_ / "m.safetensors";
  ASSERT_OK(tfckpt::write_safetensors(tfckpt::entries(*ckpt_), out, quick()));
  const parsed_file f = parse(slurp(out));
  EXPECT_FALSE(f.header.contains("__metadata__"));
  for (const case_spec& c : every_dtype()) {
    SCOPED_TRACE(c.spec.name);
    ASSERT_TRUE(f.header.contains(c.spec.name));
    const auto& info = f.header[c.spec.name];
    EXPECT_EQ(info["dtype"], c.st_dtype);
    EXPECT_EQ(info["shape"].get<std::vector<std::int64_t>>(), c.spec.shape);
    EXPECT_EQ(f.data.at(c.spec.name), c.spec.data);
  }
  EXPECT_EQ(f.header.size(), every_dtype().size());
  // In pipeline order: the checkpoint's key order.
  std::vector<std::string> keys;
  for (const tfckpt::entry& e : ckpt_->entries()) keys.emplace_back(e.name());
  std::vector<std::string> nonempty_order;
  for (const std::string& n : f.order)
    if (n != "s/empty") nonempty_order.push_back(n);
  keys.erase(std::find(keys.begin(), keys.end(), "s/empty"));
  EXPECT_EQ(nonempty_order, keys);
  EXPECT_THAT(files_under(dir_.path()), ::testing::Contains("m.safetensors"));
  EXPECT_THAT(files_under(dir_.path()), ::testing::Each(::testing::Not(HasSubstr("tempstate"))));
}

TEST_F(SafetensorsTest, HeaderMatchesTheReferenceWritersLayout) {
  // safetensors' own test_serialization: one F32 [1,2,3] tensor "attn.0" gives this exact header.
  tfckpt::tensor t;
  t.name = "attn.0";
  t.dtype = tfckpt::dtype::float32;
  t.shape = {1, 2, 3};
  t.source = tfckpt::byte_source::from_bytes(std::string(24, '\0'));
  const std::string h = tfckpt::safetensors_header(std::span<const tfckpt::tensor>(&t, 1));
  EXPECT_EQ(h, std::string("\x40\0\0\0\0\0\0\0", 8) +
                   R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})" + std::string(0, ' '));
  EXPECT_EQ(tfckpt::safetensors_header({}), std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  tfckpt::safetensors_options meta;
  meta.metadata = {{"framework", "pt"}};
  EXPECT_EQ(tfckpt::safetensors_header({}, meta), std::string("\x28\0\0\0\0\0\0\0", 8) +
                                                     R"({"__metadata__":{"framework":"pt"}})" + "     ");
}

TEST_F(SafetensorsTest, MetadataAndEscapedNames) {
  auto planned = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_glob("d/float32")));
  planned.push_back(planned[0]);
  planned.back().name = "quote\"back\\slash\ttab\x01 \xc3\xa9t\xc3\xa9 \xe2\x82\xac";
  tfckpt::safetensors_options o = quick();
  o.metadata = {{"format", "np"}, {"source", "tfckpt \"test\"\n"}};
  ASSERT_OK(tfckpt::write_safetensors(planned, dir_ / "m.safetensors", o));
  const parsed_file f = parse(slurp(dir_ / "m.safetensors"));
  EXPECT_EQ(f.header["__metadata__"]["format"], "np");
  EXPECT_EQ(f.header["__metadata__"]["source"], "tfckpt \"test\"\n");
  EXPECT_TRUE(f.header.contains(planned.back().name));
  EXPECT_EQ(f.data.at(planned.back().name), f.data.at("d/float32"));
}

TEST_F(SafetensorsTest, SortByAlignmentAlignsEveryTensor) {
  tfckpt::safetensors_options o = quick();
  ASSERT_OK(tfckpt::write_safetensors(tfckpt::entries(*ckpt_), dir_ / "plain.safetensors", o));
  const parsed_file plain = parse(slurp(dir_ / "plain.safetensors"));
  EXPECT_NE(plain.begin_of.at("s/after_odd") % 8, 0u) << "pipeline order follows the odd-sized uint8 tensor";
  o.sort_by_alignment = true;
  ASSERT_OK(tfckpt::write_safetensors(tfckpt::entries(*ckpt_), dir_ / "sorted.safetensors", o));
  const parsed_file sorted = parse(slurp(dir_ / "sorted.safetensors"));
  for (const auto& [name, begin] : sorted.begin_of)
    EXPECT_EQ(begin % st_size(sorted.header[name]["dtype"].get<std::string>()), 0u) << name;
  EXPECT_EQ(sorted.order.front(), "d/uint64");
  for (const case_spec& c : every_dtype()) EXPECT_EQ(sorted.data.at(c.spec.name), c.spec.data) << c.spec.name;
}

TEST_F(SafetensorsTest, UnsupportedDtypesAndNamesAreListedAtOnceAndNothingIsWritten) {
  tfckpt_testing::write_bundle(dir_ / "odd" / "m",
                               {
                                   tfckpt_testing::string_tensor("vocab", {2}, {"a", "b"}),
                                   typed_tensor<std::complex<float>>("c64", tfckpt::dtype::complex64, {1}, {{1, 2}}),
                                   typed_tensor<std::complex<double>>("c128", tfckpt::dtype::complex128, {1}, {{1, 2}}),
                                   typed_tensor<std::int8_t>("q", tfckpt::dtype::qint8, {1}, {1}),
                                   tfckpt_testing::float_tensor("w", {1}, {1}),
                               });
  ASSERT_OK_AND_ASSIGN(auto odd, tfckpt::open(dir_ / "odd" / "m"));
  const absl::Status s = tfckpt::write_safetensors(tfckpt::entries(odd), dir_ / "o.safetensors", quick());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("4 problems")));
  for (const char* what : {"'vocab' is string", "'c64' is complex64", "'c128' is complex128", "'q' is qint8"})
    EXPECT_THAT(s.message(), HasSubstr(what));
  EXPECT_FALSE(fs::exists(dir_ / "o.safetensors"));

  auto planned = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_glob("d/int8")));
  planned.push_back(planned[0]);
  planned.back().name = "__metadata__";
  planned.push_back(planned[0]);
  planned.back().name = "bad\xff";
  planned.push_back(planned[0]);  // a duplicate: check_pipeline's finding, listed with ours
  tfckpt::safetensors_options o = quick();
  o.metadata = {{"k", "\xc3"}};
  const absl::Status n = tfckpt::write_safetensors(planned, dir_ / "n.safetensors", o);
  EXPECT_THAT(n, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("4 problems")));
  EXPECT_THAT(n.message(), HasSubstr("named '__metadata__'"));
  EXPECT_THAT(n.message(), HasSubstr("'bad\\xff' is not valid UTF-8"));
  EXPECT_THAT(n.message(), HasSubstr("metadata 'k' is not valid UTF-8"));
  EXPECT_THAT(n.message(), HasSubstr("two outputs are named 'd/int8'"));
  EXPECT_FALSE(fs::exists(dir_ / "n.safetensors"));
  EXPECT_THAT(files_under(dir_.path()), ::testing::Each(::testing::Not(HasSubstr("tempstate"))));
}

TEST_F(SafetensorsTest, CheckingReadsNoTensorByteAndExistingFilesNeedOverwrite) {
  auto runs = std::make_shared<int>(0);
  tfckpt::tensor t;
  t.name = "lazy";
  t.dtype = tfckpt::dtype::float32;
  t.shape = {2};
  t.source = tfckpt::byte_source::from_producer(8, [runs](const tfckpt::byte_source::emit_fn& emit) {
    ++*runs;
    const std::byte zeros[8] = {};
    return emit(zeros);
  });
  std::vector<tfckpt::tensor> planned = {t};
  EXPECT_OK(tfckpt::check_safetensors(planned));
  EXPECT_FALSE(tfckpt::safetensors_header(planned).empty());
  EXPECT_EQ(*runs, 0);
  const fs::path out = dir_ / "lazy.safetensors";
  ASSERT_OK(tfckpt::write_safetensors(planned, out, quick()));
  EXPECT_EQ(*runs, 1);
  EXPECT_THAT(tfckpt::write_safetensors(planned, out, quick()), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("exists")));
  EXPECT_EQ(*runs, 1);
  tfckpt::safetensors_options o = quick();
  o.overwrite = true;
  EXPECT_OK(tfckpt::write_safetensors(planned, out, o));
}

TEST_F(SafetensorsTest, MissingShardFailsWithoutLeavingAFile) {
  fs::remove(tfckpt::data_file_name((dir_ / "ckpt" / "model").string(), 0, 1));
  const auto planned = tfckpt::collect(tfckpt::entries(*ckpt_));
  EXPECT_OK(tfckpt::check_safetensors(planned));
  EXPECT_THAT(tfckpt::write_safetensors(planned, dir_ / "m.safetensors", quick()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("data-00000-of-00001")));
  EXPECT_THAT(files_under(dir_.path()), ::testing::ElementsAre("ckpt/model.index"));
}

TEST(SafetensorsFixture, MnistEmaDataEqualsTheCheckpoints) {
  TFCKPT_REQUIRE_FIXTURES();
  auto ckpt = tfckpt::open(tfckpt_testing::fixtures_dir() / "mnist_ema" / "MNIST_model");
  ASSERT_OK(ckpt.status());
  tfckpt_testing::scratch_dir dir;
  tfckpt::safetensors_options o;
  o.metadata = {{"format", "np"}};
  ASSERT_OK(tfckpt::write_safetensors(tfckpt::entries(*ckpt), dir / "mnist.safetensors", o));
  const parsed_file f = parse(slurp(dir / "mnist.safetensors"));
  ASSERT_TRUE(f.header.contains("layer1/weights"));
  EXPECT_EQ(f.header["layer1/weights"]["shape"], nlohmann::json::array({784, 500}));
  EXPECT_EQ(f.header["layer1/weights"]["dtype"], "F32");
  for (const tfckpt::entry& e : ckpt->entries()) {
    ASSERT_OK_AND_ASSIGN(const auto bytes, e.bytes());
    EXPECT_EQ(f.data.at(std::string(e.name())), std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()))
        << e.name();
  }
}

}  // namespace

}  // namespace safetensors_test
