// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/sinks/npy.hpp
//
// NumPy sinks: write_npy_dir() writes one `.npy` file per tensor, write_npz() one `.npz` archive of
// `<name>.npy` members — what numpy.save and numpy.savez write, so `numpy.load` reads either. As
// every sink does, they walk the pipeline's metadata first and report every problem at once
// (writing nothing); then each tensor's bytes stream from its source, chunk by chunk, into a
// temporary file that is renamed into place when complete.
//
// The .npy bytes (numpy/lib/format.py, format versions 1.0 and 2.0):
//
//   "\x93NUMPY"          magic, 6 bytes
//   u8 major, u8 minor   1, 0 — or 2, 0 when the header length does not fit 16 bits
//   u16 (1.0) / u32 (2.0) little-endian header length H
//   H ASCII bytes        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", then spaces
//                        and one '\n' so that the data starts at a multiple of 64 (numpy's
//                        ARRAY_ALIGN; readers accept any padding, older writers used 16)
//   data                 the elements in C (row-major) order, little-endian
//
// The header is byte-for-byte numpy 1.24's: keys sorted, Python reprs of the shape ("()", "(5,)",
// "(2, 3)"), the spare spaces numpy leaves after the dict so a growing first axis can be rewritten
// in place (21 minus the digits of shape[0]), then 1..64 spaces of padding and '\n'.
//
// dtypes (TensorFlow → NumPy descr):
//   bool |b1   int8 |i1   uint8 |u1   int16 <i2   uint16 <u2   int32 <i4   uint32 <u4   int64 <i8
//   uint64 <u8   float16 <f2   float32 <f4   float64 <f8   complex64 <c8   complex128 <c16
//   bfloat16: NumPy has no such type. By default each element is widened to float32 ('<f4') while
//     streaming — exact, bfloat16 is the top half of a float32 — so the file has twice the bytes;
//     npy_bfloat16::raw_uint16 keeps the 16-bit patterns as '<u2' (view them with ml_dtypes'
//     bfloat16, or widen with `(a.astype(np.uint32) << 16).view(np.float32)`).
//   string: a .npy file can hold variable-length strings only as a pickled object array, which
//     numpy.load refuses without allow_pickle (pickles run code): rejected by default
//     (kUnimplemented). npy_strings::fixed_width_bytes writes '|S<w>', w = the longest element
//     (at least 1), each element padded with NUL bytes. NumPy strips trailing NULs when it hands an
//     element back, so elements that end in NUL bytes lose them.
//   Other dtypes (quantized, float8, int4, variant, resource) have no NumPy dtype: kUnimplemented.
//   Every problem is listed at once; filter such tensors out or cast them first.
//
// File names (write_npy_dir): a TensorFlow name is a '/'-separated scope path, and users split it
// that way (seed 001 assigns `key.split("/")[0]` as the scope). By default tensor `k` goes to
// `DIR/k.npy`, scopes becoming subdirectories (`layer1/weights` → `DIR/layer1/weights.npy`), so in
// Python `np.load(os.path.join(DIR, k + ".npy"))` finds it; names with empty, "." or ".."
// components, or a component longer than 255 bytes, are rejected. npy_file_names::flat writes every
// file straight into DIR with '/' replaced by `flat_separator` ("__": `layer1__weights.npy`);
// two names that map to one file are an error.
//
// The .npz archive is a ZIP file of STORED (uncompressed) members named `<name>.npy` ('/' stays:
// numpy.load(...)["layer1/weights"] works). Written by hand (codec/zip.hpp) rather than with
// libzip: libzip reads a member's bytes when the archive is closed, from a buffer or a seekable
// source, so a tensor produced once, in order (a concatenation, a widening) would have to be held
// whole. A stored member is easy to stream instead: a local header with flag bit 3 (sizes and
// CRC-32 follow the data, in a data descriptor), the bytes with their CRC-32 computed on the way
// (zlib's crc32, the plain ZIP polynomial 0xEDB88320, not CRC-32C), the descriptor, and at the end
// a central directory — ZIP64 records wherever a size or offset reaches 4 GiB. Timestamps are
// fixed at 1980-01-01 00:00 (the DOS epoch) so that the same input gives the same bytes.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto ckpt, tfckpt::open("train/model.ckpt-1000"));
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_npy_dir(tfckpt::entries(ckpt), "weights"));  // weights/<name>.npy
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_npz(
//       tfckpt::entries(ckpt) | tfckpt::views::filter(tfckpt::not_optimizer_slot()), "model.npz"));
#ifndef TFCKPT_SINKS_NPY_HPP_
#define TFCKPT_SINKS_NPY_HPP_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/npy_header.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/codec/zip.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/endian.hpp"
#include "tfckpt/detail/sink_support.hpp"
#include "tfckpt/io/atomic_file.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

/// How bfloat16 tensors are written (NumPy has no bfloat16).
enum class npy_bfloat16 {
  widen_to_float32,  // '<f4', exact; twice the bytes
  raw_uint16,        // '<u2', the stored bit patterns
};

/// How string tensors are written.
enum class npy_strings {
  reject,             // kUnimplemented (NumPy's variable-length strings need pickle)
  fixed_width_bytes,  // '|S<longest>', NUL-padded (NumPy strips trailing NULs on access)
};

/// Where write_npy_dir puts the file of tensor `a/b/c`.
enum class npy_file_names {
  subdirectories,  // DIR/a/b/c.npy
  flat,            // DIR/a__b__c.npy (separator: npy_options::flat_separator)
};

struct npy_options {
  npy_bfloat16 bfloat16 = npy_bfloat16::widen_to_float32;
  npy_strings strings = npy_strings::reject;
  /// write_npy_dir only.
  npy_file_names file_names = npy_file_names::subdirectories;
  std::string flat_separator = "__";
  /// Replace existing output files. When false, any output file that already exists is reported
  /// (kAlreadyExists, with every other problem) and nothing is written.
  bool overwrite = false;
  /// fsync files and directories (off only for throwaway output).
  bool sync = true;
  /// write_npz only: ZIP64 records for every member and the end of the archive even when nothing
  /// reaches 4 GiB (numpy.savez does the same for its members); for readers that want them, and
  /// for tests of the ZIP64 path.
  bool force_zip64 = false;
  /// Called after each tensor with (source bytes done, source bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
  /// Fault injection for tests: called before every write to an output file.
  io::write_hook write_hook{};
};

/// The bytes numpy writes before the data of an array with NumPy dtype `descr` ("<f4", "|S7") and
/// `shape`: magic, version, header length, the header dict and its padding (see the file comment).
/// Format 1.0 unless the header needs more than 65535 bytes, then 2.0.
std::string npy_header(std::string_view descr, shape_view shape);

/// The path, relative to the output directory, of tensor `name`'s file ("layer1/weights.npy",
/// or "layer1__weights.npy" for npy_file_names::flat); kInvalidArgument for a name that cannot be
/// one (empty, "." or ".." components, NUL bytes, a component over 255 bytes).
absl::StatusOr<std::string> npy_relative_path(std::string_view name, const npy_options& options = {});

/// Every reason the planned tensors cannot be written as .npy files (write_npy_dir) or as an .npz
/// archive (write_npz), beside check_pipeline()'s: dtypes NumPy lacks, names that make no file
/// or member name. Metadata only: reads no tensor byte and no file.
absl::Status check_npy_dir(std::span<const tensor> planned, const npy_options& options = {});
absl::Status check_npz(std::span<const tensor> planned, const npy_options& options = {});

/// Writes one tensor as a .npy file at `path` (atomically; `path`'s directory must exist).
absl::Status write_npy(const tensor& t, const std::filesystem::path& path, const npy_options& options = {});

/// Writes every planned tensor as `dir/<name>.npy` (see "File names"), creating directories as
/// needed. Each file appears whole or not at all; on an I/O error midway the files already
/// written stay. Errors: the problems of check_npy_dir plus existing files (kAlreadyExists) when
/// !overwrite, all at once, before anything is written; then I/O and source errors.
absl::Status write_npy_dir(std::span<const tensor> planned, const std::filesystem::path& dir,
                           const npy_options& options = {});
template <tensor_range R>
absl::Status write_npy_dir(R&& range, const std::filesystem::path& dir, const npy_options& options = {}) {
  const std::vector<tensor> planned = collect(std::forward<R>(range));
  return write_npy_dir(std::span<const tensor>(planned), dir, options);
}

/// Writes every planned tensor as member `<name>.npy` of the ZIP archive `path` (numpy.savez's
/// layout), atomically: on any error `path` is left as it was.
absl::Status write_npz(std::span<const tensor> planned, const std::filesystem::path& path,
                       const npy_options& options = {});
template <tensor_range R>
absl::Status write_npz(R&& range, const std::filesystem::path& path, const npy_options& options = {}) {
  const std::vector<tensor> planned = collect(std::forward<R>(range));
  return write_npz(std::span<const tensor>(planned), path, options);
}

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.

namespace detail {

inline constexpr std::size_t kNpyAlign = 64;          // numpy.lib.format.ARRAY_ALIGN
inline constexpr std::size_t kNpyGrowthDigits = 21;   // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS
inline constexpr std::size_t kNameMax = 255;          // NAME_MAX: bytes in one path component
using codec::kNpyMagic;

// NumPy's descr of a fixed-size dtype, or nullopt.
TFCKPT_DECL std::optional<std::string_view> npy_fixed_descr(dtype t, npy_bfloat16 bf16);

// What NumPy cannot hold, as a kUnimplemented status naming the tensor; OK otherwise.
TFCKPT_DECL absl::Status npy_dtype_problem(const tensor& t, const npy_options& options);

// True when check_pipeline() already reports this tensor (then the sink says nothing more of it).
inline bool reported_by_pipeline(const tensor& t) {
  return !t.status.ok() || t.name.empty() || !is_known_dtype(static_cast<std::int32_t>(t.dtype)) || !checked_num_elements(t.shape);
}

// The layout of a string tensor's stored form, read from its first bytes.
struct string_layout {
  std::vector<std::uint64_t> lengths;  // one per element
  std::uint64_t prefix = 0;            // bytes of varint lengths plus the 4-byte length checksum
  std::uint64_t longest = 0;
};

inline absl::Status bad_strings(const tensor& t, std::uint64_t at, std::string_view what) {
  const std::string where = t.origins.empty() ? std::string("pipeline") : t.origins[0].checkpoint.str();
  return with_key(absl::DataLossError(absl::StrFormat("%s: string tensor @%d of its bytes: %s", where, at, what)),
                  t.name);
}

// Streams the start of string tensor `t` (n elements) until its lengths and their checksum have
// passed, and stops the source there. O(n) memory for the lengths; no element byte is read.
TFCKPT_DECL absl::StatusOr<string_layout> scan_string_lengths(const tensor& t, std::uint64_t n);

// What a tensor becomes in a .npy file.
struct npy_prepared {
  enum class kind { raw, widen_bfloat16, fixed_strings };
  kind how = kind::raw;
  std::string header;        // everything before the data
  std::uint64_t payload = 0; // data bytes
  string_layout strings;     // fixed_strings only
  std::uint64_t width = 0;   // fixed_strings: bytes per element
  std::uint64_t size() const { return header.size() + payload; }
};

// REQUIRES: npy_dtype_problem(t, options) is OK and check_pipeline accepted t. For strings this
// streams the lengths (see scan_string_lengths); otherwise it reads nothing.
TFCKPT_DECL absl::StatusOr<npy_prepared> prepare_npy(const tensor& t, const npy_options& options);

// Streams the data of a prepared tensor through `emit`: raw bytes pass straight through (zero-copy
// from a mapped shard); widened and padded elements go out in 64 KiB chunks.
TFCKPT_DECL absl::Status stream_npy_payload(const tensor& t, const npy_prepared& p, const byte_source::emit_fn& emit);

// Writes the header and payload of `t` through `write`, checking the byte count.
TFCKPT_DECL absl::Status write_npy_bytes(const tensor& t, const npy_prepared& p, const byte_source::emit_fn& write);

// Writes `t` as a .npy file at `path` through a temporary (no checks of the pipeline).
TFCKPT_DECL absl::Status write_npy_file(const tensor& t, const std::string& path, const npy_options& options);

inline void npy_name_problems(const tensor& t, std::vector<absl::Status>& problems, std::string_view what) {
  if (t.name.find('\0') != std::string::npos)
    problems.push_back(absl::InvalidArgumentError(
        absl::StrFormat("'%s' cannot be %s: it contains a NUL byte", printable_key(t.name), what)));
}

// Problems shared by the directory and the archive sinks: dtypes, then sink-specific name checks.
TFCKPT_DECL std::vector<absl::Status> npy_problems(std::span<const tensor> planned, const npy_options& options, bool archive);

// The first line of write_npy_dir's error.
inline std::string what_dir(const std::filesystem::path& dir) {
  return absl::StrFormat("cannot write .npy files to %s", dir.string());
}

inline absl::Status append_string(io::temp_file& f, const std::string& s) { return f.append(std::string_view(s)); }

}  // namespace detail

TFCKPT_DECL std::string npy_header(std::string_view descr, shape_view shape);

TFCKPT_DECL absl::StatusOr<std::string> npy_relative_path(std::string_view name, const npy_options& options);

inline absl::Status check_npy_dir(std::span<const tensor> planned, const npy_options& options) {
  return check_pipeline(planned, "cannot write the tensors as .npy files",
                        detail::npy_problems(planned, options, /*archive=*/false));
}

inline absl::Status check_npz(std::span<const tensor> planned, const npy_options& options) {
  return check_pipeline(planned, "cannot write the tensors as an .npz archive",
                        detail::npy_problems(planned, options, /*archive=*/true));
}

TFCKPT_DECL absl::Status write_npy(const tensor& t, const std::filesystem::path& path, const npy_options& options);

TFCKPT_DECL absl::Status write_npy_dir(std::span<const tensor> planned, const std::filesystem::path& dir,
                                       const npy_options& options);

TFCKPT_DECL absl::Status write_npz(std::span<const tensor> planned, const std::filesystem::path& path,
                                   const npy_options& options);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_SINKS_NPY)

