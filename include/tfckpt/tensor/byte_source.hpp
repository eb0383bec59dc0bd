// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/byte_source.hpp
//
// Where a tensor's bytes come from when it is written: a span (zero-copy, e.g. straight out of
// another checkpoint's mapped shard), an owned buffer, or a producer that emits the bytes in chunks
// (what lazy views hand a sink, so that a concatenation is never materialised). The size is known
// up front; a producer that emits more or fewer bytes than it promised is an error.
//
// Example:
//   auto src = tfckpt::byte_source::from_span(entry.bytes().value());
//   auto gen = tfckpt::byte_source::from_producer(n, [&](const tfckpt::byte_source::emit_fn& emit) {
//     for (auto block : blocks) TFCKPT_RETURN_IF_ERROR(emit(block));
//     return absl::OkStatus();
//   });
#ifndef TFCKPT_TENSOR_BYTE_SOURCE_HPP_
#define TFCKPT_TENSOR_BYTE_SOURCE_HPP_

#include <cstddef>
#include <cstdint>
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
  /// A producer that will emit exactly `size` bytes when streamed.
  static byte_source from_producer(std::uint64_t size, producer_fn producer) {
    byte_source s;
    s.size_ = size;
    s.producer_ = std::move(producer);
    return s;
  }

  std::uint64_t size() const { return size_; }
  /// The bytes as one span when they already sit in memory; nullopt for a producer.
  std::optional<std::span<const std::byte>> contiguous() const {
    if (producer_) return std::nullopt;
    return span_;
  }

  /// Streams the bytes through `emit`, checking that exactly size() bytes arrive.
  absl::Status stream(const emit_fn& emit) const {
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
  std::uint64_t size_ = 0;
  std::span<const std::byte> span_;
  std::shared_ptr<const std::string> owned_;
  producer_fn producer_;
};

}  // namespace tfckpt

#endif  // TFCKPT_TENSOR_BYTE_SOURCE_HPP_
