// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/sinks/safetensors.hpp
//
// The safetensors sink: writes a pipeline's tensors as one `.safetensors` file (Hugging Face's
// format, read by `safetensors.safe_open`, `safetensors.numpy.load_file`, candle, ...). As every
// sink does, it walks the metadata first and reports every problem at once, writing nothing; then
// the header goes out and each tensor's bytes stream from its source into a temporary file that is
// renamed into place when complete.
//
// The bytes (huggingface/safetensors README and safetensors/src/tensor.rs):
//
//   u64 little-endian  N, the header length
//   N bytes            UTF-8 JSON object: {"__metadata__": {"k": "v", ...},          (only if any)
//                        "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//                      padded with spaces so that 8 + N is a multiple of 8 (the data start is then
//                      8-aligned, as the reference writer aligns it); N <= 100,000,000 (readers
//                      refuse larger headers)
//   data               the tensors' bytes, C order, little-endian, back to back: offsets are
//                      relative to the first data byte, the first tensor starts at 0, each begins
//                      where the previous ends (no gap, no overlap) and the last ends at the file's
//                      end — the checks safetensors' Metadata::validate() makes on reading.
//
// The JSON is written here (names in the order of the data, escaped as JSON requires) rather than
// with a JSON library, which would sort the keys; tests parse it with nlohmann-json.
//
// dtypes: bool BOOL, uint8 U8, int8 I8, int16 I16, uint16 U16, float16 F16, bfloat16 BF16, int32 I32,
// uint32 U32, float32 F32, float64 F64, int64 I64, uint64 U64, float8_e5m2 F8_E5M2, float8_e4m3fn
// F8_E4M3. Strings, complex numbers and the rest have no safetensors dtype: kUnimplemented, every
// such tensor listed at once. Tensor names, metadata keys and values must be valid UTF-8, and no
// tensor may be called "__metadata__".
//
// Order: the tensors' data follows the pipeline's order. safetensors_options::sort_by_alignment
// orders them as the reference writer does instead (larger elements first, then by name), which
// puts every tensor at an offset that is a multiple of its element size.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto ckpt, tfckpt::open("train/model.ckpt-1000"));
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_safetensors(
//       tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot()), "model.safetensors",
//       {.metadata = {{"format", "np"}}}));
#ifndef TFCKPT_SINKS_SAFETENSORS_HPP_
#define TFCKPT_SINKS_SAFETENSORS_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/codec/safetensors_header.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/sink_support.hpp"
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

struct safetensors_options {
  /// The header's "__metadata__" map (written when not empty).
  std::map<std::string, std::string> metadata{};
  /// Order the data as safetensors' own writer does (see the file comment) instead of in pipeline order.
  bool sort_by_alignment = false;
  /// Replace an existing file. When false, an existing file is reported (kAlreadyExists) with every
  /// other problem, and nothing is written.
  bool overwrite = false;
  /// fsync the file and its directory (off only for throwaway output).
  bool sync = true;
  /// Called after each tensor with (bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
  /// Fault injection for tests: called before every write to the output file.
  io::write_hook write_hook{};
};

using codec::kSafetensorsMaxHeader;  // readers refuse headers larger than this
using codec::safetensors_dtype;      // "F32", "BF16", ... or nullopt

/// Every reason the planned tensors cannot be written as safetensors, beside check_pipeline()'s:
/// dtypes safetensors lacks, names and metadata that are not UTF-8, a tensor named "__metadata__",
/// a header over kSafetensorsMaxHeader. Metadata only: reads no tensor byte and no file.
absl::Status check_safetensors(std::span<const tensor> planned, const safetensors_options& options = {});

/// The bytes before the data: the 8-byte length and the padded JSON header.
/// REQUIRES: check_safetensors(planned, options) is OK.
std::string safetensors_header(std::span<const tensor> planned, const safetensors_options& options = {});

/// Writes the planned tensors as the safetensors file `path`, atomically: on any error `path` is
/// left as it was. Errors: check_safetensors's problems and an existing file (unless overwrite),
/// all at once, before anything is written; then I/O and source errors.
absl::Status write_safetensors(std::span<const tensor> planned, const std::filesystem::path& path,
                               const safetensors_options& options = {});
template <tensor_range R>
absl::Status write_safetensors(R&& range, const std::filesystem::path& path, const safetensors_options& options = {}) {
  const std::vector<tensor> planned = collect(std::forward<R>(range));
  return write_safetensors(std::span<const tensor>(planned), path, options);
}

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.

namespace detail {

using codec::kSafetensorsMetadataKey;

// `s` as a JSON string literal. REQUIRES: s is valid UTF-8 (passed through unescaped).
TFCKPT_DECL void append_json_string(std::string& out, std::string_view s);

// safetensors' Dtype enum order (increasing alignment); its writer sorts by it, descending.
TFCKPT_DECL int safetensors_rank(dtype t);

// The order in which the tensors' data is written.
TFCKPT_DECL std::vector<std::size_t> safetensors_order(std::span<const tensor> planned, const safetensors_options& options);

// The JSON text, unpadded.
TFCKPT_DECL std::string safetensors_json(std::span<const tensor> planned, const safetensors_options& options);

}  // namespace detail

namespace detail {
// The safetensors sink's own findings (check_pipeline's are not repeated).
TFCKPT_DECL std::vector<absl::Status> safetensors_problems(std::span<const tensor> planned, const safetensors_options& options);
}  // namespace detail

inline absl::Status check_safetensors(std::span<const tensor> planned, const safetensors_options& options) {
  return check_pipeline(planned, "cannot write the tensors as safetensors", detail::safetensors_problems(planned, options));
}

TFCKPT_DECL std::string safetensors_header(std::span<const tensor> planned, const safetensors_options& options);

TFCKPT_DECL absl::Status write_safetensors(std::span<const tensor> planned, const std::filesystem::path& path,
                                           const safetensors_options& options);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_SINKS_SAFETENSORS)

