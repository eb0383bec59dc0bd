// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/average.hpp
//
// Averaging checkpoints (checkpoint averaging, "model soup"): views::average() groups the
// same-named tensors of several checkpoints joined with entries({&a, &b, ...}) — a tensor's
// origins[0].checkpoint_index says which checkpoint it is from — and yields one tensor per name:
//
//  - float16, bfloat16, float32, float64 (and complex64/complex128): the element-wise weighted mean
//    sum(w_i * x_i) / sum(w_i), accumulated in float64 (complex<double>), written back in the input
//    dtype rounded once to nearest even (float16/bfloat16 correctly, through float32 rounded to odd).
//  - every other dtype (int64 global_step, iteration counters, bool, strings such as TF2's
//    _CHECKPOINTABLE_OBJECT_GRAPH): not averaged; by default the tensor of the LAST checkpoint that
//    has it passes unchanged (zero-copy); average_options::unaveraged picks the first instead, or
//    makes each such tensor an error.
//
// Planning, like rename: the adaptor walks the whole input's metadata once (no tensor byte is read)
// and holds the planned tensors. Problems become error tensors, which check_pipeline() and the sinks
// report all at once: a name missing from some checkpoints (kNotFound, naming them; unless
// allow_partial, see below), dtypes or shapes that differ (kInvalidArgument, naming every
// checkpoint with its dtype and shape), a name twice in one checkpoint, bad weights.
//
// Reading: an averaged tensor's source is a reader. read(offset, span) and stream() walk the elements
// concerned in chunks of chunk_elements (16384): for each chunk they read that element range of
// every member — straight from a stored member's bytes (a zero-copy sub-span of the mapped shard;
// copied into a small buffer only when misaligned), or through a computed member's read() (a cast,
// a byte-swapped entry, a permutation, a concatenation, ...) — accumulate, convert and write the
// mean. Peak memory is a few chunk-sized buffers, whatever the tensor's size; streaming emits one
// chunk at a time and releases the members' mapped pages behind it (every 4 MiB). A member
// whose source is producer-only (byte_source::from_producer, user code) has no random access: it
// is a kUnimplemented error tensor.
//
// Example:
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(
//       tfckpt::entries({&a, &b, &c}) | tfckpt::views::average(), "avg/model.ckpt"));
//   tfckpt::entries({&a, &b}) | tfckpt::views::average({.weights = {0.25, 0.75}})
#ifndef TFCKPT_VIEWS_AVERAGE_HPP_
#define TFCKPT_VIEWS_AVERAGE_HPP_

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/views/cast.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/planning_view.hpp"
#include "tfckpt/views/tensor.hpp"
#include "tfckpt/views/transform_names.hpp"

namespace tfckpt {

/// What views::average does with tensors it does not average (integers, bool, strings, ...).
enum class unaveraged_policy {
  last,   // the tensor of the last checkpoint that has it (the default: the newest step counter)
  first,  // the tensor of the first checkpoint that has it
  error,  // an error tensor (kInvalidArgument) for each
};

struct average_options {
  /// One weight per checkpoint (finite, >= 0, not all zero); empty: uniform. The mean is
  /// sum(w_i * x_i) / sum(w_i), so weights need not sum to 1.
  std::vector<double> weights{};
  unaveraged_policy unaveraged = unaveraged_policy::last;
  /// A name that only some checkpoints have: averaged over those that have it (their weights
  /// renormalised), or for unaveraged dtypes taken from the last/first of them. Off: an error.
  bool allow_partial = false;
  /// Number of joined checkpoints; 0: one more than the largest origins[0].checkpoint_index seen.
  std::size_t num_checkpoints = 0;
  /// Elements per step of an averaged tensor's producer (bounds its buffers).
  std::size_t chunk_elements = 16384;
};

/// True for the dtypes views::average averages: float16, bfloat16, float32, float64, complex64,
/// complex128.
constexpr bool is_averaged_dtype(dtype t) {
  return is_floating_point(t) || t == dtype::complex64 || t == dtype::complex128;
}

// Implementation details follow.
namespace detail {

// One member of an averaged tensor, as its reader needs it.
struct average_member {
  const entry* stored = nullptr;  // read straight from entry::bytes() when set (host order)
  byte_source source;             // else: read() ranges of it
  std::string label;              // "<checkpoint>:<name>" for messages
  double weight = 1;
};

template <class In>
using average_accumulator = std::conditional_t<std::is_same_v<In, std::complex<float>> || std::is_same_v<In, std::complex<double>>,
                                               std::complex<double>, double>;

template <class In>
In from_accumulator(average_accumulator<In> a) {
  if constexpr (std::is_same_v<In, std::complex<float>>) {
    return {static_cast<float>(a.real()), static_cast<float>(a.imag())};
  } else if constexpr (std::is_same_v<In, std::complex<double>>) {
    return a;
  } else {
    return narrow_float<In>(a);
  }
}

// The weighted mean of a range of elements of every member, a chunk at a time: what both the
// reader and the streamer of an averaged tensor compute.
class average_source {
 public:
  average_source(std::string name, dtype type, std::uint64_t num_elements, std::vector<average_member> members,
                 std::size_t chunk)
      : name_(std::move(name)), type_(type), num_elements_(num_elements), members_(std::move(members)), chunk_(chunk) {
    for (const average_member& m : members_) weight_sum_ += m.weight;
    std::erase_if(members_, [](const average_member& m) { return m.weight == 0; });  // contribute nothing: never read
  }

  std::uint64_t size() const { return num_elements_ * element_size(type_); }

  // Elements [first, first + count) into `out` (count * element size bytes).
  absl::Status elements(std::uint64_t first, std::uint64_t count, std::byte* out) const {
    return with_element_type([&]<class In>(std::type_identity<In>) {
      mean_buffers<In> buffers;
      return mean<In>(first, count, out, buffers);
    });
  }

  absl::Status read(std::uint64_t offset, std::span<std::byte> out) const {
    const std::size_t es = element_size(type_);
    const std::uint64_t first = offset / es, last = (offset + out.size() + es - 1) / es;
    if (offset % es == 0 && out.size() % es == 0) return elements(first, last - first, out.data());
    std::vector<std::byte> whole(static_cast<std::size_t>((last - first) * es));  // ends inside elements: rare
    TFCKPT_RETURN_IF_ERROR(elements(first, last - first, whole.data()));
    std::memcpy(out.data(), whole.data() + offset % es, out.size());
    return absl::OkStatus();
  }

  // Every element, chunk by chunk, in buffers allocated once; the members' pages are released behind.
  absl::Status stream(const byte_source::emit_fn& emit) const {
    return with_element_type([&]<class In>(std::type_identity<In>) -> absl::Status {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_, num_elements_));
      std::vector<In> out(n);
      mean_buffers<In> buffers;
      std::uint64_t released = 0;
      for (std::uint64_t e = 0; e < num_elements_; e += n) {
        const std::uint64_t m = std::min<std::uint64_t>(n, num_elements_ - e);
        TFCKPT_RETURN_IF_ERROR(mean<In>(e, m, reinterpret_cast<std::byte*>(out.data()), buffers));
        TFCKPT_RETURN_IF_ERROR(emit(std::as_bytes(std::span<const In>(out.data(), static_cast<std::size_t>(m)))));
        const std::uint64_t done = (e + m) * sizeof(In);
        if (done - released >= kReleaseEvery || e + m == num_elements_) {
          for (const average_member& member : members_) member.source.release(released, done - released);
          released = done;
        }
      }
      return absl::OkStatus();
    });
  }

 private:
  static constexpr std::uint64_t kReleaseEvery = std::uint64_t{4} << 20;

  // What mean() works in: sized on first use and reused by every later call with the same buffers,
  // so that streaming a tensor allocates once, not once per chunk.
  template <class In>
  struct mean_buffers {
    std::vector<std::span<const std::byte>> direct;
    std::vector<average_accumulator<In>> acc;
    std::vector<In> staged;
    std::vector<In> result;
  };

  // Calls f(std::type_identity<In>) with In the C++ type of the averaged dtype.
  template <class F>
  absl::Status with_element_type(F&& f) const {
    absl::Status status = absl::OkStatus();
    visit_element_type(type_, [&]<class In>(std::type_identity<In> type) {
      if constexpr (std::is_floating_point_v<In> || is_half_like<In> || std::is_same_v<In, std::complex<float>> ||
                    std::is_same_v<In, std::complex<double>>) {
        status = f(type);
      } else {
        status = absl::InternalError(absl::StrFormat("average of '%s': %s is not averaged", printable_key(name_), dtype_name(type_)));
      }
    });
    return status;
  }

  template <class In>
  absl::Status mean(std::uint64_t first, std::uint64_t count, std::byte* out, mean_buffers<In>& buffers) const {
    using Acc = average_accumulator<In>;
    // The input as Acc: float16/bfloat16 widen exactly through float.
    constexpr auto widen = [](const In& x) {
      if constexpr (is_half_like<In>) {
        return static_cast<Acc>(static_cast<float>(x));
      } else {
        return static_cast<Acc>(x);
      }
    };
    std::vector<std::span<const std::byte>>& direct = buffers.direct;
    direct.assign(members_.size(), {});
    for (std::size_t i = 0; i < members_.size(); ++i) {
      const average_member& m = members_[i];
      if (m.stored == nullptr) continue;
      TFCKPT_ASSIGN_OR_RETURN(direct[i], m.stored->bytes());
      if (direct[i].size() != size())
        return absl::DataLossError(absl::StrFormat("average of '%s': %s holds %d bytes, expected %d", printable_key(name_),
                                                   m.label, direct[i].size(), size()));
    }
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_, count));
    std::vector<Acc>& acc = buffers.acc;
    std::vector<In>& staged = buffers.staged;
    std::vector<In>& result = buffers.result;
    if (acc.size() < chunk) {
      acc.resize(chunk);
      staged.resize(chunk);
      result.resize(chunk);
    }
    for (std::uint64_t start = first; start < first + count; start += chunk) {
      const std::size_t m = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, first + count - start));
      std::fill_n(acc.begin(), m, Acc(0));
      for (std::size_t i = 0; i < members_.size(); ++i) {
        const In* x = staged.data();
        if (!direct[i].empty()) {
          const std::byte* p = direct[i].data() + start * sizeof(In);
          x = reinterpret_cast<const In*>(p);
          if (reinterpret_cast<std::uintptr_t>(p) % alignof(In) != 0) {  // packed shards: realign
            std::memcpy(staged.data(), p, m * sizeof(In));
            x = staged.data();
          }
        } else {
          TFCKPT_RETURN_IF_ERROR(members_[i].source.read(
              start * sizeof(In), {reinterpret_cast<std::byte*>(staged.data()), m * sizeof(In)}));
        }
        const double weight = members_[i].weight;
        if (weight == 1.0) {
          for (std::size_t j = 0; j < m; ++j) acc[j] += widen(x[j]);
        } else {
          const Acc w(weight);
          for (std::size_t j = 0; j < m; ++j) acc[j] += w * widen(x[j]);
        }
      }
      for (std::size_t j = 0; j < m; ++j) result[j] = from_accumulator<In>(acc[j] / weight_sum_);
      std::memcpy(out + (start - first) * sizeof(In), result.data(), m * sizeof(In));
    }
    return absl::OkStatus();
  }

  std::string name_;
  dtype type_;
  std::uint64_t num_elements_;
  std::vector<average_member> members_;
  std::size_t chunk_;
  double weight_sum_ = 0;
};

