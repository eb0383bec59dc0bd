// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/byte_source.hpp
//
// Where a tensor's bytes come from when it is written or read: a span (zero-copy, e.g. straight out
// of another checkpoint's mapped shard), an owned buffer, a reader that computes any byte range on
// request (what lazy views hand a sink, so that a concatenation, a cast or a transpose is never
// materialised), or a producer that can only emit every byte once, in order. The size is known up
// front; a producer that emits more or fewer bytes than it promised is an error.
//
// Two ways to get the bytes:
//  - stream(emit): every byte, in order. A span emits itself; a reader with its own streamer (e.g. a
//    mapped entry, which reads its shard in pieces by pread) runs that; any other reader is read in
//    chunks of kStreamChunk (1 MiB) into one buffer, calling release() behind each chunk, so memory
//    stays bounded whatever the size; a producer runs once.
//  - read(offset, out): bytes [offset, offset + out.size()). A span or owned buffer: a memcpy. A
//    reader: computes just that range. A producer-only source (from_producer) has no random access:
//    read() returns kUnimplemented (random_access() says so up front); build such a source with
//    from_reader instead. Every source the library's views produce is a reader.
// release(offset, size) is a hint that a range is not needed again soon (mapped pages may be dropped).
//
// Example:
//   auto src = tfckpt::byte_source::from_span(entry.bytes().value());
//   auto ramp = tfckpt::byte_source::from_reader(n, [](std::uint64_t offset, std::span<std::byte> out) {
//     for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::byte(offset + i);
//     return absl::OkStatus();
//   });
//   std::byte window[16];
//   TFCKPT_RETURN_IF_ERROR(ramp.read(1000, window));
#ifndef TFCKPT_TENSOR_BYTE_SOURCE_HPP_
#define TFCKPT_TENSOR_BYTE_SOURCE_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tfckpt/status.hpp"

namespace tfckpt {

class byte_source {
 public:
  /// Receives the next chunk; a non-OK status stops the producer.
  using emit_fn = std::function<absl::Status(std::span<const std::byte>)>;
  /// Emits every byte, in order, through `emit`.
  using producer_fn = std::function<absl::Status(const emit_fn&)>;
  /// Fills `out` with bytes [offset, offset + out.size()) of the source (the range is checked by
  /// read() before the call: it lies within size()).
  using reader_fn = std::function<absl::Status(std::uint64_t offset, std::span<std::byte> out)>;
  /// A hint that bytes [offset, offset + size) are not needed again soon.
  using release_fn = std::function<void(std::uint64_t offset, std::uint64_t size)>;

  /// Bytes per read() when stream() walks a reader without a streamer of its own.
  static constexpr std::size_t kStreamChunk = std::size_t{1} << 20;

  byte_source() = default;

  /// Borrows `bytes`: they must outlive every use of the source.
  static byte_source from_span(std::span<const std::byte> bytes) {
    byte_source s;
    s.size_ = bytes.size();
    s.span_ = bytes;
    return s;
  }
  /// Owns a copy of `bytes` (shared between copies of the source).
  static byte_source from_bytes(std::string bytes) {
    auto owned = std::make_shared<const std::string>(std::move(bytes));
    byte_source s = from_span({reinterpret_cast<const std::byte*>(owned->data()), owned->size()});
    s.owned_ = std::move(owned);
    return s;
  }
  /// A producer that will emit exactly `size` bytes when streamed. It has no random access (see the
  /// file comment): prefer from_reader.
  static byte_source from_producer(std::uint64_t size, producer_fn producer) {
    byte_source s;
    s.size_ = size;
    s.producer_ = std::move(producer);
    return s;
  }
  /// A source of `size` bytes that `reader` computes a range at a time. stream() runs `streamer`
  /// when given (it must emit the same bytes), else reads in chunks of kStreamChunk; release() calls
  /// `release` when given.
  static byte_source from_reader(std::uint64_t size, reader_fn reader, producer_fn streamer = {}, release_fn release = {}) {
    byte_source s;
    s.size_ = size;
    s.reader_ = std::move(reader);
    s.producer_ = std::move(streamer);
    s.release_ = std::move(release);
    return s;
  }

  std::uint64_t size() const { return size_; }
  /// The bytes as one span when they already sit in memory; nullopt for a reader or a producer.
  std::optional<std::span<const std::byte>> contiguous() const {
    if (producer_ || reader_) return std::nullopt;
    return span_;
  }
  /// False only for a producer-only source (from_producer), whose read() is kUnimplemented.
  bool random_access() const { return reader_ || !producer_; }

  /// Fills `out` with bytes [offset, offset + out.size()). Errors: kOutOfRange when the range goes
  /// past size(), kUnimplemented for a producer-only source, and whatever the reader reports.
  absl::Status read(std::uint64_t offset, std::span<std::byte> out) const {
    if (offset > size_ || out.size() > size_ - offset)
      return absl::OutOfRangeError(absl::StrFormat("read of bytes [%d, %d) from a byte source of %d bytes", offset,
                                                   offset + out.size(), size_));
    if (out.empty()) return absl::OkStatus();
    if (reader_) return reader_(offset, out);
    if (producer_)
      return absl::UnimplementedError(absl::StrFormat(
          "read of bytes [%d, %d): this byte source of %d bytes is a producer (from_producer), which can only be "
          "streamed from the start; build it with from_reader for random access",
          offset, offset + out.size(), size_));
    std::memcpy(out.data(), span_.data() + offset, out.size());
    return absl::OkStatus();
  }

  /// Hints that bytes [offset, offset + size) are not needed again soon; a no-op unless the source
  /// was given a release function.
  void release(std::uint64_t offset, std::uint64_t size) const {
    if (release_ && offset < size_) release_(offset, std::min(size, size_ - offset));
  }

  /// Streams the bytes through `emit`, checking that exactly size() bytes arrive.
  absl::Status stream(const emit_fn& emit) const {
    if (!producer_ && reader_) return stream_reads(emit);
    if (!producer_) return span_.empty() ? absl::OkStatus() : emit(span_);
    std::uint64_t seen = 0;
    TFCKPT_RETURN_IF_ERROR(producer_([&](std::span<const std::byte> chunk) -> absl::Status {
      if (chunk.size() > size_ - seen)
        return absl::InternalError(absl::StrFormat("byte source emitted more than its %d bytes", size_));
      seen += chunk.size();
      return emit(chunk);
    }));
    if (seen != size_)
      return absl::InternalError(absl::StrFormat("byte source emitted %d of its %d bytes", seen, size_));
    return absl::OkStatus();
  }

 private:
  absl::Status stream_reads(const emit_fn& emit) const {
    if (size_ == 0) return absl::OkStatus();
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size_, kStreamChunk));
    const auto buffer = std::make_unique_for_overwrite<std::byte[]>(chunk);
    for (std::uint64_t at = 0; at < size_; at += chunk) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size_ - at));
      TFCKPT_RETURN_IF_ERROR(reader_(at, {buffer.get(), n}));
      TFCKPT_RETURN_IF_ERROR(emit({buffer.get(), n}));
      release(at, n);
    }
    return absl::OkStatus();
  }

  std::uint64_t size_ = 0;
  std::span<const std::byte> span_;
  std::shared_ptr<const std::string> owned_;
  producer_fn producer_;  // with reader_: its streamer
  reader_fn reader_;
  release_fn release_;
};

}  // namespace tfckpt

#endif  // TFCKPT_TENSOR_BYTE_SOURCE_HPP_
