// SPDX-License-Identifier: Apache-2.0
// Big-endian bundles (spec §3.9): reading a bundle built independently (LevelDB index, hand-swapped
// payloads), round trips through our writer for every dtype, conversions between the two orders
// that reproduce the other order's files byte for byte, and checksums over the stored bytes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <complex>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/copy.hpp"
#include "tfckpt/checkpoint/diff.hpp"
#include "tfckpt/checkpoint/merge.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/views/tensor.hpp"

namespace byte_order_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt::byte_order;
using tfckpt::codec::as_bytes;
using tfckpt_testing::StatusIs;

static_assert(tfckpt::host_byte_order == byte_order::little, "these tests describe a little-endian host");

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Reverses every `unit` bytes: the spec's rule, written independently of the library's swap.
std::string reversed_units(std::string bytes, std::size_t unit) {
  for (std::size_t i = 0; i + unit <= bytes.size(); i += unit) std::reverse(bytes.begin() + i, bytes.begin() + i + unit);
  return bytes;
}

std::size_t spec_unit(tfckpt::dtype t) {
  const std::size_t size = tfckpt::element_size(t);
  return t == tfckpt::dtype::complex64 || t == tfckpt::dtype::complex128 ? size / 2 : size;
}

std::string read_host_order(const tfckpt::entry& e) {
  std::string out;
  const absl::Status s = e.host_order_source().stream([&](std::span<const std::byte> piece) {
    out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    return absl::OkStatus();
  });
  EXPECT_OK(s);
  return out;
}

std::string big_endian_header() {
  tensorflow::BundleHeaderProto h;
  h.set_num_shards(1);
  h.set_endianness(tensorflow::BundleHeaderProto::BIG);
  h.mutable_version()->set_producer(1);
  return h.SerializeAsString();
}

// ---- the string codec ----

TEST(ByteOrder, BigEndianStringTensorVector) {
  // ["ab", ""] stored big-endian: the lengths enter the length CRC as big-endian uint32s and the
  // masked CRC is stored big-endian. Reference bytes computed with python3-crc32c:
  //   crc32c(00000002 00000000) masked = 0x7e28e2ec; entry crc masked = 0xba237b25.
  const std::string bytes("\x02\x00\x7e\x28\xe2\xec\x61\x62", 8);
  ASSERT_OK_AND_ASSIGN(const auto s, tfckpt::codec::decode_string_tensor("d", "k", 0, as_bytes(bytes), 2, byte_order::big));
  EXPECT_THAT(s.elements, ElementsAre("ab", ""));
  EXPECT_EQ(tfckpt::codec::crc32c_mask(s.crc32c), 0xba237b25u);
  const std::vector<std::string_view> elements = {"ab", ""};
  EXPECT_EQ(tfckpt::codec::encode_string_tensor(elements, byte_order::big), bytes);
  // The little-endian form of the same strings is refused as big-endian, and the other way round.
  const std::string little = tfckpt::codec::encode_string_tensor(elements, byte_order::little);
  EXPECT_THAT(tfckpt::codec::decode_string_tensor("d", "k", 0, as_bytes(little), 2, byte_order::big),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("length checksum mismatch")));
  EXPECT_THAT(tfckpt::codec::decode_string_tensor("d", "k", 0, as_bytes(bytes), 2, byte_order::little),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("length checksum mismatch")));
}

TEST(ByteOrder, StringConversionChangesOnlyTheLengthChecksum) {
  const std::vector<std::string_view> elements = {"alpha", "", std::string_view("\0\xff", 2), "z"};
  const std::string little = tfckpt::codec::encode_string_tensor(elements, byte_order::little);
  std::string converted = little;
  ASSERT_OK_AND_ASSIGN(const std::uint32_t crc,
                       tfckpt::codec::convert_string_tensor("d", "k", 0, std::as_writable_bytes(std::span(converted)), 4,
                                                            byte_order::little, byte_order::big));
  EXPECT_EQ(converted, tfckpt::codec::encode_string_tensor(elements, byte_order::big));
  ASSERT_OK_AND_ASSIGN(const auto decoded,
                       tfckpt::codec::decode_string_tensor("d", "k", 0, as_bytes(converted), 4, byte_order::big));
  EXPECT_EQ(decoded.crc32c, crc);
  std::size_t differing = 0;
  for (std::size_t i = 0; i < little.size(); ++i) differing += little[i] != converted[i] ? 1 : 0;
  EXPECT_GE(differing, 1u);
  EXPECT_LE(differing, 4u);
}

