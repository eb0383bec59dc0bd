// SPDX-License-Identifier: Apache-2.0
// Const nodes: our streamed encoding against protobuf's own serialization of the same NodeDef,
// and against the Const nodes TensorFlow's freezing wrote in a fixture, byte for byte.
#include "tfckpt/graph/const_node.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/proto_wire.hpp"
#include "tfckpt/graph/graph_writer.hpp"
#include "tfckpt/proto/graph.pb.h"

namespace const_node_test {

namespace {

using ::tfckpt::dtype;
using ::tfckpt_testing::StatusIs;

std::string encode(const tfckpt::graph::const_node& node) {
  auto enc = tfckpt::graph::encode_const(node);
  EXPECT_OK(enc.status());
  if (!enc.ok()) return {};
  std::string out;
  EXPECT_OK(enc->stream([&](std::span<const std::byte> b) {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    return absl::OkStatus();
  }));
  EXPECT_EQ(out.size(), enc->size());
  return out;
}

tfckpt::tensor make_tensor(std::string name, dtype type, std::vector<std::int64_t> shape, std::string bytes) {
  tfckpt::tensor t;
  t.name = std::move(name);
  t.dtype = type;
  t.shape = std::move(shape);
  t.source = tfckpt::byte_source::from_bytes(std::move(bytes));
  return t;
}

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string s(values.size() * sizeof(T), '\0');
  std::memcpy(s.data(), std::data(values), s.size());
  return s;
}

// The reference: the NodeDef make_tensor_proto + convert_variables_to_constants build, assembled with
// protobuf's generated classes (field by field, as TensorFlow's Python does) and serialized by protobuf.
std::string reference(const std::string& name, dtype type, const std::vector<std::int64_t>& shape,
                      const std::string& bytes, const std::vector<std::string>& strings = {}) {
  tensorflow::NodeDef node;
  node.set_name(name);
  node.set_op("Const");
  (*node.mutable_attr())["dtype"].set_type(static_cast<tensorflow::DataType>(type));
  tensorflow::TensorProto* t = (*node.mutable_attr())["value"].mutable_tensor();
  t->set_dtype(static_cast<tensorflow::DataType>(type));
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    t->mutable_tensor_shape()->add_dim()->set_size(d);
    n *= d;
  }
  t->mutable_tensor_shape();  // present even for a scalar
  const bool content = n > 1 && type != dtype::boolean && type != dtype::uint16 && type != dtype::complex64 &&
                       type != dtype::string;
  const auto* p = bytes.data();
  if (type == dtype::string) {
    for (const auto& s : strings) t->add_string_val(s);
  } else if (content) {
    t->set_tensor_content(bytes);
  } else {
    for (std::int64_t i = 0; i < n; ++i) {
      switch (type) {
        case dtype::float32: { float v; std::memcpy(&v, p + 4 * i, 4); t->add_float_val(v); break; }
        case dtype::float64: { double v; std::memcpy(&v, p + 8 * i, 8); t->add_double_val(v); break; }
        case dtype::int8: t->add_int_val(static_cast<std::int8_t>(p[i])); break;
        case dtype::uint8: t->add_int_val(static_cast<std::uint8_t>(p[i])); break;
        case dtype::int16: { std::int16_t v; std::memcpy(&v, p + 2 * i, 2); t->add_int_val(v); break; }
        case dtype::uint16: { std::uint16_t v; std::memcpy(&v, p + 2 * i, 2); t->add_int_val(v); break; }
        case dtype::float16:
        case dtype::bfloat16: { std::uint16_t v; std::memcpy(&v, p + 2 * i, 2); t->add_half_val(v); break; }
        case dtype::int32: { std::int32_t v; std::memcpy(&v, p + 4 * i, 4); t->add_int_val(v); break; }
        case dtype::int64: { std::int64_t v; std::memcpy(&v, p + 8 * i, 8); t->add_int64_val(v); break; }
        case dtype::uint32: { std::uint32_t v; std::memcpy(&v, p + 4 * i, 4); t->add_uint32_val(v); break; }
        case dtype::uint64: { std::uint64_t v; std::memcpy(&v, p + 8 * i, 8); t->add_uint64_val(v); break; }
        case dtype::boolean: t->add_bool_val(p[i] != 0); break;
        case dtype::complex64: {
          float v[2];
          std::memcpy(v, p + 8 * i, 8);
          t->add_scomplex_val(v[0]);
          t->add_scomplex_val(v[1]);
          break;
        }
        default: ADD_FAILURE() << "no reference for " << tfckpt::dtype_name(type);
      }
    }
  }
  return tfckpt::graph::detail::deterministic_bytes(node);
}

