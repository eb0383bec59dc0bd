// SPDX-License-Identifier: Apache-2.0
// views::concat_by_group, group_by_regex and merge_heads_pipeline: values against Eigen's own
// concatenation, member order, axes, dtypes, every problem reported at once, laziness, and the
// written checkpoint read back by our reader and by LevelDB.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>

#include <Eigen/Core>
#include <memory>
#include <ranges>
#include <unsupported/Eigen/CXX11/Tensor>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/tensor/eigen.hpp"
#include "tfckpt/recipes/merge_heads.hpp"
#include "tfckpt/views/concat_by_group.hpp"
#include "tfckpt/views/filter.hpp"

namespace concat_by_group_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using tfckpt_testing::float_tensor;
using tfckpt_testing::StatusIs;
using tfckpt_testing::typed_tensor;

template <class T>
using row_major = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<std::string> names(std::span<const tfckpt::tensor> ts) {
  std::vector<std::string> v;
  for (const auto& t : ts) v.push_back(t.name);
  return v;
}

// A deterministic matrix whose every element differs: value = 1000 * head + 10 * row + col / 10.
row_major<float> head_matrix(int head, Eigen::Index rows, Eigen::Index cols) {
  row_major<float> m(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < cols; ++c) m(r, c) = 1000.0f * head + 10.0f * r + 0.1f * c;
  return m;
}

template <class T, class M>
std::vector<T> flat(const M& m) {
  std::vector<T> v(static_cast<std::size_t>(m.size()));
  Eigen::Map<row_major<T>>(v.data(), m.rows(), m.cols()) = m;
  return v;
}

// Reads `<prefix>.index` with LevelDB's own table reader, checksums verified; returns the keys.
std::vector<std::string> leveldb_keys(const fs::path& prefix) {
  const std::string path = prefix.string() + ".index";
  leveldb::RandomAccessFile* raf = nullptr;
  EXPECT_TRUE(leveldb::Env::Default()->NewRandomAccessFile(path, &raf).ok());
  std::unique_ptr<leveldb::RandomAccessFile> raf_owner(raf);
  leveldb::Options options;
  options.paranoid_checks = true;
  leveldb::Table* table = nullptr;
  EXPECT_TRUE(leveldb::Table::Open(options, raf, fs::file_size(path), &table).ok());
  std::unique_ptr<leveldb::Table> table_owner(table);
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(ro));
  std::vector<std::string> keys;
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return keys;
}

const auto kHeads = tfckpt::group_by_regex(R"(^out(\d+)/(weights|biases)$)", "out/$2");

// --- The seed-000 merge: 16 heads of different widths --------------------------------------------

class ConcatSixteenHeads : public ::testing::Test {
 protected:
  static constexpr int kN = 16;
  static constexpr Eigen::Index kK = 7;
  static Eigen::Index width(int i) { return 3 + i % 4; }

  void SetUp() override {
    for (int i = 0; i < kN; ++i) {
      const auto w = head_matrix(i, kK, width(i));
      std::vector<float> b(static_cast<std::size_t>(width(i)));
      for (std::size_t j = 0; j < b.size(); ++j) b[j] = static_cast<float>(i) + 0.01f * static_cast<float>(j);
      const float trunk = static_cast<float>(i);  // every log's trunk differs, so we can tell which one is kept
      tfckpt_testing::write_bundle(prefix(i), {
          float_tensor("conv/w", {2, 2}, {trunk, trunk, trunk, trunk}),
          float_tensor("conv/w/Momentum", {2, 2}, {0, 0, 0, 0}),
          float_tensor(absl::StrFormat("out%d/weights", i), {kK, width(i)}, flat<float>(w)),
          float_tensor(absl::StrFormat("out%d/weights/Momentum", i), {kK, width(i)}, flat<float>(w)),
          float_tensor(absl::StrFormat("out%d/biases", i), {width(i)}, b),
          typed_tensor<std::int64_t>("global_step", tfckpt::dtype::int64, {}, {1000 + i}),
      });
      auto c = tfckpt::open(prefix(i));
      ASSERT_OK(c.status());
      ckpts_.push_back(*std::move(c));
    }
  }
  fs::path prefix(int i) const { return dir_ / absl::StrFormat("log_%d", i) / "model.ckpt-100"; }

  tfckpt_testing::scratch_dir dir_;
  std::vector<tfckpt::checkpoint> ckpts_;
};