// ---- reading a big-endian bundle built without our writer ----

TEST(ByteOrder, ReadsAnIndependentlyBuiltBigEndianBundle) {
  tfckpt_testing::scratch_dir dir;
  const std::vector<float> w = {1.5f, -2.0f, 3.25f};
  const std::vector<std::int64_t> step = {1234567890123};
  const std::vector<std::complex<float>> z = {{1.0f, -1.0f}};
  const std::vector<std::uint8_t> flags = {1, 0};
  auto big = [](tfckpt_testing::tensor_spec t) {
    t.data = reversed_units(t.data, spec_unit(t.dtype));
    return t;
  };
  tfckpt_testing::tensor_spec names;
  names.name = "names";
  names.dtype = tfckpt::dtype::string;
  names.shape = {2};
  names.data = std::string("\x02\x00\x7e\x28\xe2\xec\x61\x62", 8);  // ["ab", ""] big-endian (see above)
  names.masked_crc_override = 0xba237b25u;
  tfckpt_testing::build_options o;
  o.raw_header = big_endian_header();
  tfckpt_testing::write_bundle(dir / "be",
                               {big(tfckpt_testing::float_tensor("w", {3}, w)),
                                big(tfckpt_testing::typed_tensor("step", tfckpt::dtype::int64, {}, step)),
                                big(tfckpt_testing::typed_tensor("z", tfckpt::dtype::complex64, {1}, z)),
                                big(tfckpt_testing::typed_tensor("flags", tfckpt::dtype::boolean, {2}, flags)), names},
                               o);
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "be"));
  EXPECT_TRUE(ckpt.big_endian());
  EXPECT_EQ(ckpt.payload_order(), byte_order::big);
  EXPECT_TRUE(ckpt.verify().ok());

  ASSERT_OK_AND_ASSIGN(const auto* we, ckpt.get("w"));
  EXPECT_FALSE(we->bytes_in_host_order());
  ASSERT_OK_AND_ASSIGN(const auto wv, we->values<float>());
  EXPECT_THAT(wv.span(), ElementsAre(1.5f, -2.0f, 3.25f));
  EXPECT_FALSE(wv.is_zero_copy());  // swapped into memory the values own
  ASSERT_OK_AND_ASSIGN(const auto raw, we->bytes());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(raw.data()), raw.size()).substr(0, 4), std::string("\x3f\xc0\x00\x00", 4));

  ASSERT_OK_AND_ASSIGN(const auto* se, ckpt.get("step"));
  ASSERT_OK_AND_ASSIGN(const auto sv, se->values<std::int64_t>());
  EXPECT_THAT(sv.span(), ElementsAre(1234567890123));
  ASSERT_OK_AND_ASSIGN(const auto* ze, ckpt.get("z"));
  ASSERT_OK_AND_ASSIGN(const auto zv, ze->values<std::complex<float>>());
  EXPECT_THAT(zv.span(), ElementsAre(std::complex<float>(1.0f, -1.0f)));
  ASSERT_OK_AND_ASSIGN(const auto* fe, ckpt.get("flags"));
  EXPECT_TRUE(fe->bytes_in_host_order());  // 1-byte elements have no order
  ASSERT_OK_AND_ASSIGN(const auto fv, fe->values<bool>());
  EXPECT_THAT(fv.span(), ElementsAre(true, false));
  ASSERT_OK_AND_ASSIGN(const auto* ne, ckpt.get("names"));
  EXPECT_FALSE(ne->bytes_in_host_order());
  ASSERT_OK_AND_ASSIGN(const auto nv, ne->strings());
  EXPECT_THAT(nv, ElementsAre("ab", ""));
  // The pipeline form of the strings is the host-order (little-endian) encoding.
  EXPECT_EQ(read_host_order(*ne), tfckpt_testing::encode_strings({"ab", ""}));
  EXPECT_EQ(read_host_order(*we), std::string(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float)));
  // entry::read gives ranges of the same host-order bytes, starting and ending inside elements.
  std::string part(7, '\0');
  ASSERT_OK(we->read(2, {reinterpret_cast<std::byte*>(part.data()), part.size()}));
  EXPECT_EQ(part, std::string(reinterpret_cast<const char*>(w.data()) + 2, 7));
}

