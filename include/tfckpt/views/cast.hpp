// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/cast.hpp
//
// Changing the dtype of tensors in a pipeline: views::cast(target) is std::views::transform over
// tensors. Metadata changes at once (dtype, byte count); the values are converted only when a sink
// streams the tensor, a bounded chunk at a time (cast_options::chunk_elements, 8192 elements: at
// most 64 KiB in and 64 KiB out), never the whole tensor. The cast tensor's source is a reader:
// read(offset, span) converts just the elements that range covers, from the input's read() (so a
// cast composes under average, concat_by_group and permute); stream() streams the input once.
//
//   entries(ckpt) | views::cast(dtype::bfloat16)                     // every floating-point tensor
//   entries(ckpt) | views::cast(dtype::float32, {.select = name_glob("dense/*")})
//
// Conversions (numeric dtypes: float16, bfloat16, float32, float64, int8..int64, uint8..uint64, bool):
//  - to a floating-point type: rounded to nearest, ties to even, in one step (a float64 or integer
//    going to float16/bfloat16 is rounded once, correctly, through float32 rounded to odd; only
//    64-bit integers beyond 2^53 are rounded twice, through float64). Values beyond the target's
//    range become ±inf; NaN stays NaN.
//  - floating-point to integer: truncated toward zero, as tf.cast does. NaN and values whose
//    truncation the target cannot hold are errors (tf.cast leaves them undefined): kInvalidArgument
//    naming the tensor, the element index and the value. This is found only while the values stream,
//    so it is the sink that reports it (and, being atomic, writes nothing).
//  - integer to integer: exact; a value the target cannot hold is the same streaming error.
//  - to bool: x != 0 (NaN is true); from bool: 0 or 1 (any non-zero stored byte reads as true).
//
// Tensors `select` rejects, tensors already of the target dtype, and tensors carrying an error pass
// unchanged (still zero-copy). A selected string tensor is an error tensor (kInvalidArgument); a
// selected complex, quantized, float8 or 4-bit tensor, or a non-numeric target, is an error tensor
// (kUnimplemented / kInvalidArgument). Cast tensors keep their origins; `stored` becomes nullptr.
#ifndef TFCKPT_VIEWS_CAST_HPP_
#define TFCKPT_VIEWS_CAST_HPP_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

/// True for float16, bfloat16, float32 and float64.
constexpr bool is_floating_point(dtype t) {
  return t == dtype::float16 || t == dtype::bfloat16 || t == dtype::float32 || t == dtype::float64;
}

/// True for the dtypes views::cast converts: floating point, int8..int64, uint8..uint64, bool.
constexpr bool is_castable(dtype t) {
  switch (t) {
    case dtype::float16: case dtype::bfloat16: case dtype::float32: case dtype::float64:
    case dtype::int8: case dtype::int16: case dtype::int32: case dtype::int64:
    case dtype::uint8: case dtype::uint16: case dtype::uint32: case dtype::uint64:
    case dtype::boolean: return true;
    default: return false;
  }
}

/// A predicate for views::filter and cast_options::select: floating-point tensors.
inline auto floating_point() {
  return [](const tensor& t) { return is_floating_point(t.dtype); };
}

struct cast_options {
  /// Which tensors to cast; the others pass unchanged. Default: floating-point tensors only (an
  /// int64 global_step cast to bfloat16 is rarely what anyone wants). Empty: every tensor.
  std::function<bool(const tensor&)> select = floating_point();
  /// Elements converted per step of the streaming producer (bounds its buffers).
  std::size_t chunk_elements = 8192;
};