namespace tfckpt::detail {

TFCKPT_DECL void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

TFCKPT_DECL int safetensors_rank(dtype t) {
  static constexpr std::string_view kOrder[] = {"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                                                "BF16", "I32", "U32", "F32",     "F64",     "I64", "U64"};
  const std::optional<std::string_view> name = safetensors_dtype(t);
  for (std::size_t i = 0; i < std::size(kOrder); ++i)
    if (name && *name == kOrder[i]) return static_cast<int>(i);
  return -1;
}

TFCKPT_DECL std::vector<std::size_t> safetensors_order(std::span<const tensor> planned, const safetensors_options& options) {
  std::vector<std::size_t> order(planned.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (options.sort_by_alignment)
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const int ra = safetensors_rank(planned[a].dtype);
      const int rb = safetensors_rank(planned[b].dtype);
      return ra != rb ? ra > rb : planned[a].name < planned[b].name;
    });
  return order;
}

TFCKPT_DECL std::string safetensors_json(std::span<const tensor> planned, const safetensors_options& options) {
  std::string json = "{";
  bool first = true;
  if (!options.metadata.empty()) {
    append_json_string(json, kSafetensorsMetadataKey);
    json += ":{";
    for (const auto& [k, v] : options.metadata) {
      if (!first) json.push_back(',');
      first = false;
      append_json_string(json, k);
      json.push_back(':');
      append_json_string(json, v);
    }
    json.push_back('}');
    first = false;
  }
  std::uint64_t offset = 0;
  for (std::size_t i : safetensors_order(planned, options)) {
    const tensor& t = planned[i];
    if (!first) json.push_back(',');
    first = false;
    append_json_string(json, t.name);
    absl::StrAppendFormat(&json, ":{\"dtype\":\"%s\",\"shape\":[", safetensors_dtype(t.dtype).value_or("?"));
    for (std::size_t d = 0; d < t.shape.size(); ++d) absl::StrAppendFormat(&json, "%s%d", d ? "," : "", t.shape[d]);
    absl::StrAppendFormat(&json, "],\"data_offsets\":[%d,%d]}", offset, offset + t.size());
    offset += t.size();
  }
  json.push_back('}');
  return json;
}

TFCKPT_DECL std::vector<absl::Status> safetensors_problems(std::span<const tensor> planned, const safetensors_options& options) {
  std::vector<absl::Status> problems;
  for (const tensor& t : planned) {
    if (!t.status.ok() || !is_known_dtype(static_cast<std::int32_t>(t.dtype))) continue;  // check_pipeline's
    if (!safetensors_dtype(t.dtype))
      problems.push_back(absl::UnimplementedError(absl::StrFormat(
          "'%s' is %s, which safetensors cannot hold; cast it or filter it out", printable_key(t.name),
          dtype_name(t.dtype))));
    if (!is_valid_utf8(t.name))
      problems.push_back(absl::InvalidArgumentError(
          absl::StrFormat("'%s' is not valid UTF-8, which a safetensors header needs", printable_key(t.name))));
    if (t.name == detail::kSafetensorsMetadataKey)
      problems.push_back(absl::InvalidArgumentError(
          "a tensor is named '__metadata__', the key safetensors reserves for its metadata; rename it"));
  }
  for (const auto& [k, v] : options.metadata)
    if (!is_valid_utf8(k) || !is_valid_utf8(v))
      problems.push_back(absl::InvalidArgumentError(
          absl::StrFormat("metadata '%s' is not valid UTF-8", printable_key(k))));
  if (problems.empty() && pipeline_problems(planned).empty()) {
    const std::uint64_t n = safetensors_json(planned, options).size();
    if (n > kSafetensorsMaxHeader)
      problems.push_back(absl::InvalidArgumentError(absl::StrFormat(
          "the header would take %d bytes; safetensors readers refuse headers over %d bytes", n,
          kSafetensorsMaxHeader)));
  }
  return problems;
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL std::string safetensors_header(std::span<const tensor> planned, const safetensors_options& options) {
  std::string json = detail::safetensors_json(planned, options);
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out;
  const std::uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  return out + json;
}

TFCKPT_DECL absl::Status write_safetensors(std::span<const tensor> planned, const std::filesystem::path& path,
                                           const safetensors_options& options) {
  std::error_code ec;
  if (!options.overwrite && std::filesystem::exists(path, ec)) {
    std::vector<absl::Status> problems = detail::safetensors_problems(planned, options);
    problems.push_back(absl::AlreadyExistsError(absl::StrFormat("%s exists", path.string())));
    TFCKPT_RETURN_IF_ERROR(check_pipeline(planned, absl::StrFormat("cannot write %s", path.string()), std::move(problems)));
  }
  TFCKPT_RETURN_IF_ERROR(check_safetensors(planned, options));
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) return io::errno_status(path.parent_path().string(), "create directory", ec.value());
  }
  std::uint64_t total = 0;
  for (const tensor& t : planned) total += t.size();
  TFCKPT_ASSIGN_OR_RETURN(io::temp_file f, io::temp_file::create(path.string(), options.write_hook));
  TFCKPT_RETURN_IF_ERROR(f.append(std::string_view(safetensors_header(planned, options))));
  std::uint64_t done = 0;
  for (std::size_t i : detail::safetensors_order(planned, options)) {
    const tensor& t = planned[i];
    TFCKPT_RETURN_IF_ERROR(with_key(t.source.stream([&](std::span<const std::byte> chunk) { return f.append(chunk); }),
                                    t.name));
    done += t.size();
    if (options.progress) options.progress(done, total);
  }
  TFCKPT_RETURN_IF_ERROR(f.finish(options.sync));
  TFCKPT_RETURN_IF_ERROR(f.commit());
  return options.sync ? io::sync_directory(path.parent_path()) : absl::OkStatus();
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_SINKS_SAFETENSORS

#endif  // TFCKPT_SINKS_SAFETENSORS_HPP_
