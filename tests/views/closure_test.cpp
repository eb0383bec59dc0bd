// SPDX-License-Identifier: Apache-2.0
// The view model: closures compose into named recipes, every adaptor has a call form, building a
// pipeline does no work (a counting source proves it), whole-input adaptors plan once on first
// begin(), and entry points that borrow refuse temporaries.
#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/tfckpt.hpp"

namespace closure_test {

namespace {

namespace fs = std::filesystem;
using tfckpt::tensor;

// A source of `n` small float tensors that counts how many it has produced: a pipeline that does
// work at construction would move the counter.
auto counting_source(int n, const std::vector<std::string>& names, int& produced) {
  return std::views::iota(0, n) | std::views::transform([&produced, &names](int i) {
           ++produced;
           tensor t;
           t.name = names[static_cast<std::size_t>(i)];
           t.dtype = tfckpt::dtype::float32;
           t.shape = {2};
           t.source = tfckpt::byte_source::from_bytes(std::string(8, '\0'));
           t.origins.push_back({"counted", 0, t.name});
           return t;
         });
}

std::vector<std::string> names_of(const std::vector<tensor>& ts) {
  std::vector<std::string> out;
  for (const tensor& t : ts) out.push_back(t.name);
  return out;
}

const std::vector<std::string> kNames = {"dense/bias", "dense/bias/ExponentialMovingAverage", "dense/bias/Momentum",
                                         "dense/kernel", "dense/kernel/ExponentialMovingAverage", "global_step"};

TEST(ViewModelClosures, ClosuresComposeIntoANamedRecipe) {
  int produced = 0;
  const auto strip = tfckpt::views::filter(tfckpt::not_optimizer_slot()) | tfckpt::views::ema_restore();
  const auto out = tfckpt::collect(counting_source(6, kNames, produced) | strip);
  EXPECT_EQ(names_of(out), (std::vector<std::string>{"dense/bias", "dense/kernel", "global_step"}));
  // The recipe is reusable: applied again, it gives the same result.
  const auto again = tfckpt::collect(counting_source(6, kNames, produced) | strip);
  EXPECT_EQ(names_of(again), names_of(out));
}

TEST(ViewModelClosures, OurClosuresComposeWithStandardClosuresOnEitherSide) {
  int produced = 0;
  const auto recipe = tfckpt::views::ema_restore() | std::views::take(1) |
                      tfckpt::views::transform_names([](std::string_view n) { return "model/" + std::string(n); });
  const auto out = tfckpt::collect(counting_source(6, kNames, produced) | recipe);
  EXPECT_EQ(names_of(out), (std::vector<std::string>{"model/dense/bias"}));
  const auto three = tfckpt::views::select({"global_step", "dense/kernel"}) | tfckpt::views::rename({{"global_step", "step"}}) |
                     tfckpt::views::select({"step"});
  EXPECT_EQ(names_of(tfckpt::collect(counting_source(6, kNames, produced) | three)), (std::vector<std::string>{"step"}));
}

TEST(ViewModelClosures, EveryWholeInputAdaptorHasACallForm) {
  int produced = 0;
  auto src = [&] { return counting_source(6, kNames, produced); };
  EXPECT_EQ(names_of(tfckpt::collect(tfckpt::views::rename(src(), {{"global_step", "step"}}))),
            (std::vector<std::string>{"step"}));
  EXPECT_EQ(names_of(tfckpt::collect(tfckpt::views::select(src(), {"dense/kernel"}))),
            (std::vector<std::string>{"dense/kernel"}));
  EXPECT_EQ(names_of(tfckpt::collect(tfckpt::views::assignment_map(src(), {{"dense/", "head/"}}))),
            (std::vector<std::string>{"head/bias", "head/bias/ExponentialMovingAverage", "head/bias/Momentum",
                                      "head/kernel", "head/kernel/ExponentialMovingAverage"}));
  EXPECT_EQ(names_of(tfckpt::collect(tfckpt::views::ema_restore(src()))),
            (std::vector<std::string>{"dense/bias", "dense/bias/Momentum", "dense/kernel", "global_step"}));
  EXPECT_EQ(names_of(tfckpt::collect(tfckpt::views::match(src(), {{.name = "global_step", .dtype = tfckpt::dtype::float32, .shape = {2}}}))),
            (std::vector<std::string>{"global_step"}));
  EXPECT_EQ(tfckpt::collect(tfckpt::views::concat_by_group(src(), tfckpt::group_by_regex(R"(^dense/(bias|kernel)$)", "both"))).size(),
            5u);
}

TEST(ViewModelLaziness, BuildingAPipelineReadsNothingAndPlansOnce) {
  int produced = 0;
  auto pipeline = counting_source(6, kNames, produced) | tfckpt::views::rename({{"dense/bias", "b"}, {"dense/kernel", "k"}}) |
                  tfckpt::views::ema_restore() | tfckpt::views::select({"b", "k"}) |
                  tfckpt::views::assignment_map({{"/", "model/"}}) |
                  tfckpt::views::match({{.name = "model/b", .dtype = tfckpt::dtype::float32, .shape = {2}},
                                        {.name = "model/k", .dtype = tfckpt::dtype::float32, .shape = {2}}}) |
                  tfckpt::views::average() |
                  tfckpt::views::concat_by_group(tfckpt::group_by_regex(R"(^model/(b|k)$)", "model/bk"));
  EXPECT_EQ(produced, 0) << "constructing the pipeline walked its source";
  EXPECT_FALSE(pipeline.planned());

  const auto first = tfckpt::collect(pipeline);
  EXPECT_EQ(produced, 6) << "planning walks the source exactly once";
  EXPECT_TRUE(pipeline.planned());
  ASSERT_EQ(first.size(), 1u) << testing::PrintToString(names_of(first));
  ASSERT_TRUE(first[0].status.ok()) << first[0].status;
  EXPECT_EQ(first[0].name, "model/bk");
  EXPECT_EQ(first[0].shape, (std::vector<std::int64_t>{4}));

  const auto second = tfckpt::collect(pipeline);
  EXPECT_EQ(produced, 6) << "a second iteration re-planned instead of using the cached plan";
  EXPECT_EQ(names_of(second), names_of(first));

  auto copy = pipeline;  // a copy plans again from its own base
  EXPECT_FALSE(copy.planned());
  EXPECT_EQ(names_of(tfckpt::collect(copy)), names_of(first));
  EXPECT_EQ(produced, 12);
}

TEST(ViewModelLaziness, PlannedIsThePublicWholeInputAdaptor) {
  int produced = 0;
  // A whole-input adaptor in a few lines: keep the tensors whose name is a prefix of another's.
  const auto scopes_only = tfckpt::views::planned([](std::vector<tensor> in) {
    std::vector<tensor> out;
    for (const tensor& t : in)
      if (std::ranges::any_of(in, [&](const tensor& u) { return u.name.starts_with(t.name + "/"); })) out.push_back(t);
    return out;
  });
  auto view = counting_source(6, kNames, produced) | scopes_only;
  EXPECT_EQ(produced, 0);
  EXPECT_EQ(names_of(tfckpt::collect(view)), (std::vector<std::string>{"dense/bias", "dense/kernel"}));
  EXPECT_EQ(produced, 6);
  static_assert(std::ranges::view<decltype(view)>);
  static_assert(tfckpt::tensor_range<decltype(view)>);
}

class ViewModelCheckpoints : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      const fs::path prefix = dir_ / ("ckpt-" + std::to_string(i));
      tfckpt_testing::write_bundle(prefix, {tfckpt_testing::float_tensor("w", {2}, {1.0f + static_cast<float>(i), 2.0f}),
                                            tfckpt_testing::float_tensor("w/Momentum", {2}, {0.0f, 0.0f})});
      ASSERT_OK_AND_ASSIGN(auto c, tfckpt::open(prefix));
      ckpts_.push_back(std::move(c));
    }
  }
  tfckpt_testing::scratch_dir dir_;
  std::vector<tfckpt::checkpoint> ckpts_;
};

