// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/npy_header.hpp
//
// Reading the header of a `.npy` file (numpy/lib/format.py; sinks/npy.hpp writes it):
//
//   "\x93NUMPY"          magic, 6 bytes
//   u8 major, u8 minor   1.0, 2.0 or 3.0 (3.0: the header is UTF-8 instead of Latin-1)
//   u16 (1.0) / u32 (2.0, 3.0) little-endian header length H
//   H bytes              a Python dict literal with exactly the keys 'descr' (a string: "<f4",
//                        "|b1", "|S7"; a list means a structured dtype), 'fortran_order' (True or
//                        False) and 'shape' (a tuple of non-negative integers: "()", "(5,)",
//                        "(2, 3)"), in any order, then padding (spaces, a final '\n')
//   data                 from 10 + H (1.0) or 12 + H (2.0, 3.0)
//
// Headers longer than kNpyMaxHeader are refused: numpy.load itself refuses headers over 10,000
// bytes unless told otherwise, and an .npz member's header is inflated into memory.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(codec::npy_header_fields h, codec::parse_npy_header("w.npy", bytes));
//   std::span<const std::byte> data = bytes.subspan(h.data_offset);
#ifndef TFCKPT_CODEC_NPY_HEADER_HPP_
#define TFCKPT_CODEC_NPY_HEADER_HPP_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/status.hpp"

namespace tfckpt::codec {

/// The first six bytes of every .npy file.
inline constexpr std::string_view kNpyMagic = "\x93NUMPY";
/// The longest header accepted (dict and padding).
inline constexpr std::uint64_t kNpyMaxHeader = 1 << 20;
/// Bytes needed to know a header's length: magic, version, the 2- or 4-byte length.
inline constexpr std::size_t kNpyPreamble = 12;

/// What a .npy header says.
struct npy_header_fields {
  int major = 1;
  std::string descr;  // NumPy's dtype string, e.g. "<f4"
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::uint64_t data_offset = 0;  // where the data starts, from the file's first byte
};

/// The data offset announced by the first bytes of a .npy file (at least 10, or 12 for format
/// 2.0/3.0), without parsing the dict. Errors name `file` and the offset `base + k`.
absl::StatusOr<std::uint64_t> npy_data_offset(std::string_view file, std::span<const std::byte> bytes,
                                              std::uint64_t base = 0);

/// Parses the header at the start of `bytes` (which must hold at least the header; the data may
/// follow). `base` is the offset of bytes[0] in `file`, for messages.
absl::StatusOr<npy_header_fields> parse_npy_header(std::string_view file, std::span<const std::byte> bytes,
                                                   std::uint64_t base = 0);

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.

namespace detail {

// A cursor over the dict literal.
class py_literal_reader {
 public:
  py_literal_reader(std::string_view file, std::string_view text, std::uint64_t base)
      : file_(file), text_(text), base_(base) {}

  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
      ++at_;
  }
  bool eat(char c) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  char peek() {
    skip_space();
    return at_ < text_.size() ? text_[at_] : '\0';
  }
  absl::Status error(std::string_view what) const {
    return data_loss(file_, base_ + at_, "bad .npy header: %s", what);
  }
  absl::StatusOr<std::string> string() {
    skip_space();
    if (at_ >= text_.size() || (text_[at_] != '\'' && text_[at_] != '"')) return error("expected a quoted string");
    const char quote = text_[at_++];
    std::string out;
    while (at_ < text_.size() && text_[at_] != quote) {
      if (text_[at_] == '\\') return error("escapes are not supported in header strings");
      out.push_back(text_[at_++]);
    }
    if (at_ >= text_.size()) return error("unterminated string");
    ++at_;
    return out;
  }
  absl::StatusOr<bool> boolean() {
    skip_space();
    if (text_.substr(at_, 4) == "True") {
      at_ += 4;
      return true;
    }
    if (text_.substr(at_, 5) == "False") {
      at_ += 5;
      return false;
    }
    return error("expected True or False");
  }
  absl::StatusOr<std::vector<std::int64_t>> tuple() {
    if (!eat('(')) return error("expected a tuple for 'shape'");
    std::vector<std::int64_t> dims;
    while (!eat(')')) {
      skip_space();
      const std::size_t start = at_;
      std::int64_t v = 0;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text_[at_] - '0', &v)) {
          at_ = start;
          return error("a dimension overflows int64");
        }
        ++at_;
      }
      if (at_ == start) return error("expected a non-negative integer dimension");
      if (at_ < text_.size() && text_[at_] == 'L') ++at_;  // Python 2 long literals
      if (dims.size() >= 64) return error("more than 64 dimensions");
      dims.push_back(v);
      if (!eat(',')) {
        if (!eat(')')) return error("expected ',' or ')' in 'shape'");
        break;
      }
    }
    return dims;
  }
  bool at_end() {
    skip_space();
    return at_ == text_.size();
  }

 private:
  std::string_view file_;
  std::string_view text_;
  std::uint64_t base_;
  std::size_t at_ = 0;
};

}  // namespace detail