TEST(ByteOrder, ChecksumsCoverTheStoredBytes) {
  tfckpt_testing::scratch_dir dir;
  const std::vector<float> w = {1.0f, 2.0f};
  tfckpt_testing::tensor_spec t = tfckpt_testing::float_tensor("w", {2}, w);
  // A CRC over the little-endian bytes does not match the big-endian bytes stored.
  t.masked_crc_override = tfckpt_testing::payload_masked_crc(t.dtype, t.data, 2);
  t.data = reversed_units(t.data, 4);
  tfckpt_testing::build_options o;
  o.raw_header = big_endian_header();
  tfckpt_testing::write_bundle(dir / "be", {t}, o);
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "be"));
  const auto report = ckpt.verify();
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_THAT(report.problems[0], StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum mismatch")));

  // A big-endian string tensor whose length checksum was written little-endian.
  tfckpt_testing::tensor_spec s = tfckpt_testing::string_tensor("s", {2}, {"ab", ""});
  tfckpt_testing::write_bundle(dir / "be_strings", {s}, o);
  ASSERT_OK_AND_ASSIGN(const auto strings, tfckpt::open(dir / "be_strings"));
  ASSERT_OK_AND_ASSIGN(const auto* se, strings.get("s"));
  EXPECT_THAT(se->strings(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("length checksum mismatch")));
  EXPECT_FALSE(strings.verify().ok());
}

TEST(ByteOrder, VariantsAreNotConvertedAcrossOrders) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::tensor_spec v;
  v.name = "v";
  v.dtype = tfckpt::dtype::variant;
  v.shape = {};
  v.data = "opaque";
  tfckpt_testing::build_options o;
  o.raw_header = big_endian_header();
  tfckpt_testing::write_bundle(dir / "be", {v}, o);
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "be"));
  ASSERT_OK_AND_ASSIGN(const auto* e, ckpt.get("v"));
  EXPECT_FALSE(e->bytes_in_host_order());
  EXPECT_THAT(e->host_order_source().stream([](std::span<const std::byte>) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("variants cannot be converted")));
}

// ---- round trips through our writer, every dtype ----

struct twin_checkpoints {
  tfckpt_testing::scratch_dir dir;
  std::map<std::string, std::string> host_bytes;  // name -> the host-order payload added
  fs::path little = dir / "little";
  fs::path big = dir / "big";
};

// Writes the same tensors, one per writable dtype plus strings, little- and big-endian.
void write_twins(twin_checkpoints& t) {
  std::mt19937 rng(7);
  std::map<std::string, tfckpt::dtype> tensors;  // added in key order, as a pipeline writes them
  for (std::int32_t v = 1; v <= tfckpt::kMaxDtype; ++v) {
    const auto type = static_cast<tfckpt::dtype>(v);
    if (!tfckpt::is_known_dtype(v) || !tfckpt::is_fixed_size(type)) continue;
    std::string bytes(5 * tfckpt::element_size(type), '\0');
    for (char& c : bytes) c = static_cast<char>(type == tfckpt::dtype::boolean ? rng() % 2 : rng() % 256);
    const std::string name = "t_" + std::string(tfckpt::dtype_name(type));
    t.host_bytes[name] = bytes;
    tensors.emplace(name, type);
  }
  const std::vector<std::string_view> strings = {"first", "", "third element"};
  t.host_bytes["t_string"] = tfckpt::codec::encode_string_tensor(strings, byte_order::little);
  tensors.emplace("t_string", tfckpt::dtype::string);
  for (const byte_order order : {byte_order::little, byte_order::big}) {
    tfckpt::bundle_writer_options o;
    o.sync = false;
    o.payload_order = order;
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(order == byte_order::big ? t.big : t.little, o));
    for (const auto& [name, type] : tensors) {
      const std::vector<std::int64_t> shape = {type == tfckpt::dtype::string ? 3 : 5};
      if (type == tfckpt::dtype::string) {
        ASSERT_OK(w.add_strings(name, shape, strings));
      } else {
        ASSERT_OK(w.add(name, type, shape, tfckpt::byte_source::from_span(as_bytes(t.host_bytes[name]))));
      }
    }
    ASSERT_OK(w.finish());
  }
}

