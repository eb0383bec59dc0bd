// SPDX-License-Identifier: Apache-2.0
// Cheap metadata: a pipeline over a checkpoint allocates nothing per tensor for names, shapes and
// origins that no view changes (they borrow from the checkpoint's decoded index), while user code
// reads them as before (`t.name.starts_with("out")`, `t.shape[0]`). Counted with a replaced global
// operator new, switched on only around the pipeline under test.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/planning_view.hpp"
#include "tfckpt/views/tensor.hpp"
#include "tfckpt/views/transform_names.hpp"

namespace cheap_metadata_test {
inline thread_local bool counting = false;
inline thread_local std::size_t allocations = 0;
}  // namespace cheap_metadata_test

// Replacements for the whole test program; they count only while `counting` is set on this thread.
// Every form that pairs with malloc/free is replaced (the nothrow ones too, which std::stable_sort
// uses), so that a sanitizer's own operator new never meets our free(); the aligned forms keep the
// implementation's, as a pair.
// (g++ sees free() of memory from operator new once these are inlined into each other; they are a
// matching pair.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  if (cheap_metadata_test::counting) ++cheap_metadata_test::allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (cheap_metadata_test::counting) ++cheap_metadata_test::allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept { return ::operator new(n, tag); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace cheap_metadata_test {

namespace {

constexpr int kTensors = 4000;

/// Allocations made by `f()` on this thread.
template <class F>
std::size_t allocations_in(F&& f) {
  allocations = 0;
  counting = true;
  f();
  counting = false;
  return allocations;
}

class CheapMetadata : public ::testing::Test {
 protected:
  void SetUp() override {
    // Names longer than any short-string buffer; every tensor of rank 2.
    std::vector<tfckpt_testing::tensor_spec> specs;
    for (int i = 0; i < kTensors; ++i) {
      const std::string name = absl::StrFormat("encoder/layer_%05d/attention/%s", i / 2, i % 2 ? "kernel" : "kernel/Adam");
      specs.push_back(tfckpt_testing::float_tensor(name, {2, 1 + i % 3}, std::vector<float>(static_cast<std::size_t>(2 * (1 + i % 3)), 1.0f)));
    }
    tfckpt_testing::write_bundle(dir_ / "a", specs);
    tfckpt_testing::write_bundle(dir_ / "b", specs);
    for (const char* which : {"a", "b"}) {
      auto c = tfckpt::open(dir_ / which);
      ASSERT_OK(c.status());
      ckpts_.push_back(*std::move(c));
    }
  }
  tfckpt_testing::scratch_dir dir_;
  std::vector<tfckpt::checkpoint> ckpts_;
};

// What user code reads; a sum so that nothing is optimised away.
std::size_t read_metadata(const tfckpt::tensor& t) {
  std::size_t sum = t.name.size() + static_cast<std::size_t>(t.shape[0]) + t.shape.size();
  sum += t.name.starts_with("encoder") ? 1 : 0;
  sum += std::string_view(t.name.c_str()).size();
  sum += t.origins[0].checkpoint.size() + t.origins[0].name.size();
  return sum;
}

TEST_F(CheapMetadata, AFilteredPassAllocatesNothing) {
  std::size_t seen = 0, sum = 0;
  const std::size_t made = allocations_in([&] {
    for (const tfckpt::tensor& t : tfckpt::entries(ckpts_[0]) | tfckpt::views::filter(tfckpt::not_optimizer_slot())) {
      sum += read_metadata(t);
      ++seen;
    }
  });
  EXPECT_EQ(seen, static_cast<std::size_t>(kTensors / 2));
  EXPECT_GT(sum, 0u);
  EXPECT_EQ(made, 0u);
}

TEST_F(CheapMetadata, TensorsBorrowTheirNameShapeAndOriginFromTheCheckpoint) {
  for (const tfckpt::tensor& t : tfckpt::entries(ckpts_[0])) {
    ASSERT_TRUE(t.name.borrowed());
    ASSERT_TRUE(t.shape.borrowed());
    ASSERT_TRUE(t.origins[0].checkpoint.borrowed());
    ASSERT_TRUE(t.origins[0].name.borrowed());
    ASSERT_EQ(t.name, t.stored->name());
    ASSERT_EQ(t.shape, t.stored->shape());
    ASSERT_EQ(t.origins[0].checkpoint, ckpts_[0].prefix());
  }
}

TEST_F(CheapMetadata, AJoinedPassOverTwoCheckpointsAllocatesNothing) {
  const auto joined = tfckpt::entries({&ckpts_[0], &ckpts_[1]});  // holds the list of checkpoints
  std::size_t seen = 0, sum = 0;
  const std::size_t made = allocations_in([&] {
    for (const tfckpt::tensor& t : joined) {
      sum += read_metadata(t);
      ++seen;
    }
  });
  EXPECT_EQ(seen, static_cast<std::size_t>(2 * kTensors));
  EXPECT_GT(sum, 0u);
  EXPECT_EQ(made, 0u);
}

// Whole-input adaptors hold the planned tensors in a vector: its growth allocates (a few dozen
// times for thousands of tensors), the tensors' unchanged names and shapes do not.
TEST_F(CheapMetadata, PlanningViewsAllocateForTheirVectorsNotPerTensor) {
  std::vector<std::string> all_names;
  for (const tfckpt::entry& e : ckpts_[0].entries()) all_names.emplace_back(e.name());
  auto selected = tfckpt::entries(ckpts_[0]) | tfckpt::views::select(all_names);
  auto restored = tfckpt::entries(ckpts_[0]) | tfckpt::views::ema_restore();
  auto renamed = tfckpt::entries(ckpts_[0]) |
                 tfckpt::views::rename({{all_names[0], "renamed/first"}, {all_names[1], all_names[1]}});
  auto same_names = tfckpt::entries(ckpts_[0]) | tfckpt::views::transform_names([](std::string_view n) { return n; });
  std::size_t sum = 0;
  const auto pass = [&](auto& view) {
    return allocations_in([&] {
      for (const tfckpt::tensor& t : view) sum += read_metadata(t);
    });
  };
  EXPECT_LT(pass(selected), static_cast<std::size_t>(kTensors / 20));
  EXPECT_EQ(selected.size(), static_cast<std::size_t>(kTensors));
  EXPECT_LT(pass(restored), static_cast<std::size_t>(kTensors / 20));
  EXPECT_LT(pass(renamed), static_cast<std::size_t>(kTensors / 20));
  EXPECT_EQ(pass(same_names), 0u);
  EXPECT_GT(sum, 0u);

  for (const tfckpt::tensor& t : selected) ASSERT_TRUE(t.name.borrowed()) << t.name.str();
  // A view that changes a name owns the new one; the others keep borrowing.
  ASSERT_EQ(renamed.size(), 2u);
  EXPECT_EQ(renamed.begin()[0].name, "renamed/first");
  EXPECT_FALSE(renamed.begin()[0].name.borrowed());
  EXPECT_TRUE(renamed.begin()[1].name.borrowed());
  EXPECT_TRUE(renamed.begin()[0].shape.borrowed());
}

}  // namespace

}  // namespace cheap_metadata_test