TEST_F(ConcatSixteenHeads, MergedValuesEqualEigensConcatenation) {
  auto merged = tfckpt::entries(std::span<const tfckpt::checkpoint>(ckpts_)) |
                tfckpt::views::filter(tfckpt::not_optimizer_slot()) |
                tfckpt::views::filter([](const tfckpt::tensor& t) { return t.origins[0].checkpoint_index == 0 || kHeads(t); }) |
                tfckpt::views::concat_by_group(kHeads, {.order = tfckpt::concat_order::numeric_capture(1),
                                                        .axis = {{"out/weights", 1}, {"out/biases", 0}}});
  const auto planned = tfckpt::collect(merged);
  ASSERT_OK(tfckpt::check_pipeline(planned));
  // Pass-through tensors keep their order; each group sits where its first member was.
  EXPECT_THAT(names(planned), ElementsAre("conv/w", "global_step", "out/biases", "out/weights"));
  Eigen::Index total = 0;
  for (int i = 0; i < kN; ++i) total += width(i);
  EXPECT_THAT(planned[3].shape, ElementsAre(kK, total));
  EXPECT_THAT(planned[2].shape, ElementsAre(total));
  ASSERT_EQ(planned[3].origins.size(), static_cast<std::size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(planned[3].origins[static_cast<std::size_t>(i)].checkpoint, prefix(i).string());
    EXPECT_EQ(planned[3].origins[static_cast<std::size_t>(i)].name, absl::StrFormat("out%d/weights", i));
  }
  EXPECT_EQ(planned[3].stored, nullptr);
  EXPECT_THAT(tfckpt::describe_plan(planned), HasSubstr("out/weights  float32   [7,72]"));

  ASSERT_OK(tfckpt::write_bundle(planned, dir_ / "merged" / "model"));
  ASSERT_OK_AND_ASSIGN(const auto out, tfckpt::open(dir_ / "merged" / "model"));
  EXPECT_TRUE(out.verify().ok());
  // The expected values, concatenated by Eigen (block assignment into a row-major matrix).
  row_major<float> expected(kK, total);
  Eigen::VectorXf expected_b(total);
  for (Eigen::Index i = 0, col = 0; i < kN; col += width(static_cast<int>(i)), ++i) {
    expected.middleCols(col, width(static_cast<int>(i))) = head_matrix(static_cast<int>(i), kK, width(static_cast<int>(i)));
    for (Eigen::Index j = 0; j < width(static_cast<int>(i)); ++j)
      expected_b(col + j) = static_cast<float>(i) + 0.01f * static_cast<float>(j);
  }
  ASSERT_OK_AND_ASSIGN(const auto w, out.find("out/weights")->values<float>());
  ASSERT_OK_AND_ASSIGN(const auto wm, tfckpt::as_eigen_matrix(w));
  ASSERT_EQ(wm.rows(), kK);
  ASSERT_EQ(wm.cols(), total);
  for (Eigen::Index r = 0; r < kK; ++r)
    for (Eigen::Index c = 0; c < total; ++c) ASSERT_EQ(wm(r, c), expected(r, c)) << r << "," << c;
  ASSERT_OK_AND_ASSIGN(const auto b, out.find("out/biases")->values<float>());
  for (Eigen::Index j = 0; j < total; ++j) ASSERT_EQ(b[static_cast<std::size_t>(j)], expected_b(j)) << j;
  // The trunk is log_0's, and no optimizer slot survived.
  ASSERT_OK_AND_ASSIGN(const auto trunk, out.find("conv/w")->values<float>());
  EXPECT_THAT(std::vector<float>(trunk.begin(), trunk.end()), ElementsAre(0, 0, 0, 0));
  EXPECT_EQ(out.size(), 4u);
  // LevelDB reads the index: the header plus our four keys, every block checksum verified.
  EXPECT_THAT(leveldb_keys(dir_ / "merged" / "model"), ElementsAre("", "conv/w", "global_step", "out/biases", "out/weights"));
}

TEST_F(ConcatSixteenHeads, MergeHeadsPipelineDoesTheSame) {
  ASSERT_OK_AND_ASSIGN(auto planned, tfckpt::merge_heads_pipeline(ckpts_, {.groups = {{R"(^out(\d+)/(weights|biases)$)", "out/$2"}},
                                                                           .axes = {{"out/weights", 1}}}));
  ASSERT_OK(tfckpt::check_pipeline(planned));
  EXPECT_THAT(names(planned), ElementsAre("conv/w", "global_step", "out/biases", "out/weights"));
  ASSERT_OK(tfckpt::write_bundle(planned, dir_ / "m2"));
  ASSERT_OK_AND_ASSIGN(const auto out, tfckpt::open(dir_ / "m2"));
  EXPECT_TRUE(out.verify().ok());
  ASSERT_OK_AND_ASSIGN(const auto w, out.find("out/weights")->values<float>());
  EXPECT_EQ(w[0], 0.0f);                      // out0 (0, 0)
  EXPECT_EQ(w[3], 1000.0f);                   // out1 (0, 0) starts at column 3
  EXPECT_EQ(w[72 + 3 + 1], 1000.0f + 10.0f + 0.1f);  // out1 (1, 1)
  // Keeping the slots groups them too: `out{i}/weights/Momentum` is not a head by the rule, so it
  // is trunk and comes from log_0 only.
  ASSERT_OK_AND_ASSIGN(planned, tfckpt::merge_heads_pipeline(ckpts_, {.groups = {{R"(^out(\d+)/(weights|biases)$)", "out/$2"}},
                                                                      .axes = {{"out/weights", 1}},
                                                                      .drop = {"^global_step$"},
                                                                      .keep_optimizer_state = true}));
  EXPECT_THAT(names(planned), ElementsAre("conv/w", "conv/w/Momentum", "out/biases", "out/weights", "out0/weights/Momentum"));
}