// Implementation details follow.
namespace detail {

// A bool as stored: any byte, read without forming a bool from it (which is UB unless 0 or 1).
struct bool_byte {
  std::uint8_t v;
};

template <class T>
inline constexpr bool is_half_like = std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>;
template <class T>
inline constexpr bool is_float_like = std::is_floating_point_v<T> || is_half_like<T>;

// `d` rounded to float32 "to odd": truncated, with the last mantissa bit set when inexact. Rounding
// that to a type with at least two fewer mantissa bits (float16: 11, bfloat16: 8) to nearest-even
// gives the correctly rounded result of `d` (Boldo & Melquiond, "When double rounding is odd").
inline float round_to_odd_float(double d) {
  float f = static_cast<float>(d);
  if (std::isnan(d) || static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  bits |= 1u;
  std::memcpy(&f, &bits, sizeof bits);
  return f;
}

// `d` in a floating-point type Out, rounded once to nearest even.
template <class Out>
Out narrow_float(double d) {
  if constexpr (is_half_like<Out>) {
    return Out(round_to_odd_float(d));
  } else {
    return static_cast<Out>(d);
  }
}

// The element value for messages.
template <class In>
std::string element_string(In x) {
  if constexpr (std::is_same_v<In, bool_byte>) {
    return absl::StrFormat("%d", x.v);
  } else if constexpr (std::is_same_v<In, double>) {
    return absl::StrFormat("%.17g", x);
  } else if constexpr (is_float_like<In>) {
    return absl::StrFormat("%.9g", static_cast<double>(static_cast<float>(x)));
  } else {
    return absl::StrFormat("%d", x);
  }
}

// Converts one element; false when Out cannot hold it (see the file comment).
template <class Out, class In>
bool convert_element(In x, Out& y) {
  if constexpr (std::is_same_v<In, bool_byte>) {
    return convert_element<Out>(static_cast<std::uint8_t>(x.v != 0 ? 1 : 0), y);
  } else if constexpr (std::is_same_v<Out, bool_byte>) {
    if constexpr (is_half_like<In>) {
      y.v = static_cast<float>(x) != 0.0f ? 1 : 0;
    } else {
      y.v = x != In(0) ? 1 : 0;
    }
    return true;
  } else if constexpr (is_float_like<Out>) {
    if constexpr (std::is_same_v<In, float> || is_half_like<In>) {
      y = Out(static_cast<float>(x));  // float → float16/bfloat16: rounded to nearest even
    } else if constexpr (std::is_same_v<Out, float> || std::is_same_v<Out, double>) {
      y = static_cast<Out>(x);  // one IEEE rounding
    } else {
      y = narrow_float<Out>(static_cast<double>(x));
    }
    return true;
  } else if constexpr (is_float_like<In>) {
    // Truncate toward zero; the limits are powers of two, exact as doubles.
    const double t = std::trunc(static_cast<double>(static_cast<std::conditional_t<is_half_like<In>, float, In>>(x)));
    constexpr int digits = std::numeric_limits<Out>::digits;  // 7 for int8 ... 64 for uint64
    constexpr double hi = 2.0 * static_cast<double>(std::uint64_t{1} << (digits - 1));  // exclusive
    constexpr double lo = std::is_signed_v<Out> ? -hi : 0.0;
    if (!(t >= lo && t < hi)) return false;  // also NaN
    y = static_cast<Out>(t);
    return true;
  } else {
    if (!std::in_range<Out>(x)) return false;
    y = static_cast<Out>(x);
    return true;
  }
}

// Converts n elements from `in` (any alignment) to `out`; returns the index of the first element
// Out cannot hold (its value in *bad_value), or n.
using convert_fn = std::size_t (*)(const std::byte* in, std::byte* out, std::size_t n, std::string* bad_value);

template <class Out, class In>
std::size_t convert_elements(const std::byte* in, std::byte* out, std::size_t n, std::string* bad_value) {
  for (std::size_t i = 0; i < n; ++i) {
    In x;
    std::memcpy(&x, in + i * sizeof(In), sizeof(In));
    Out y;
    if (!convert_element<Out>(x, y)) {
      *bad_value = element_string(x);
      return i;
    }
    std::memcpy(out + i * sizeof(Out), &y, sizeof(Out));
  }
  return n;
}

// Calls f(std::type_identity<T>{}) with the element type views::cast uses for `t`; false for
// dtypes it does not convert.
template <class F>
bool visit_cast_type(dtype t, F&& f) {
  switch (t) {
    case dtype::float32: f(std::type_identity<float>{}); return true;
    case dtype::float64: f(std::type_identity<double>{}); return true;
    case dtype::float16: f(std::type_identity<float16>{}); return true;
    case dtype::bfloat16: f(std::type_identity<bfloat16>{}); return true;
    case dtype::int8: f(std::type_identity<std::int8_t>{}); return true;
    case dtype::int16: f(std::type_identity<std::int16_t>{}); return true;
    case dtype::int32: f(std::type_identity<std::int32_t>{}); return true;
    case dtype::int64: f(std::type_identity<std::int64_t>{}); return true;
    case dtype::uint8: f(std::type_identity<std::uint8_t>{}); return true;
    case dtype::uint16: f(std::type_identity<std::uint16_t>{}); return true;
    case dtype::uint32: f(std::type_identity<std::uint32_t>{}); return true;
    case dtype::uint64: f(std::type_identity<std::uint64_t>{}); return true;
    case dtype::boolean: f(std::type_identity<bool_byte>{}); return true;
    default: return false;
  }
}

TFCKPT_DECL convert_fn find_convert_fn(dtype from, dtype to);

TFCKPT_DECL tensor cast_problem(const tensor& t, absl::Status status);

// The streaming producer of a cast tensor: re-chunks the input into whole elements in a fixed
// buffer, converts, emits.
TFCKPT_DECL byte_source::producer_fn cast_producer(tensor in, dtype to, convert_fn convert, std::size_t chunk);

// Random access into a cast tensor: converts only the elements that bytes [offset, offset + n)
// of the output cover, chunk elements at a time, from the same elements of the input's read().
TFCKPT_DECL byte_source::reader_fn cast_reader(tensor in, dtype to, convert_fn convert, std::size_t chunk);

// One tensor through views::cast.
TFCKPT_DECL tensor cast_tensor(tensor t, dtype to, const cast_options& options);

// What views::cast applies to each tensor.
struct cast_function {
  dtype target;
  cast_options options;
  tensor operator()(tensor t) const { return cast_tensor(std::move(t), target, options); }
};

}  // namespace detail

/// The adaptor object behind views::cast (see the file comment).
struct cast_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<R>
  auto operator()(R&& r, dtype target, cast_options options = {}) const {
    return std::views::transform(std::forward<R>(r), detail::cast_function{target, std::move(options)});
  }
  auto operator()(dtype target, cast_options options = {}) const {
    return std::views::transform(detail::cast_function{target, std::move(options)});
  }
};