namespace tfckpt::detail {

TFCKPT_DECL std::optional<std::string_view> npy_fixed_descr(dtype t, npy_bfloat16 bf16) {
  switch (t) {
    case dtype::boolean: return "|b1";
    case dtype::int8: return "|i1";
    case dtype::uint8: return "|u1";
    case dtype::int16: return "<i2";
    case dtype::uint16: return "<u2";
    case dtype::int32: return "<i4";
    case dtype::uint32: return "<u4";
    case dtype::int64: return "<i8";
    case dtype::uint64: return "<u8";
    case dtype::float16: return "<f2";
    case dtype::float32: return "<f4";
    case dtype::float64: return "<f8";
    case dtype::complex64: return "<c8";
    case dtype::complex128: return "<c16";
    case dtype::bfloat16: return bf16 == npy_bfloat16::widen_to_float32 ? "<f4" : "<u2";
    default: return std::nullopt;
  }
}

TFCKPT_DECL absl::Status npy_dtype_problem(const tensor& t, const npy_options& options) {
  if (t.dtype == dtype::string) {
    if (options.strings == npy_strings::fixed_width_bytes) return absl::OkStatus();
    return absl::UnimplementedError(absl::StrFormat(
        "'%s' is a string tensor: NumPy holds variable-length strings only as pickled objects; write them "
        "as fixed-width bytes (npy_strings::fixed_width_bytes, tfckpt convert --strings bytes) or filter "
        "the tensor out",
        printable_key(t.name)));
  }
  if (npy_fixed_descr(t.dtype, options.bfloat16)) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrFormat(
      "'%s' is %s, which has no NumPy dtype; cast it or filter it out", printable_key(t.name), dtype_name(t.dtype)));
}