TEST_F(ConcatSixteenHeads, MergeHeadsPipelineReportsUselessRulesAndAxes) {
  ASSERT_OK_AND_ASSIGN(auto planned, tfckpt::merge_heads_pipeline(ckpts_, {.groups = {{R"(^out(\d+)/weights$)", "out/weights"},
                                                                                      {R"(^head(\d+)/w$)", "head/w"}},
                                                                           .axes = {{"out/weights", 1}, {"out/wieghts", 1}}}));
  const absl::Status s = tfckpt::check_pipeline(planned);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("2 problems")));
  EXPECT_THAT(s.message(), HasSubstr("group rule '^head(\\d+)/w$=head/w' matches no tensor"));
  EXPECT_THAT(s.message(), HasSubstr("an axis is given for 'out/wieghts'"));
  EXPECT_THAT(tfckpt::merge_heads_pipeline(ckpts_, {.groups = {{"out(", "x"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad regex 'out('")));
  EXPECT_THAT(tfckpt::merge_heads_pipeline(ckpts_, {}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no group rule")));
  EXPECT_THAT(tfckpt::merge_heads_pipeline({}, {.groups = {{"a", "b"}}}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no checkpoint")));
}

// --- Member order ----------------------------------------------------------------------------------

class ConcatOneCheckpoint : public ::testing::Test {
 public:  // for the helpers below the tests too
  void write(const std::vector<tfckpt_testing::tensor_spec>& tensors, const tfckpt_testing::build_options& options = {}) {
    tfckpt_testing::write_bundle(dir_ / "m", tensors, options);
    auto c = tfckpt::open(dir_ / "m");
    ASSERT_OK(c.status());
    ckpt_ = std::make_unique<tfckpt::checkpoint>(*std::move(c));
  }
  // Writes `planned` and returns the named output's values.
  template <class T>
  std::vector<T> written(std::span<const tfckpt::tensor> planned, const std::string& name) {
    const fs::path out = dir_ / absl::StrFormat("out%d", ++outputs_);
    EXPECT_OK(tfckpt::write_bundle(planned, out));
    auto c = tfckpt::open(out);
    EXPECT_OK(c.status());
    if (!c.ok()) return {};
    EXPECT_TRUE(c->verify().ok());
    auto v = c->find(name)->values<T>();
    EXPECT_OK(v.status());
    return v.ok() ? std::vector<T>(v->begin(), v->end()) : std::vector<T>{};
  }
  tfckpt_testing::scratch_dir dir_;
  std::unique_ptr<tfckpt::checkpoint> ckpt_;
  int outputs_ = 0;
};

TEST_F(ConcatOneCheckpoint, NumericCaptureOrdersOut10AfterOut9) {
  std::vector<tfckpt_testing::tensor_spec> tensors;
  for (int i = 0; i < 12; ++i) tensors.push_back(float_tensor(absl::StrFormat("out%d/biases", i), {1}, {static_cast<float>(i)}));
  write(tensors);
  // Key order (what by_source_checkpoint keeps within one checkpoint) is lexical: out0 out1 out10 out11 out2 ...
  auto planned = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::concat_by_group(kHeads));
  ASSERT_EQ(planned.size(), 1u);
  EXPECT_THAT(written<float>(planned, "out/biases"), ElementsAre(0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9));
  for (auto order : {tfckpt::concat_order::numeric_capture(1), tfckpt::concat_order::automatic()}) {
    planned = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::concat_by_group(kHeads, {.order = order}));
    EXPECT_THAT(written<float>(planned, "out/biases"), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
    EXPECT_EQ(planned[0].origins[10].name, "out10/biases");
  }
  // Capture 2 is "biases": not a number, so numeric_capture(2) is an error naming a member.
  planned = tfckpt::collect(tfckpt::entries(*ckpt_) |
                            tfckpt::views::concat_by_group(kHeads, {.order = tfckpt::concat_order::numeric_capture(2)}));
  EXPECT_THAT(tfckpt::check_pipeline(planned),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ordered by the number in capture $2, but 'out0/biases'")));
}

TEST(ConcatOrder, BySourceCheckpointThenInputOrder) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "a", {float_tensor("h/x", {1}, {1}), float_tensor("h/y", {1}, {2})});
  tfckpt_testing::write_bundle(dir / "b", {float_tensor("h/x", {1}, {3})});
  ASSERT_OK_AND_ASSIGN(const auto a, tfckpt::open(dir / "a"));
  ASSERT_OK_AND_ASSIGN(const auto b, tfckpt::open(dir / "b"));
  const auto key = [](const tfckpt::tensor& t) -> std::optional<std::string> {
    if (t.name.rfind("h/", 0) == 0) return std::string("h");
    return std::nullopt;
  };
  // Joined b first: checkpoint index decides, then input order.
  const auto planned = tfckpt::collect(tfckpt::entries({&b, &a}) | tfckpt::views::concat_by_group(key));
  ASSERT_EQ(planned.size(), 1u);
  ASSERT_OK(tfckpt::write_bundle(planned, dir / "out"));
  ASSERT_OK_AND_ASSIGN(const auto out, tfckpt::open(dir / "out"));
  ASSERT_OK_AND_ASSIGN(const auto v, out.find("h")->values<float>());
  EXPECT_THAT(std::vector<float>(v.begin(), v.end()), ElementsAre(3, 1, 2));
}

// --- Axes ---------------------------------------------------------------------------------------------

TEST_F(ConcatOneCheckpoint, AxisZeroAndOneOfMatrices) {
  write({float_tensor("g0/a", {2, 3}, {1, 2, 3, 4, 5, 6}), float_tensor("g0/b", {1, 3}, {7, 8, 9}),
         float_tensor("g1/a", {2, 1}, {1, 2}), float_tensor("g1/b", {2, 2}, {3, 4, 5, 6})});
  const auto key = tfckpt::group_by_regex(R"(^(g\d)/.*$)", "$1");
  const auto planned = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::concat_by_group(key, {.axis = {{"g1", 1}}}));
  ASSERT_OK(tfckpt::check_pipeline(planned));
  EXPECT_THAT(planned[0].shape, ElementsAre(3, 3));
  EXPECT_THAT(planned[1].shape, ElementsAre(2, 3));
  row_major<float> a(2, 3), b(1, 3), g0(3, 3);
  a << 1, 2, 3, 4, 5, 6;
  b << 7, 8, 9;
  g0 << a, b;  // Eigen's comma initializer stacks blocks: axis 0
  row_major<float> c(2, 1), d(2, 2), g1(2, 3);
  c << 1, 2;
  d << 3, 4, 5, 6;
  g1 << c, d;  // side by side: axis 1
  EXPECT_EQ(written<float>(planned, "g0"), flat<float>(g0));
  EXPECT_EQ(written<float>(planned, "g1"), flat<float>(g1));
}

TEST_F(ConcatOneCheckpoint, MiddleAxisOf3DAndNegativeAxes) {
  // [2, d, 3] members with d = 1, 2, 4 along axis 1 (= -2), and [2, 3, d] along axis 2 (= -1).
  std::vector<tfckpt_testing::tensor_spec> tensors;
  std::vector<Eigen::Tensor<float, 3, Eigen::RowMajor>> mid, last;
  const int dims[] = {1, 2, 4};
  for (int i = 0; i < 3; ++i) {
    Eigen::Tensor<float, 3, Eigen::RowMajor> m(2, dims[i], 3), l(2, 3, dims[i]);
    for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = 100.0f * i + static_cast<float>(k);
    for (Eigen::Index k = 0; k < l.size(); ++k) l.data()[k] = -100.0f * i - static_cast<float>(k);
    tensors.push_back(float_tensor(absl::StrFormat("mid%d", i), {2, dims[i], 3}, std::vector<float>(m.data(), m.data() + m.size())));
    tensors.push_back(float_tensor(absl::StrFormat("last%d", i), {2, 3, dims[i]}, std::vector<float>(l.data(), l.data() + l.size())));
    mid.push_back(m);
    last.push_back(l);
  }
  write(tensors);
  // Eigen's own concatenation op is the reference.
  using tensor3 = Eigen::Tensor<float, 3, Eigen::RowMajor>;
  const auto concat3 = [](const tensor3& a, const tensor3& b, const tensor3& c, int axis) {
    const tensor3 ab = a.concatenate(b, axis);
    return tensor3(ab.concatenate(c, axis));
  };
  const tensor3 mid_expected = concat3(mid[0], mid[1], mid[2], 1);
  const tensor3 last_expected = concat3(last[0], last[1], last[2], 2);
  const auto to_vec = [](const Eigen::Tensor<float, 3, Eigen::RowMajor>& t) { return std::vector<float>(t.data(), t.data() + t.size()); };
  const auto key = tfckpt::group_by_regex(R"(^(mid|last)\d$)", "$1");
  for (const auto& [mid_axis, last_axis] : std::vector<std::pair<int, int>>{{1, 2}, {-2, -1}}) {
    SCOPED_TRACE(mid_axis);
    const auto planned = tfckpt::collect(tfckpt::entries(*ckpt_) |
                                         tfckpt::views::concat_by_group(key, {.axis = {{"mid", mid_axis}, {"last", last_axis}}}));
    ASSERT_OK(tfckpt::check_pipeline(planned));
    EXPECT_THAT(planned[0].shape, ElementsAre(2, 3, 7));  // "last0" comes first in key order
    EXPECT_THAT(planned[1].shape, ElementsAre(2, 7, 3));
    EXPECT_EQ(written<float>(planned, "mid"), to_vec(mid_expected));
    EXPECT_EQ(written<float>(planned, "last"), to_vec(last_expected));
  }
  // An axis function works as well as a map.
  const auto planned = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::concat_by_group(key, {.axis = [](std::string_view n) {
                                                                     return n == "mid" ? 1 : -1;
                                                                   }}));
  EXPECT_EQ(written<float>(planned, "mid"), to_vec(mid_expected));
}

TEST_F(ConcatOneCheckpoint, Int32Float64AndBfloat16) {
  write({typed_tensor<std::int32_t>("i/0", tfckpt::dtype::int32, {2, 2}, {1, 2, 3, 4}),
         typed_tensor<std::int32_t>("i/1", tfckpt::dtype::int32, {2, 1}, {-5, -6}),
         typed_tensor<double>("d/0", tfckpt::dtype::float64, {1, 2}, {0.5, 1e300}),
         typed_tensor<double>("d/1", tfckpt::dtype::float64, {1, 1}, {-2.25}),
         typed_tensor<Eigen::bfloat16>("b/0", tfckpt::dtype::bfloat16, {2, 1}, {Eigen::bfloat16(1.5f), Eigen::bfloat16(-3.0f)}),
         typed_tensor<Eigen::bfloat16>("b/1", tfckpt::dtype::bfloat16, {2, 2},
                                       {Eigen::bfloat16(0.25f), Eigen::bfloat16(8.0f), Eigen::bfloat16(-0.5f), Eigen::bfloat16(2.0f)})});
  const auto key = tfckpt::group_by_regex(R"(^([ibd])/\d$)", "$1");
  const auto planned = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::concat_by_group(key, {.axis = 1}));
  ASSERT_OK(tfckpt::check_pipeline(planned));
  row_major<std::int32_t> i0(2, 2), i1(2, 1), ie(2, 3);
  i0 << 1, 2, 3, 4;
  i1 << -5, -6;
  ie << i0, i1;
  EXPECT_EQ(written<std::int32_t>(planned, "i"), flat<std::int32_t>(ie));
  EXPECT_THAT(written<double>(planned, "d"), ElementsAre(0.5, 1e300, -2.25));
  const auto bf = written<Eigen::bfloat16>(planned, "b");
  std::vector<float> as_float;
  for (auto v : bf) as_float.push_back(static_cast<float>(v));
  EXPECT_THAT(as_float, ElementsAre(1.5f, 0.25f, 8.0f, -3.0f, -0.5f, 2.0f));
  EXPECT_EQ(planned[0].dtype, tfckpt::dtype::bfloat16);
}

// Writes one "outI/weights" matrix of `rows` x cols_of(I) per member, concatenates them along axis
// 1 and checks the written result against Eigen's; returns the members.
template <class ColsOf>
std::vector<row_major<float>> expect_heads_concatenated(ConcatOneCheckpoint& test, int n, Eigen::Index rows,
                                                        ColsOf cols_of) {
  std::vector<tfckpt_testing::tensor_spec> tensors;
  std::vector<row_major<float>> members;
  Eigen::Index total_cols = 0;
  for (int i = 0; i < n; ++i) {
    members.push_back(head_matrix(i, rows, cols_of(i)));
    tensors.push_back(float_tensor(absl::StrFormat("out%d/weights", i), {rows, cols_of(i)}, flat<float>(members.back())));
    total_cols += cols_of(i);
  }
  test.write(tensors);
  row_major<float> expected(rows, total_cols);
  for (std::size_t i = 0, col = 0; i < members.size(); col += static_cast<std::size_t>(members[i].cols()), ++i)
    expected.middleCols(static_cast<Eigen::Index>(col), members[i].cols()) = members[i];
  const auto planned = tfckpt::collect(tfckpt::entries(*test.ckpt_) |
                                       tfckpt::views::concat_by_group(kHeads, {.order = tfckpt::concat_order::numeric_capture(1), .axis = 1}));
  const auto got = test.written<float>(planned, "out/weights");
  EXPECT_EQ(got.size(), static_cast<std::size_t>(expected.size()));
  EXPECT_TRUE(got == flat<float>(expected));
  return members;
}

// Rows large enough for the zero-copy path (>= 64 KiB per block) mixed with small ones (staged), and
// enough members for the mapped pages to be released while streaming: still Eigen's answer, and the
// members still read correctly afterwards.
TEST_F(ConcatOneCheckpoint, LargeAndSmallBlocksWithPagesReleased) {
  // 80000-byte and 12-byte row blocks.
  const auto members = expect_heads_concatenated(*this, 16, 64, [](int i) -> Eigen::Index { return i % 2 == 0 ? 20000 : 3; });
  for (int i = 0; i < 16; ++i) {
    ASSERT_OK_AND_ASSIGN(const auto v, ckpt_->find(absl::StrFormat("out%d/weights", i))->values<float>());
    EXPECT_TRUE(std::vector<float>(v.begin(), v.end()) == flat<float>(members[static_cast<std::size_t>(i)])) << i;
  }
}

// Narrow rows only: each member's rows are read straight into place, here over more than one 4 MiB
// staging buffer (60000 rows of 84 bytes), and more rows at once than one preadv call takes.
TEST_F(ConcatOneCheckpoint, ManyNarrowRowsOverSeveralStagingBuffers) {
  expect_heads_concatenated(*this, 8, 60000, [](int i) -> Eigen::Index { return 1 + i % 5; });
}

// --- Problems --------------------------------------------------------------------------------------

TEST(ConcatProblems, EveryProblemOfEveryGroupInOneStatus) {
  tfckpt_testing::scratch_dir dir;
  tfckpt_testing::write_bundle(dir / "a", {
      float_tensor("dt/0", {2}, {1, 2}),
      float_tensor("shape/0", {2, 3}, {1, 2, 3, 4, 5, 6}),
      float_tensor("rank/0", {2, 2}, {1, 2, 3, 4}),
      float_tensor("axis/0", {2}, {1, 2}),
      float_tensor("scalar/0", {}, {1}),
      tfckpt_testing::string_tensor("str/0", {1}, {"a"}),
      float_tensor("ok/0", {1}, {1}),
  });
  tfckpt_testing::write_bundle(dir / "b", {
      typed_tensor<std::int32_t>("dt/1", tfckpt::dtype::int32, {2}, {1, 2}),
      float_tensor("shape/1", {3, 3}, std::vector<float>(9, 0.0f)),
      float_tensor("shape/2", {3, 1}, {1, 2, 3}),
      float_tensor("rank/1", {4}, {1, 2, 3, 4}),
      float_tensor("axis/1", {2}, {1, 2}),
      float_tensor("scalar/1", {}, {2}),
      tfckpt_testing::string_tensor("str/1", {1}, {"b"}),
      float_tensor("ok/1", {1}, {2}),
  });
  ASSERT_OK_AND_ASSIGN(const auto a, tfckpt::open(dir / "a"));
  ASSERT_OK_AND_ASSIGN(const auto b, tfckpt::open(dir / "b"));
  const auto key = tfckpt::group_by_regex(R"(^(\w+)/\d$)", "$1");
  const auto planned = tfckpt::collect(tfckpt::entries({&a, &b}) |
                                       tfckpt::views::concat_by_group(key, {.axis = {{"shape", 1}, {"axis", 1}}}));
  const absl::Status s = tfckpt::check_pipeline(planned);
  // Mixed codes (a string group is kUnimplemented): kFailedPrecondition overall.
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("6 problems")));
  const std::string pa = (dir / "a").string(), pb = (dir / "b").string();
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat("group 'dt' (2 members, axis 0) cannot be concatenated: 'dt/1' (%s) is int32 but 'dt/0' (%s) is float32", pb, pa)));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat("'shape/1' (%s) is [3,3] but 'shape/0' (%s) is [2,3] (all dimensions but 1 must agree)", pb, pa)));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat("; 'shape/2' (%s) is [3,1] but", pb)));  // the same group, also listed
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat("'rank/1' (%s) is [4] but 'rank/0' (%s) is [2,2]", pb, pa)));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrFormat("axis 1 is outside the rank 1 of 'axis/0' (%s) [2]", pa)));
  EXPECT_THAT(s.message(), HasSubstr("'scalar/0' (" + pa + ") is a scalar"));
  EXPECT_THAT(s.message(), HasSubstr("'str/0' (" + pa + ") is string; only fixed-size dtypes can be concatenated"));
  EXPECT_THAT(s.message(), Not(HasSubstr("'ok'")));
  // The string group alone: kUnimplemented.
  const auto strings = tfckpt::collect(tfckpt::entries({&a, &b}) | tfckpt::views::filter(tfckpt::name_glob("str/*")) |
                                       tfckpt::views::concat_by_group(key));
  EXPECT_THAT(tfckpt::check_pipeline(strings), StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("group 'str'")));
  // Nothing is written when anything is wrong.
  EXPECT_FALSE(tfckpt::write_bundle(planned, dir / "out").ok());
  EXPECT_FALSE(fs::exists(dir / "out.index"));
  // describe_plan shows the error in place of the sources.
  EXPECT_THAT(tfckpt::describe_plan(planned), HasSubstr("ERROR: concat_by_group: group 'dt'"));
}

