// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/codec/zip.hpp
//
// The records of a ZIP archive of STORED (uncompressed) members, written in one forward pass — what
// the .npz sink (sinks/npy.hpp) streams. Byte layouts from PKWARE's APPNOTE.TXT 6.3; every integer
// is little-endian:
//
//   per member, in order:
//     local file header (§4.3.7)   "PK\3\4", version needed 20 (45 with ZIP64), flags = bit 3 (CRC and
//                                  sizes follow the data) | bit 11 (UTF-8 name, set only when the name
//                                  is not ASCII), method 0 (stored), DOS time 0 and date 1980-01-01,
//                                  CRC 0, sizes 0 (0xFFFFFFFF with ZIP64), name length, extra length,
//                                  name, extra: a ZIP64 field (id 1, 16 bytes of zero sizes) when the
//                                  member is ZIP64
//     data                         the member's bytes
//     data descriptor (§4.3.9)     "PK\7\10", CRC-32, compressed and original size (8 bytes each for
//                                  a ZIP64 member, else 4)
//   central directory (§4.3.12)    per member "PK\1\2", made by UNIX (3) and the version, the same
//                                  flags, method, time, date, CRC and sizes, name length, extra
//                                  length, no comment, disk 0, internal attributes 0, external
//                                  attributes = st_mode 0100644 << 16, local header offset, name,
//                                  extra: ZIP64 field (§4.5.3) with the sizes and/or the offset
//                                  that reach 0xFFFFFFFF (the 32-bit fields then hold 0xFFFFFFFF)
//   ZIP64 end record (§4.3.14) and locator (§4.3.15), when the entry count reaches 0xFFFF or the
//                                  directory's size or offset reaches 0xFFFFFFFF (or when forced)
//   end of central directory (§4.3.16)  "PK\5\6", entry counts, directory size and offset (0xFFFF /
//                                  0xFFFFFFFF when the ZIP64 record holds them), no comment
//
// The CRC is the plain ZIP CRC-32 (polynomial 0xEDB88320, zlib's crc32), not CRC-32C. Fixed
// timestamps make the same members give the same archive.
//
// Reading (read_zip_directory) walks the end records and the central directory of an archive held
// in memory and locates every member's data through its local header: sizes, offsets and the
// ZIP64 fields are checked against the bytes available, so every member found lies inside the
// archive. Methods other than stored (0) and deflated (8), encrypted members (flag bit 0) and
// multi-disk archives are refused. A comment after the end record is allowed (the record is
// searched for in the last 65,557 bytes).
//
// Example:
//   codec::zip_entry m{.name = "w.npy", .offset = out.size(), .zip64 = size >= codec::kZip32Max};
//   out += codec::zip_local_header(m);  m.crc = codec::zip_crc32(0, bytes);  out += bytes;
//   m.size = bytes.size();  out += codec::zip_data_descriptor(m);
//   ... then every zip_central_header(m), then zip_end_records(count, cd_offset, cd_size).
#ifndef TFCKPT_CODEC_ZIP_HPP_
#define TFCKPT_CODEC_ZIP_HPP_

#include <zlib.h>

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

inline constexpr std::uint32_t kZipLocalHeaderSig = 0x04034b50;
inline constexpr std::uint32_t kZipDataDescriptorSig = 0x08074b50;
inline constexpr std::uint32_t kZipCentralHeaderSig = 0x02014b50;
inline constexpr std::uint32_t kZip64EndSig = 0x06064b50;
inline constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
inline constexpr std::uint32_t kZipEndSig = 0x06054b50;
inline constexpr std::uint16_t kZipVersion = 20;         // 2.0: stored members, data descriptors
inline constexpr std::uint16_t kZip64Version = 45;       // 4.5: ZIP64
inline constexpr std::uint16_t kZipMadeByUnix = 3 << 8;  // "version made by", high byte: UNIX
inline constexpr std::uint16_t kZipFlagDescriptor = 1 << 3;
inline constexpr std::uint16_t kZipFlagUtf8 = 1 << 11;
inline constexpr std::uint16_t kZipDosDate1980 = (1 << 5) | 1;       // 1980-01-01; time 00:00:00 is 0
inline constexpr std::uint32_t kZipExternalAttrs = 0100644u << 16;  // st_mode of a regular 0644 file
/// The largest 32-bit size or offset; the value itself means "see the ZIP64 field".
inline constexpr std::uint64_t kZip32Max = 0xFFFFFFFFu;

