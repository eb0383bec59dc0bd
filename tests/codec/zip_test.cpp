// SPDX-License-Identifier: Apache-2.0
// ZIP records for stored members: byte layouts, the CRC-32, and Python's zipfile (an independent
// reader) opening archives built from them, with and without ZIP64 records.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "testing/paths.hpp"
#include "tfckpt/codec/zip.hpp"
#include "tfckpt/detail/endian.hpp"

namespace zip_test {

namespace {
namespace fs = std::filesystem;
using namespace tfckpt::codec;

std::span<const std::byte> as_bytes(const std::string& s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }
std::uint16_t u16(const std::string& s, std::size_t at) {
  return tfckpt::detail::load_le<std::uint16_t>(reinterpret_cast<const std::byte*>(s.data() + at));
}
std::uint32_t u32(const std::string& s, std::size_t at) {
  return tfckpt::detail::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(s.data() + at));
}

// An archive of `members` (name, data) built from the records, as the .npz sink streams it.
std::string archive(const std::vector<std::pair<std::string, std::string>>& members, bool force_zip64) {
  std::string out;
  std::vector<zip_entry> entries;
  for (const auto& [name, data] : members) {
    zip_entry m;
    m.name = name;
    m.offset = out.size();
    m.size = data.size();
    m.zip64 = force_zip64;
    out += zip_local_header(m);
    // The CRC, computed in pieces as the data streams.
    for (std::size_t at = 0; at < data.size(); at += 3) m.crc = zip_crc32(m.crc, as_bytes(data.substr(at, 3)));
    out += data;
    out += zip_data_descriptor(m);
    entries.push_back(m);
  }
  const std::uint64_t cd_offset = out.size();
  for (const zip_entry& m : entries) out += zip_central_header(m, force_zip64);
  out += zip_end_records(entries.size(), cd_offset, out.size() - cd_offset, force_zip64);
  return out;
}

TEST(Zip, Crc32IsZlibsPlainCrc) {
  EXPECT_EQ(zip_crc32(0, as_bytes("123456789")), 0xCBF43926u);  // the CRC-32 check value
  EXPECT_EQ(zip_crc32(zip_crc32(0, as_bytes("1234")), as_bytes("56789")), 0xCBF43926u);
  EXPECT_EQ(zip_crc32(0, {}), 0u);
}

TEST(Zip, RecordLayouts) {
  zip_entry m;
  m.name = "w.npy";
  m.crc = 0x11223344;
  m.size = 10;
  m.offset = 77;
  const std::string local = zip_local_header(m);
  ASSERT_EQ(local.size(), 30u + 5u);
  EXPECT_EQ(local.substr(0, 4), "PK\x03\x04");
  EXPECT_EQ(u16(local, 6), kZipFlagDescriptor);
  EXPECT_EQ(u16(local, 8), 0);  // stored
  EXPECT_EQ(u16(local, 12), (1 << 5) | 1);
  EXPECT_EQ(u32(local, 14), 0u);  // the CRC comes later
  EXPECT_EQ(local.substr(30), "w.npy");
  const std::string desc = zip_data_descriptor(m);
  EXPECT_EQ(desc.size(), 16u);
  EXPECT_EQ(u32(desc, 4), 0x11223344u);
  EXPECT_EQ(u32(desc, 8), 10u);
  const std::string central = zip_central_header(m);
  ASSERT_EQ(central.size(), 46u + 5u);
  EXPECT_EQ(u32(central, 16), 0x11223344u);
  EXPECT_EQ(u32(central, 20), 10u);
  EXPECT_EQ(u32(central, 42), 77u);
  // Non-ASCII names say they are UTF-8; ZIP64 members carry the extra field and 8-byte sizes.
  m.name = "caf\xc3\xa9.npy";
  m.zip64 = true;
  const std::string local64 = zip_local_header(m);
  EXPECT_EQ(u16(local64, 6), kZipFlagDescriptor | kZipFlagUtf8);
  EXPECT_EQ(u16(local64, 4), 45);
  EXPECT_EQ(u32(local64, 18), 0xFFFFFFFFu);
  EXPECT_EQ(u16(local64, 28), 20);
  EXPECT_EQ(zip_data_descriptor(m).size(), 24u);
  // The end of an empty archive is the bare 22-byte record.
  EXPECT_EQ(zip_end_records(0, 0, 0), std::string("PK\x05\x06", 4) + std::string(18, '\0'));
  EXPECT_EQ(zip_end_records(0, 0, 0, /*force_zip64=*/true).size(), 56u + 20u + 22u);
}

TEST(Zip, PythonZipfileReadsTheArchives) {
  const std::string python = TFCKPT_SYSTEM_PYTHON;
  if (python.empty() || !fs::exists(python))
    GTEST_SKIP() << "system python3 not found (TFCKPT_SYSTEM_PYTHON='" << python << "'); apt-get install python3";
  tfckpt_testing::scratch_dir dir;
  const std::vector<std::pair<std::string, std::string>> members = {
      {"a.npy", "hello"}, {"scope/b.npy", std::string(100000, 'x')}, {"caf\xc3\xa9.npy", ""}};
  for (const bool zip64 : {false, true}) {
    const fs::path path = dir / (zip64 ? "z64.zip" : "z.zip");
    const std::string bytes = archive(members, zip64);
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    const std::string script =
        "import sys, zipfile\n"
        "z = zipfile.ZipFile(sys.argv[1])\n"
        "assert z.testzip() is None\n"
        "for i in z.infolist(): print(i.filename, i.file_size, len(z.read(i)), i.compress_type)\n";
    FILE* pipe = ::popen(("'" + python + "' -c '" + script + "' " + path.string() + " 2>&1").c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string out;
    char buf[4096];
    std::size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, got);
    EXPECT_EQ(::pclose(pipe), 0) << out;
    EXPECT_EQ(out, "a.npy 5 5 0\nscope/b.npy 100000 100000 0\ncaf\xc3\xa9.npy 0 0 0\n") << (zip64 ? "ZIP64" : "plain");
  }
}

}  // namespace

}  // namespace zip_test