struct case_t {
  dtype type;
  std::vector<std::int64_t> shape;
  std::string bytes;
};

TEST(ConstNode, MatchesProtobufForEveryDtypeAndShapeKind) {
  const std::vector<case_t> cases = {
      {dtype::float32, {2, 3}, raw<float>({1.5f, -2, 0, 3.25f, 1e30f, -0.0f})},
      {dtype::float32, {}, raw<float>({4.5f})},
      {dtype::float32, {1}, raw<float>({-7.f})},
      {dtype::float32, {0, 4}, ""},
      {dtype::float64, {3}, raw<double>({1.0, 2.5, -3.0})},
      {dtype::float64, {}, raw<double>({0.125})},
      {dtype::int8, {4}, raw<std::int8_t>({-1, 2, -128, 127})},
      {dtype::int8, {}, raw<std::int8_t>({-5})},
      {dtype::uint8, {1}, raw<std::uint8_t>({200})},
      {dtype::int16, {}, raw<std::int16_t>({-300})},
      {dtype::uint16, {3}, raw<std::uint16_t>({0, 65535, 300})},
      {dtype::int32, {}, raw<std::int32_t>({-2})},
      {dtype::int32, {2}, raw<std::int32_t>({-2, 7})},
      {dtype::int64, {}, raw<std::int64_t>({-9000000000LL})},
      {dtype::int64, {1, 1}, raw<std::int64_t>({42})},
      {dtype::uint32, {}, raw<std::uint32_t>({4000000000u})},
      {dtype::uint64, {}, raw<std::uint64_t>({18000000000000000000ull})},
      {dtype::float16, {}, raw<std::uint16_t>({0x3c00})},
      {dtype::bfloat16, {2}, raw<std::uint16_t>({0x3f80, 0xc000})},
      {dtype::bfloat16, {}, raw<std::uint16_t>({0xbf80})},
      {dtype::boolean, {5}, std::string("\x01\x00\x01\x07\x00", 5)},
      {dtype::boolean, {}, std::string("\x01", 1)},
      {dtype::complex64, {2}, raw<float>({1, 2, 3, 4})},
  };
  for (const case_t& c : cases) {
    SCOPED_TRACE(std::string(tfckpt::dtype_name(c.type)) + tfckpt::shape_string(c.shape));
    const std::string ours = encode({.name = "scope/w", .value = make_tensor("scope/w", c.type, c.shape, c.bytes)});
    EXPECT_EQ(ours, reference("scope/w", c.type, c.shape, c.bytes));
  }
}

TEST(ConstNode, StringTensorsBecomeStringVal) {
  const std::string stored = tfckpt_testing::encode_strings({"abc", "", "hello"});  // as a checkpoint stores it
  const std::string ours = encode({.name = "vocab", .value = make_tensor("vocab", dtype::string, {3}, stored)});
  EXPECT_EQ(ours, reference("vocab", dtype::string, {3}, stored, {"abc", "", "hello"}));
}

TEST(ConstNode, DeviceIsWrittenWhenSet) {
  tensorflow::NodeDef parsed;
  const std::string ours = encode({.name = "w", .device = "/device:CPU:0",
                                   .value = make_tensor("w", dtype::float32, {2}, raw<float>({1, 2}))});
  ASSERT_TRUE(parsed.ParseFromString(ours));
  EXPECT_EQ(parsed.device(), "/device:CPU:0");
  EXPECT_EQ(parsed.attr().at("value").tensor().tensor_content(), raw<float>({1, 2}));
}