namespace views {
/// Casts the selected tensors to `target`, lazily and in bounded memory (see the file comment).
inline constexpr cast_fn cast{};
}  // namespace views

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_CAST)

namespace tfckpt::detail {

TFCKPT_DECL convert_fn find_convert_fn(dtype from, dtype to) {
  convert_fn fn = nullptr;
  visit_cast_type(from, [&]<class In>(std::type_identity<In>) {
    visit_cast_type(to, [&]<class Out>(std::type_identity<Out>) { fn = &convert_elements<Out, In>; });
  });
  return fn;
}

TFCKPT_DECL tensor cast_problem(const tensor& t, absl::Status status) {
  tensor out;
  out.name = t.name;
  out.dtype = t.dtype;
  out.shape = t.shape;
  out.origins = t.origins;
  out.status = std::move(status);
  return out;
}

TFCKPT_DECL byte_source::producer_fn cast_producer(tensor in, dtype to, convert_fn convert, std::size_t chunk) {
  return [in = std::move(in), to, convert, chunk](const byte_source::emit_fn& emit) -> absl::Status {
    const std::size_t in_size = element_size(in.dtype);
    const std::size_t out_size = element_size(to);
    const std::size_t in_cap = chunk * in_size;
    // 8-byte words: aligned for every element type, though conversion reads through memcpy anyway.
    const auto in_buf = std::make_unique_for_overwrite<std::uint64_t[]>((in_cap + 7) / 8);
    const auto out_buf = std::make_unique_for_overwrite<std::uint64_t[]>((chunk * out_size + 7) / 8);
    auto* const in_bytes = reinterpret_cast<std::byte*>(in_buf.get());
    auto* const out_bytes = reinterpret_cast<std::byte*>(out_buf.get());
    std::size_t filled = 0;
    std::uint64_t first_element = 0;
    const auto flush = [&]() -> absl::Status {
      const std::size_t n = filled / in_size;
      std::string bad_value;
      if (const std::size_t bad = convert(in_bytes, out_bytes, n, &bad_value); bad != n)
        return absl::InvalidArgumentError(absl::StrFormat(
            "cast of '%s' from %s to %s: element %d is %s, which %s cannot hold", printable_key(in.name),
            dtype_name(in.dtype), dtype_name(to), first_element + bad, bad_value, dtype_name(to)));
      first_element += n;
      filled = 0;
      return emit(std::span<const std::byte>(out_bytes, n * out_size));
    };
    TFCKPT_RETURN_IF_ERROR(in.source.stream([&](std::span<const std::byte> bytes) -> absl::Status {
      while (!bytes.empty()) {
        const std::size_t take = std::min(bytes.size(), in_cap - filled);
        std::memcpy(in_bytes + filled, bytes.data(), take);
        filled += take;
        bytes = bytes.subspan(take);
        if (filled == in_cap) TFCKPT_RETURN_IF_ERROR(flush());
      }
      return absl::OkStatus();
    }));
    if (filled % in_size != 0)
      return absl::InternalError(absl::StrFormat("cast of '%s': the source ended inside an element", printable_key(in.name)));
    return filled == 0 ? absl::OkStatus() : flush();
  };
}

TFCKPT_DECL byte_source::reader_fn cast_reader(tensor in, dtype to, convert_fn convert, std::size_t chunk) {
  return [in = std::move(in), to, convert, chunk](std::uint64_t offset, std::span<std::byte> out) -> absl::Status {
    const std::size_t in_size = element_size(in.dtype);
    const std::size_t out_size = element_size(to);
    const std::uint64_t first = offset / out_size;
    const std::uint64_t last = (offset + out.size() + out_size - 1) / out_size;  // exclusive
    const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, last - first));
    // Short reads (a transpose reads runs of a few elements) stay off the heap.
    constexpr std::size_t kSmall = 64;
    std::uint64_t small_in[kSmall], small_out[kSmall];
    std::unique_ptr<std::uint64_t[]> in_buf, out_buf;
    if (step > kSmall) {  // elements are at most 8 bytes
      in_buf = std::make_unique_for_overwrite<std::uint64_t[]>((step * in_size + 7) / 8);
      out_buf = std::make_unique_for_overwrite<std::uint64_t[]>((step * out_size + 7) / 8);
    }
    auto* const in_bytes = reinterpret_cast<std::byte*>(in_buf ? in_buf.get() : small_in);
    auto* const out_bytes = reinterpret_cast<std::byte*>(out_buf ? out_buf.get() : small_out);
    for (std::uint64_t e = first; e < last; e += step) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(step, last - e));
      TFCKPT_RETURN_IF_ERROR(in.source.read(e * in_size, {in_bytes, n * in_size}));
      std::string bad_value;
      if (const std::size_t bad = convert(in_bytes, out_bytes, n, &bad_value); bad != n)
        return absl::InvalidArgumentError(absl::StrFormat(
            "cast of '%s' from %s to %s: element %d is %s, which %s cannot hold", printable_key(in.name),
            dtype_name(in.dtype), dtype_name(to), e + bad, bad_value, dtype_name(to)));
      // The part of these converted elements that the requested range covers.
      const std::uint64_t lo = std::max(offset, e * out_size);
      const std::uint64_t hi = std::min<std::uint64_t>(offset + out.size(), (e + n) * out_size);
      std::memcpy(out.data() + (lo - offset), out_bytes + (lo - e * out_size), static_cast<std::size_t>(hi - lo));
    }
    return absl::OkStatus();
  };
}

