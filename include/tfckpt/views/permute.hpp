// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/permute.hpp
//
// Reordering the axes of tensors in a pipeline: views::permute(axes) is std::views::transform over
// tensors, with numpy.transpose's convention: output shape[i] = input shape[axes[i]] (a TensorFlow
// conv kernel HWIO -> PyTorch's OIHW is {3, 2, 0, 1}); views::transpose() is permute({1, 0}), for
// rank-2 tensors (a Dense kernel [in, out] -> a Linear weight [out, in]).
//
//   entries(ckpt) | views::transpose({.select = name_glob("*/kernel")})
//   entries(ckpt) | views::permute({3, 2, 0, 1}, {.select = name_glob("conv*/kernel")})
//   tensor t2 = permuted(std::move(t), std::array{1, 0})
//
// Bytes are permuted, not values, so every fixed-size dtype works (elements of 1, 2, 4, 8 or 16
// bytes). A selected tensor whose rank is not axes.size(), axes that are not a permutation of
// 0..rank-1, and a string (or other variable-size) tensor become error tensors (kInvalidArgument
// naming the tensor, its shape and the axes). Tensors `select` rejects, identity permutations and
// tensors carrying an error pass unchanged (zero-copy). A permuted tensor keeps its origins;
// `stored` becomes nullptr.
//
// Cost: building the view, and permuting a tensor, reads nothing. The result's source is a reader:
// read(offset, span) computes just that byte range of the permuted tensor from the input's read()
// (for a stored entry in host order, straight from the mapped shard). Axes that stay together are
// merged first, so only a true reordering costs more than a copy: when the input's innermost axis
// stays innermost, the output is a sequence of contiguous input runs copied as they lie; otherwise
// the output is computed in tiles pairing the input's innermost axis with the output's (for a 2-D
// transpose: blocks of rows x columns), each read from the input as short contiguous runs into a
// buffer of at most tile_bytes and scattered into place. stream() walks the output in chunks of
// tile_bytes, or, when a mapped entry is tiled, of as many output rows as make its input runs 2 KiB
// long (at most 32 MiB): the working memory is that chunk and one tile, whatever the tensor's size;
// the whole input or output is never buffered.
//
// A mapped input is read by pread (entry::read) wherever a run is 64 bytes or longer, not through
// the mapping: a transpose touches every input row for each output chunk, and the kernel maps the
// 64 KiB around each touched page, so reading a 1 GiB matrix through the mapping made all of it
// resident. Shorter runs (input rows of a few elements) are copied from the mapping, whose pages
// are released every 16-64 MiB of output, timed so that a release drops mostly finished pages.
// Each run is a system call, so longer runs pay where calls are dear: `tfckpt convert --transpose`
// of a mapped 1 GiB float32 [16384, 16384] took 1.99 s at 39 MiB peak with 2 KiB runs, 3.02 s at
// 23 MiB with 1 KiB runs, and 2.53 s at 74 MiB with 4 KiB runs (64 MiB chunks; 4 MiB tiles, which
// scatter out of the cache).
#ifndef TFCKPT_VIEWS_PERMUTE_HPP_
#define TFCKPT_VIEWS_PERMUTE_HPP_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

struct permute_options {
  /// Which tensors to permute; the others pass unchanged. Empty: every tensor.
  std::function<bool(const tensor&)> select = {};
  /// Bounds the working memory of a permuted tensor's reads and stream: the tile buffer and the
  /// stream's output chunk hold at most this many bytes each (rounded up to one element).
  std::uint64_t tile_bytes = 1 << 20;
};

