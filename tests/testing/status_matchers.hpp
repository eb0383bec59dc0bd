// SPDX-License-Identifier: Apache-2.0
// GoogleMock matchers for absl::Status / absl::StatusOr (Abseil 20220623 ships none).
//
// Example:
//   EXPECT_THAT(open("x"), tfckpt_testing::StatusIs(absl::StatusCode::kNotFound, HasSubstr("x")));
//   ASSERT_OK_AND_ASSIGN(auto ckpt, tfckpt::open(prefix));
#ifndef TFCKPT_TESTING_STATUS_MATCHERS_HPP_
#define TFCKPT_TESTING_STATUS_MATCHERS_HPP_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tfckpt_testing {

inline const absl::Status& get_status(const absl::Status& s) { return s; }
template <class T>
const absl::Status& get_status(const absl::StatusOr<T>& s) { return s.status(); }

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + testing::PrintToString(code)) {
  const absl::Status& s = get_status(arg);
  *result_listener << "whose status is " << s.ToString();
  return s.code() == code &&
         testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = get_status(arg);
  *result_listener << "whose status is " << s.ToString();
  return s.ok();
}

}  // namespace tfckpt_testing

#define TFCKPT_TESTING_CONCAT_INNER(a, b) a##b
#define TFCKPT_TESTING_CONCAT(a, b) TFCKPT_TESTING_CONCAT_INNER(a, b)
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::tfckpt_testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::tfckpt_testing::IsOk())
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(TFCKPT_TESTING_CONCAT(status_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)          \
  auto tmp = (expr);                                       \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();        \
  lhs = std::move(tmp).value()

#endif  // TFCKPT_TESTING_STATUS_MATCHERS_HPP_