TFCKPT_DECL absl::StatusOr<string_layout> scan_string_lengths(const tensor& t, std::uint64_t n) {
  const std::uint64_t size = t.size();
  // Every length takes at least one byte: check before reserving anything sized by n.
  if (n > size || size - n < 4)
    return bad_strings(t, 0, absl::StrFormat("%d elements cannot fit in %d bytes", n, size));
  string_layout out;
  out.lengths.reserve(static_cast<std::size_t>(n));
  std::uint64_t value = 0;
  unsigned shift = 0;
  std::uint32_t length_crc = 0;
  std::uint64_t total = 0;
  std::byte stored[4];
  int have = 0;
  std::uint64_t pos = 0;
  absl::Status problem;
  bool done = false;
  const absl::Status stop = absl::CancelledError("tfckpt: string lengths scanned");
  absl::Status s = t.source.stream([&](std::span<const std::byte> chunk) -> absl::Status {
    if (done || !problem.ok()) return stop;  // a producer that ignored the first stop
    for (std::byte byte : chunk) {
      if (out.lengths.size() < n) {
        const auto b = static_cast<std::uint64_t>(byte);
        if (shift == 63 && b > 1) {
          problem = bad_strings(t, pos, absl::StrFormat("bad length of element %d", out.lengths.size()));
          return stop;
        }
        value |= (b & 0x7f) << shift;
        if ((b & 0x80) != 0) {
          shift += 7;
        } else {
          length_crc = codec::detail::extend_with_length(length_crc, value, host_byte_order);  // pipeline strings: host order
          if (value > size || total > size - value) {
            problem = bad_strings(t, pos, absl::StrFormat("element %d of %d bytes runs past the tensor's %d bytes",
                                                          out.lengths.size(), value, size));
            return stop;
          }
          total += value;
          out.longest = std::max(out.longest, value);
          out.lengths.push_back(value);
          value = 0;
          shift = 0;
        }
        ++pos;
        continue;
      }
      stored[have++] = byte;
      ++pos;
      if (have == 4) {
        done = true;
        return stop;
      }
    }
    return absl::OkStatus();
  });
  if (!problem.ok()) return problem;
  if (!done) {
    if (!s.ok()) return s;
    return bad_strings(t, pos, "the lengths run past the end of the tensor");
  }
  if (codec::crc32c_unmask(load_le<std::uint32_t>(stored)) != length_crc)
    return bad_strings(t, pos - 4, absl::StrFormat("length checksum mismatch: stored 0x%08x, computed 0x%08x",
                                                   codec::crc32c_unmask(load_le<std::uint32_t>(stored)), length_crc));
  out.prefix = pos;
  if (size - out.prefix != total)
    return bad_strings(t, pos, absl::StrFormat("the elements take %d bytes but %d follow the lengths", total,
                                               size - out.prefix));
  return out;
}

