// SPDX-License-Identifier: Apache-2.0
// The safetensors reader: files written by an independent writer (a Python script written from
// the format's description: json + struct) and by our own sink read back byte for byte, and every
// kind of malformed file is a Status naming the file, the offset and the tensor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/sinks/safetensors.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/sources/safetensors.hpp"

namespace safetensors_source_test {

namespace {
namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;
using tfckpt_testing::typed_tensor;

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
// A safetensors file with header `json` and `data` after it.
std::string st_file(const std::string& json, const std::string& data) { return le64(json.size()) + json + data; }

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// Every tensor of checkpoint `a` is in `b` with the same dtype, shape and bytes, and vice versa.
void expect_same_tensors(const std::string& a, const std::string& b) {
  auto ca = tfckpt::open(a);
  auto cb = tfckpt::open(b);
  ASSERT_TRUE(ca.ok()) << ca.status();
  ASSERT_TRUE(cb.ok()) << cb.status();
  ASSERT_EQ(ca->entries().size(), cb->entries().size());
  for (const tfckpt::entry& e : ca->entries()) {
    const tfckpt::entry* f = cb->find(e.name());
    ASSERT_NE(f, nullptr) << e.name();
    EXPECT_EQ(f->dtype(), e.dtype()) << e.name();
    EXPECT_TRUE(std::ranges::equal(f->shape(), e.shape())) << e.name();
    auto x = e.bytes();
    auto y = f->bytes();
    ASSERT_TRUE(x.ok() && y.ok()) << e.name();
    EXPECT_TRUE(std::ranges::equal(*x, *y)) << e.name();
  }
}

class SafetensorsSource : public ::testing::Test {
 protected:
  tfckpt_testing::scratch_dir dir_;
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
};

TEST_F(SafetensorsSource, ReadsAFileWrittenFromTheSpecByPython) {
  const std::string py = TFCKPT_SYSTEM_PYTHON;
  if (py.empty() || !fs::exists(py)) GTEST_SKIP() << "system python3 not found; apt-get install python3";
  const std::string file = path("spec.safetensors");
  // Written as the format's description says, in an order that is not the data order, with metadata.
  const std::string script = R"PY(
import json, struct, sys
tensors = [("b", "I64", [3], struct.pack("<3q", -1, 2, 1 << 40)),
           ("a/w", "F32", [2, 2], struct.pack("<4f", 1.5, -2.0, 3.25, 0.0)),
           ("flag", "BOOL", [], b"\x01"),
           ("h", "F16", [2], struct.pack("<2e", 1.0, -0.5)),
           ("empty", "U8", [0, 4], b"")]
header, data = {"__metadata__": {"format": "pt"}}, b""
for name, dtype, shape, raw in tensors:
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
h = json.dumps(dict(reversed(list(header.items())))).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + data)
)PY";
  spit(dir_ / "write.py", script);
  ASSERT_EQ(run(py + " " + (dir_ / "write.py").string() + " " + file), 0);

  auto st = tfckpt::open_safetensors(file);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->metadata().at("format"), "pt");
  std::vector<std::string> names;
  for (const tfckpt::tensor& t : tfckpt::entries(*st)) names.push_back(t.name);
  EXPECT_THAT(names, ::testing::ElementsAre("b", "a/w", "flag", "h", "empty"));  // data order

  ASSERT_TRUE(tfckpt::write_bundle(tfckpt::entries(*st), path("ckpt/model")).ok());
  auto ckpt = tfckpt::open(path("ckpt/model"));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  ASSERT_OK_AND_ASSIGN(const auto b, ckpt->find("b")->values<std::int64_t>());
  EXPECT_THAT(b.span(), ::testing::ElementsAre(-1, 2, std::int64_t{1} << 40));
  ASSERT_OK_AND_ASSIGN(const auto w, ckpt->find("a/w")->values<float>());
  EXPECT_THAT(w.span(), ::testing::ElementsAre(1.5f, -2.0f, 3.25f, 0.0f));
  EXPECT_EQ(ckpt->find("flag")->dtype(), tfckpt::dtype::boolean);
  EXPECT_TRUE(ckpt->find("flag")->shape().empty());
  EXPECT_EQ(ckpt->find("h")->dtype(), tfckpt::dtype::float16);
  EXPECT_THAT(ckpt->find("empty")->shape(), ::testing::ElementsAre(0, 4));
}

