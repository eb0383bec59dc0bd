// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/entry.hpp
//
// `tfckpt::entry`: one tensor of an open checkpoint (its metadata, and its bytes in a lazily mapped
// data shard). Part of checkpoint/checkpoint.hpp, which users include; the members are defined in
// checkpoint/bundle.hpp.
#ifndef TFCKPT_CHECKPOINT_ENTRY_HPP_
#define TFCKPT_CHECKPOINT_ENTRY_HPP_

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/tensor/tensor_values.hpp"

namespace tfckpt {

class checkpoint;
namespace detail {
struct bundle;
struct entry_access;
}
namespace io {
class mapped_file;
}

/// One tensor of a checkpoint: metadata, and its bytes in a (lazily) mapped data shard.
/// Entries are owned by their checkpoint and stay valid, at the same address, until it is
/// destroyed (moving the checkpoint does not move them).
class entry {
 public:
  /// The key; a NUL follows it in memory (name().data() is a C string), so it may be borrowed as one.
  std::string_view name() const;
  tfckpt::dtype dtype() const { return dtype_; }
  /// Dimension sizes, outermost first; empty for a scalar.
  shape_view shape() const;
  std::int64_t num_elements() const;
  /// The data shard holding the bytes (0 for a partitioned tensor, which has none of its own).
  std::int32_t shard() const { return shard_; }
  /// Byte offset of the payload in its shard.
  std::uint64_t offset() const { return num_slices_ != 0 ? 0 : offset_; }
  /// Payload bytes as stored (a partitioned tensor: the bytes of the assembled tensor).
  std::uint64_t size() const { return size_; }
  /// False when the stored bytes differ from the same values in this host's byte order: a tensor
  /// of multi-byte elements, or a string tensor, in a bundle of the other byte order. values<T>()
  /// and host_order_source() then swap into memory they own; bytes() stays as stored.
  bool bytes_in_host_order() const;
  /// The masked CRC-32C stored in the index (TensorFlow stores every CRC masked).
  std::uint32_t stored_crc32c() const { return masked_crc32c_; }
  /// True for a partitioned variable: its value is assembled from slice entries that plain
  /// iteration hides, as TensorFlow's reader does.
  bool is_partitioned() const { return num_slices_ != 0; }
  std::uint32_t num_slices() const { return num_slices_; }
  /// True when bytes() is a span into a mapped shard (pages that io::release_mapped_pages may
  /// drop), false when it is memory this reader owns (an assembled partitioned tensor, any tensor
  /// of a V1 checkpoint, whose values are decoded at open, or of a remote one, fetched on first use).
  bool bytes_are_mapped() const;
  /// Absolute offset of this entry's record in the index file (for messages).
  std::uint64_t index_offset() const { return index_offset_; }

  /// For a partitioned tensor: slice `i`'s extents, one per dimension ((0, -1) = the whole
  /// dimension, as TensorFlow stores it). REQUIRES: i < num_slices().
  std::span<const codec::slice_extent> slice_extents(std::uint32_t i) const;
  /// For a partitioned tensor: the hidden entry holding slice `i`'s bytes (its name is the encoded
  /// slice key, its shape the slice's). REQUIRES: i < num_slices().
  const entry& slice_entry(std::uint32_t i) const;

  /// The payload as stored, in the bundle's byte order, zero-copy: a span into the mapped shard
  /// (mapped now if needed). For a partitioned tensor, the tensor assembled from its slices, built
  /// once and cached. Errors: kNotFound (missing shard), kDataLoss (shard too short, bad slice),
  /// kUnimplemented.
  absl::StatusOr<std::span<const std::byte>> bytes() const;

  /// The payload in this host's byte order, as a lazy source for a writer or a pipeline: bytes()
  /// itself when bytes_in_host_order(), else swapped in pieces of 1 MiB as it streams (a string
  /// tensor: its length checksum re-encoded). Mapped pages are released as the stream passes them.
  /// The entry must outlive the source.
  byte_source host_order_source() const;

  /// Copies payload bytes [offset, offset + out.size()) into `out`, in this host's byte order (the
  /// bytes host_order_source() streams). A mapped tensor in host order is read with pread, without
  /// mapping its pages into this process (io::mapped_file::read): the way to read scattered ranges
  /// of a large tensor in bounded memory. For many reads of a few bytes, bytes() is cheaper.
  /// Errors name the data file, the tensor and the offset (kOutOfRange past size()).
  absl::Status read(std::uint64_t offset, std::span<std::byte> out) const;

