// SPDX-License-Identifier: Apache-2.0
// What every fuzz target shares: a per-process scratch directory, reading the input as fields,
// fixing an SSTable's block checksums so that mutations reach the bytes behind them, and the
// checks that turn a broken promise (an error that names no file) into a crash libFuzzer reports.
#ifndef TFCKPT_FUZZ_FUZZ_SUPPORT_HPP_
#define TFCKPT_FUZZ_FUZZ_SUPPORT_HPP_

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "absl/status/status.h"
#include "tfckpt/codec/block.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/detail/endian.hpp"

namespace tfckpt_fuzz {

/// Where scratch directories go: $TFCKPT_FUZZ_TMPDIR, else /dev/shm, else the system temp dir.
/// Memory-backed storage matters: rewriting a file per input on a disk file system costs a
/// writeback per close (ext4 flushes truncated-and-rewritten files) and runs 50x slower.
inline std::filesystem::path scratch_root() {
  std::error_code ec;
  if (const char* env = std::getenv("TFCKPT_FUZZ_TMPDIR"); env != nullptr && *env != '\0') return env;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return std::filesystem::temp_directory_path();
}

/// A directory for this process's files, created on first use and removed at exit. Per process
/// because libFuzzer's -jobs/-fork run several at once.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path root = scratch_root();
    // libFuzzer may leave with _Exit, skipping atexit: remove what dead runs left behind.
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(root, ec)) {
      const std::string name = f.path().filename().string();
      if (name.rfind("tfckpt-fuzz-", 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + 12, nullptr, 10);
      if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove_all(f.path(), ec);
    }
    const std::filesystem::path d = root / ("tfckpt-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

/// Protobuf logs every string field that is not UTF-8; hostile inputs have many. Silenced once.
inline const bool kProtobufLogsSilenced = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

/// Replaces `path` with `bytes`; aborts when the disk refuses (a harness problem, not a finding).
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
}

/// Reports a broken library promise and aborts, so that libFuzzer saves the input.
[[noreturn]] inline void broken_promise(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "broken promise: %.*s\nstatus: %s\n", static_cast<int>(what.size()), what.data(),
               status.ToString().c_str());
  std::abort();
}

/// Every error about bytes from a file must name that file.
inline void expect_names(const absl::Status& status, std::string_view file) {
  if (status.ok()) return;
  const std::string_view message(status.message().data(), status.message().size());
  if (message.find(file) == std::string_view::npos) broken_promise("the error does not name the file", status);
}

/// Reads the input front to back as little fields; past the end everything reads as zero.
class input_reader {
 public:
  input_reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{byte()} << (8 * i);
    return v;
  }
  /// A signed value biased towards small numbers, with an occasional extreme one.
  std::int64_t small_int() {
    const std::uint8_t b = byte();
    switch (b >> 6) {
      case 0: return b & 0x0f;
      case 1: return static_cast<std::int64_t>(b & 0x3f) - 32;
      case 2: return static_cast<std::int64_t>(u32());
      default: {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= std::uint64_t{byte()} << (8 * i);
        return static_cast<std::int64_t>(v);
      }
    }
  }
  std::string_view bytes(std::size_t n) {
    n = n < size_ - at_ ? n : size_ - at_;
    const std::string_view out(reinterpret_cast<const char*>(data_ + at_), n);
    at_ += n;
    return out;
  }
  std::string_view rest() { return bytes(size_ - at_); }
  bool empty() const { return at_ >= size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

namespace detail {
// Rewrites the trailer CRC of the block at `h` when the block lies inside `table`.
inline void fix_block_crc(std::span<std::byte> table, tfckpt::codec::block_handle h) {
  if (!tfckpt::codec::detail::block_fits(h, table.size())) return;
  std::byte* const stored = table.data() + h.offset;
  const std::uint32_t crc =
      tfckpt::codec::crc32c_extend(tfckpt::codec::crc32c({stored, static_cast<std::size_t>(h.size)}), stored + h.size, 1);
  tfckpt::detail::store_le(stored + h.size + 1, tfckpt::codec::crc32c_mask(crc));
}
}  // namespace detail

/// Rewrites the block checksums of the SSTable in `table` (metaindex, index, and every data block
/// the index names) so that they match the blocks' bytes. Without this a random mutation almost
/// always stops at the first checksum; the checksum path itself is fuzzed on unfixed inputs.
/// Leaves whatever it cannot locate untouched.
inline void fix_table_checksums(std::span<std::byte> table) {
  namespace codec = tfckpt::codec;
  const auto footer = codec::decode_footer("fuzz", table);
  if (!footer.ok()) return;
  detail::fix_block_crc(table, footer->metaindex);
  detail::fix_block_crc(table, footer->index);
  const auto index = codec::read_block("fuzz", table, footer->index, "index block");
  if (!index.ok()) return;
  const auto view = codec::block_view::parse(index->bytes(), index->location());
  if (!view.ok()) return;
  std::vector<codec::block_handle> handles;
  (void)view->for_each([&](std::string_view, std::span<const std::byte> value, std::uint64_t) {
    codec::block_handle h;
    if (codec::get_block_handle(value.data(), value.data() + value.size(), &h) != nullptr) handles.push_back(h);
    return absl::OkStatus();
  });
  for (const codec::block_handle& h : handles) detail::fix_block_crc(table, h);
}

}  // namespace tfckpt_fuzz

#endif  // TFCKPT_FUZZ_FUZZ_SUPPORT_HPP_