// Implementation details follow.
namespace detail {

// A permuted tensor's layout, with size-1 axes dropped and axes that stay adjacent merged: output
// dimension i has dims[i] elements, stepping strides[i] elements in the input.
struct permute_layout {
  std::size_t esize = 0;
  std::vector<std::uint64_t> dims;
  std::vector<std::uint64_t> strides;
  std::uint64_t elements = 0;
};

TFCKPT_DECL permute_layout reduce_permutation(const std::vector<std::int64_t>& shape, std::span<const int> axes,
                                              std::size_t esize);

// The input element offset of `index` over dimensions [from, to) of the layout (row-major there).
inline std::uint64_t input_offset(const permute_layout& p, std::size_t from, std::size_t to, std::uint64_t index) {
  std::uint64_t at = 0;
  for (std::size_t i = to; i-- > from;) {
    at += index % p.dims[i] * p.strides[i];
    index /= p.dims[i];
  }
  return at;
}

// Column `column` of a tile of rows `width` elements long, `count` rows of it, into consecutive
// output elements (see permute_source::read_tiled).
template <std::size_t N>
void scatter_column(const std::byte* tile, std::byte* dst, std::uint64_t column, std::uint64_t count, std::uint64_t width) {
  const std::byte* in = tile + column * N;
  for (std::uint64_t l = 0; l < count; ++l) std::memcpy(dst + l * N, in + l * width * N, N);
}

// The state behind a permuted tensor's source (shared by its copies).
class permute_source {
 public:
  permute_source(tensor in, permute_layout layout, std::uint64_t tile_bytes)
      : in_(std::move(in)), p_(std::move(layout)),
        tile_elements_(std::max<std::uint64_t>(1, tile_bytes / p_.esize)) {
    const entry* s = in_.stored;
    if (s != nullptr && s->dtype() == in_.dtype && s->size() == in_.size() && s->bytes_in_host_order()) stored_ = s;
  }

  std::uint64_t size() const { return p_.elements * p_.esize; }

  // Bytes [offset, offset + out.size()) of the permuted tensor; whole elements are computed into
  // place, a partial element at either end through a small buffer.
  absl::Status read(std::uint64_t offset, std::span<std::byte> out) const {
    const std::size_t es = p_.esize;
    TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> direct, direct_bytes());
    std::byte one[16];
    std::size_t done = 0;
    if (offset % es != 0) {
      const std::uint64_t e = offset / es;
      TFCKPT_RETURN_IF_ERROR(read_elements(direct, e, e + 1, one));
      done = std::min<std::size_t>(out.size(), es - offset % es);
      std::memcpy(out.data(), one + offset % es, done);
    }
    const std::uint64_t first = (offset + done) / es;
    const std::uint64_t whole = (out.size() - done) / es;
    TFCKPT_RETURN_IF_ERROR(read_elements(direct, first, first + whole, out.data() + done));
    done += static_cast<std::size_t>(whole * es);
    if (done < out.size()) {
      TFCKPT_RETURN_IF_ERROR(read_elements(direct, first + whole, first + whole + 1, one));
      std::memcpy(out.data() + done, one, out.size() - done);
    }
    return absl::OkStatus();
  }