  /// As read() of `rows` * `row` bytes from `offset`, each run of `row` bytes going `stride` bytes
  /// apart into `out` (io::mapped_file::read_rows): a mapped tensor in host order is read with a
  /// few preadv calls straight into place. kInvalidArgument unless the rows fit `out` at `stride`.
  absl::Status read_rows(std::uint64_t offset, std::size_t row, std::size_t rows, std::span<std::byte> out,
                         std::size_t stride) const;

  /// The elements as T, in this host's byte order (see tensor_values: zero-copy when aligned and
  /// bytes_in_host_order(), else a copy, swapped when the bundle has the other byte order).
  /// T must match dtype(): float for float32, Eigen::half for float16, Eigen::bfloat16, bool, ...
  template <class T>
  absl::StatusOr<tensor_values<T>> values() const;

  /// The elements of a DT_STRING tensor, as views into the mapped shard (length checksum checked).
  absl::StatusOr<std::vector<std::string_view>> strings() const;

  /// Calls f(const tensor_values<T>&) with T the C++ element type of dtype() (see
  /// visit_element_type), or f(const std::vector<std::string_view>&) for a string tensor.
  /// kUnimplemented for dtypes with no C++ element type (float8, int4, variant); read errors pass
  /// through.
  template <class F>
  absl::Status visit_values(F&& f) const;

  /// Recomputes the payload's CRC-32C and compares it with the stored one. `on_progress`, if set,
  /// is called with the bytes checked so far as the check proceeds (every 64 MiB).
  absl::Status verify(const std::function<void(std::uint64_t)>& on_progress = {}) const;

 private:
  friend struct detail::bundle;
  friend class checkpoint;
  friend struct detail::entry_access;
  absl::Status error_context(absl::Status s) const { return with_key(std::move(s), name()); }
  // read() of a mapped entry in host order, by pread. REQUIRES: the range lies within size().
  absl::Status read_unmapped(std::uint64_t offset, std::span<std::byte> out) const;
  // The mapped shard holding this tensor, once bytes [offset, offset + n) are checked to lie within
  // it (the shard mapped and long enough). REQUIRES: bytes_are_mapped().
  absl::StatusOr<const io::mapped_file*> mapped_shard_for(std::uint64_t offset, std::uint64_t n) const;
  // OK when `crc` (unmasked, over the stored bytes) is the checksum the index holds.
  absl::Status checksum_status(std::uint32_t crc) const;
  // OK when `raw`, this stored tensor's bytes, match the index's checksums (for strings also the
  // length checksum).
  absl::Status check_payload(std::span<const std::byte> raw, const std::function<void(std::uint64_t)>& on_progress) const;
  // CRC-32C of stored bytes [from, to) of a tensor in a mapped shard, read by pread into a reused
  // buffer rather than through the mapping. REQUIRES: bytes_are_mapped(), the range within size().
  absl::StatusOr<std::uint32_t> crc32c_by_pread(std::uint64_t from, std::uint64_t to,
                                                const std::function<void(std::uint64_t)>& on_progress) const;

  // Into bundle::slices: a partitioned tensor keeps its first slice where others keep their offset.
  std::uint32_t first_slice() const { return static_cast<std::uint32_t>(offset_); }

  // 64 bytes: a 1,000,000-entry checkpoint holds a million of them. The name and shape live in the
  // bundle's `keys` and `dims` arenas, addressed by position so that the arenas may grow while loading.
  const detail::bundle* owner_ = nullptr;
  std::uint64_t offset_ = 0;  // a partitioned tensor: first_slice()
  std::uint64_t size_ = 0;
  std::uint64_t index_offset_ = 0;
  std::uint32_t name_at_ = 0;  // into bundle::keys
  std::uint32_t name_size_ = 0;
  std::uint32_t dims_at_ = 0;  // into bundle::dims
  std::int32_t shard_ = 0;
  std::uint32_t masked_crc32c_ = 0;
  std::uint32_t num_slices_ = 0;
  tfckpt::dtype dtype_ = tfckpt::dtype::invalid;
  std::uint32_t rank_ = 0;
};
static_assert(sizeof(void*) != 8 || sizeof(entry) == 64, "entries are held by the million: keep them small");

}  // namespace tfckpt

#endif  // TFCKPT_CHECKPOINT_ENTRY_HPP_