TFCKPT_DECL absl::StatusOr<npy_prepared> prepare_npy(const tensor& t, const npy_options& options) {
  npy_prepared p;
  if (t.dtype == dtype::string) {
    const std::uint64_t n = static_cast<std::uint64_t>(t.num_elements());
    TFCKPT_ASSIGN_OR_RETURN(p.strings, scan_string_lengths(t, n));
    p.how = npy_prepared::kind::fixed_strings;
    p.width = std::max<std::uint64_t>(1, p.strings.longest);
    if (p.width > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()) || !checked_mul(static_cast<std::int64_t>(n), static_cast<std::int64_t>(p.width)))
      return absl::UnimplementedError(absl::StrFormat(
          "'%s': %d strings padded to %d bytes each are too large for a NumPy array", printable_key(t.name), n, p.width));
    p.payload = n * p.width;
    p.header = npy_header(absl::StrFormat("|S%d", p.width), t.shape);
    return p;
  }
  const std::optional<std::string_view> descr = npy_fixed_descr(t.dtype, options.bfloat16);
  if (!descr) return npy_dtype_problem(t, options);
  p.header = npy_header(*descr, t.shape);
  p.payload = t.size();
  if (t.dtype == dtype::bfloat16 && options.bfloat16 == npy_bfloat16::widen_to_float32) {
    p.how = npy_prepared::kind::widen_bfloat16;
    p.payload = 2 * t.size();
  }
  return p;
}

