// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/sources/npy.hpp
//
// NumPy readers: open_npy() reads one `.npy` file, open_npz() the members of an `.npz` archive
// (numpy.savez, numpy.savez_compressed, sinks/npy.hpp's write_npz) and open_npy_dir() every
// `*.npy` file under a directory (sinks/npy.hpp's write_npy_dir). Each gives an `npy_arrays`, whose
// entries() are pipeline tensors ready for a sink (e.g. write_bundle).
//
// Names: an .npz member "a/b.npy" is tensor "a/b" (numpy.load's key); a file DIR/a/b.npy is tensor
// "a/b", the subdirectories becoming scopes as write_npy_dir makes them. A file written with
// write_npy_dir's flat layout (DIR/a__b.npy) is just tensor "a__b": the separator is not undone,
// since "__" is as likely to be part of a real name (rename it afterwards if it is a scope).
//
// The header (codec/npy_header.hpp) gives descr, fortran_order and shape. dtypes (NumPy descr →
// TensorFlow): b1 bool, i1 int8, u1 uint8, i2 int16, u2 uint16, i4 int32, u4 uint32, i8 int64,
// u8 uint64, f2 float16, f4 float32, f8 float64, c8 complex64, c16 complex128, with '<' (little-endian),
// '>' (big-endian: swapped into host order as the bytes stream), '|' or '=' (this host's order).
// S<n> (fixed-width bytes) becomes a string tensor, each element with its trailing NUL bytes
// stripped, as NumPy hands elements back and as write_npy_dir's fixed-width strings are written;
// those are encoded at open, so they are read into memory (string arrays are small). bfloat16 has
// no NumPy dtype: write_npy_dir's default widens it to float32, which imports as float32.
// An array stored in Fortran order (fortran_order True: numpy.save of a transposed array) reads as
// the same array in C order, through views::permute (in tiles, never whole).
// Refused (kUnimplemented, naming the file): object arrays ('O', pickles), unicode ('U'),
// structured and other dtypes, and a Fortran-order array of numbers in a compressed archive (its
// member can only be inflated from the start, not transposed in bounded memory). The data must be
// exactly product(shape) elements: truncated files and trailing bytes are kDataLoss.
//
// Zero-copy: a .npy file, and an .npz member that is stored (numpy.savez, write_npz), stream their
// bytes straight from the mapping (sources/mapped_source.hpp); a stored member's CRC-32 is computed
// over the bytes as they stream, and a mismatch fails the stream at its end (ranges read at random,
// as a transpose reads them, are not checked). A deflated member (numpy.savez_compressed) is
// inflated with zlib each time its bytes are streamed, 1 MiB at a time, never held whole; its
// CRC-32 and size are checked at the end of every pass. Such a source can only be streamed from the
// start (byte_source::random_access() is false). The ZIP central directory is read by hand
// (codec/zip.hpp) rather than through libzip, which copies every member's bytes out instead of
// handing out a view of the mapping.
//
// Errors read "<file> @<offset>: ... for key '<tensor>'"; inside an archive the file is
// "<archive>[<member>]" and offsets are the archive's (of the inflated member when deflated).
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(tfckpt::npy_arrays npz, tfckpt::open_npz("weights.npz"));
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(tfckpt::entries(npz), "tf/model.ckpt"));
#ifndef TFCKPT_SOURCES_NPY_HPP_
#define TFCKPT_SOURCES_NPY_HPP_

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/codec/npy_header.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/codec/zip.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/sources/mapped_source.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_order.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/views/permute.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

/// What a NumPy descr means here: the dtype, the byte order of the stored elements and, for S<n>,
/// the element width.
struct npy_dtype {
  tfckpt::dtype dtype = tfckpt::dtype::invalid;
  byte_order order = host_byte_order;
  std::uint64_t string_width = 0;  // dtype::string only
};

/// Maps a NumPy descr ("<f4", ">i8", "|b1", "|S7") to a TensorFlow dtype; kUnimplemented (naming
/// `file` and `offset`, where the header is) for what TensorFlow cannot hold or this reader does
/// not convert.
absl::StatusOr<npy_dtype> npy_dtype_from_descr(std::string_view file, std::uint64_t offset, std::string_view descr);