TEST(ByteOrder, EveryDtypeRoundTripsBigEndian) {
  twin_checkpoints t;
  ASSERT_NO_FATAL_FAILURE(write_twins(t));
  ASSERT_OK_AND_ASSIGN(const auto little, tfckpt::open(t.little));
  ASSERT_OK_AND_ASSIGN(const auto big, tfckpt::open(t.big));
  EXPECT_FALSE(little.big_endian());
  EXPECT_TRUE(big.big_endian());
  EXPECT_TRUE(big.verify().ok());
  ASSERT_EQ(big.size(), t.host_bytes.size());
  std::size_t swapped = 0;
  for (const tfckpt::entry& e : big.entries()) {
    SCOPED_TRACE(std::string(e.name()));
    const std::string& host = t.host_bytes.at(std::string(e.name()));
    ASSERT_OK_AND_ASSIGN(const auto raw, e.bytes());
    const std::string stored(reinterpret_cast<const char*>(raw.data()), raw.size());
    if (e.dtype() == tfckpt::dtype::string) {
      const std::vector<std::string_view> strings = {"first", "", "third element"};
      EXPECT_EQ(stored, tfckpt::codec::encode_string_tensor(strings, byte_order::big));
      ASSERT_OK_AND_ASSIGN(const auto elements, e.strings());
      EXPECT_THAT(elements, ElementsAre("first", "", "third element"));
    } else {
      EXPECT_EQ(stored, reversed_units(host, spec_unit(e.dtype())));  // the file holds big-endian elements
    }
    EXPECT_EQ(read_host_order(e), host);
    EXPECT_EQ(e.bytes_in_host_order(), e.dtype() != tfckpt::dtype::string && spec_unit(e.dtype()) == 1);
    // Typed reads give the values that were written, from a copy when a swap was needed.
    tfckpt::visit_element_type(e.dtype(), [&]<class T>(std::type_identity<T>) {
      ASSERT_OK_AND_ASSIGN(const auto v, e.values<T>());
      ASSERT_EQ(v.size() * sizeof(T), host.size());
      EXPECT_EQ(std::memcmp(v.data(), host.data(), host.size()), 0);
      if (spec_unit(e.dtype()) > 1) {
        EXPECT_FALSE(v.is_zero_copy());
      }
      ++swapped;
    });
    // The little-endian twin stores exactly the host bytes.
    ASSERT_OK_AND_ASSIGN(const auto* le, little.get(e.name()));
    ASSERT_OK_AND_ASSIGN(const auto le_raw, le->bytes());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(le_raw.data()), le_raw.size()), host);
  }
  // Every dtype with a C++ element type: float16/32/64, bfloat16, (q)int8/16/32, int64, (q)uint8,
  // (q)uint16, uint32/64, bool, complex64/128. The float8 and 4-bit kinds are checked as bytes only.
  EXPECT_EQ(swapped, 20u);
  // Values compare equal across the orders.
  ASSERT_OK_AND_ASSIGN(const auto d, tfckpt::diff_checkpoints(little, big));
  EXPECT_TRUE(d.only_in_a.empty());
  EXPECT_TRUE(d.changed.empty());
  for (const auto& c : d.common) EXPECT_TRUE(c.equal) << c.name;
}