  // The whole permuted tensor, a chunk of tile_bytes at a time.
  absl::Status stream(const byte_source::emit_fn& emit) const {
    if (p_.elements == 0) return absl::OkStatus();
    TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> direct, direct_bytes());
    const std::uint64_t chunk = std::min(stream_chunk(), p_.elements);
    const auto buffer = std::make_unique_for_overwrite<std::byte[]>(static_cast<std::size_t>(chunk * p_.esize));
    const std::uint64_t period = release_period();
    std::uint64_t since_release = 0;
    for (std::uint64_t e = 0; e < p_.elements; e += chunk) {
      const std::uint64_t n = std::min(chunk, p_.elements - e);
      TFCKPT_RETURN_IF_ERROR(read_elements(direct, e, e + n, buffer.get()));
      TFCKPT_RETURN_IF_ERROR(emit({buffer.get(), static_cast<std::size_t>(n * p_.esize)}));
      since_release += n * p_.esize;
      if (since_release >= period) {
        release_input();
        since_release = 0;
      }
    }
    release_input();
    return absl::OkStatus();
  }

 private:
  // The input's bytes when they lie in memory (a stored entry in host order, mapped, or a span);
  // empty when they must be read through the source.
  absl::StatusOr<std::span<const std::byte>> direct_bytes() const {
    if (stored_ != nullptr) {
      TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> bytes, stored_->bytes());
      if (bytes.size() != in_.size())
        return absl::DataLossError(absl::StrFormat("permute of '%s': the stored tensor holds %d bytes, expected %d",
                                                   printable_key(in_.name), bytes.size(), in_.size()));
      return bytes;
    }
    return in_.source.contiguous().value_or(std::span<const std::byte>());
  }

  void release_input() const {
    if (stored_ != nullptr && stored_->bytes_are_mapped()) {
      if (const auto bytes = stored_->bytes(); bytes.ok()) io::release_mapped_pages(*bytes, 0, bytes->size());
    } else {
      in_.source.release(0, in_.size());
    }
  }

  // Output bytes between releases of the input's pages: the output that a strip of input one page
  // wide (along its innermost axis that is not the output's innermost) spans, so that the pages a
  // release drops are mostly done with; within [16, 64] MiB.
  std::uint64_t release_period() const {
    constexpr std::uint64_t kPage = 4096, kMin = std::uint64_t{16} << 20, kMax = std::uint64_t{64} << 20;
    const std::size_t n = p_.dims.size();
    if (n < 2) return kMin;
    std::size_t q = 0;
    for (std::size_t i = 1; i + 1 < n; ++i)
      if (p_.strides[i] < p_.strides[q]) q = i;
    std::uint64_t out_stride = 1;
    for (std::size_t i = q + 1; i < n; ++i) out_stride *= p_.dims[i];
    const std::uint64_t strip = (kPage + p_.strides[q] * p_.esize - 1) / (p_.strides[q] * p_.esize);
    const double bytes = static_cast<double>(strip) * static_cast<double>(out_stride) * static_cast<double>(p_.esize);
    return bytes >= static_cast<double>(kMax) ? kMax : std::max(kMin, static_cast<std::uint64_t>(bytes));
  }

  // Output elements per stream() chunk: tile_elements_, or, when a mapped input is tiled, enough
  // output rows that the input runs are kLongRun bytes long (so that they can be read with pread),
  // up to kMaxChunk bytes.
  std::uint64_t stream_chunk() const {
    const std::size_t n = p_.dims.size();
    if (stored_ == nullptr || !stored_->bytes_are_mapped() || n < 2 || p_.strides[n - 1] == 1) return tile_elements_;
    std::size_t q = 0;
    while (p_.strides[q] != 1) ++q;
    std::uint64_t row = 1;  // output elements per index of q
    for (std::size_t i = q + 1; i < n; ++i) row *= p_.dims[i];
    const std::uint64_t rows = (kLongRun + p_.esize - 1) / p_.esize;
    const std::uint64_t most = kMaxChunk / p_.esize;
    return std::max(tile_elements_, row > most / rows ? most : rows * row);
  }

  // `count` input elements from element `at` into dst: from a mapped input, a long run by pread
  // (scattered touches of mapped pages would make the whole input resident: see the file comment),
  // a short one copied from the mapping.
  absl::Status read_run(std::span<const std::byte> direct, std::uint64_t at, std::uint64_t count, std::byte* dst) const {
    const std::size_t n = static_cast<std::size_t>(count * p_.esize);
    if (stored_ != nullptr && n >= kUnmappedRun && stored_->bytes_are_mapped())
      return stored_->read(at * p_.esize, {dst, n});
    if (!direct.empty()) {
      std::memcpy(dst, direct.data() + at * p_.esize, n);
      return absl::OkStatus();
    }
    return in_.source.read(at * p_.esize, {dst, n});
  }

  // Output elements [e0, e1) into dst.
  absl::Status read_elements(std::span<const std::byte> direct, std::uint64_t e0, std::uint64_t e1, std::byte* dst) const {
    if (e0 >= e1) return absl::OkStatus();
    const std::size_t n = p_.dims.size();
    if (n == 0) return read_run(direct, 0, e1 - e0, dst);  // a single element
    const std::uint64_t L = p_.dims[n - 1];
    if (p_.strides[n - 1] == 1) {  // the input's innermost axis stays innermost: contiguous runs
      for (std::uint64_t e = e0; e < e1;) {
        const std::uint64_t row = e / L, l = e % L;
        const std::uint64_t count = std::min(L - l, e1 - e);
        TFCKPT_RETURN_IF_ERROR(read_run(direct, input_offset(p_, 0, n - 1, row) + l, count, dst + (e - e0) * p_.esize));
        e += count;
      }
      return absl::OkStatus();
    }
    return read_tiled(direct, e0, e1, dst);
  }

  // The output as [A][Dq][M][L]: q is the dimension that steps 1 in the input (its innermost
  // axis), L the output's innermost; A and M the dimensions before and between. A tile is a block
  // of q-indices x a block of l-indices for one (a, m): L-many input runs of contiguous q-elements,
  // read into `tile` and scattered into the output rows.
  absl::Status read_tiled(std::span<const std::byte> direct, std::uint64_t e0, std::uint64_t e1, std::byte* dst) const {
    const std::size_t n = p_.dims.size();
    const std::size_t es = p_.esize;
    std::size_t q = 0;
    while (p_.strides[q] != 1) ++q;  // the reduction leaves exactly one stride-1 dimension
    const std::uint64_t Dq = p_.dims[q], L = p_.dims[n - 1], sL = p_.strides[n - 1];
    std::uint64_t M = 1;
    for (std::size_t i = q + 1; i + 1 < n; ++i) M *= p_.dims[i];
    const std::uint64_t row = M * L, panel = Dq * row;

    const std::uint64_t q_count = std::min(Dq, (e1 - 1) / row - e0 / row + 1);  // rows the range touches (or more)
    const auto side = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(tile_elements_)));
    const std::uint64_t Tq = std::clamp<std::uint64_t>(std::min(q_count, side), 1, Dq);
    const std::uint64_t Tl = std::clamp<std::uint64_t>(tile_elements_ / Tq, 1, L);
    const auto tile = std::make_unique_for_overwrite<std::byte[]>(static_cast<std::size_t>(Tq * Tl * es));

    for (std::uint64_t a = e0 / panel; a <= (e1 - 1) / panel; ++a) {
      const std::uint64_t pbase = a * panel;
      const std::uint64_t lo = std::max(e0, pbase) - pbase, hi = std::min(e1, pbase + panel) - pbase;
      const std::uint64_t in_a = input_offset(p_, 0, q, a);
      const std::uint64_t q_end = (hi - 1) / row + 1;
      for (std::uint64_t q0 = lo / row; q0 < q_end; q0 += Tq) {
        const std::uint64_t q1 = std::min(q0 + Tq, q_end);
        const std::uint64_t m_first = q1 - q0 == 1 ? lo > q0 * row ? (lo - q0 * row) / L : 0 : 0;
        const std::uint64_t m_last = q1 - q0 == 1 && hi < q1 * row ? (hi - q0 * row - 1) / L : M - 1;
        for (std::uint64_t m = m_first; m <= m_last; ++m) {
          const std::uint64_t in_m = in_a + (n > q + 2 ? input_offset(p_, q + 1, n - 1, m) : 0);
          for (std::uint64_t l0 = 0; l0 < L; l0 += Tl) {
            const std::uint64_t l1 = std::min(l0 + Tl, L);
            // Rows (q-indices) of this tile inside [lo, hi), and the l-range they need.
            std::uint64_t qa = q1, qb = q0, lu0 = l1, lu1 = l0;
            for (std::uint64_t iq = q0; iq < q1; ++iq) {
              const std::uint64_t base = iq * row + m * L;
              const std::uint64_t r0 = std::max(l0, lo > base ? lo - base : 0);
              const std::uint64_t r1 = std::min(l1, hi > base ? hi - base : 0);
              if (r0 >= r1) continue;
              qa = std::min(qa, iq);
              qb = iq + 1;
              lu0 = std::min(lu0, r0);
              lu1 = std::max(lu1, r1);
            }
            if (qa >= qb) continue;
            const std::uint64_t width = qb - qa;
            // Only the first and last rows can be partial (the range is contiguous in the output):
            // for each l, the rows needing it are one run of q-indices.
            const auto row_range = [&](std::uint64_t iq) {
              const std::uint64_t base = iq * row + m * L;
              return std::pair<std::uint64_t, std::uint64_t>(std::max(l0, lo > base ? lo - base : 0),
                                                             std::min(l1, hi > base ? hi - base : 0));
            };
            const std::uint64_t first_from = row_range(qa).first, last_to = row_range(qb - 1).second;
            for (std::uint64_t l = lu0; l < lu1; ++l) {
              const std::uint64_t qs = qa + (l < first_from ? 1 : 0), qe = qb - (l >= last_to ? 1 : 0);
              if (qs < qe)
                TFCKPT_RETURN_IF_ERROR(
                    read_run(direct, in_m + l * sL + qs, qe - qs, tile.get() + ((l - lu0) * width + (qs - qa)) * es));
            }
            for (std::uint64_t iq = qa; iq < qb; ++iq) {
              const std::uint64_t base = iq * row + m * L;
              const std::uint64_t r0 = std::max(l0, lo > base ? lo - base : 0);
              const std::uint64_t r1 = std::min(l1, hi > base ? hi - base : 0);
              if (r0 >= r1) continue;
              std::byte* const to = dst + (pbase + base + r0 - e0) * es;
              const std::byte* const from = tile.get() + (r0 - lu0) * width * es;
              scatter(from, to, iq - qa, r1 - r0, width);
            }
          }
        }
      }
    }
    return absl::OkStatus();
  }

  void scatter(const std::byte* tile, std::byte* to, std::uint64_t column, std::uint64_t count, std::uint64_t width) const {
    switch (p_.esize) {
      case 1: scatter_column<1>(tile, to, column, count, width); break;
      case 2: scatter_column<2>(tile, to, column, count, width); break;
      case 4: scatter_column<4>(tile, to, column, count, width); break;
      case 8: scatter_column<8>(tile, to, column, count, width); break;
      default: scatter_column<16>(tile, to, column, count, width); break;
    }
  }

  static constexpr std::uint64_t kLongRun = 2048, kMaxChunk = std::uint64_t{32} << 20;
  static constexpr std::size_t kUnmappedRun = 64;

  tensor in_;
  permute_layout p_;
  std::uint64_t tile_elements_;
  const entry* stored_ = nullptr;  // the input's entry, when its bytes are used as stored
};