/// Arrays read from NumPy files: the mappings they borrow from, and the tensors. Move-only.
class npy_arrays {
 public:
  npy_arrays() = default;
  npy_arrays(npy_arrays&&) = default;
  npy_arrays& operator=(npy_arrays&&) = default;

  std::span<const tensor> tensors() const ABSL_ATTRIBUTE_LIFETIME_BOUND { return tensors_; }

 private:
  friend absl::StatusOr<npy_arrays> open_npy(const std::filesystem::path&, std::string);
  friend absl::StatusOr<npy_arrays> open_npz(const std::filesystem::path&);
  friend absl::StatusOr<npy_arrays> open_npy_dir(const std::filesystem::path&);
  std::vector<std::unique_ptr<io::mapped_file>> files_;
  std::vector<tensor> tensors_;
};

/// One .npy file as one tensor called `name` (default: the file name without ".npy").
absl::StatusOr<npy_arrays> open_npy(const std::filesystem::path& path, std::string name = {});
/// Every .npy member of an .npz archive (see the file comment); a member that is not .npy is an error.
absl::StatusOr<npy_arrays> open_npz(const std::filesystem::path& path);
/// Every *.npy file under `dir`, recursively, in name order (see the file comment); kNotFound
/// when there is none.
absl::StatusOr<npy_arrays> open_npy_dir(const std::filesystem::path& dir);

/// The arrays' tensors, as a view borrowing `arrays` (a temporary is refused).
inline std::span<const tensor> entries(const npy_arrays& arrays ABSL_ATTRIBUTE_LIFETIME_BOUND) { return arrays.tensors(); }
std::span<const tensor> entries(const npy_arrays&&) = delete;

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.

namespace detail {

// Inflates the raw-deflate bytes `in` (what `file` holds at `base`), emitting at most `limit`
// output bytes in pieces of up to 1 MiB, and stops there. With `whole`, the stream must end
// exactly at `size` bytes with CRC-32 `crc`.
TFCKPT_DECL absl::Status inflate_member(std::string_view file, std::uint64_t base, std::span<const std::byte> in,
                                        std::uint64_t limit, bool whole, std::uint64_t size, std::uint32_t crc,
                                        const byte_source::emit_fn& emit);

// Where an array's stored bytes come from: a span of a mapping, or a deflated member.
struct npy_location {
  std::string file;                          // for messages
  const io::mapped_file* mapping = nullptr;  // the file `stored` lies in
  std::span<const std::byte> stored;         // the .npy bytes (stored), or the deflated bytes
  bool deflated = false;
  std::uint64_t base = 0;                    // offset of `stored` in the file
  std::uint64_t size = 0;                    // deflated: the inflated size
  std::uint32_t crc = 0;                     // an archive member's CRC-32 (of the inflated bytes)
  bool has_crc = false;                      // an archive member: `crc` is to be checked
};

// The first `n` bytes of the (inflated) .npy data at `where`.
TFCKPT_DECL absl::StatusOr<std::string> npy_prefix(const npy_location& where, std::uint64_t n);

// Where the element of C-order index `i` of an array of `shape` lies among the stored elements:
// `i` itself, or its column-major position when the array is stored in Fortran order.
TFCKPT_DECL std::uint64_t fortran_position(const std::vector<std::int64_t>& shape, bool fortran, std::uint64_t i);

// `source` (the data of the stored archive member at `where`, from `data_offset` on), checking the
// member's CRC-32 whenever it is streamed: over the header bytes at once, over each piece of data
// as it passes (the stored bytes, before any byte swap), and a mismatch fails the stream at its end.
// Reads of ranges are not checked.
TFCKPT_DECL byte_source crc_checked(const npy_location& where, std::uint64_t data_offset, byte_source source);

// Builds the tensor `name` for the .npy bytes at `where`.
TFCKPT_DECL absl::StatusOr<tensor> npy_tensor(const npy_location& where, std::string name, const std::string& origin);

}  // namespace detail

TFCKPT_DECL absl::StatusOr<npy_dtype> npy_dtype_from_descr(std::string_view file, std::uint64_t offset, std::string_view descr);