TEST(ByteOrder, ConversionsReproduceTheOtherOrderByteForByte) {
  twin_checkpoints t;
  ASSERT_NO_FATAL_FAILURE(write_twins(t));
  ASSERT_OK_AND_ASSIGN(const auto little, tfckpt::open(t.little));
  ASSERT_OK_AND_ASSIGN(const auto big, tfckpt::open(t.big));
  const auto same_files = [](const fs::path& a, const fs::path& b) {
    EXPECT_EQ(slurp(a.string() + ".index"), slurp(b.string() + ".index"));
    EXPECT_EQ(slurp(a.string() + ".data-00000-of-00001"), slurp(b.string() + ".data-00000-of-00001"));
  };
  // copy keeps the order by default, or converts on request.
  ASSERT_OK(tfckpt::copy_checkpoint(big, t.dir / "big_copy", {.sync = false}));
  same_files(t.dir / "big_copy", t.big);
  ASSERT_OK(tfckpt::copy_checkpoint(big, t.dir / "to_little", {.sync = false, .payload_order = byte_order::little}));
  same_files(t.dir / "to_little", t.little);
  ASSERT_OK(tfckpt::copy_checkpoint(little, t.dir / "to_big", {.sync = false, .payload_order = byte_order::big}));
  same_files(t.dir / "to_big", t.big);
  // A pipeline over a big-endian checkpoint carries host-order bytes: the default sink writes them
  // little-endian, exactly as the little-endian twin.
  tfckpt::write_bundle_options o;
  o.writer.sync = false;
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(big), t.dir / "pipeline", o));
  same_files(t.dir / "pipeline", t.little);
  o.writer.payload_order = byte_order::big;
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(little), t.dir / "pipeline_big", o));
  same_files(t.dir / "pipeline_big", t.big);
}

TEST(ByteOrder, PartitionedTensorsAssembleAndKeepTheirSlices) {
  tfckpt_testing::scratch_dir dir;
  const std::vector<float> top = {1, 2, 3}, bottom = {4, 5, 6};
  tfckpt::bundle_writer_options o;
  o.sync = false;
  o.payload_order = byte_order::big;
  {
    ASSERT_OK_AND_ASSIGN(auto w, tfckpt::bundle_writer::create(dir / "p", o));
    const std::vector<std::int64_t> full = {2, 3};
    const std::vector<tfckpt::codec::slice_extent> first = {{0, 1}, {0, 3}}, second = {{1, 1}, {0, 3}};
    ASSERT_OK(w.add_slice("p", full, first, tfckpt::dtype::float32, tfckpt::byte_source::from_span(std::as_bytes(std::span(top)))));
    ASSERT_OK(w.add_slice("p", full, second, tfckpt::dtype::float32, tfckpt::byte_source::from_span(std::as_bytes(std::span(bottom)))));
    ASSERT_OK(w.finish());
  }
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "p"));
  ASSERT_TRUE(ckpt.verify().ok());
  ASSERT_OK_AND_ASSIGN(const auto* p, ckpt.get("p"));
  ASSERT_TRUE(p->is_partitioned());
  ASSERT_OK_AND_ASSIGN(const auto v, p->values<float>());
  EXPECT_THAT(v.span(), ElementsAre(1, 2, 3, 4, 5, 6));
  // Rewritten big-endian through a pipeline, the slices stay slices and the bytes stay equal.
  tfckpt::write_bundle_options wo;
  wo.writer = o;
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(ckpt), dir / "again", wo));
  EXPECT_EQ(slurp(dir / "again.index"), slurp(dir / "p.index"));
  EXPECT_EQ(slurp(dir / "again.data-00000-of-00001"), slurp(dir / "p.data-00000-of-00001"));
}

TEST(ByteOrder, MergeRefusesMixedOrders) {
  twin_checkpoints t;
  ASSERT_NO_FATAL_FAILURE(write_twins(t));
  tfckpt::merge_options o;
  o.sync = false;
  const std::vector<std::string> inputs = {t.little.string(), t.big.string()};
  EXPECT_THAT(tfckpt::merge_bundles(inputs, (t.dir / "merged").string(), o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("different byte order")));
}

}  // namespace

}  // namespace byte_order_test
