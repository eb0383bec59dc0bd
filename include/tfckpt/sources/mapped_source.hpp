// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/sources/mapped_source.hpp
//
// What the readers of foreign formats share: a byte_source over bytes of a read-only mapping. When
// streamed, the bytes are emitted straight from the mapping (no copy) in 4 MiB pieces, and each
// piece's pages are released once the sink has it, so that importing a file of any size keeps the
// resident set flat, as streaming a checkpoint's mapped shards does. The source is also a reader
// (random access for views that read ranges, e.g. a transpose's tiles): read() copies the range,
// release() drops its pages. Elements stored in the other byte order than this host's are swapped
// on the way (tensor/byte_order.hpp): pipeline tensors hold bytes in host order.
//
// Example:
//   tensor.source = tfckpt::mapped_source(file.bytes().subspan(begin, n), dtype::float32, byte_order::little);
#ifndef TFCKPT_SOURCES_MAPPED_SOURCE_HPP_
#define TFCKPT_SOURCES_MAPPED_SOURCE_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/tensor/byte_order.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"

namespace tfckpt {

/// The bytes `bytes` (inside a read-only file mapping that outlives the source) of a fixed-size
/// tensor of dtype `t` stored in order `stored`, as a source that yields them in host order.
TFCKPT_DECL byte_source mapped_source(std::span<const std::byte> bytes, dtype t, byte_order stored);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_SOURCES_MAPPED_SOURCE)

namespace tfckpt {

TFCKPT_DECL byte_source mapped_source(std::span<const std::byte> bytes, dtype t, byte_order stored) {
  const bool swap = needs_byte_swap(t, stored, host_byte_order);
  byte_source::producer_fn stream_in_pieces = [bytes, t, swap](const byte_source::emit_fn& emit) -> absl::Status {
    constexpr std::size_t kPiece = std::size_t{4} << 20;
    byte_order_converter to_host(swap ? t : dtype::uint8, emit);
    std::uint64_t released = 0;
    for (std::size_t at = 0; at < bytes.size(); at += kPiece) {
      const auto piece = bytes.subspan(at, std::min(kPiece, bytes.size() - at));
      TFCKPT_RETURN_IF_ERROR(swap ? to_host(piece) : emit(piece));
      released = io::release_mapped_pages(bytes, released, at + piece.size());
    }
    return to_host.finish();
  };
  // The readers check that the bytes are a whole number of elements before making a source.
  auto read_range = [bytes, width = swap ? swap_width(t) : std::size_t{1}](std::uint64_t offset,
                                                                         std::span<std::byte> out) -> absl::Status {
    swap_copy_range(bytes, offset, out, width);
    return absl::OkStatus();
  };
  auto release = [bytes](std::uint64_t offset, std::uint64_t size) { io::release_mapped_pages(bytes, offset, offset + size); };
  return byte_source::from_reader(bytes.size(), std::move(read_range), std::move(stream_in_pieces), std::move(release));
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_SOURCES_MAPPED_SOURCE

#endif  // TFCKPT_SOURCES_MAPPED_SOURCE_HPP_