TEST_F(SafetensorsSource, OurSinkRoundTripsEveryDtypeItSupports) {
  std::vector<tfckpt_testing::tensor_spec> specs = {
      typed_tensor<std::uint8_t>("bool", tfckpt::dtype::boolean, {3}, {1, 0, 1}),
      typed_tensor<std::uint8_t>("u8", tfckpt::dtype::uint8, {2}, {0, 255}),
      typed_tensor<std::int8_t>("i8", tfckpt::dtype::int8, {2}, {-128, 127}),
      typed_tensor<std::int16_t>("i16", tfckpt::dtype::int16, {2}, {-30000, 7}),
      typed_tensor<std::uint16_t>("u16", tfckpt::dtype::uint16, {1}, {65535}),
      typed_tensor<std::uint16_t>("f16", tfckpt::dtype::float16, {2}, {0x3c00, 0xc000}),
      typed_tensor<std::uint16_t>("bf16", tfckpt::dtype::bfloat16, {2}, {0x3f80, 0x4049}),
      typed_tensor<std::int32_t>("i32", tfckpt::dtype::int32, {2, 1}, {-5, 1 << 30}),
      typed_tensor<std::uint32_t>("u32", tfckpt::dtype::uint32, {1}, {4000000000u}),
      typed_tensor<float>("f32", tfckpt::dtype::float32, {2, 3}, {1, 2, 3, 4, 5, 6}),
      typed_tensor<double>("f64", tfckpt::dtype::float64, {}, {3.141592653589793}),
      typed_tensor<std::int64_t>("i64", tfckpt::dtype::int64, {2}, {INT64_MIN, INT64_MAX}),
      typed_tensor<std::uint64_t>("u64", tfckpt::dtype::uint64, {1}, {UINT64_MAX}),
      typed_tensor<std::uint8_t>("f8e5m2", tfckpt::dtype::float8_e5m2, {2}, {0x3c, 0xbc}),
      typed_tensor<std::uint8_t>("f8e4m3", tfckpt::dtype::float8_e4m3fn, {2}, {0x38, 0x7e}),
      typed_tensor<float>("zero/size", tfckpt::dtype::float32, {0, 3}, {}),
  };
  tfckpt_testing::write_bundle(dir_ / "orig" / "model", specs);
  auto orig = tfckpt::open(path("orig/model"));
  ASSERT_TRUE(orig.ok()) << orig.status();
  for (const bool sorted : {false, true}) {
    const std::string file = path(sorted ? "sorted.safetensors" : "plain.safetensors");
    ASSERT_TRUE(tfckpt::write_safetensors(tfckpt::entries(*orig), file, {.sort_by_alignment = sorted, .sync = false}).ok());
    auto st = tfckpt::open_safetensors(file);
    ASSERT_TRUE(st.ok()) << st.status();
    const std::string back = path(sorted ? "sorted/model" : "plain/model");
    ASSERT_TRUE(tfckpt::write_bundle(tfckpt::entries(*st), back).ok());
    expect_same_tensors(path("orig/model"), back);
  }
}

// A tensor larger than one 4 MiB streaming piece: streamed after the file object was moved, and read
// in ranges on both sides of the page-sized threshold between pread and the mapping, it gives its
// bytes back exactly; after the file is truncated in place under the open mapping, streaming is an
// error naming the file, not a fault.
TEST_F(SafetensorsSource, StreamsAndReadsByPreadAndSurvivesATruncatedFile) {
  constexpr std::uint64_t kElements = (std::uint64_t{9} << 20) / 4 + 3;  // 9 MiB and 12 bytes
  std::string data(kElements * 4, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131) ^ (i >> 12));
  const std::string header = R"({"w":{"dtype":"F32","shape":[)" + std::to_string(kElements) +
                             R"(],"data_offsets":[0,)" + std::to_string(data.size()) + "]}}";
  const std::string file = path("big.safetensors");
  spit(file, st_file(header, data));
  auto st = tfckpt::open_safetensors(file);
  ASSERT_TRUE(st.ok()) << st.status();
  const tfckpt::tensor t = tfckpt::to_tensor(*st, st->tensors()[0]);
  const tfckpt::safetensors_file moved = std::move(*st);  // the tensor's source does not point into *st

  std::string streamed;
  std::size_t pieces = 0;
  ASSERT_OK(t.source.stream([&](std::span<const std::byte> piece) {
    streamed.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    ++pieces;
    return absl::OkStatus();
  }));
  EXPECT_TRUE(streamed == data);
  EXPECT_GE(pieces, 3u);
  for (const auto& [offset, size] : std::vector<std::pair<std::uint64_t, std::size_t>>{
           {0, 100}, {1, 4095}, {4093, 4096}, {(std::uint64_t{4} << 20) - 7, 70000}, {data.size() - 5000, 5000}}) {
    std::string got(size, '\0');
    ASSERT_OK(t.source.read(offset, std::as_writable_bytes(std::span(got))));
    EXPECT_TRUE(got == data.substr(offset, size)) << "offset " << offset << " size " << size;
  }

  fs::resize_file(file, fs::file_size(file) - (std::uint64_t{6} << 20));
  std::uint64_t sum = 0;  // the sink reads every byte it is given, as a writer does
  const absl::Status truncated = t.source.stream([&sum](std::span<const std::byte> piece) {
    for (const std::byte b : piece) sum += static_cast<std::uint8_t>(b);
    return absl::OkStatus();
  });
  EXPECT_THAT(truncated, StatusIs(absl::StatusCode::kDataLoss, HasSubstr(file)));
}