TFCKPT_DECL absl::Status stream_npy_payload(const tensor& t, const npy_prepared& p, const byte_source::emit_fn& emit) {
  switch (p.how) {
    case npy_prepared::kind::raw:
      return t.source.stream(emit);
    case npy_prepared::kind::widen_bfloat16: {
      chunked_emitter out(emit);
      std::optional<std::byte> carry;  // the first byte of an element split across chunks
      auto widen = [&](std::byte lo, std::byte hi) -> absl::Status {
        TFCKPT_ASSIGN_OR_RETURN(std::span<std::byte> room, out.room(4));
        room[0] = room[1] = std::byte{0};  // float32 bits = bfloat16 bits << 16, little-endian
        room[2] = lo;
        room[3] = hi;
        out.commit(4);
        return absl::OkStatus();
      };
      TFCKPT_RETURN_IF_ERROR(t.source.stream([&](std::span<const std::byte> chunk) -> absl::Status {
        if (carry && !chunk.empty()) {
          TFCKPT_RETURN_IF_ERROR(widen(*carry, chunk[0]));
          carry.reset();
          chunk = chunk.subspan(1);
        }
        while (chunk.size() >= 2) {
          TFCKPT_ASSIGN_OR_RETURN(std::span<std::byte> room, out.room(4));
          const std::size_t k = std::min(chunk.size() / 2, room.size() / 4);
          for (std::size_t i = 0; i < k; ++i) {
            room[4 * i] = room[4 * i + 1] = std::byte{0};
            room[4 * i + 2] = chunk[2 * i];
            room[4 * i + 3] = chunk[2 * i + 1];
          }
          out.commit(4 * k);
          chunk = chunk.subspan(2 * k);
        }
        if (!chunk.empty()) carry = chunk[0];
        return absl::OkStatus();
      }));
      return out.flush();
    }
    case npy_prepared::kind::fixed_strings: {
      chunked_emitter out(emit);
      const std::vector<std::uint64_t>& len = p.strings.lengths;
      std::size_t i = 0;
      std::uint64_t left = len.empty() ? 0 : len[0];  // bytes of element i still to come
      // Pads every element that is complete (the current one once its bytes are in, and any empty
      // ones after it).
      auto settle = [&]() -> absl::Status {
        while (i < len.size() && left == 0) {
          TFCKPT_RETURN_IF_ERROR(out.append_zeros(p.width - len[i]));
          if (++i < len.size()) left = len[i];
        }
        return absl::OkStatus();
      };
      TFCKPT_RETURN_IF_ERROR(settle());
      std::uint64_t skip = p.strings.prefix;
      TFCKPT_RETURN_IF_ERROR(t.source.stream([&](std::span<const std::byte> chunk) -> absl::Status {
        if (skip > 0) {
          const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(skip, chunk.size()));
          skip -= k;
          chunk = chunk.subspan(k);
        }
        while (!chunk.empty()) {
          if (i >= len.size()) return bad_strings(t, t.size() - chunk.size(), "more element bytes than before");
          const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
          TFCKPT_RETURN_IF_ERROR(out.append(chunk.first(k)));
          left -= k;
          chunk = chunk.subspan(k);
          TFCKPT_RETURN_IF_ERROR(settle());
        }
        return absl::OkStatus();
      }));
      if (i != len.size()) return bad_strings(t, t.size(), "fewer element bytes than before");
      return out.flush();
    }
  }
  return absl::InternalError("unreachable");
}