TFCKPT_DECL absl::StatusOr<npy_arrays> open_npy(const std::filesystem::path& path, std::string name);

TFCKPT_DECL absl::StatusOr<npy_arrays> open_npz(const std::filesystem::path& path);

TFCKPT_DECL absl::StatusOr<npy_arrays> open_npy_dir(const std::filesystem::path& dir);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_SOURCES_NPY)

namespace tfckpt::detail {

TFCKPT_DECL absl::Status inflate_member(std::string_view file, std::uint64_t base, std::span<const std::byte> in,
                                        std::uint64_t limit, bool whole, std::uint64_t size, std::uint32_t crc,
                                        const byte_source::emit_fn& emit) {
  constexpr std::size_t kOut = std::size_t{1} << 20;
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return absl::ResourceExhaustedError("zlib: cannot start inflating");
  std::unique_ptr<z_stream, void (*)(z_stream*)> guard(&z, [](z_stream* s) { inflateEnd(s); });
  std::unique_ptr<std::byte[]> out = std::make_unique_for_overwrite<std::byte[]>(kOut);
  std::uint64_t fed = 0, produced = 0;
  std::uint32_t got_crc = 0;
  int rc = Z_OK;
  while (produced < limit && rc != Z_STREAM_END) {
    if (z.avail_in == 0 && fed < in.size()) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(in.size() - fed, 1u << 30));
      z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data() + fed));
      z.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kOut, limit - produced));
    z.next_out = reinterpret_cast<Bytef*>(out.get());
    z.avail_out = static_cast<uInt>(want);
    rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t got = want - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && got > 0)) {
      const std::uint64_t at = base + fed - z.avail_in;
      if (rc == Z_BUF_ERROR) return data_loss(file, at, "the deflated data ends before the member does");
      return data_loss(file, at, "bad deflated data (%s)", z.msg != nullptr ? z.msg : "zlib error");
    }
    if (got > 0) {
      produced += got;
      if (whole && produced > size) return data_loss(file, base, "inflates to more than the %d bytes announced", size);
      if (whole) got_crc = codec::zip_crc32(got_crc, {out.get(), got});
      TFCKPT_RETURN_IF_ERROR(emit({out.get(), got}));
    }
  }
  if (whole) {
    if (produced != size)
      return data_loss(file, base, "inflates to %d bytes, but the directory announces %d", produced, size);
    if (got_crc != crc) return data_loss(file, base, "CRC-32 mismatch: %08x computed, %08x stored", got_crc, crc);
  }
  return absl::OkStatus();
}

TFCKPT_DECL absl::StatusOr<std::string> npy_prefix(const npy_location& where, std::uint64_t n) {
  if (!where.deflated) {
    n = std::min<std::uint64_t>(n, where.stored.size());
    return std::string(reinterpret_cast<const char*>(where.stored.data()), n);
  }
  std::string out;
  TFCKPT_RETURN_IF_ERROR(inflate_member(where.file, where.base, where.stored, std::min(n, where.size), false, 0, 0,
                                        [&](std::span<const std::byte> chunk) {
                                          out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
                                          return absl::OkStatus();
                                        }));
  return out;
}

TFCKPT_DECL std::uint64_t fortran_position(const std::vector<std::int64_t>& shape, bool fortran, std::uint64_t i) {
  if (!fortran) return i;
  std::uint64_t at = 0, stride = 1;
  std::vector<std::uint64_t> strides(shape.size());
  for (std::size_t k = 0; k < shape.size(); ++k) {
    strides[k] = stride;
    stride *= static_cast<std::uint64_t>(shape[k]);
  }
  for (std::size_t k = shape.size(); k-- > 0;) {
    const auto d = static_cast<std::uint64_t>(shape[k]);
    at += i % d * strides[k];
    i /= d;
  }
  return at;
}

