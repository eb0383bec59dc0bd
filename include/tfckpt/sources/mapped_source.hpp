// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/sources/mapped_source.hpp
//
// What the readers of foreign formats share: a byte_source over bytes of a read-only mapped file.
// When streamed, the bytes are read with pread in 4 MiB pieces into one buffer and emitted from it,
// as a checkpoint's mapped shards are streamed: the first touch of a mapped page can cost more
// than copying it (on virtual machines that shadow the guest's page tables, reading a 1 GiB
// safetensors file through its mapping made `tfckpt import` take 2x the time of `cp`), and the
// resident set stays flat whatever the file's size. The source is also a reader (random access for
// views that read ranges, e.g. a transpose's tiles): read() takes a page or more by pread and
// copies less from the mapping; release() drops mapped pages. Elements stored in the other byte
// order than this host's are swapped on the way (tensor/byte_order.hpp): pipeline tensors hold
// bytes in host order.
//
// Example:
//   tensor.source = tfckpt::mapped_source(file, file.bytes().subspan(begin, n), dtype::float32, byte_order::little);
#ifndef TFCKPT_SOURCES_MAPPED_SOURCE_HPP_
#define TFCKPT_SOURCES_MAPPED_SOURCE_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/tensor/byte_order.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"

namespace tfckpt {

/// The bytes `bytes` (a part of file.bytes(); `file` outlives the source) of a fixed-size tensor of
/// dtype `t` stored in order `stored`, as a source that yields them in host order.
TFCKPT_DECL byte_source mapped_source(const io::mapped_file& file, std::span<const std::byte> bytes, dtype t,
                                      byte_order stored);

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_SOURCES_MAPPED_SOURCE)

namespace tfckpt {

TFCKPT_DECL byte_source mapped_source(const io::mapped_file& file, std::span<const std::byte> bytes, dtype t,
                                      byte_order stored) {
  const bool swap = needs_byte_swap(t, stored, host_byte_order);
  const io::mapped_file* f = &file;
  const std::uint64_t base = bytes.empty() ? 0 : static_cast<std::uint64_t>(bytes.data() - file.bytes().data());
  byte_source::producer_fn stream_in_pieces = [f, base, size = bytes.size(), t,
                                               swap](const byte_source::emit_fn& emit) -> absl::Status {
    constexpr std::size_t kPiece = std::size_t{4} << 20;
    if (size == 0) return absl::OkStatus();
    const auto buffer = std::make_unique_for_overwrite<std::byte[]>(std::min(kPiece, size));
    byte_order_converter to_host(swap ? t : dtype::uint8, emit);
    for (std::size_t at = 0; at < size;) {
      const std::span<std::byte> piece(buffer.get(), std::min(kPiece, size - at));
      TFCKPT_RETURN_IF_ERROR(f->read(base + at, piece));
      TFCKPT_RETURN_IF_ERROR(swap ? to_host(piece) : emit(piece));
      at += piece.size();
    }
    return to_host.finish();
  };
  // The readers check that the bytes are a whole number of elements before making a source.
  auto read_range = [f, base, bytes, width = swap ? swap_width(t) : std::size_t{1}](
                        std::uint64_t offset, std::span<std::byte> out) -> absl::Status {
    if (width == 1 && out.size() >= io::kUnmappedReadMin) return f->read(base + offset, out);
    swap_copy_range(bytes, offset, out, width);
    return absl::OkStatus();
  };
  auto release = [bytes](std::uint64_t offset, std::uint64_t size) { io::release_mapped_pages(bytes, offset, offset + size); };
  return byte_source::from_reader(bytes.size(), std::move(read_range), std::move(stream_in_pieces), std::move(release));
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_SOURCES_MAPPED_SOURCE

#endif  // TFCKPT_SOURCES_MAPPED_SOURCE_HPP_
