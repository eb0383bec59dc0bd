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

inline std::string zip_local_header(const zip_entry& m) {
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

inline std::string zip_data_descriptor(const zip_entry& m) {
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

inline std::string zip_central_header(const zip_entry& m, bool force_zip64) {
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

inline std::string zip_end_records(std::uint64_t entries, std::uint64_t cd_offset, std::uint64_t cd_size,
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

}  // namespace tfckpt::codec

#endif  // TFCKPT_CODEC_ZIP_HPP_