inline std::string axes_string(std::span<const int> axes) {
  std::string s = "{";
  for (std::size_t i = 0; i < axes.size(); ++i) absl::StrAppendFormat(&s, "%s%d", i ? ", " : "", axes[i]);
  return s + "}";
}

TFCKPT_DECL tensor permute_problem(const tensor& t, std::span<const int> axes, std::string what);

TFCKPT_DECL tensor permute_tensor(tensor t, std::span<const int> axes, std::uint64_t tile_bytes);

// What views::permute applies to each tensor.
struct permute_function {
  std::vector<int> axes;
  permute_options options;
  tensor operator()(tensor t) const {
    if (options.select && t.status.ok() && !options.select(t)) return t;
    return permute_tensor(std::move(t), axes, options.tile_bytes);
  }
};

}  // namespace detail

/// `t` with its axes reordered: output shape[i] = input shape[axes[i]] (see the file comment). Reads
/// nothing; problems give an error tensor.
inline tensor permuted(tensor t, std::span<const int> axes, std::uint64_t tile_bytes = permute_options{}.tile_bytes) {
  return detail::permute_tensor(std::move(t), axes, tile_bytes);
}

/// The adaptor object behind views::permute (see the file comment).
struct permute_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<R>
  auto operator()(R&& r, std::vector<int> axes, permute_options options = {}) const {
    return std::views::transform(std::forward<R>(r), detail::permute_function{std::move(axes), std::move(options)});
  }
  auto operator()(std::vector<int> axes, permute_options options = {}) const {
    return std::views::transform(detail::permute_function{std::move(axes), std::move(options)});
  }
};

