// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/tensor.hpp
//
// What flows through a pipeline: a `tensor` is a name, a dtype, a shape — values cheap to read and
// change: taken from a checkpoint, the name, shape and origin borrow its decoded index (cow_string,
// cow_shape: no allocation per tensor) until a view assigns new ones — and a byte_source that stays
// lazy until a sink streams it. A tensor taken straight from a checkpoint points at its stored
// entry (zero-copy, byte-exact rewrites); computed tensors (a concatenation, an average) carry a
// producer instead. An adaptor that finds a problem (shapes that do not concatenate, a rename
// naming an absent key) yields a tensor whose `status` says so; sinks and plan() gather every such
// status and write nothing when there is one.
//
// `entries(ckpt)` starts a pipeline; `entries({&a, &b, ...})` joins several checkpoints, each tensor
// knowing which one it came from. Both are lazy views that borrow their checkpoints.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(auto ckpt, tfckpt::open("train/model.ckpt-1000"));
//   for (const tfckpt::tensor& t : tfckpt::entries(ckpt))
//     std::printf("%s from %s\n", t.name.c_str(), t.origins[0].checkpoint.c_str());
#ifndef TFCKPT_VIEWS_TENSOR_HPP_
#define TFCKPT_VIEWS_TENSOR_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/cow_shape.hpp"
#include "tfckpt/tensor/cow_string.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"

namespace tfckpt {

/// Where (part of) a pipeline tensor comes from.
struct tensor_origin {
  cow_string checkpoint;             // the source checkpoint's prefix
  std::size_t checkpoint_index = 0;  // its position among the joined checkpoints
  cow_string name;                   // the tensor's name there
  friend bool operator==(const tensor_origin& a, const tensor_origin& b) {
    return a.checkpoint == b.checkpoint && a.checkpoint_index == b.checkpoint_index && a.name == b.name;
  }
};

/// A tensor's origins: one for a stored tensor, kept inline; one per member for computed ones.
using tensor_origins = absl::InlinedVector<tensor_origin, 1>;

/// A tensor in a pipeline (see the file comment). A tensor read from a checkpoint borrows its name,
/// shape and origin from the checkpoint (no allocation); they are copied only when a view changes
/// them (cow_string, cow_shape), so read them as strings and spans and assign new values freely.
struct tensor {
  cow_string name;
  tfckpt::dtype dtype = tfckpt::dtype::invalid;
  cow_shape shape;
  byte_source source;
  tensor_origins origins;              // one for a stored tensor; one per member for computed ones
  const entry* stored = nullptr;       // the checkpoint entry this tensor is, unchanged (its bytes,
                                       // in host order: swapped if !stored->bytes_in_host_order())
  absl::Status status;                 // non-OK: an adaptor's finding about this tensor

  /// Payload bytes (in host byte order; for strings, the encoded form).
  std::uint64_t size() const { return source.size(); }
  std::int64_t num_elements() const { return checked_num_elements(shape).value_or(-1); }
};

namespace detail {
// Emits a stored entry's bytes in host order, in pieces read into one buffer, so that a pipeline's
// resident set does not grow with the bytes it streams.
inline absl::Status stream_stored(const entry& e, const byte_source::emit_fn& emit) {
  return e.host_order_source().stream(emit);
}
}  // namespace detail

/// A pipeline tensor for a checkpoint entry: its bytes are fetched (zero-copy, unless they must be
/// swapped into host order) only when streamed.
/// The name, shape and origin borrow from the entry and from `checkpoint_prefix`, which must outlive
/// the tensor (as the entry must).
TFCKPT_DECL tensor to_tensor(const entry& e, const std::string& checkpoint_prefix, std::size_t checkpoint_index = 0);

/// The tensors of `ckpt` in key order, as a lazy view (nothing is read until a sink asks).
/// The checkpoint is borrowed and must outlive the view: a temporary is refused.
inline auto entries(const checkpoint& ckpt ABSL_ATTRIBUTE_LIFETIME_BOUND) {
  const std::string* prefix = &ckpt.prefix();
  return ckpt.entries() | std::views::transform([prefix](const entry& e) { return to_tensor(e, *prefix, 0); });
}
auto entries(const checkpoint&&) = delete;

/// Several checkpoints' tensors, one checkpoint after the other, each in key order: a lazy view
/// (nothing is walked until it is iterated) over borrowed checkpoints. What entries({&a, &b}) returns.
/// (Written out rather than as std::views::join over transforms, which clang cannot compile with
/// libstdc++ 12.)
class joined_entries_view : public std::ranges::view_interface<joined_entries_view> {
 public:
  joined_entries_view() = default;
  explicit joined_entries_view(std::vector<const checkpoint*> checkpoints)
      : checkpoints_(std::make_shared<const std::vector<const checkpoint*>>(std::move(checkpoints))) {}