TEST(ConcatProblems, UpstreamErrorsPassThroughUntouched) {
  tfckpt::tensor bad;
  bad.name = "out0/weights";  // would be grouped, were it not an error
  bad.status = absl::NotFoundError("rename: 'x' is not in the input");
  std::vector<tfckpt::tensor> in{bad};
  const auto planned = tfckpt::collect(std::views::all(in) | tfckpt::views::concat_by_group(kHeads));
  ASSERT_EQ(planned.size(), 1u);
  EXPECT_THAT(planned[0].status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("'x' is not in the input")));
}

// --- Laziness --------------------------------------------------------------------------------------

// Computed members (readers, no stored entry) count their reads: planning, checking and describing
// read nothing; writing along axis 1 reads each member's rows in pieces, never a whole member at once.
TEST(ConcatLaziness, NoMemberIsReadBeforeTheSinkPullsBytes) {
  auto reads = std::make_shared<std::vector<std::pair<std::uint64_t, std::size_t>>>();
  std::vector<tfckpt::tensor> in;
  for (int i = 0; i < 4; ++i) {
    tfckpt::tensor t;
    t.name = absl::StrFormat("out%d/weights", i);
    t.dtype = tfckpt::dtype::float32;
    t.shape = {2, 2};
    t.origins.push_back({"memory", static_cast<std::size_t>(i), t.name});
    const float base = static_cast<float>(10 * i);
    t.source = tfckpt::byte_source::from_reader(16, [reads, base](std::uint64_t offset, std::span<std::byte> out) {
      reads->emplace_back(offset, out.size());
      const float v[4] = {base, base + 1, base + 2, base + 3};
      std::memcpy(out.data(), reinterpret_cast<const std::byte*>(v) + offset, out.size());
      return absl::OkStatus();
    });
    in.push_back(std::move(t));
  }
  auto view = std::views::all(in) | tfckpt::views::concat_by_group(kHeads, {.axis = 1});
  const auto planned = tfckpt::collect(view);
  ASSERT_OK(tfckpt::check_pipeline(planned));
  (void)tfckpt::describe_plan(planned);
  EXPECT_TRUE(reads->empty());
  tfckpt_testing::scratch_dir dir;
  ASSERT_OK(tfckpt::write_bundle(planned, dir / "m"));
  ASSERT_EQ(reads->size(), 8u);  // one row (8 bytes) of each member at a time
  for (const auto& [offset, n] : *reads) EXPECT_EQ(n, 8u) << offset;
  ASSERT_OK_AND_ASSIGN(const auto out, tfckpt::open(dir / "m"));
  ASSERT_OK_AND_ASSIGN(const auto v, out.find("out/weights")->values<float>());
  EXPECT_THAT(std::vector<float>(v.begin(), v.end()), ElementsAre(0, 1, 10, 11, 20, 21, 30, 31, 2, 3, 12, 13, 22, 23, 32, 33));
  // The concatenation reads any range of itself from the members' ranges.
  reads->clear();
  float middle[3];
  ASSERT_OK(planned[0].source.read(5 * 4, std::as_writable_bytes(std::span(middle))));
  EXPECT_THAT(middle, ElementsAre(21, 30, 31));
  EXPECT_EQ(reads->size(), 2u);

  // A producer-only member cannot be cut into row blocks: refused when planning, naming it; along
  // axis 0 it streams as it is.
  auto producer_only = in;
  producer_only[0].source = tfckpt::byte_source::from_producer(16, [](const tfckpt::byte_source::emit_fn& emit) {
    const float v[4] = {0, 1, 2, 3};
    return emit(std::as_bytes(std::span(v)));
  });
  const auto refused = tfckpt::collect(std::views::all(producer_only) | tfckpt::views::concat_by_group(kHeads, {.axis = 1}));
  EXPECT_THAT(tfckpt::check_pipeline(refused),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("'out0/weights' (memory) is a producer-only byte source")));
  const auto rows = tfckpt::collect(std::views::all(producer_only) | tfckpt::views::concat_by_group(kHeads, {.axis = 0}));
  ASSERT_OK(tfckpt::write_bundle(rows, dir / "rows"));
  ASSERT_OK_AND_ASSIGN(const auto by_rows, tfckpt::open(dir / "rows"));
  ASSERT_OK_AND_ASSIGN(const auto r, by_rows.find("out/weights")->values<float>());
  EXPECT_THAT(std::vector<float>(r.begin(), r.end()), ElementsAre(0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33));
}