TFCKPT_DECL byte_source crc_checked(const npy_location& where, std::uint64_t data_offset, byte_source source) {
  const std::span<const std::byte> data = where.stored.subspan(static_cast<std::size_t>(data_offset));
  const std::uint32_t header_crc = codec::zip_crc32(0, where.stored.first(static_cast<std::size_t>(data_offset)));
  auto stream = [source, data, header_crc, expected = where.crc, file = where.file,
                 base = where.base](const byte_source::emit_fn& emit) -> absl::Status {
    std::uint32_t crc = header_crc;
    std::uint64_t at = 0;
    TFCKPT_RETURN_IF_ERROR(source.stream([&](std::span<const std::byte> piece) {
      crc = codec::zip_crc32(crc, data.subspan(static_cast<std::size_t>(at), piece.size()));
      at += piece.size();
      return emit(piece);
    }));
    if (crc != expected) return data_loss(file, base, "CRC-32 mismatch: %08x computed, %08x stored", crc, expected);
    return absl::OkStatus();
  };
  const std::uint64_t size = source.size();
  return byte_source::from_reader(
      size, [source](std::uint64_t offset, std::span<std::byte> out) { return source.read(offset, out); },
      std::move(stream), [source](std::uint64_t offset, std::uint64_t n) { source.release(offset, n); });
}

