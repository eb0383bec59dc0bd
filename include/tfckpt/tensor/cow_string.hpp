// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/tensor/cow_string.hpp
//
// `tfckpt::cow_string`: a string that borrows its text until it is changed (copy on write). A
// pipeline tensor's name starts as a borrow of the checkpoint's decoded index, so a pass over a
// million tensors allocates nothing for names no view changes; a view that renames assigns a new
// value, which the tensor then owns.
//
// It *is* a std::string_view (public base, always showing the current text), so everything that
// reads a string_view reads it with no conversion step: `name.starts_with("out")`, `name.find('/')`,
// `name == "bias"`, `absl::StrFormat("%s", name)`, `std::string_view v = name`. It converts to
// std::string where one is required (`std::string s = name;`, a `const std::string&` parameter) — a
// copy, made only then — and `c_str()` works: borrowed text is always followed by a NUL.
// std::regex_* and absl::StrCat (Debian's Abseil has its own string_view) want `name.str()`.
// Changing it goes through its own members (assignment, +=, append, resize, clear); string_view's
// own modifiers (remove_prefix, remove_suffix, swap) are deleted.
//
// Example:
//   tfckpt::cow_string name = tfckpt::cow_string::borrow(entry.name());  // no allocation
//   if (name.ends_with("/ExponentialMovingAverage")) name.resize(name.rfind('/'));  // owns now
#ifndef TFCKPT_TENSOR_COW_STRING_HPP_
#define TFCKPT_TENSOR_COW_STRING_HPP_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "tfckpt/detail/cow_base.hpp"

namespace tfckpt {

class cow_string : public detail::cow_base<std::string_view, std::string> {
  using base = detail::cow_base<std::string_view, std::string>;

 public:
  cow_string() noexcept = default;
  cow_string(std::string s) : base(std::move(s)) {}            // NOLINT: implicit, as std::string's
  cow_string(std::string_view s) : base(std::string(s)) {}     // NOLINT
  cow_string(const char* s) : base(std::string(s)) {}          // NOLINT

  /// A borrow of `text`, which must stay valid and unchanged while this string (or a copy) shows it,
  /// and must be followed by a NUL byte (text.data()[text.size()] == '\0', as in a std::string or the
  /// checkpoint's decoded index), so that c_str() needs no copy.
  static cow_string borrow(std::string_view text) noexcept {
    cow_string s;
    s.lend(text);
    return s;
  }

  /// The text, NUL-terminated.
  const char* c_str() const noexcept { return data(); }
  std::string str() const { return std::string(data(), size()); }
  operator std::string() const { return str(); }  // NOLINT: implicit, so std::string parameters accept it

  cow_string& operator+=(std::string_view more) { return append(more); }
  cow_string& operator+=(char c) {
    own().push_back(c);
    show_owned();
    return *this;
  }
  cow_string& append(std::string_view more) {
    own().append(more);
    show_owned();
    return *this;
  }
  cow_string& resize(std::size_t n, char fill = '\0') {
    own().resize(n, fill);
    show_owned();
    return *this;
  }
  cow_string& clear() noexcept {
    reset();
    return *this;
  }

  void remove_prefix(std::size_t) = delete;  // would desynchronise the view from the text it shows
  void remove_suffix(std::size_t) = delete;
  void swap(std::string_view&) = delete;

  friend std::string operator+(const cow_string& a, std::string_view b) { return concat(a, b); }
  friend std::string operator+(std::string_view a, const cow_string& b) { return concat(a, b); }
  friend std::string operator+(const cow_string& a, const cow_string& b) { return concat(a, b); }
  friend std::string operator+(const cow_string& a, const std::string& b) { return concat(a, b); }
  friend std::string operator+(const std::string& a, const cow_string& b) { return concat(a, b); }
  friend std::string operator+(const cow_string& a, const char* b) { return concat(a, b); }
  friend std::string operator+(const char* a, const cow_string& b) { return concat(a, b); }
  friend std::string operator+(const cow_string& a, char b) { return concat(a, std::string_view(&b, 1)); }

  template <class H>
  friend H AbslHashValue(H h, const cow_string& s) {
    return H::combine(std::move(h), std::string_view(s));
  }

 private:
  static std::string concat(std::string_view a, std::string_view b) {
    std::string s;
    s.reserve(a.size() + b.size());
    s.append(a).append(b);
    return s;
  }
};

}  // namespace tfckpt

template <>
struct std::hash<tfckpt::cow_string> {
  std::size_t operator()(const tfckpt::cow_string& s) const noexcept { return std::hash<std::string_view>()(s); }
};

#endif  // TFCKPT_TENSOR_COW_STRING_HPP_