// Two groups; one lives entirely in a data shard that has been deleted. Filtering its output away
// after concat_by_group means its bytes are never read, and the merge succeeds. Writing it fails,
// naming the member and nothing is left behind.
TEST(ConcatLaziness, AGroupFilteredAwayIsNeverRead) {
  tfckpt_testing::scratch_dir dir;
  std::vector<tfckpt_testing::tensor_spec> tensors;
  for (int i = 0; i < 4; ++i) {
    auto w = float_tensor(absl::StrFormat("out%d/weights", i), {1, 2}, {static_cast<float>(i), 0.5f});
    auto b = float_tensor(absl::StrFormat("out%d/biases", i), {2}, {static_cast<float>(i), 1});
    w.shard = 0;
    b.shard = 1;  // every bias in the shard about to disappear
    tensors.push_back(w);
    tensors.push_back(b);
  }
  tfckpt_testing::write_bundle(dir / "m", tensors, {.num_shards = 2});
  fs::remove(tfckpt::data_file_name((dir / "m").string(), 1, 2));
  ASSERT_OK_AND_ASSIGN(const auto ckpt, tfckpt::open(dir / "m"));
  ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(ckpt) | tfckpt::views::concat_by_group(kHeads, {.axis = {{"out/weights", 1}}}) |
                                     tfckpt::views::filter(tfckpt::name_glob("out/weights")),
                                 dir / "w"));
  ASSERT_OK_AND_ASSIGN(const auto w, tfckpt::open(dir / "w"));
  ASSERT_OK_AND_ASSIGN(const auto v, w.find("out/weights")->values<float>());
  EXPECT_THAT(std::vector<float>(v.begin(), v.end()), ElementsAre(0, 0.5, 1, 0.5, 2, 0.5, 3, 0.5));
  EXPECT_THAT(tfckpt::write_bundle(tfckpt::entries(ckpt) | tfckpt::views::concat_by_group(kHeads), dir / "all"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("for key 'out0/biases'")));
  EXPECT_FALSE(fs::exists(dir / "all.index"));
}

