// SPDX-License-Identifier: Apache-2.0
// cow_string and cow_shape: they borrow until changed, read as string_view / span, and keep showing
// the right text and dimensions through copies, moves and every modifier.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/strings/str_format.h"
#include "tfckpt/tensor/cow_shape.hpp"
#include "tfckpt/tensor/cow_string.hpp"

namespace cow_test {

namespace {

using tfckpt::cow_shape;
using tfckpt::cow_string;

std::string take_string(const std::string& s) { return s; }
std::size_t take_view(std::string_view s) { return s.size(); }
std::size_t take_shape(tfckpt::shape_view s) { return s.size(); }
std::vector<std::int64_t> take_vector(const std::vector<std::int64_t>& v) { return v; }

TEST(CowString, ABorrowSharesTheTextAndIsACString) {
  const std::string text = "dense/kernel/ExponentialMovingAverage";
  const cow_string s = cow_string::borrow(text);
  EXPECT_TRUE(s.borrowed());
  EXPECT_EQ(s.data(), text.data());
  EXPECT_EQ(s.c_str(), text.c_str());
  EXPECT_EQ(std::strlen(s.c_str()), text.size());
  const cow_string copy = s;  // NOLINT(performance-unnecessary-copy-initialization): the point
  EXPECT_TRUE(copy.borrowed());
  EXPECT_EQ(copy.data(), text.data());
}

TEST(CowString, ReadsAsAStringView) {
  const std::string text = "out3/weights";
  const cow_string s = cow_string::borrow(text);
  EXPECT_TRUE(s.starts_with("out"));
  EXPECT_TRUE(s.ends_with("weights"));
  EXPECT_EQ(s.find('/'), 4u);
  EXPECT_EQ(s.substr(0, 4), "out3");
  EXPECT_EQ(s, "out3/weights");
  EXPECT_EQ("out3/weights", s);
  EXPECT_EQ(s, std::string("out3/weights"));
  EXPECT_NE(s, "out4/weights");
  EXPECT_LT(s, cow_string("out4"));
  EXPECT_EQ(take_view(s), 12u);
  EXPECT_EQ(take_string(s), text);
  EXPECT_EQ(absl::StrFormat("[%s]", s), "[out3/weights]");
  EXPECT_EQ(s + "/Momentum", "out3/weights/Momentum");
  EXPECT_EQ("^" + s, "^out3/weights");
  EXPECT_EQ(s + s, "out3/weightsout3/weights");
  EXPECT_EQ(s + '!', "out3/weights!");
  std::string assigned;
  assigned = s;
  EXPECT_EQ(assigned, text);
  const std::string converted = s;
  EXPECT_EQ(converted, text);
}

TEST(CowString, WorksAsAKeyOfStdContainers) {
  const std::string text = "layer_000001/bias";
  const cow_string s = cow_string::borrow(text);
  std::map<std::string, int> by_name{{text, 1}};
  EXPECT_EQ(by_name[s], 1);
  std::set<std::string, std::less<>> names{text};
  EXPECT_TRUE(names.contains(s));
  std::unordered_set<cow_string> cows{s};
  EXPECT_TRUE(cows.contains(cow_string(text)));
}

TEST(CowString, ChangingItCopiesOutOfTheBorrowAndLeavesTheSourceAlone) {
  const std::string text = "dense/bias/ExponentialMovingAverage";
  cow_string s = cow_string::borrow(text);
  s.resize(s.find("/Exp"));
  EXPECT_FALSE(s.borrowed());
  EXPECT_EQ(s, "dense/bias");
  EXPECT_EQ(std::strlen(s.c_str()), 10u);
  EXPECT_EQ(text, "dense/bias/ExponentialMovingAverage");

  cow_string t = cow_string::borrow(text);
  t += "/x";
  EXPECT_EQ(t, text + "/x");
  t.append("y");
  EXPECT_EQ(t, text + "/xy");
  t += 'z';
  EXPECT_EQ(t, text + "/xyz");
  t = "short";
  EXPECT_EQ(t, "short");
  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_STREQ(t.c_str(), "");
}

// A short owned string keeps its characters inside the std::string; copies and moves must show
// their own copy, not the source's.
TEST(CowString, CopiesAndMovesOfShortAndLongOwnedTextShowTheirOwnCharacters) {
  for (const std::string& value : {std::string("w"), std::string(100, 'x')}) {
    cow_string a = value;
    cow_string b = a;
    EXPECT_NE(static_cast<const void*>(b.data()), static_cast<const void*>(a.data()));
    cow_string c = std::move(a);
    EXPECT_EQ(c, value);
    EXPECT_EQ(b, value);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty, by contract
    cow_string d;
    d = c;
    cow_string e;
    e = std::move(c);
    std::vector<cow_string> many(50, d);  // growth moves them around
    many.push_back(e);
    for (const cow_string& m : many) {
      EXPECT_EQ(m, value);
      EXPECT_EQ(std::strlen(m.c_str()), value.size());
    }
  }
}

TEST(CowShape, ABorrowSharesTheDimensionsAndReadsAsASpan) {
  const std::vector<std::int64_t> dims = {784, 10};
  const cow_shape s = cow_shape::borrow(dims);
  EXPECT_TRUE(s.borrowed());
  EXPECT_EQ(s.data(), dims.data());
  EXPECT_EQ(s[0], 784);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.back(), 10);
  EXPECT_EQ(take_shape(s), 2u);
  EXPECT_EQ(take_vector(s), dims);
  std::int64_t product = 1;
  for (const std::int64_t d : s) product *= d;
  EXPECT_EQ(product, 7840);
  EXPECT_EQ(s, dims);
  EXPECT_EQ(dims, s);
  EXPECT_EQ(s, (std::vector<std::int64_t>{784, 10}));
  EXPECT_NE(s, (std::vector<std::int64_t>{10, 784}));
  EXPECT_EQ(s, cow_shape({784, 10}));
  const cow_shape copy = s;  // NOLINT(performance-unnecessary-copy-initialization): the point
  EXPECT_TRUE(copy.borrowed());
}

TEST(CowShape, ChangingItCopiesOutOfTheBorrowAndLeavesTheSourceAlone) {
  const std::vector<std::int64_t> dims = {4, 5, 6};
  cow_shape s = cow_shape::borrow(dims);
  s.set(1, 50);
  EXPECT_FALSE(s.borrowed());
  EXPECT_EQ(s, (std::vector<std::int64_t>{4, 50, 6}));
  EXPECT_EQ(dims, (std::vector<std::int64_t>{4, 5, 6}));
  s.push_back(7);
  EXPECT_EQ(s, (std::vector<std::int64_t>{4, 50, 6, 7}));
  s.assign(s.rbegin(), s.rend());  // from its own dimensions
  EXPECT_EQ(s, (std::vector<std::int64_t>{7, 6, 50, 4}));
  s.resize(2);
  EXPECT_EQ(s, (std::vector<std::int64_t>{7, 6}));
  s = {1, 2, 3};
  EXPECT_EQ(s, (std::vector<std::int64_t>{1, 2, 3}));
  s = std::vector<std::int64_t>{9};
  EXPECT_EQ(s, (std::vector<std::int64_t>{9}));
  s.assign(3, 1);
  EXPECT_EQ(s, (std::vector<std::int64_t>{1, 1, 1}));
  s.clear();
  EXPECT_TRUE(s.empty());
  s = {};
  EXPECT_TRUE(s.empty());
}

TEST(CowShape, CopiesAndMovesShowTheirOwnDimensions) {
  cow_shape a = {1, 2, 3};
  cow_shape b = a;
  EXPECT_NE(b.data(), a.data());
  b.set(0, 100);
  EXPECT_EQ(a[0], 1);
  cow_shape c = std::move(a);
  EXPECT_EQ(c, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty, by contract
  std::vector<cow_shape> many(40, c);
  many.push_back(b);
  for (std::size_t i = 0; i + 1 < many.size(); ++i) EXPECT_EQ(many[i], (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(many.back(), (std::vector<std::int64_t>{100, 2, 3}));
}

}  // namespace

}  // namespace cow_test