/// The adaptor object behind views::transpose: permute({1, 0}).
struct transpose_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<R>
  auto operator()(R&& r, permute_options options = {}) const {
    return std::views::transform(std::forward<R>(r), detail::permute_function{{1, 0}, std::move(options)});
  }
  auto operator()(permute_options options = {}) const {
    return std::views::transform(detail::permute_function{{1, 0}, std::move(options)});
  }
};

namespace views {
/// Reorders the axes of the selected tensors, lazily and in bounded memory (see the file comment).
inline constexpr permute_fn permute{};
/// Transposes the selected rank-2 tensors (a selected tensor of another rank is an error tensor).
inline constexpr transpose_fn transpose{};
}  // namespace views

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_PERMUTE)

namespace tfckpt::detail {

TFCKPT_DECL permute_layout reduce_permutation(const std::vector<std::int64_t>& shape, std::span<const int> axes,
                                              std::size_t esize) {
  permute_layout p;
  p.esize = esize;
  std::vector<std::uint64_t> in_strides(shape.size());
  std::uint64_t stride = 1;
  for (std::size_t k = shape.size(); k-- > 0;) {
    in_strides[k] = stride;
    stride *= static_cast<std::uint64_t>(shape[k]);
  }
  p.elements = stride;
  for (const int a : axes) {
    const auto d = static_cast<std::uint64_t>(shape[static_cast<std::size_t>(a)]);
    if (d == 1) continue;
    const std::uint64_t s = in_strides[static_cast<std::size_t>(a)];
    if (!p.dims.empty() && p.strides.back() == d * s) {  // still adjacent in the input: one axis
      p.dims.back() *= d;
      p.strides.back() = s;
    } else {
      p.dims.push_back(d);
      p.strides.push_back(s);
    }
  }
  return p;
}

TFCKPT_DECL tensor permute_problem(const tensor& t, std::span<const int> axes, std::string what) {
  tensor out;
  out.name = t.name;
  out.dtype = t.dtype;
  out.shape = t.shape;
  out.origins = t.origins;
  out.status = absl::InvalidArgumentError(absl::StrFormat("permute of '%s' %s by axes %s: %s", printable_key(t.name),
                                                          shape_string(t.shape), axes_string(axes), what));
  return out;
}

TFCKPT_DECL tensor permute_tensor(tensor t, std::span<const int> axes, std::uint64_t tile_bytes) {
  if (!t.status.ok()) return t;
  const std::size_t rank = t.shape.size();
  if (axes.size() != rank)
    return permute_problem(t, axes, absl::StrFormat("%d axes for a tensor of rank %d", axes.size(), rank));
  std::vector<bool> seen(rank, false);
  for (const int a : axes) {
    if (a < 0 || static_cast<std::size_t>(a) >= rank || seen[static_cast<std::size_t>(a)])
      return permute_problem(t, axes, absl::StrFormat("the axes are not a permutation of 0..%d", static_cast<int>(rank) - 1));
    seen[static_cast<std::size_t>(a)] = true;
  }
  bool identity = true;
  for (std::size_t i = 0; i < rank; ++i) identity = identity && axes[i] == static_cast<int>(i);
  if (identity) return t;
  if (!is_fixed_size(t.dtype))
    return permute_problem(t, axes, absl::StrFormat("%s elements have no fixed size; only fixed-size dtypes can be permuted",
                                                    dtype_name(t.dtype)));
  const std::size_t es = element_size(t.dtype);
  const auto num = checked_num_elements(t.shape);
  if (!num || !checked_mul(*num, static_cast<std::int64_t>(es)) || static_cast<std::uint64_t>(*num) * es != t.size())
    return permute_problem(t, axes, absl::StrFormat("%s of that shape does not match its %d bytes", dtype_name(t.dtype), t.size()));

  tensor out;
  out.name = t.name;
  out.dtype = t.dtype;
  out.origins = t.origins;
  for (const int a : axes) out.shape.push_back(t.shape[static_cast<std::size_t>(a)]);
  permute_layout layout = reduce_permutation(t.shape, axes, es);
  if (layout.dims.size() < 2) {  // only size-1 axes move: the same bytes
    out.source = t.source;
    return out;
  }
  auto state = std::make_shared<const permute_source>(std::move(t), std::move(layout), tile_bytes);
  const std::uint64_t size = state->size();
  out.source = byte_source::from_reader(
      size, [state](std::uint64_t offset, std::span<std::byte> bytes) { return state->read(offset, bytes); },
      [state](const byte_source::emit_fn& emit) { return state->stream(emit); });
  return out;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_VIEWS_PERMUTE

#endif  // TFCKPT_VIEWS_PERMUTE_HPP_