inline std::string checkpoint_label(const std::vector<std::string>& labels, std::size_t i) {
  return i < labels.size() && !labels[i].empty() ? labels[i] : absl::StrFormat("checkpoint #%d", i);
}

TFCKPT_DECL std::vector<tensor> plan_average(std::vector<tensor> in, const average_options& options);

// The planner behind views::average.
struct average_planner {
  average_options options;
  std::vector<tensor> operator()(std::vector<tensor> in) const { return plan_average(std::move(in), options); }
};

}  // namespace detail

/// The adaptor object behind views::average (see the file comment).
struct average_fn {
  template <std::ranges::viewable_range R>
    requires tensor_range<std::views::all_t<R>>
  auto operator()(R&& r, average_options options = {}) const {
    return views::planned(std::forward<R>(r), detail::average_planner{std::move(options)});
  }
  auto operator()(average_options options = {}) const { return views::planned(detail::average_planner{std::move(options)}); }
};

namespace views {
/// Averages same-named tensors across joined checkpoints (see the file comment).
inline constexpr average_fn average{};
}  // namespace views

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_AVERAGE)

namespace tfckpt::detail {

TFCKPT_DECL std::vector<tensor> plan_average(std::vector<tensor> in, const average_options& options) {
  std::vector<tensor> out;
  // How many checkpoints, and what to call them in messages.
  std::size_t n = options.num_checkpoints;
  if (n == 0)
    for (const tensor& t : in)
      if (t.status.ok() && !t.origins.empty()) n = std::max(n, t.origins[0].checkpoint_index + 1);
  std::vector<std::string> labels(n);
  for (const tensor& t : in)
    if (!t.origins.empty() && t.origins[0].checkpoint_index < n) labels[t.origins[0].checkpoint_index] = t.origins[0].checkpoint;

  std::vector<double> weights = options.weights.empty() ? std::vector<double>(n, 1.0) : options.weights;
  bool weights_ok = true;
  if (weights.size() != n) {
    out.push_back(problem(absl::InvalidArgumentError(absl::StrFormat(
        "average: %d weights for %d checkpoints (give one weight per checkpoint)", weights.size(), n))));
    weights_ok = false;
  }
  for (std::size_t i = 0; i < weights.size(); ++i)
    if (!std::isfinite(weights[i]) || weights[i] < 0) {
      out.push_back(problem(absl::InvalidArgumentError(absl::StrFormat(
          "average: the weight of %s is %g; weights must be finite and >= 0", checkpoint_label(labels, i), weights[i]))));
      weights_ok = false;
    }

  // Group by name, in order of first appearance; members indexed by checkpoint.
  struct group {
    std::string name;
    std::vector<const tensor*> members;  // [checkpoint index], nullptr where absent
  };
  std::vector<group> groups;
  std::map<std::string, std::size_t, std::less<>> group_of;
  for (const tensor& t : in) {
    if (!t.status.ok()) {
      out.push_back(t);  // an earlier adaptor's finding: passed on
      continue;
    }
    if (t.origins.empty() || t.origins[0].checkpoint_index >= n) {
      out.push_back(problem(absl::InvalidArgumentError(absl::StrFormat(
                                "average: '%s' does not come from one of the %d joined checkpoints (use entries({&a, &b, ...}))",
                                printable_key(t.name), n)),
                            t.name));
      continue;
    }
    auto [it, fresh] = group_of.try_emplace(t.name, groups.size());
    if (fresh) groups.push_back({t.name, std::vector<const tensor*>(n, nullptr)});
    const tensor*& slot = groups[it->second].members[t.origins[0].checkpoint_index];
    if (slot != nullptr) {
      out.push_back(problem(absl::InvalidArgumentError(absl::StrFormat(
                                "average: '%s' occurs twice in %s", printable_key(t.name),
                                checkpoint_label(labels, t.origins[0].checkpoint_index))),
                            t.name));
      continue;
    }
    slot = &t;
  }

  for (const group& g : groups) {
    std::vector<std::size_t> present, absent;
    for (std::size_t i = 0; i < n; ++i) (g.members[i] != nullptr ? present : absent).push_back(i);
    const tensor& first = *g.members[present.front()];
    const tensor& last = *g.members[present.back()];
    const std::string key = printable_key(g.name);
    if (!absent.empty() && !options.allow_partial) {
      std::string missing;
      for (std::size_t i : absent) absl::StrAppendFormat(&missing, "%s%s", missing.empty() ? "" : ", ", checkpoint_label(labels, i));
      out.push_back(problem(absl::NotFoundError(absl::StrFormat(
                                "average: '%s' is in %d of %d checkpoints, missing from %s (allow_partial averages over "
                                "those that have it)", key, present.size(), n, missing)),
                            g.name));
      continue;
    }
    bool same = true;
    for (std::size_t i : present)
      same = same && g.members[i]->dtype == first.dtype && g.members[i]->shape == first.shape;
    if (!same) {
      std::string each;
      for (std::size_t i : present)
        absl::StrAppendFormat(&each, "%s%s: %s %s", each.empty() ? "" : "; ", checkpoint_label(labels, i),
                              dtype_name(g.members[i]->dtype), shape_string(g.members[i]->shape));
      out.push_back(problem(absl::InvalidArgumentError(absl::StrFormat(
                                "average: '%s' differs in dtype or shape across checkpoints: %s", key, each)),
                            g.name));
      continue;
    }
    if (!is_averaged_dtype(first.dtype)) {
      switch (options.unaveraged) {
        case unaveraged_policy::last: out.push_back(last); break;
        case unaveraged_policy::first: out.push_back(first); break;
        case unaveraged_policy::error:
          out.push_back(problem(absl::InvalidArgumentError(absl::StrFormat(
                                    "average: '%s' is %s, which is not averaged (unaveraged_policy::error)", key,
                                    dtype_name(first.dtype))),
                                g.name));
          break;
      }
      continue;
    }
    if (!weights_ok) continue;  // reported once above
    const auto num = checked_num_elements(first.shape);
    if (!num || static_cast<std::uint64_t>(*num) * element_size(first.dtype) != first.size()) {
      out.push_back(problem(absl::InvalidArgumentError(absl::StrFormat(
                                "average: '%s' is %s %s but holds %d bytes", key, dtype_name(first.dtype),
                                shape_string(first.shape), first.size())),
                            g.name));
      continue;
    }
    double weight_sum = 0;
    std::vector<average_member> members;
    std::string unreadable;
    tensor o;
    o.name = g.name;
    o.dtype = first.dtype;
    o.shape = first.shape;
    for (std::size_t i : present) {
      const tensor& t = *g.members[i];
      average_member m;
      if (t.stored != nullptr && t.stored->dtype() == t.dtype && t.stored->size() == t.size() &&
          t.stored->bytes_in_host_order()) {
        m.stored = t.stored;
        m.source = t.source;  // for release()
      } else if (t.source.random_access()) {
        m.source = t.source;
      } else {
        absl::StrAppendFormat(&unreadable, "%s%s", unreadable.empty() ? "" : ", ", checkpoint_label(labels, i));
      }
      m.label = absl::StrFormat("%s:%s", checkpoint_label(labels, i), printable_key(t.origins[0].name));
      m.weight = weights[i];
      weight_sum += m.weight;
      members.push_back(std::move(m));
      o.origins.push_back(t.origins[0]);
    }
    if (!unreadable.empty()) {
      out.push_back(problem(absl::UnimplementedError(absl::StrFormat(
                                "average: '%s' from %s is a producer-only byte source (byte_source::from_producer), "
                                "which cannot be read in ranges; build it with byte_source::from_reader", key, unreadable)),
                            g.name));
      continue;
    }
    if (!(weight_sum > 0)) {
      out.push_back(problem(absl::InvalidArgumentError(absl::StrFormat(
                                "average: the weights of the checkpoints holding '%s' sum to 0", key)),
                            g.name));
      continue;
    }
    auto state = std::make_shared<const average_source>(g.name, first.dtype, static_cast<std::uint64_t>(*num), std::move(members),
                                                         options.chunk_elements == 0 ? 1 : options.chunk_elements);
    o.source = byte_source::from_reader(
        first.size(), [state](std::uint64_t offset, std::span<std::byte> bytes) { return state->read(offset, bytes); },
        [state](const byte_source::emit_fn& emit) { return state->stream(emit); });
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_VIEWS_AVERAGE

#endif  // TFCKPT_VIEWS_AVERAGE_HPP_
