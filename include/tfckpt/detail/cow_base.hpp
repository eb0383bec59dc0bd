// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/detail/cow_base.hpp
//
// What cow_string and cow_shape share: a view (their public base: std::string_view, shape_view)
// that shows either borrowed memory or a container the object owns, kept in step through copies,
// moves and changes. Not for direct use.
#ifndef TFCKPT_DETAIL_COW_BASE_HPP_
#define TFCKPT_DETAIL_COW_BASE_HPP_

#include <utility>

namespace tfckpt::detail {

template <class View, class Owned>
class cow_base : public View {
 public:
  /// True while the contents are borrowed (no copy has been made).
  bool borrowed() const noexcept { return borrowed_; }

 protected:
  cow_base() noexcept { show_owned(); }
  explicit cow_base(Owned owned) : owned_(std::move(owned)) { show_owned(); }
  cow_base(const cow_base& other) : View(other), owned_(other.owned_), borrowed_(other.borrowed_) {
    if (!borrowed_) show_owned();
  }
  cow_base(cow_base&& other) noexcept : View(other), owned_(std::move(other.owned_)), borrowed_(other.borrowed_) {
    if (!borrowed_) show_owned();  // a short string's characters moved with it
    other.reset();
  }
  cow_base& operator=(const cow_base& other) {
    if (this != &other) {
      if (other.borrowed_) {
        lend(other);
      } else {
        owned_ = other.owned_;
        show_owned();
      }
    }
    return *this;
  }
  cow_base& operator=(cow_base&& other) noexcept {
    if (this != &other) {
      if (other.borrowed_) {
        lend(other);
      } else {
        owned_ = std::move(other.owned_);
        show_owned();
      }
      other.reset();
    }
    return *this;
  }
  ~cow_base() = default;

  View& view() noexcept { return *this; }
  // Shows `borrowed` (which must outlive this object and its copies) instead of what it owns.
  void lend(View borrowed) noexcept {
    view() = borrowed;
    borrowed_ = true;
  }
  // Shows what it owns; call after every change to owned_.
  void show_owned() noexcept {
    borrowed_ = false;
    view() = View(owned_.data(), owned_.size());
  }
  // The contents as an owned container to change (copied out of the borrow first, if need be);
  // call show_owned() after changing it.
  Owned& own() {
    if (borrowed_) owned_.assign(this->begin(), this->end());
    borrowed_ = false;
    return owned_;
  }
  void reset() noexcept {
    owned_.clear();
    show_owned();
  }

  Owned owned_;
  bool borrowed_ = false;
};

}  // namespace tfckpt::detail

#endif  // TFCKPT_DETAIL_COW_BASE_HPP_