// --- View anatomy ----------------------------------------------------------------------------------

using joined_view = decltype(tfckpt::entries(std::span<const tfckpt::checkpoint>()));
using concat_view = decltype(std::declval<joined_view>() | tfckpt::views::concat_by_group(kHeads));
static_assert(std::ranges::view<concat_view>);
static_assert(std::ranges::random_access_range<concat_view>);
static_assert(std::ranges::sized_range<concat_view>);
static_assert(tfckpt::tensor_range<concat_view>);
static_assert(!std::ranges::range<const concat_view>);  // caches its plan: not const-iterable
static_assert(std::movable<concat_view>);

// A strict single-pass input: each tensor can be read once, and begin() only once.
class single_pass {
 public:
  explicit single_pass(std::vector<tfckpt::tensor>* v) : v_(v) {}
  struct iterator {
    using value_type = tfckpt::tensor;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;
    std::vector<tfckpt::tensor>* v = nullptr;
    std::size_t i = 0;
    tfckpt::tensor operator*() const { return std::move((*v)[i]); }
    iterator& operator++() {
      ++i;
      return *this;
    }
    void operator++(int) { ++i; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.i == it.v->size(); }
  };
  iterator begin() {
    EXPECT_FALSE(begun_) << "begin() called twice on a single-pass range";
    begun_ = true;
    return {v_, 0};
  }
  std::default_sentinel_t end() const { return {}; }

 private:
  std::vector<tfckpt::tensor>* v_;
  bool begun_ = false;
};
static_assert(std::ranges::input_range<single_pass> && !std::ranges::forward_range<single_pass>);

TEST_F(ConcatOneCheckpoint, WorksOverASinglePassInputAndPlansOnce) {
  write({float_tensor("out1/biases", {1}, {1}), float_tensor("keep", {1}, {9}), float_tensor("out0/biases", {1}, {0})});
  std::vector<tfckpt::tensor> in = tfckpt::collect(tfckpt::entries(*ckpt_));
  single_pass input(&in);
  auto view = std::ranges::subrange(input.begin(), std::default_sentinel) |
              tfckpt::views::concat_by_group(kHeads, {.order = tfckpt::concat_order::automatic()});
  EXPECT_EQ(std::ranges::distance(view), 2);  // planned here
  EXPECT_THAT(names(tfckpt::collect(view)), ElementsAre("keep", "out/biases"));  // the cached plan, not a second pass
  EXPECT_THAT(written<float>(tfckpt::collect(view), "out/biases"), ElementsAre(0, 1));
}

}  // namespace

}  // namespace concat_by_group_test