TEST_F(ViewModelCheckpoints, JoiningCheckpointsIsLazyAndKeepsOrigins) {
  auto joined = tfckpt::entries({&ckpts_[0], &ckpts_[1]}) | tfckpt::views::filter(tfckpt::not_optimizer_slot()) |
                tfckpt::views::average();
  EXPECT_FALSE(joined.planned());
  const auto out = tfckpt::collect(joined);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].origins.size(), 2u);
  EXPECT_EQ(out[0].origins[1].checkpoint_index, 1u);
  const auto spanned = tfckpt::collect(tfckpt::entries(std::span<const tfckpt::checkpoint>(ckpts_)));
  ASSERT_EQ(spanned.size(), 4u);
  EXPECT_EQ(spanned[2].origins[0].checkpoint_index, 1u);
  EXPECT_EQ(spanned[3].name, "w/Momentum");
}

// Entry points that borrow a checkpoint refuse a temporary one (it would dangle).
template <class C>
concept entries_accepts = requires(C&& c) { tfckpt::entries(std::forward<C>(c)); };
template <class C>
concept sync_accepts = requires(C&& c) { tfckpt::views::sync_object_graph(std::forward<C>(c)); };
static_assert(entries_accepts<const tfckpt::checkpoint&>);
static_assert(!entries_accepts<tfckpt::checkpoint>);
static_assert(!entries_accepts<std::vector<tfckpt::checkpoint>>);
static_assert(sync_accepts<const tfckpt::checkpoint&>);
static_assert(!sync_accepts<tfckpt::checkpoint>);

// A wrong argument fails at the call, not deep inside: these are plain "not callable" answers.
static_assert(!std::invocable<decltype(tfckpt::views::rename), std::vector<int>&, std::map<std::string, std::string>>);
static_assert(!std::invocable<decltype(tfckpt::views::planned), int>);
static_assert(!std::invocable<decltype(tfckpt::views::ema_restore), std::vector<int>&>);

}  // namespace

}  // namespace closure_test