TFCKPT_DECL tensor cast_tensor(tensor t, dtype to, const cast_options& options) {
  if (!t.status.ok() || t.dtype == to || (options.select && !options.select(t))) return t;
  if (!is_castable(to))
    return cast_problem(t, absl::InvalidArgumentError(absl::StrFormat(
                               "cast of '%s': %s is not a numeric dtype views::cast converts to", printable_key(t.name),
                               dtype_name(to))));
  if (t.dtype == dtype::string)
    return cast_problem(t, absl::InvalidArgumentError(absl::StrFormat(
                               "cast of '%s': a string tensor cannot be cast to %s (leave it out of cast_options::select)",
                               printable_key(t.name), dtype_name(to))));
  if (!is_castable(t.dtype))
    return cast_problem(t, absl::UnimplementedError(absl::StrFormat(
                               "cast of '%s': converting %s to %s is not supported", printable_key(t.name),
                               dtype_name(t.dtype), dtype_name(to))));
  const auto n = checked_num_elements(t.shape);
  if (!n || static_cast<std::uint64_t>(*n) * element_size(t.dtype) != t.size())
    return cast_problem(t, absl::InvalidArgumentError(absl::StrFormat(
                               "cast of '%s': %s %s does not match its %d bytes", printable_key(t.name),
                               dtype_name(t.dtype), shape_string(t.shape), t.size())));
  tensor out;
  out.name = t.name;
  out.dtype = to;
  out.shape = t.shape;
  out.origins = t.origins;
  const std::uint64_t size = static_cast<std::uint64_t>(*n) * element_size(to);
  const convert_fn convert = find_convert_fn(t.dtype, to);
  const std::size_t chunk = options.chunk_elements == 0 ? 1 : options.chunk_elements;
  const std::size_t in_size = element_size(t.dtype), out_size = element_size(to);
  byte_source::release_fn release = [in = t.source, in_size, out_size](std::uint64_t offset, std::uint64_t n) {
    in.release(offset / out_size * in_size, (n + out_size - 1) / out_size * in_size);
  };
  byte_source::reader_fn reader = cast_reader(t, to, convert, chunk);
  out.source = byte_source::from_reader(size, std::move(reader), cast_producer(std::move(t), to, convert, chunk),
                                        std::move(release));
  return out;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_VIEWS_CAST

#endif  // TFCKPT_VIEWS_CAST_HPP_