TFCKPT_DECL absl::Status write_npy_bytes(const tensor& t, const npy_prepared& p, const byte_source::emit_fn& write) {
  TFCKPT_RETURN_IF_ERROR(write(std::span<const std::byte>(reinterpret_cast<const std::byte*>(p.header.data()),
                                                          p.header.size())));
  std::uint64_t seen = 0;
  TFCKPT_RETURN_IF_ERROR(stream_npy_payload(t, p, [&](std::span<const std::byte> chunk) {
    seen += chunk.size();
    return write(chunk);
  }));
  if (seen != p.payload)
    return absl::InternalError(absl::StrFormat("'%s': wrote %d data bytes, expected %d", printable_key(t.name), seen,
                                               p.payload));
  return absl::OkStatus();
}

TFCKPT_DECL absl::Status write_npy_file(const tensor& t, const std::string& path, const npy_options& options) {
  TFCKPT_ASSIGN_OR_RETURN(const npy_prepared p, prepare_npy(t, options));
  TFCKPT_ASSIGN_OR_RETURN(io::temp_file f, io::temp_file::create(path, options.write_hook));
  TFCKPT_RETURN_IF_ERROR(
      with_key(write_npy_bytes(t, p, [&](std::span<const std::byte> chunk) { return f.append(chunk); }), t.name));
  TFCKPT_RETURN_IF_ERROR(f.finish(options.sync));
  return f.commit();
}