TEST(ConstNode, TensorContentIsNotReadUntilStreamed) {
  int pulls = 0;
  tfckpt::tensor t;
  t.name = "big";
  t.dtype = dtype::float32;
  t.shape = {1024, 1024};
  t.source = tfckpt::byte_source::from_producer(4u << 20, [&](const tfckpt::byte_source::emit_fn& emit) {
    ++pulls;
    std::vector<std::byte> zeros(4u << 20);
    return emit(zeros);
  });
  ASSERT_OK_AND_ASSIGN(auto enc, tfckpt::graph::encode_const({.name = "big", .value = t}));
  EXPECT_EQ(pulls, 0);
  EXPECT_GT(enc.size(), 4u << 20);
  std::uint64_t seen = 0;
  ASSERT_OK(enc.stream([&](std::span<const std::byte> b) {
    seen += b.size();
    return absl::OkStatus();
  }));
  EXPECT_EQ(pulls, 1);
  EXPECT_EQ(seen, enc.size());
}

TEST(ConstNode, ErrorsNameTheNode) {
  EXPECT_THAT(tfckpt::graph::encode_const({.name = "w", .value = make_tensor("w", dtype::float32, {3}, raw<float>({1, 2}))}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("'w'")));
  EXPECT_THAT(tfckpt::graph::encode_const({.name = "h", .value = make_tensor("h", dtype::resource, {}, "")}).status(),
              StatusIs(absl::StatusCode::kUnimplemented, testing::HasSubstr("'h'")));
  EXPECT_THAT(tfckpt::graph::encode_const({.name = "s", .value = make_tensor("s", dtype::string, {2}, "\x05""ab")}).status(),
              StatusIs(absl::StatusCode::kDataLoss, testing::HasSubstr("'s'")));
  tfckpt::tensor failed;
  failed.status = absl::NotFoundError("upstream finding");
  EXPECT_THAT(tfckpt::graph::encode_const({.name = "x", .value = failed}).status(),
              StatusIs(absl::StatusCode::kNotFound, testing::HasSubstr("upstream finding")));
}

// TensorFlow's convert_variables_to_constants output for the TFLearn fixture: every Const made from
// a checkpoint value, encoded by us from the same checkpoint entry, is the same bytes.
TEST(ConstNode, ReproducesTensorFlowFrozenConstsByteForByte) {
  TFCKPT_REQUIRE_FIXTURES();
  const auto dir = tfckpt_testing::fixtures_dir() / "tflearn_and_bool_frozen";
  ASSERT_OK_AND_ASSIGN(const tfckpt::checkpoint ckpt, tfckpt::open(dir / "and.tflearn"));
  ASSERT_OK_AND_ASSIGN(const auto file, tfckpt::io::mapped_file::open((dir / "frozen_model.pb").string()));
  tfckpt::codec::proto_reader graph(file.path(), file.bytes(), 0, "GraphDef");
  int compared = 0;
  while (!graph.done()) {
    ASSERT_OK_AND_ASSIGN(const auto field, graph.next());
    if (field.number != 1) continue;
    const std::string theirs(reinterpret_cast<const char*>(field.bytes.data()), field.bytes.size());
    tensorflow::NodeDef node;
    ASSERT_TRUE(node.ParseFromString(theirs));
    if (node.op() != "Const") continue;
    const tfckpt::entry* e = ckpt.find(node.name());
    ASSERT_NE(e, nullptr) << node.name();
    SCOPED_TRACE(node.name());
    EXPECT_EQ(encode({.name = node.name(), .value = tfckpt::to_tensor(*e, ckpt.prefix())}), theirs);
    ++compared;
  }
  EXPECT_EQ(compared, 6);  // MANIFEST: six Consts, one of them (output/b) a typed float_val
}

}  // namespace

}  // namespace const_node_test