/// One stored member, as its records describe it.
struct zip_entry {
  std::string name;          // UTF-8 (or ASCII) path inside the archive
  std::uint32_t crc = 0;     // CRC-32 of the data (known once the data is written)
  std::uint64_t size = 0;    // bytes of data
  std::uint64_t offset = 0;  // of the local header in the archive
  bool zip64 = false;        // ZIP64 local field and 8-byte descriptor sizes (REQUIRED when size >= kZip32Max)
};

/// Extends a ZIP CRC-32 (start from 0) with `bytes`.
inline std::uint32_t zip_crc32(std::uint32_t crc, std::span<const std::byte> bytes) {
  return static_cast<std::uint32_t>(crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

std::string zip_local_header(const zip_entry& m);

/// Compression methods a reader meets in .npz files.
inline constexpr std::uint16_t kZipStored = 0;
inline constexpr std::uint16_t kZipDeflated = 8;

/// One member as read_zip_directory finds it.
struct zip_member {
  std::string name;
  std::uint16_t method = kZipStored;
  std::uint32_t crc = 0;                // CRC-32 of the uncompressed bytes
  std::uint64_t compressed_size = 0;    // bytes at data_offset
  std::uint64_t size = 0;               // bytes once uncompressed
  std::uint64_t header_offset = 0;      // of the local header
  std::uint64_t data_offset = 0;        // of the first data byte; data_offset + compressed_size <= archive size
};

/// Every member of the ZIP archive `bytes` (read from `file`, named in errors with the offset), in
/// central directory order. kDataLoss for damaged or truncated archives, kUnimplemented for
/// features .npz files never use (encryption, other methods, several disks).
absl::StatusOr<std::vector<zip_member>> read_zip_directory(std::string_view file, std::span<const std::byte> bytes);
std::string zip_data_descriptor(const zip_entry& m);
/// `force_zip64`: a ZIP64 field with sizes and offset even when they fit 32 bits.
std::string zip_central_header(const zip_entry& m, bool force_zip64 = false);
/// The end records after a central directory of `entries` headers, `cd_size` bytes at `cd_offset`.
std::string zip_end_records(std::uint64_t entries, std::uint64_t cd_offset, std::uint64_t cd_size,
                            bool force_zip64 = false);

// ---------------------------------------------------------------------------------------------
// Implementation details follow. Clients should ignore them.

namespace detail {
inline void put_u16(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 2; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void put_u32(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void put_u64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}
inline std::uint16_t zip_flags(const zip_entry& m) {
  return kZipFlagDescriptor | (is_ascii(m.name) ? 0 : kZipFlagUtf8);
}
}  // namespace detail

TFCKPT_DECL std::string zip_local_header(const zip_entry& m);

TFCKPT_DECL std::string zip_data_descriptor(const zip_entry& m);

TFCKPT_DECL std::string zip_central_header(const zip_entry& m, bool force_zip64);

TFCKPT_DECL std::string zip_end_records(std::uint64_t entries, std::uint64_t cd_offset, std::uint64_t cd_size,
                                        bool force_zip64);

namespace detail {
// A little-endian field at `at`, which the caller has checked lies inside `bytes`.
template <class T>
T zip_field(std::span<const std::byte> bytes, std::uint64_t at) {
  return tfckpt::detail::load_le<T>(bytes.data() + at);
}
}  // namespace detail

TFCKPT_DECL absl::StatusOr<std::vector<zip_member>> read_zip_directory(std::string_view file, std::span<const std::byte> bytes);

}  // namespace tfckpt::codec

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CODEC_ZIP)

namespace tfckpt::codec {

TFCKPT_DECL std::string zip_local_header(const zip_entry& m) {
  using detail::put_u16, detail::put_u32, detail::put_u64;
  std::string h;
  put_u32(h, kZipLocalHeaderSig);
  put_u16(h, m.zip64 ? kZip64Version : kZipVersion);
  put_u16(h, detail::zip_flags(m));
  put_u16(h, 0);  // method: stored
  put_u16(h, 0);  // time 00:00:00
  put_u16(h, kZipDosDate1980);
  put_u32(h, 0);  // CRC-32: in the data descriptor (flag bit 3)
  put_u32(h, m.zip64 ? kZip32Max : 0);  // sizes: likewise
  put_u32(h, m.zip64 ? kZip32Max : 0);
  put_u16(h, m.name.size());
  put_u16(h, m.zip64 ? 20 : 0);
  h += m.name;
  if (m.zip64) {
    put_u16(h, 0x0001);  // ZIP64 extended information
    put_u16(h, 16);
    put_u64(h, 0);  // original size: in the data descriptor
    put_u64(h, 0);  // compressed size
  }
  return h;
}

TFCKPT_DECL std::string zip_data_descriptor(const zip_entry& m) {
  using detail::put_u32, detail::put_u64;
  std::string d;
  put_u32(d, kZipDataDescriptorSig);
  put_u32(d, m.crc);
  if (m.zip64) {
    put_u64(d, m.size);
    put_u64(d, m.size);
  } else {
    put_u32(d, m.size);
    put_u32(d, m.size);
  }
  return d;
}

TFCKPT_DECL std::string zip_central_header(const zip_entry& m, bool force_zip64) {
  using detail::put_u16, detail::put_u32, detail::put_u64;
  const bool big_size = force_zip64 || m.size >= kZip32Max;
  const bool big_offset = force_zip64 || m.offset >= kZip32Max;
  std::string extra;
  if (big_size || big_offset) {
    put_u16(extra, 0x0001);
    put_u16(extra, (big_size ? 16 : 0) + (big_offset ? 8 : 0));
    if (big_size) {
      put_u64(extra, m.size);  // original, then compressed size
      put_u64(extra, m.size);
    }
    if (big_offset) put_u64(extra, m.offset);
  }
  const std::uint16_t version = m.zip64 || !extra.empty() ? kZip64Version : kZipVersion;
  std::string h;
  put_u32(h, kZipCentralHeaderSig);
  put_u16(h, kZipMadeByUnix | version);
  put_u16(h, version);
  put_u16(h, detail::zip_flags(m));
  put_u16(h, 0);  // method: stored
  put_u16(h, 0);  // time
  put_u16(h, kZipDosDate1980);
  put_u32(h, m.crc);
  put_u32(h, big_size ? kZip32Max : m.size);
  put_u32(h, big_size ? kZip32Max : m.size);
  put_u16(h, m.name.size());
  put_u16(h, extra.size());
  put_u16(h, 0);  // comment length
  put_u16(h, 0);  // disk number start
  put_u16(h, 0);  // internal attributes
  put_u32(h, kZipExternalAttrs);
  put_u32(h, big_offset ? kZip32Max : m.offset);
  h += m.name;
  h += extra;
  return h;
}

TFCKPT_DECL std::string zip_end_records(std::uint64_t entries, std::uint64_t cd_offset, std::uint64_t cd_size,
                                        bool force_zip64) {
  using detail::put_u16, detail::put_u32, detail::put_u64;
  const bool zip64 = force_zip64 || entries >= 0xFFFF || cd_offset >= kZip32Max || cd_size >= kZip32Max;
  std::string e;
  if (zip64) {
    put_u32(e, kZip64EndSig);
    put_u64(e, 44);  // bytes of this record after this field
    put_u16(e, kZipMadeByUnix | kZip64Version);
    put_u16(e, kZip64Version);
    put_u32(e, 0);  // this disk
    put_u32(e, 0);  // disk of the central directory
    put_u64(e, entries);
    put_u64(e, entries);
    put_u64(e, cd_size);
    put_u64(e, cd_offset);
    put_u32(e, kZip64LocatorSig);
    put_u32(e, 0);                   // disk of the ZIP64 end record
    put_u64(e, cd_offset + cd_size); // its offset: right after the central directory
    put_u32(e, 1);                   // total disks
  }
  put_u32(e, kZipEndSig);
  put_u16(e, 0);  // this disk
  put_u16(e, 0);  // disk of the central directory
  put_u16(e, zip64 ? 0xFFFF : entries);
  put_u16(e, zip64 ? 0xFFFF : entries);
  put_u32(e, zip64 ? kZip32Max : cd_size);
  put_u32(e, zip64 ? kZip32Max : cd_offset);
  put_u16(e, 0);  // comment length
  return e;
}

TFCKPT_DECL absl::StatusOr<std::vector<zip_member>> read_zip_directory(std::string_view file, std::span<const std::byte> bytes) {
  using detail::zip_field;
  constexpr std::uint64_t kEndSize = 22, kMaxComment = 0xFFFF, kCentralSize = 46, kLocalSize = 30;
  constexpr std::uint64_t kLocatorSize = 20, kZip64EndSize = 56;
  const std::uint64_t n = bytes.size();
  if (n < kEndSize) return data_loss(file, 0, "%d bytes cannot hold a ZIP archive's end record", n);
  std::uint64_t end = n - kEndSize;
  const std::uint64_t lowest = n - kEndSize > kMaxComment ? n - kEndSize - kMaxComment : 0;
  while (zip_field<std::uint32_t>(bytes, end) != kZipEndSig) {
    if (end == lowest) return data_loss(file, n, "not a ZIP archive: no end of central directory record");
    --end;
  }
  if (zip_field<std::uint16_t>(bytes, end + 4) != 0 || zip_field<std::uint16_t>(bytes, end + 6) != 0)
    return absl::UnimplementedError(absl::StrFormat("%s @%d: a ZIP archive spanning several disks", file, end + 4));
  std::uint64_t count = zip_field<std::uint16_t>(bytes, end + 10);
  std::uint64_t cd_size = zip_field<std::uint32_t>(bytes, end + 12);
  std::uint64_t cd_offset = zip_field<std::uint32_t>(bytes, end + 16);
  if (end >= kLocatorSize && zip_field<std::uint32_t>(bytes, end - kLocatorSize) == kZip64LocatorSig) {
    const std::uint64_t locator = end - kLocatorSize;
    const std::uint64_t record = zip_field<std::uint64_t>(bytes, locator + 8);
    if (record > locator || locator - record < kZip64EndSize)
      return data_loss(file, locator + 8, "the ZIP64 end record's offset %d is not before its locator", record);
    if (zip_field<std::uint32_t>(bytes, record) != kZip64EndSig)
      return data_loss(file, record, "no ZIP64 end of central directory record where the locator points");
    count = zip_field<std::uint64_t>(bytes, record + 32);
    cd_size = zip_field<std::uint64_t>(bytes, record + 40);
    cd_offset = zip_field<std::uint64_t>(bytes, record + 48);
    end = record;
  }
  if (cd_offset > end || cd_size > end - cd_offset)
    return data_loss(file, end, "the central directory (offset %d, %d bytes) runs past its end record at %d", cd_offset,
                     cd_size, end);
  if (count > cd_size / kCentralSize)
    return data_loss(file, end, "%d members cannot fit in a central directory of %d bytes", count, cd_size);
  std::vector<zip_member> members;
  members.reserve(static_cast<std::size_t>(count));
  std::uint64_t at = cd_offset;
  const std::uint64_t cd_end = cd_offset + cd_size;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (cd_end - at < kCentralSize) return data_loss(file, at, "central directory entry %d is cut short", i);
    if (zip_field<std::uint32_t>(bytes, at) != kZipCentralHeaderSig)
      return data_loss(file, at, "central directory entry %d has no PK\\1\\2 signature", i);
    zip_member m;
    const auto flags = zip_field<std::uint16_t>(bytes, at + 8);
    m.method = zip_field<std::uint16_t>(bytes, at + 10);
    m.crc = zip_field<std::uint32_t>(bytes, at + 16);
    m.compressed_size = zip_field<std::uint32_t>(bytes, at + 20);
    m.size = zip_field<std::uint32_t>(bytes, at + 24);
    const std::uint64_t name_len = zip_field<std::uint16_t>(bytes, at + 28);
    const std::uint64_t extra_len = zip_field<std::uint16_t>(bytes, at + 30);
    const std::uint64_t comment_len = zip_field<std::uint16_t>(bytes, at + 32);
    m.header_offset = zip_field<std::uint32_t>(bytes, at + 42);
    if (cd_end - at - kCentralSize < name_len + extra_len + comment_len)
      return data_loss(file, at, "central directory entry %d's name and extra fields run past the directory", i);
    m.name.assign(reinterpret_cast<const char*>(bytes.data() + at + kCentralSize), name_len);
    if ((flags & 1) != 0)
      return absl::UnimplementedError(absl::StrFormat("%s @%d: member '%s' is encrypted", file, at, printable_key(m.name)));
    if (m.method != kZipStored && m.method != kZipDeflated)
      return absl::UnimplementedError(absl::StrFormat(
          "%s @%d: member '%s' uses compression method %d (only stored and deflated are read)", file, at,
          printable_key(m.name), m.method));
    // The ZIP64 field holds, in this order, those of the four values whose 32-bit field is all ones.
    std::uint64_t x = at + kCentralSize + name_len;
    const std::uint64_t x_end = x + extra_len;
    while (x_end - x >= 4) {
      const auto id = zip_field<std::uint16_t>(bytes, x);
      const std::uint64_t len = zip_field<std::uint16_t>(bytes, x + 2);
      if (x_end - x - 4 < len) return data_loss(file, x, "extra field of member '%s' runs past its entry", printable_key(m.name));
      if (id == 0x0001) {
        std::uint64_t f = x + 4;
        const std::uint64_t f_end = f + len;
        for (std::uint64_t* v : {&m.size, &m.compressed_size, &m.header_offset}) {
          if (*v != kZip32Max) continue;
          if (f_end - f < 8) return data_loss(file, f, "ZIP64 field of member '%s' is too short", printable_key(m.name));
          *v = zip_field<std::uint64_t>(bytes, f);
          f += 8;
        }
      }
      x += 4 + len;
    }
    if (m.header_offset > cd_offset || cd_offset - m.header_offset < kLocalSize)
      return data_loss(file, at, "member '%s''s local header offset %d is not before the central directory",
                       printable_key(m.name), m.header_offset);
    const std::uint64_t h = m.header_offset;
    if (zip_field<std::uint32_t>(bytes, h) != kZipLocalHeaderSig)
      return data_loss(file, h, "member '%s' has no local header (PK\\3\\4) here", printable_key(m.name));
    const std::uint64_t local_extra = std::uint64_t{zip_field<std::uint16_t>(bytes, h + 26)} + zip_field<std::uint16_t>(bytes, h + 28);
    if (cd_offset - h - kLocalSize < local_extra)
      return data_loss(file, h, "member '%s''s local header runs into the central directory", printable_key(m.name));
    m.data_offset = h + kLocalSize + local_extra;
    if (m.compressed_size > cd_offset - m.data_offset)
      return data_loss(file, m.data_offset, "member '%s''s %d bytes run past the start of the central directory at %d",
                       printable_key(m.name), m.compressed_size, cd_offset);
    if (m.method == kZipStored && m.size != m.compressed_size)
      return data_loss(file, at, "stored member '%s' has sizes %d and %d", printable_key(m.name), m.compressed_size, m.size);
    members.push_back(std::move(m));
    at += kCentralSize + name_len + extra_len + comment_len;
  }
  return members;
}

}  // namespace tfckpt::codec
#endif  // TFCKPT_COMPILE_CODEC_ZIP

#endif  // TFCKPT_CODEC_ZIP_HPP_