// Each hostile file: its bytes, the code and the words the error must contain.
struct hostile_case {
  const char* what;
  std::string bytes;
  absl::StatusCode code;
  std::vector<std::string> words;
};

TEST_F(SafetensorsSource, MalformedFilesAreClearErrors) {
  const std::string f32x2(8, '\0');
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::vector<hostile_case> cases = {
      {"empty", "", absl::StatusCode::kDataLoss, {"@0", "header length"}},
      {"short length", "\x05\x00\x00", absl::StatusCode::kDataLoss, {"@0"}},
      {"length past the file", le64(1000) + "{}", absl::StatusCode::kDataLoss, {"@0", "runs past"}},
      {"length over the cap", le64(100'000'001) + "{}", absl::StatusCode::kDataLoss, {"@0", "100000000"}},
      {"bad json", st_file(R"({"a":{"dtype":"F32",)", ""), absl::StatusCode::kDataLoss, {"not valid JSON"}},
      {"number out of range", st_file(R"({"a":{"dtype":"F32","shape":[1E999],"data_offsets":[0,4]}})", "\0\0\0\0"),
       absl::StatusCode::kDataLoss, {"@8", "not valid JSON", "overflow"}},
      {"not an object", st_file("[1,2]", ""), absl::StatusCode::kDataLoss, {"@8", "not a JSON object"}},
      {"not utf-8", st_file("{\"\xff\":1}", ""), absl::StatusCode::kDataLoss, {"@8", "UTF-8"}},
      {"unknown dtype", st_file(R"({"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", std::string(16, '\0')),
       absl::StatusCode::kUnimplemented, {"F128", "'a'"}},
      {"shape times size mismatch", st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2),
       absl::StatusCode::kDataLoss, {"'a'", "12 bytes"}},
      {"shape overflows", st_file(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", f32x2),
       absl::StatusCode::kDataLoss, {"overflows", "'a'"}},
      {"negative dimension", st_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2),
       absl::StatusCode::kDataLoss, {"'a'", "dimension"}},
      {"missing offsets", st_file(R"({"a":{"dtype":"F32","shape":[2]}})", f32x2), absl::StatusCode::kDataLoss,
       {"data_offsets", "'a'"}},
      {"end before begin", st_file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", f32x2),
       absl::StatusCode::kDataLoss, {"'a'"}},
      {"hole", st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                       std::string(12, '\0')),
       absl::StatusCode::kDataLoss, {"hole", "'b'"}},
      {"overlap", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                          f32x2),
       absl::StatusCode::kDataLoss, {"overlap", "'b'"}},
      {"truncated data", st_file(ok_header, "\0\0\0\0"), absl::StatusCode::kDataLoss, {"truncated"}},
      {"trailing bytes", st_file(ok_header, f32x2 + "xx"), absl::StatusCode::kDataLoss, {"trailing"}},
      {"metadata not strings", st_file(R"({"__metadata__":{"k":1}})", ""), absl::StatusCode::kDataLoss, {"metadata"}},
      {"too deep", st_file(R"({"a":{"dtype":"F32","shape":[[[1]]],"data_offsets":[0,4]}})", "\0\0\0\0"),
       absl::StatusCode::kDataLoss, {"deeper"}},
  };
  for (const hostile_case& c : cases) {
    const std::string file = path("hostile.safetensors");
    spit(file, c.bytes);
    auto st = tfckpt::open_safetensors(file);
    ASSERT_FALSE(st.ok()) << c.what;
    EXPECT_EQ(st.status().code(), c.code) << c.what << ": " << st.status();
    EXPECT_THAT(std::string(st.status().message()), HasSubstr(file)) << c.what;
    for (const std::string& w : c.words) EXPECT_THAT(std::string(st.status().message()), HasSubstr(w)) << c.what;
  }
}

TEST_F(SafetensorsSource, EmptyFileOfNoTensorsIsValid) {
  spit(path("none.safetensors"), st_file("{}      ", ""));
  auto st = tfckpt::open_safetensors(path("none.safetensors"));
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->tensors().empty());
}

}  // namespace

}  // namespace safetensors_source_test