TFCKPT_DECL absl::StatusOr<tensor> npy_tensor(const npy_location& where, std::string name, const std::string& origin) {
  const std::uint64_t total = where.deflated ? where.size : where.stored.size();
  TFCKPT_ASSIGN_OR_RETURN(const std::string preamble, npy_prefix(where, codec::kNpyPreamble));
  const std::uint64_t shown_base = where.deflated ? 0 : where.base;
  auto as_bytes = [](const std::string& s) { return std::span<const std::byte>(reinterpret_cast<const std::byte*>(s.data()), s.size()); };
  const absl::StatusOr<std::uint64_t> announced = codec::npy_data_offset(where.file, as_bytes(preamble), shown_base);
  if (!announced.ok()) return with_key(announced.status(), name);
  const std::uint64_t data_offset = *announced;
  TFCKPT_ASSIGN_OR_RETURN(const std::string head, npy_prefix(where, data_offset));
  absl::StatusOr<codec::npy_header_fields> h = codec::parse_npy_header(where.file, as_bytes(head), shown_base);
  if (!h.ok()) return with_key(h.status(), name);
  absl::StatusOr<npy_dtype> dt = npy_dtype_from_descr(where.file, shown_base + 8, h->descr);
  if (!dt.ok()) return with_key(dt.status(), name);
  // Fortran order (numpy.save of a transposed or numpy.asfortranarray array): the bytes are the
  // C-order array of the reversed shape, whose axes reversed give the array.
  const bool fortran = h->fortran_order && h->shape.size() >= 2;
  if (fortran && where.deflated && dt->dtype != dtype::string)
    return with_key(absl::UnimplementedError(absl::StrFormat(
                        "%s @%d: the array is in Fortran order (column-major) with shape %s inside a compressed "
                        "archive, whose members can only be read from the start, not transposed in bounded memory; "
                        "save it with numpy.savez (uncompressed) or in C order (numpy.ascontiguousarray)",
                        where.file, shown_base, shape_string(h->shape))),
                    name);
  const std::optional<std::int64_t> elements = checked_num_elements(h->shape);
  const std::uint64_t width = dt->dtype == dtype::string ? dt->string_width : element_size(dt->dtype);
  const std::optional<std::int64_t> bytes =
      elements ? checked_mul(*elements, static_cast<std::int64_t>(width)) : std::nullopt;
  if (!bytes) return with_key(data_loss(where.file, shown_base, "shape %s overflows", shape_string(h->shape)), name);
  const std::uint64_t have = total - std::min(total, data_offset);
  if (static_cast<std::uint64_t>(*bytes) != have)
    return with_key(data_loss(where.file, shown_base + std::min(total, data_offset),
                              "%s %s needs %d data bytes, but %d follow the header (%s)", h->descr,
                              shape_string(h->shape), *bytes, have,
                              static_cast<std::uint64_t>(*bytes) > have ? "truncated" : "trailing bytes"),
                    name);
  tensor t;
  t.name = std::move(name);
  t.dtype = dt->dtype;
  t.shape = h->shape;
  t.origins.push_back({origin, 0, t.name});
  const std::uint64_t n = static_cast<std::uint64_t>(*bytes);
  if (dt->dtype == dtype::string) {
    std::string raw;
    if (!where.deflated) {
      raw.assign(reinterpret_cast<const char*>(where.stored.data() + data_offset), n);
    } else {
      TFCKPT_ASSIGN_OR_RETURN(raw, npy_prefix(where, total));
      if (raw.size() != total)
        return with_key(data_loss(where.file, 0, "inflates to %d bytes, but the directory announces %d", raw.size(), total),
                        t.name);
      raw.erase(0, data_offset);
    }
    std::vector<std::string_view> elements_view;
    elements_view.reserve(static_cast<std::size_t>(*elements));
    for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(*elements); ++i) {
      std::string_view e(raw.data() + fortran_position(h->shape, fortran, i) * width, width);
      while (!e.empty() && e.back() == '\0') e.remove_suffix(1);
      elements_view.push_back(e);
    }
    t.source = byte_source::from_bytes(codec::encode_string_tensor(elements_view, host_byte_order));
    return t;
  }
  if (!where.deflated) {
    t.source = mapped_source(*where.mapping, where.stored.subspan(data_offset, n), t.dtype, dt->order);
    if (where.has_crc) t.source = crc_checked(where, data_offset, std::move(t.source));
    if (!fortran) return t;
    t.shape.assign(t.shape.rbegin(), t.shape.rend());
    std::vector<int> axes(t.shape.size());
    for (std::size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int>(axes.size() - 1 - i);
    return permuted(std::move(t), axes);
  }
  const npy_location w = where;
  const dtype type = t.dtype;
  const byte_order order = dt->order;
  t.source = byte_source::from_producer(n, [w, data_offset, type, order](const byte_source::emit_fn& emit) {
    byte_order_converter to_host(needs_byte_swap(type, order, host_byte_order) ? type : dtype::uint8, emit);
    std::uint64_t skip = data_offset;
    TFCKPT_RETURN_IF_ERROR(inflate_member(w.file, w.base, w.stored, w.size, true, w.size, w.crc,
                                          [&](std::span<const std::byte> chunk) -> absl::Status {
                                            const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(skip, chunk.size()));
                                            skip -= k;
                                            chunk = chunk.subspan(k);
                                            return chunk.empty() ? absl::OkStatus() : to_host(chunk);
                                          }));
    return to_host.finish();
  });
  return t;
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<npy_dtype> npy_dtype_from_descr(std::string_view file, std::uint64_t offset, std::string_view descr) {
  auto refuse = [&](std::string_view why) {
    return absl::UnimplementedError(absl::StrFormat("%s @%d: NumPy dtype '%s' %s", file, offset, printable_key(descr), why));
  };
  if (descr.size() < 2) return refuse("is not understood");
  npy_dtype out;
  switch (descr[0]) {
    case '<': out.order = byte_order::little; break;
    case '>': out.order = byte_order::big; break;
    case '|':
    case '=': out.order = host_byte_order; break;
    default: return refuse("has no byte order mark ('<', '>', '|' or '=')");
  }
  const char kind = descr[1];
  const std::string_view digits = descr.substr(2);
  std::uint64_t width = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || width > (1u << 30)) return refuse("is not understood");
    width = width * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (kind == 'O') return refuse("is an object array (pickled Python objects), which is never loaded");
  if (kind == 'U') return refuse("holds unicode strings; save them as bytes (numpy.char.encode, dtype 'S')");
  if (kind == 'S') {
    if (width == 0) return refuse("has elements of no bytes");
    out.dtype = dtype::string;
    out.string_width = width;
    return out;
  }
  struct row {
    char kind;
    std::uint64_t width;
    dtype type;
  };
  static constexpr row kRows[] = {
      {'b', 1, dtype::boolean}, {'i', 1, dtype::int8},    {'u', 1, dtype::uint8},     {'i', 2, dtype::int16},
      {'u', 2, dtype::uint16},  {'i', 4, dtype::int32},   {'u', 4, dtype::uint32},    {'i', 8, dtype::int64},
      {'u', 8, dtype::uint64},  {'f', 2, dtype::float16}, {'f', 4, dtype::float32},   {'f', 8, dtype::float64},
      {'c', 8, dtype::complex64}, {'c', 16, dtype::complex128},
  };
  for (const row& r : kRows)
    if (r.kind == kind && r.width == width && !digits.empty()) {
      out.dtype = r.type;
      return out;
    }
  return refuse("has no TensorFlow dtype");
}

