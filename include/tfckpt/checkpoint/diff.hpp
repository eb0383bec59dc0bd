// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/diff.hpp
//
// What differs between two checkpoints (what `tfckpt diff` prints): names only in A, only in B,
// tensors whose dtype or shape changed, and for every common tensor of the same dtype and shape
// whether its bytes are equal and, when not, the largest absolute difference between elements and
// how many elements differ. Equal bytes are found with one memcmp (no conversion); numeric
// differences are computed in double; two NaNs at the same place count as equal, a NaN against a
// number as a difference of +inf. String tensors are compared element by element.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(const auto d, tfckpt::diff_checkpoints(a, b));
//   if (!d.identical()) ...
#ifndef TFCKPT_CHECKPOINT_DIFF_HPP_
#define TFCKPT_CHECKPOINT_DIFF_HPP_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"

namespace tfckpt {

/// A tensor present in both checkpoints with another dtype or shape.
struct tensor_change {
  std::string name;
  tfckpt::dtype dtype_a = tfckpt::dtype::invalid, dtype_b = tfckpt::dtype::invalid;
  std::vector<std::int64_t> shape_a, shape_b;
};

/// A tensor present in both with the same dtype and shape.
struct tensor_comparison {
  std::string name;
  bool equal = false;            // byte for byte
  std::uint64_t differing = 0;   // elements that differ
  double max_abs_diff = 0;       // over numeric elements; +inf when a NaN meets a number
  bool numeric = true;           // false for strings, which have no difference, only inequality
};

struct checkpoint_diff {
  std::vector<std::string> only_in_a, only_in_b;
  std::vector<tensor_change> changed;
  std::vector<tensor_comparison> common;
  bool identical() const {
    return only_in_a.empty() && only_in_b.empty() && changed.empty() &&
           std::all_of(common.begin(), common.end(), [](const tensor_comparison& c) { return c.equal; });
  }
};

namespace detail {

template <class T>
double as_double(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? 1.0 : 0.0;
  } else {
    return static_cast<double>(v);
  }
}

// Element-wise comparison of two equally shaped tensors of one dtype.
TFCKPT_DECL absl::Status compare_values(const entry& a, const entry& b, tensor_comparison& c);

TFCKPT_DECL absl::StatusOr<std::string> host_order_copy(const entry& e);

}  // namespace detail

/// Compares `a` with `b` (see the file comment). Read errors of either checkpoint pass through,
/// naming the tensor. `progress`, if set, is called after each compared tensor with (bytes of `a`
/// compared, bytes of `a` to compare).
TFCKPT_DECL absl::StatusOr<checkpoint_diff> diff_checkpoints(
    const checkpoint& a, const checkpoint& b, const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_DIFF)

namespace tfckpt::detail {

TFCKPT_DECL absl::Status compare_values(const entry& a, const entry& b, tensor_comparison& c) {
  absl::Status inner;
  TFCKPT_RETURN_IF_ERROR(a.visit_values([&](const auto& va) {
    using V = std::decay_t<decltype(va)>;
    inner = b.visit_values([&](const auto& vb) {
      if constexpr (std::is_same_v<V, std::decay_t<decltype(vb)>>) {
        auto ia = va.begin();
        for (auto ib = vb.begin(); ib != vb.end() && ia != va.end(); ++ia, ++ib) {
          using T = std::decay_t<decltype(*ia)>;
          if constexpr (std::is_convertible_v<const T&, std::string_view>) {
            c.numeric = false;
            c.differing += std::string_view(*ia) != std::string_view(*ib);
          } else if constexpr (std::is_constructible_v<double, T> || std::is_same_v<T, bool>) {
            const double x = as_double(*ia), y = as_double(*ib);
            if (std::isnan(x) && std::isnan(y)) continue;
            if (x == y) continue;
            ++c.differing;
            const double d = std::isnan(x) || std::isnan(y) ? std::numeric_limits<double>::infinity() : std::abs(x - y);
            c.max_abs_diff = std::max(c.max_abs_diff, d);
          } else {  // complex: compare real and imaginary parts
            if (*ia == *ib) continue;
            ++c.differing;
            c.max_abs_diff = std::max(c.max_abs_diff, static_cast<double>(std::abs(*ia - *ib)));
          }
        }
      }
    });
  }));
  return inner;
}

TFCKPT_DECL absl::StatusOr<std::string> host_order_copy(const entry& e) {
  std::string out;
  out.reserve(static_cast<std::size_t>(e.size()));
  TFCKPT_RETURN_IF_ERROR(e.host_order_source().stream([&](std::span<const std::byte> piece) {
    out.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    return absl::OkStatus();
  }));
  return out;
}
}  // namespace tfckpt::detail

namespace tfckpt {

TFCKPT_DECL absl::StatusOr<checkpoint_diff> diff_checkpoints(
    const checkpoint& a, const checkpoint& b, const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  checkpoint_diff d;
  std::uint64_t total = 0, done = 0;
  if (progress)
    for (const entry& ea : a.entries())
      if (const entry* eb = b.find(ea.name()); eb != nullptr && ea.dtype() == eb->dtype() && std::ranges::equal(ea.shape(), eb->shape()))
        total += ea.size();
  for (const entry& e : a.entries())
    if (b.find(e.name()) == nullptr) d.only_in_a.emplace_back(e.name());
  for (const entry& e : b.entries())
    if (a.find(e.name()) == nullptr) d.only_in_b.emplace_back(e.name());
  for (const entry& ea : a.entries()) {
    const entry* eb = b.find(ea.name());
    if (eb == nullptr) continue;
    if (ea.dtype() != eb->dtype() || !std::ranges::equal(ea.shape(), eb->shape())) {
      d.changed.push_back({std::string(ea.name()), ea.dtype(), eb->dtype(),
                           std::vector<std::int64_t>(ea.shape().begin(), ea.shape().end()),
                           std::vector<std::int64_t>(eb->shape().begin(), eb->shape().end())});
      continue;
    }
    tensor_comparison c;
    c.name = std::string(ea.name());
    if (a.payload_order() == b.payload_order()) {
      TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> x, ea.bytes());
      TFCKPT_ASSIGN_OR_RETURN(const std::span<const std::byte> y, eb->bytes());
      c.equal = x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size()) == 0;
    } else {  // bundles of different byte order: compare the values, in host order
      TFCKPT_ASSIGN_OR_RETURN(const std::string x, detail::host_order_copy(ea));
      TFCKPT_ASSIGN_OR_RETURN(const std::string y, detail::host_order_copy(*eb));
      c.equal = x == y;
    }
    if (!c.equal) {
      const absl::Status s = detail::compare_values(ea, *eb, c);
      if (s.code() == absl::StatusCode::kUnimplemented) {
        c.max_abs_diff = std::numeric_limits<double>::quiet_NaN();  // no C++ element type (float8, int4)
      } else if (!s.ok()) {
        return s;
      }
    }
    d.common.push_back(std::move(c));
    done += ea.size();
    if (progress) progress(done, total);
  }
  return d;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_DIFF

#endif  // TFCKPT_CHECKPOINT_DIFF_HPP_