TFCKPT_DECL absl::StatusOr<std::uint64_t> npy_data_offset(std::string_view file, std::span<const std::byte> bytes,
                                                          std::uint64_t base);

TFCKPT_DECL absl::StatusOr<npy_header_fields> parse_npy_header(std::string_view file, std::span<const std::byte> bytes,
                                                               std::uint64_t base);

}  // namespace tfckpt::codec

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CODEC_NPY_HEADER)

namespace tfckpt::codec {

TFCKPT_DECL absl::StatusOr<std::uint64_t> npy_data_offset(std::string_view file, std::span<const std::byte> bytes,
                                                          std::uint64_t base) {
  if (bytes.size() < 10) return data_loss(file, base + bytes.size(), "%d bytes cannot hold a .npy header", bytes.size());
  if (std::string_view(reinterpret_cast<const char*>(bytes.data()), kNpyMagic.size()) != kNpyMagic)
    return data_loss(file, base, "not a .npy file (no \\x93NUMPY magic)");
  const auto major = static_cast<std::uint8_t>(bytes[6]);
  const auto minor = static_cast<std::uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    return absl::UnimplementedError(
        absl::StrFormat("%s @%d: .npy format version %d.%d (1.0, 2.0 and 3.0 are known)", file, base + 6, major, minor));
  if (major == 1) return 10 + std::uint64_t{tfckpt::detail::load_le<std::uint16_t>(bytes.data() + 8)};
  if (bytes.size() < kNpyPreamble)
    return data_loss(file, base + bytes.size(), "%d bytes cannot hold a .npy %d.0 header", bytes.size(), major);
  const std::uint32_t h = tfckpt::detail::load_le<std::uint32_t>(bytes.data() + 8);
  if (h > kNpyMaxHeader)
    return data_loss(file, base + 8, "the .npy header claims %d bytes; at most %d are accepted", h, kNpyMaxHeader);
  return kNpyPreamble + std::uint64_t{h};
}

TFCKPT_DECL absl::StatusOr<npy_header_fields> parse_npy_header(std::string_view file, std::span<const std::byte> bytes,
                                                               std::uint64_t base) {
  TFCKPT_ASSIGN_OR_RETURN(const std::uint64_t data_offset, npy_data_offset(file, bytes, base));
  const std::uint64_t start = static_cast<std::uint8_t>(bytes[6]) == 1 ? 10 : kNpyPreamble;
  if (data_offset > bytes.size())
    return data_loss(file, base + start, "the .npy header claims %d bytes, past the %d available", data_offset - start,
                     bytes.size() - start);
  npy_header_fields out;
  out.major = static_cast<std::uint8_t>(bytes[6]);
  out.data_offset = data_offset;
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + start, data_offset - start);
  detail::py_literal_reader r(file, text, base + start);
  if (!r.eat('{')) return r.error("expected '{'");
  bool have_descr = false, have_order = false, have_shape = false;
  while (!r.eat('}')) {
    TFCKPT_ASSIGN_OR_RETURN(const std::string key, r.string());
    if (!r.eat(':')) return r.error("expected ':'");
    if (key == "descr") {
      if (r.peek() == '[') return r.error("structured dtypes (a list 'descr') are not supported");
      TFCKPT_ASSIGN_OR_RETURN(out.descr, r.string());
      have_descr = true;
    } else if (key == "fortran_order") {
      TFCKPT_ASSIGN_OR_RETURN(out.fortran_order, r.boolean());
      have_order = true;
    } else if (key == "shape") {
      TFCKPT_ASSIGN_OR_RETURN(out.shape, r.tuple());
      have_shape = true;
    } else {
      return r.error(absl::StrFormat("unexpected key '%s'", printable_key(key)));
    }
    if (!r.eat(',')) {
      if (!r.eat('}')) return r.error("expected ',' or '}'");
      break;
    }
  }
  if (!r.at_end()) return r.error("bytes other than padding after the dict");
  if (!have_descr || !have_order || !have_shape)
    return data_loss(file, base + start, "bad .npy header: it lacks 'descr', 'fortran_order' or 'shape'");
  return out;
}

}  // namespace tfckpt::codec
#endif  // TFCKPT_COMPILE_CODEC_NPY_HEADER

#endif  // TFCKPT_CODEC_NPY_HEADER_HPP_