TFCKPT_DECL absl::StatusOr<npy_arrays> open_npy(const std::filesystem::path& path, std::string name) {
  if (name.empty()) name = path.stem().string();
  TFCKPT_ASSIGN_OR_RETURN(io::mapped_file f, io::mapped_file::open(path.string()));
  npy_arrays out;
  out.files_.push_back(std::make_unique<io::mapped_file>(std::move(f)));
  const io::mapped_file& m = *out.files_.back();
  detail::npy_location where{.file = m.path(), .mapping = &m, .stored = m.bytes()};
  TFCKPT_ASSIGN_OR_RETURN(tensor t, detail::npy_tensor(where, std::move(name), m.path()));
  out.tensors_.push_back(std::move(t));
  return out;
}

TFCKPT_DECL absl::StatusOr<npy_arrays> open_npz(const std::filesystem::path& path) {
  TFCKPT_ASSIGN_OR_RETURN(io::mapped_file f, io::mapped_file::open(path.string()));
  npy_arrays out;
  out.files_.push_back(std::make_unique<io::mapped_file>(std::move(f)));
  const io::mapped_file& m = *out.files_.back();
  TFCKPT_ASSIGN_OR_RETURN(const std::vector<codec::zip_member> members, codec::read_zip_directory(m.path(), m.bytes()));
  std::set<std::string> seen;
  for (const codec::zip_member& z : members) {
    if (!z.name.empty() && z.name.back() == '/' && z.size == 0) continue;  // a directory entry
    const std::string file = absl::StrFormat("%s[%s]", m.path(), printable_key(z.name));
    constexpr std::string_view kSuffix = ".npy";
    if (z.name.size() <= kSuffix.size() || !z.name.ends_with(kSuffix))
      return absl::InvalidArgumentError(
          absl::StrFormat("%s @%d: member '%s' is not a .npy file", m.path(), z.header_offset, printable_key(z.name)));
    std::string name = z.name.substr(0, z.name.size() - kSuffix.size());
    if (!seen.insert(name).second)
      return data_loss(m.path(), z.header_offset, "member '%s' appears twice", printable_key(z.name));
    detail::npy_location where{.file = file,
                               .mapping = &m,
                               .stored = m.bytes().subspan(z.data_offset, z.compressed_size),
                               .deflated = z.method == codec::kZipDeflated,
                               .base = z.data_offset,
                               .size = z.size,
                               .crc = z.crc,
                               .has_crc = true};
    TFCKPT_ASSIGN_OR_RETURN(tensor t, detail::npy_tensor(where, std::move(name), m.path()));
    out.tensors_.push_back(std::move(t));
  }
  return out;
}

TFCKPT_DECL absl::StatusOr<npy_arrays> open_npy_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return absl::NotFoundError(absl::StrFormat("%s: not a directory", dir.string()));
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec) && it->path().extension() == ".npy") files.push_back(it->path());
  if (ec) return io::errno_status(dir.string(), "list directory", ec.value());
  if (files.empty()) return absl::NotFoundError(absl::StrFormat("%s: no .npy files in this directory or below", dir.string()));
  std::sort(files.begin(), files.end());
  npy_arrays out;
  for (const fs::path& p : files) {
    std::string name = fs::relative(p, dir, ec).replace_extension().generic_string();
    if (ec) return io::errno_status(p.string(), "resolve", ec.value());
    TFCKPT_ASSIGN_OR_RETURN(npy_arrays one, open_npy(p, std::move(name)));
    for (auto& f : one.files_) out.files_.push_back(std::move(f));
    for (auto& t : one.tensors_) out.tensors_.push_back(std::move(t));
  }
  return out;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_SOURCES_NPY

#endif  // TFCKPT_SOURCES_NPY_HPP_