TFCKPT_DECL std::vector<absl::Status> npy_problems(std::span<const tensor> planned, const npy_options& options, bool archive) {
  std::vector<absl::Status> problems;
  std::map<std::string, std::string> file_of;  // output path -> tensor name (flat-name collisions)
  std::set<std::string> dirs;                  // directories the subdirectory layout needs
  for (const tensor& t : planned) {
    if (reported_by_pipeline(t)) continue;
    if (absl::Status s = npy_dtype_problem(t, options); !s.ok()) problems.push_back(std::move(s));
    if (archive) {
      npy_name_problems(t, problems, "a ZIP member name");
      if (!is_valid_utf8(t.name))
        problems.push_back(absl::InvalidArgumentError(
            absl::StrFormat("'%s' cannot be a ZIP member name: it is not valid UTF-8", printable_key(t.name))));
      if (t.name.size() + 4 > 0xFFFF)
        problems.push_back(absl::InvalidArgumentError(absl::StrFormat(
            "'%s...' cannot be a ZIP member name: %d bytes is over 65531", printable_key(t.name.substr(0, 40)),
            t.name.size())));
      continue;
    }
    absl::StatusOr<std::string> rel = npy_relative_path(t.name, options);
    if (!rel.ok()) {
      problems.push_back(rel.status());
      continue;
    }
    if (auto [it, fresh] = file_of.emplace(*rel, t.name); !fresh)
      problems.push_back(absl::AlreadyExistsError(absl::StrFormat("'%s' and '%s' would both be written to %s",
                                                                  printable_key(it->second), printable_key(t.name),
                                                                  printable_key(*rel))));
    for (std::size_t cut = rel->find('/'); cut != std::string::npos; cut = rel->find('/', cut + 1))
      dirs.insert(rel->substr(0, cut));
  }
  // A file where another tensor needs a directory ("a.npy" from tensor "a", and tensor "a.npy/b").
  for (const auto& [file, name] : file_of)
    if (dirs.count(file) != 0)
      problems.push_back(absl::AlreadyExistsError(absl::StrFormat(
          "'%s' would be written to %s, which other tensors need as a directory", printable_key(name), printable_key(file))));
  return problems;
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL std::string npy_header(std::string_view descr, shape_view shape) {
  std::string dict = absl::StrFormat("{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (std::size_t i = 0; i < shape.size(); ++i) absl::StrAppendFormat(&dict, "%s%d", i ? ", " : "", shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(shape[0]).size();
    if (digits < detail::kNpyGrowthDigits) dict.append(detail::kNpyGrowthDigits - digits, ' ');
  }
  const std::size_t hlen = dict.size() + 1;  // with the final '\n'
  // Version 1.0: 8 bytes of magic and version, a 2-byte length; 2.0: a 4-byte length.
  bool v2 = false;
  std::size_t pad = detail::kNpyAlign - (10 + hlen) % detail::kNpyAlign;
  if (hlen + pad > 0xFFFF) {
    v2 = true;
    pad = detail::kNpyAlign - (12 + hlen) % detail::kNpyAlign;
  }
  std::string out(detail::kNpyMagic);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  for (int i = 0; i < (v2 ? 4 : 2); ++i) out.push_back(static_cast<char>(((hlen + pad) >> (8 * i)) & 0xFF));  // LE
  out += dict;
  out.append(pad, ' ');
  out.push_back('\n');
  return out;
}

TFCKPT_DECL absl::StatusOr<std::string> npy_relative_path(std::string_view name, const npy_options& options) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("'%s' cannot be a file name: %s", printable_key(name), why));
  };
  if (name.empty()) return bad("it is empty");
  if (name.find('\0') != std::string_view::npos) return bad("it contains a NUL byte");
  if (options.file_names == npy_file_names::flat) {
    if (options.flat_separator.find('/') != std::string::npos || options.flat_separator.find('\0') != std::string::npos)
      return bad(absl::StrFormat("the flat separator '%s' contains '/' or NUL", printable_key(options.flat_separator)));
    std::string file;
    for (char c : name) {
      if (c == '/') {
        file += options.flat_separator;
      } else {
        file.push_back(c);
      }
    }
    file += ".npy";
    if (file.size() > detail::kNameMax) return bad(absl::StrFormat("%d bytes with '.npy' (at most 255)", file.size()));
    return file;
  }
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = name.find('/', begin);
    const std::string_view part = name.substr(begin, end == std::string_view::npos ? end : end - begin);
    if (part.empty()) return bad("it has an empty path component (a leading, trailing or doubled '/')");
    if (part == "." || part == "..") return bad(absl::StrFormat("it has a '%s' path component", part));
    const std::size_t limit = end == std::string_view::npos ? detail::kNameMax - 4 : detail::kNameMax;
    if (part.size() > limit)
      return bad(absl::StrFormat("a path component of %d bytes (at most 255, with '.npy')", part.size()));
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  return std::string(name) + ".npy";
}

TFCKPT_DECL absl::Status write_npy(const tensor& t, const std::filesystem::path& path, const npy_options& options) {
  const std::span<const tensor> one(&t, 1);
  std::vector<absl::Status> problems;
  if (!detail::reported_by_pipeline(t))
    if (absl::Status s = detail::npy_dtype_problem(t, options); !s.ok()) problems.push_back(std::move(s));
  std::error_code ec;
  if (!options.overwrite && std::filesystem::exists(path, ec))
    problems.push_back(absl::AlreadyExistsError(absl::StrFormat("%s exists", path.string())));
  TFCKPT_RETURN_IF_ERROR(check_pipeline(one, absl::StrFormat("cannot write %s", path.string()), std::move(problems)));
  TFCKPT_RETURN_IF_ERROR(detail::write_npy_file(t, path.string(), options));
  return options.sync ? io::sync_directory(path.parent_path()) : absl::OkStatus();
}

