// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/sources/safetensors.hpp
//
// The safetensors reader: open_safetensors() maps a `.safetensors` file (Hugging Face's format, as
// written by safetensors.torch.save_file, by JAX/Flax exporters and by sinks/safetensors.hpp, whose
// file comment spells out the bytes) and checks its header as safetensors' own reader does
// (Metadata::validate in safetensors/src/tensor.rs):
//   - the 8-byte little-endian header length N is at most 100,000,000 and 8 + N fits in the file;
//   - the header is UTF-8 JSON, an object whose keys are tensor names, each mapping to
//     {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} (other fields are ignored),
//     plus an optional "__metadata__" object of strings;
//   - dtypes are known: F64 F32 F16 BF16 I64 I32 I16 I8 U8 U16 U32 U64 BOOL, F8_E5M2, F8_E4M3
//     (TensorFlow's float8_e5m2 and float8_e4m3fn); other names are kUnimplemented;
//   - end - begin == product(shape) * element size, computed without overflow;
//   - sorted by offsets, the tensors tile the data area: the first begins at 0, each where the
//     previous ends (no hole, no overlap), the last ends at the file's end.
// Every error names the file, the byte offset (of the header field or the data) and the tensor.
//
// entries(file) is a lazy view of the tensors as pipeline tensors, in data order, each borrowing
// its bytes from the mapping (zero-copy; see sources/mapped_source.hpp). safetensors stores
// little-endian values: on a big-endian host they are swapped into host order as they stream,
// as a little-endian checkpoint's are.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(tfckpt::safetensors_file st, tfckpt::open_safetensors("model.safetensors"));
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(tfckpt::entries(st), "tf/model.ckpt"));
#ifndef TFCKPT_SOURCES_SAFETENSORS_HPP_
#define TFCKPT_SOURCES_SAFETENSORS_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/codec/safetensors_header.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/detail/sink_support.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/sources/mapped_source.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_order.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

/// One tensor of a safetensors file, as its header describes it.
struct safetensors_tensor {
  std::string name;
  tfckpt::dtype dtype = tfckpt::dtype::invalid;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // data offsets, relative to the first data byte
  std::uint64_t end = 0;
};

/// An open, validated safetensors file. Move-only; the mapping lives as long as the object.
class safetensors_file {
 public:
  const std::string& path() const { return file_->path(); }
  /// The tensors in data order.
  std::span<const safetensors_tensor> tensors() const ABSL_ATTRIBUTE_LIFETIME_BOUND { return tensors_; }
  /// The header's "__metadata__" map (empty when absent).
  const std::map<std::string, std::string>& metadata() const ABSL_ATTRIBUTE_LIFETIME_BOUND { return metadata_; }
  /// Offset of the first data byte in the file (8 + the header length).
  std::uint64_t data_offset() const { return data_offset_; }
  /// The mapped file itself.
  const io::mapped_file& mapping() const ABSL_ATTRIBUTE_LIFETIME_BOUND { return *file_; }
  /// A tensor's stored (little-endian) bytes, straight from the mapping.
  std::span<const std::byte> bytes(const safetensors_tensor& t) const ABSL_ATTRIBUTE_LIFETIME_BOUND {
    return file_->bytes().subspan(data_offset_ + t.begin, t.end - t.begin);
  }

 private:
  friend absl::StatusOr<safetensors_file> open_safetensors(const std::filesystem::path& path);
  std::unique_ptr<io::mapped_file> file_;  // its own allocation: tensors' sources point at it across moves
  std::vector<safetensors_tensor> tensors_;
  std::map<std::string, std::string> metadata_;
  std::uint64_t data_offset_ = 0;
};

/// Maps and validates `path` (see the file comment). Errors: the mapping's (kNotFound, ...),
/// kDataLoss for a malformed file, kUnimplemented for dtypes TensorFlow lacks.
absl::StatusOr<safetensors_file> open_safetensors(const std::filesystem::path& path);

/// A pipeline tensor for `t` of `file`: its bytes stream from the mapping when a sink asks.
TFCKPT_DECL tensor to_tensor(const safetensors_file& file, const safetensors_tensor& t);

/// The tensors of `file` in data order, as a lazy view; the file is borrowed and must outlive the
/// view: a temporary is refused.
inline auto entries(const safetensors_file& file ABSL_ATTRIBUTE_LIFETIME_BOUND) {
  const safetensors_file* f = &file;
  return file.tensors() | std::views::transform([f](const safetensors_tensor& t) { return to_tensor(*f, t); });
}
auto entries(const safetensors_file&&) = delete;

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.

namespace detail {

// A JSON value of the header as an unsigned 64-bit integer, or nullopt.
inline std::optional<std::uint64_t> json_u64(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return std::nullopt;
}

}  // namespace detail

TFCKPT_DECL absl::StatusOr<safetensors_file> open_safetensors(const std::filesystem::path& path);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_SOURCES_SAFETENSORS)