  class iterator {
   public:
    using value_type = tensor;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::forward_iterator_tag;
    iterator() = default;
    tensor operator*() const {
      const checkpoint& c = *(*checkpoints_)[ckpt_];
      return to_tensor(c.entries()[entry_], c.prefix(), ckpt_);
    }
    iterator& operator++() {
      ++entry_;
      skip_exhausted();
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.ckpt_ == b.ckpt_ && a.entry_ == b.entry_; }

   private:
    friend class joined_entries_view;
    iterator(const std::vector<const checkpoint*>* checkpoints, std::size_t ckpt) : checkpoints_(checkpoints), ckpt_(ckpt) {
      skip_exhausted();
    }
    void skip_exhausted() {
      while (ckpt_ < checkpoints_->size() && entry_ >= (*checkpoints_)[ckpt_]->entries().size()) {
        ++ckpt_;
        entry_ = 0;
      }
    }
    const std::vector<const checkpoint*>* checkpoints_ = nullptr;
    std::size_t ckpt_ = 0;
    std::size_t entry_ = 0;
  };

  iterator begin() const { return checkpoints_ ? iterator(checkpoints_.get(), 0) : iterator(); }
  iterator end() const { return checkpoints_ ? iterator(checkpoints_.get(), checkpoints_->size()) : iterator(); }

 private:
  std::shared_ptr<const std::vector<const checkpoint*>> checkpoints_;  // copies share it: O(1) copies
};

/// The tensors of several checkpoints, one after the other (each in key order); every tensor's
/// origin records which checkpoint it came from. Lazy, as entries(ckpt); the checkpoints are
/// borrowed and must outlive the view.
inline auto entries(std::initializer_list<const checkpoint*> checkpoints) {
  return joined_entries_view(std::vector<const checkpoint*>(checkpoints));
}
inline auto entries(std::span<const checkpoint> checkpoints ABSL_ATTRIBUTE_LIFETIME_BOUND) {
  std::vector<const checkpoint*> all;
  all.reserve(checkpoints.size());
  for (const checkpoint& c : checkpoints) all.push_back(&c);
  return joined_entries_view(std::move(all));
}
auto entries(std::vector<checkpoint>&&) = delete;

/// A range whose elements are pipeline tensors.
template <class R>
concept tensor_range = std::ranges::input_range<R> && std::convertible_to<std::ranges::range_reference_t<R>, tensor>;

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_TENSOR)

namespace tfckpt {

TFCKPT_DECL tensor to_tensor(const entry& e, const std::string& checkpoint_prefix, std::size_t checkpoint_index) {
  tensor t;
  t.name = cow_string::borrow(e.name());
  t.dtype = e.dtype();
  t.shape = cow_shape::borrow(e.shape());
  t.source = e.host_order_source();
  t.origins.push_back({cow_string::borrow(checkpoint_prefix), checkpoint_index, t.name});
  t.stored = &e;
  return t;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_VIEWS_TENSOR

#endif  // TFCKPT_VIEWS_TENSOR_HPP_