TFCKPT_DECL absl::Status write_npy_dir(std::span<const tensor> planned, const std::filesystem::path& dir,
                                       const npy_options& options) {
  namespace fs = std::filesystem;
  std::vector<absl::Status> problems = detail::npy_problems(planned, options, /*archive=*/false);
  std::vector<std::string> paths(planned.size());  // empty for tensors already reported
  for (std::size_t i = 0; i < planned.size(); ++i) {
    if (detail::reported_by_pipeline(planned[i])) continue;
    absl::StatusOr<std::string> rel = npy_relative_path(planned[i].name, options);
    if (!rel.ok()) continue;  // npy_problems reported it
    paths[i] = (dir / *rel).string();
    std::error_code ec;
    if (!options.overwrite && fs::exists(paths[i], ec))
      problems.push_back(absl::AlreadyExistsError(
          absl::StrFormat("%s exists (tensor '%s')", paths[i], printable_key(planned[i].name))));
  }
  TFCKPT_RETURN_IF_ERROR(check_pipeline(planned, detail::what_dir(dir), std::move(problems)));

  std::uint64_t total = 0;
  for (const tensor& t : planned) total += t.size();
  std::uint64_t done = 0;
  std::error_code ec;
  // Directories whose entries change: each file's, every directory up to `dir`, and dir's parent
  // when dir itself is new. fsynced at the end, so that the new names survive a crash.
  std::set<std::string> touched = {dir.string()};
  if (!fs::exists(dir, ec)) touched.insert(dir.has_parent_path() ? dir.parent_path().string() : ".");
  std::set<std::string> made;
  for (std::size_t i = 0; i < planned.size(); ++i) {
    const fs::path parent = fs::path(paths[i]).parent_path();
    if (made.insert(parent.string()).second) {
      fs::create_directories(parent, ec);
      if (ec) return io::errno_status(parent.string(), "create directory", ec.value());
      for (fs::path p = parent; p != dir && p.has_relative_path(); p = p.parent_path()) touched.insert(p.string());
    }
    TFCKPT_RETURN_IF_ERROR(detail::write_npy_file(planned[i], paths[i], options));
    done += planned[i].size();
    if (options.progress) options.progress(done, total);
  }
  if (options.sync)
    for (const std::string& d : touched)
      if (fs::is_directory(d, ec)) TFCKPT_RETURN_IF_ERROR(io::sync_directory(d));
  return absl::OkStatus();
}

TFCKPT_DECL absl::Status write_npz(std::span<const tensor> planned, const std::filesystem::path& path,
                                   const npy_options& options) {
  std::vector<absl::Status> problems = detail::npy_problems(planned, options, /*archive=*/true);
  std::error_code ec;
  if (!options.overwrite && std::filesystem::exists(path, ec))
    problems.push_back(absl::AlreadyExistsError(absl::StrFormat("%s exists", path.string())));
  TFCKPT_RETURN_IF_ERROR(check_pipeline(planned, absl::StrFormat("cannot write %s", path.string()), std::move(problems)));
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) return io::errno_status(path.parent_path().string(), "create directory", ec.value());
  }

  std::uint64_t total = 0;
  for (const tensor& t : planned) total += t.size();
  std::uint64_t done = 0;
  TFCKPT_ASSIGN_OR_RETURN(io::temp_file f, io::temp_file::create(path.string(), options.write_hook));
  std::vector<codec::zip_entry> members;
  members.reserve(planned.size());
  for (const tensor& t : planned) {
    TFCKPT_ASSIGN_OR_RETURN(const detail::npy_prepared p, detail::prepare_npy(t, options));
    codec::zip_entry m;
    m.name = t.name + ".npy";
    m.size = p.size();
    m.offset = f.size();
    m.zip64 = options.force_zip64 || m.size >= codec::kZip32Max;
    TFCKPT_RETURN_IF_ERROR(detail::append_string(f, codec::zip_local_header(m)));
    std::uint32_t crc = 0;
    TFCKPT_RETURN_IF_ERROR(with_key(detail::write_npy_bytes(t, p, [&](std::span<const std::byte> chunk) {
                                      // 1 MiB at a time: the bytes are still in cache when written
                                      // (and temp_file writes pieces of this size without copying).
                                      while (!chunk.empty()) {
                                        const std::size_t n = std::min<std::size_t>(chunk.size(), 1 << 20);
                                        crc = codec::zip_crc32(crc, chunk.first(n));
                                        TFCKPT_RETURN_IF_ERROR(f.append(chunk.first(n)));
                                        chunk = chunk.subspan(n);
                                      }
                                      return absl::OkStatus();
                                    }),
                                    t.name));
    m.crc = crc;
    TFCKPT_RETURN_IF_ERROR(detail::append_string(f, codec::zip_data_descriptor(m)));
    members.push_back(std::move(m));
    done += t.size();
    if (options.progress) options.progress(done, total);
  }
  const std::uint64_t cd_offset = f.size();
  for (const codec::zip_entry& m : members)
    TFCKPT_RETURN_IF_ERROR(detail::append_string(f, codec::zip_central_header(m, options.force_zip64)));
  const std::uint64_t cd_size = f.size() - cd_offset;
  TFCKPT_RETURN_IF_ERROR(
      detail::append_string(f, codec::zip_end_records(members.size(), cd_offset, cd_size, options.force_zip64)));
  TFCKPT_RETURN_IF_ERROR(f.finish(options.sync));
  TFCKPT_RETURN_IF_ERROR(f.commit());
  return options.sync ? io::sync_directory(path.parent_path()) : absl::OkStatus();
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_SINKS_NPY

#endif  // TFCKPT_SINKS_NPY_HPP_