namespace tfckpt {

TFCKPT_DECL tensor to_tensor(const safetensors_file& file, const safetensors_tensor& t) {
  tensor out;
  out.name = t.name;
  out.dtype = t.dtype;
  out.shape = t.shape;
  out.source = mapped_source(file.mapping(), file.bytes(t), t.dtype, byte_order::little);
  out.origins.push_back({file.path(), 0, t.name});
  return out;
}

TFCKPT_DECL absl::StatusOr<safetensors_file> open_safetensors(const std::filesystem::path& path) {
  TFCKPT_ASSIGN_OR_RETURN(io::mapped_file mapped, io::mapped_file::open(path.string()));
  const std::string& file = mapped.path();
  const std::span<const std::byte> bytes = mapped.bytes();
  if (bytes.size() < 8) return data_loss(file, 0, "%d bytes cannot hold a safetensors header length", bytes.size());
  const std::uint64_t n = tfckpt::detail::load_le<std::uint64_t>(bytes.data());
  if (n > codec::kSafetensorsMaxHeader)
    return data_loss(file, 0, "the header length %d is over safetensors' limit of %d bytes", n, codec::kSafetensorsMaxHeader);
  if (n > bytes.size() - 8)
    return data_loss(file, 0, "the header length %d runs past the file's %d bytes", n, bytes.size());
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8, n);
  if (!detail::is_valid_utf8(text)) return data_loss(file, 8, "the header is not valid UTF-8");

  // Depth 1 is a tensor's record or the metadata, 2 a shape or the offsets: anything deeper is
  // refused before it is built.
  bool too_deep = false;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > 3) too_deep = true;
      return depth <= 3;
    });
  } catch (const nlohmann::json::parse_error& e) {
    return data_loss(file, 8 + std::min<std::uint64_t>(e.byte > 0 ? e.byte - 1 : 0, n),
                     "the header is not valid JSON (%s)", e.what());
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double (out_of_range 406) is not a parse error to nlohmann, but it
    // is one to us; the parser does not say where it was.
    return data_loss(file, 8, "the header is not valid JSON (%s)", e.what());
  }
  if (too_deep) return data_loss(file, 8, "the header nests deeper than a safetensors header does");
  if (!header.is_object()) return data_loss(file, 8, "the header is not a JSON object");

  safetensors_file out;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    auto bad = [&](std::string_view what) {
      return with_key(data_loss(file, 8, "bad header entry: %s", what), key);
    };
    if (key == codec::kSafetensorsMetadataKey) {
      if (!v.is_object()) return bad("\"__metadata__\" is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          return bad(absl::StrFormat("metadata value '%s' is not a string", printable_key(m.key())));
        out.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) return bad("not an object");
    const auto dt = v.find("dtype");
    const auto shape = v.find("shape");
    const auto offsets = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) return bad("no \"dtype\" string");
    if (shape == v.end() || !shape->is_array()) return bad("no \"shape\" array");
    if (offsets == v.end() || !offsets->is_array() || offsets->size() != 2) return bad("no \"data_offsets\" pair");
    safetensors_tensor t;
    t.name = key;
    const std::string dtype_name = dt->get<std::string>();
    const std::optional<dtype> known = codec::dtype_from_safetensors(dtype_name);
    if (!known)
      return with_key(absl::UnimplementedError(absl::StrFormat(
                          "%s @8: dtype \"%s\" has no TensorFlow dtype (known: F64 F32 F16 BF16 I64 I32 I16 I8 U8 "
                          "U16 U32 U64 BOOL F8_E5M2 F8_E4M3)", file, printable_key(dtype_name))),
                      key);
    t.dtype = *known;
    for (const nlohmann::json& d : *shape) {
      const std::optional<std::uint64_t> dim = detail::json_u64(d);
      if (!dim || *dim > static_cast<std::uint64_t>(INT64_MAX)) return bad("a dimension is not a non-negative integer");
      t.shape.push_back(static_cast<std::int64_t>(*dim));
    }
    const std::optional<std::uint64_t> begin = detail::json_u64((*offsets)[0]);
    const std::optional<std::uint64_t> end = detail::json_u64((*offsets)[1]);
    if (!begin || !end) return bad("\"data_offsets\" are not non-negative integers");
    if (*end < *begin) return bad(absl::StrFormat("\"data_offsets\" [%d, %d] end before they begin", *begin, *end));
    t.begin = *begin;
    t.end = *end;
    const std::optional<std::int64_t> elements = checked_num_elements(t.shape);
    const std::optional<std::int64_t> size =
        elements ? checked_mul(*elements, static_cast<std::int64_t>(element_size(t.dtype))) : std::nullopt;
    if (!size) return bad(absl::StrFormat("shape %s overflows", shape_string(t.shape)));
    if (static_cast<std::uint64_t>(*size) != t.end - t.begin)
      return bad(absl::StrFormat("%s %s takes %d bytes, but \"data_offsets\" [%d, %d] hold %d", dtype_name,
                                 shape_string(t.shape), *size, t.begin, t.end, t.end - t.begin));
    out.tensors_.push_back(std::move(t));
  }

  std::sort(out.tensors_.begin(), out.tensors_.end(), [](const safetensors_tensor& a, const safetensors_tensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  out.data_offset_ = 8 + n;
  const std::uint64_t data_size = bytes.size() - out.data_offset_;
  std::uint64_t expected = 0;
  for (const safetensors_tensor& t : out.tensors_) {
    if (t.begin != expected)
      return with_key(data_loss(file, out.data_offset_ + t.begin,
                                "the data begins at offset %d, but the previous tensor ends at %d (%s)", t.begin, expected,
                                t.begin > expected ? "a hole" : "an overlap"),
                      t.name);
    expected = t.end;
  }
  if (expected != data_size)
    return data_loss(file, out.data_offset_ + std::min(expected, data_size),
                     "the tensors' data ends at offset %d, but the file holds %d data bytes (%s)", expected, data_size,
                     expected > data_size ? "truncated" : "trailing bytes");
  out.file_ = std::make_unique<io::mapped_file>(std::move(mapped));
  return out;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_SOURCES_SAFETENSORS

#endif  // TFCKPT_SOURCES_SAFETENSORS_HPP_
