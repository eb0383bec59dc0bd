// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/views/concat_by_group.hpp
//
// Concatenating groups of tensors into one, lazily: the merge-heads story (seeds/000). A key
// function names each tensor's group (`out3/weights` -> `out/weights`) or lets it pass through
// (nullopt); each group becomes one tensor whose bytes are the members' bytes concatenated along an
// axis. Only metadata is planned here — dtypes, shapes, order, checks; the bytes stream later, row
// block by row block, straight out of the members' mapped shards (or through computed members'
// read()), when a sink pulls them. Nothing the size of a member, let alone of the output, is ever
// allocated.
//
//   views::concat_by_group(key_fn, options)     planning adaptor (see concat_by_group_view)
//   group_by_regex(R"(^out(\d+)/(weights|biases)$)", "out/$2")
//                                               a key function from a regex; exposes the captures so
//                                               members can be ordered by number (out10 after out9)
//   (recipes/merge_heads.hpp has the whole seed-000 merge as one call: merge_heads_pipeline)
//
// Example:
//   const auto heads = tfckpt::group_by_regex(R"(^out(\d+)/(weights|biases)$)", "out/$2");
//   auto merged = tfckpt::entries({&log0, &log1, &log2})
//               | tfckpt::views::filter(tfckpt::not_optimizer_slot())
//               | tfckpt::views::concat_by_group(heads, {.order = tfckpt::concat_order::numeric_capture(1),
//                                                       .axis = {{"out/weights", 1}}});
//   TFCKPT_RETURN_IF_ERROR(tfckpt::write_bundle(merged, "merged/model.ckpt"));
#ifndef TFCKPT_VIEWS_CONCAT_BY_GROUP_HPP_
#define TFCKPT_VIEWS_CONCAT_BY_GROUP_HPP_

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <ranges>
#include <regex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_source.hpp"
#include "tfckpt/tensor/dtype.hpp"
#include "tfckpt/tensor/shape.hpp"
#include "tfckpt/views/filter.hpp"
#include "tfckpt/views/plan.hpp"
#include "tfckpt/views/planning_view.hpp"
#include "tfckpt/views/tensor.hpp"

namespace tfckpt {

/// What a key function says about a tensor that belongs to a group: the group's output name and,
/// when a regex put it there, the regex's captures ([0] the whole match, [k] group k), which
/// concat_order::numeric_capture orders members by. `rule` is the index of the rule that matched
/// (group_by_regex with several rules), for reporting rules that match nothing.
struct group_key {
  std::string name;
  std::vector<std::string> captures;
  std::size_t rule = 0;
};

/// A key function: `fn(const tensor&)` returns std::optional<std::string> (the group's output name)
/// or std::optional<group_key>; nullopt lets the tensor pass through unchanged.
template <class F>
concept group_key_fn =
    std::copy_constructible<F> && std::invocable<const F&, const tensor&> &&
    (std::convertible_to<std::invoke_result_t<const F&, const tensor&>, std::optional<std::string>> ||
     std::convertible_to<std::invoke_result_t<const F&, const tensor&>, std::optional<group_key>>);

/// The order of a group's members, which is the order of their blocks in the output.
class concat_order {
 public:
  /// By origins[0].checkpoint_index (the position of the member's checkpoint among the joined
  /// ones), then by input order. The default.
  static constexpr concat_order by_source_checkpoint() { return concat_order(kind::checkpoint, 0); }
  /// By the integer value of regex capture `k` (so `out10` comes after `out9`), ties by source
  /// checkpoint. A member without a decimal capture k makes the group an error.
  static constexpr concat_order numeric_capture(int k) { return concat_order(kind::capture, k); }
  /// By the first capture (k >= 1) that is a decimal integer in every member; by source checkpoint
  /// when there is none (e.g. the key function gives no captures).
  static constexpr concat_order automatic() { return concat_order(kind::automatic, 0); }

  constexpr concat_order() = default;
  enum class kind { checkpoint, capture, automatic };
  constexpr kind how() const { return how_; }
  constexpr int capture() const { return capture_; }

 private:
  constexpr concat_order(kind how, int capture) : how_(how), capture_(capture) {}
  kind how_ = kind::checkpoint;
  int capture_ = 0;
};

/// The concatenation axis of each group, by output name: one axis for all (`axis = 1`), a map with
/// a fallback (`axis = {{"out/weights", 1}, {"out/biases", 0}}`, others 0), or any function
/// `int(std::string_view name)`. A negative axis counts from the end (-1 is the last dimension).
class axis_rule {
 public:
  axis_rule(int axis = 0) : fn_([axis](std::string_view) { return axis; }) {}  // NOLINT: implicit on purpose
  axis_rule(std::initializer_list<std::pair<const std::string, int>> axes, int fallback = 0)
      : axis_rule(std::map<std::string, int, std::less<>>(axes), fallback) {}
  axis_rule(std::map<std::string, int, std::less<>> axes, int fallback = 0)
      : fn_([axes = std::move(axes), fallback](std::string_view name) {
          const auto it = axes.find(name);
          return it == axes.end() ? fallback : it->second;
        }) {}
  axis_rule(const std::map<std::string, int>& axes, int fallback = 0)
      : axis_rule(std::map<std::string, int, std::less<>>(axes.begin(), axes.end()), fallback) {}
  template <class F>
    requires(!std::convertible_to<F, int> && std::is_invocable_r_v<int, const F&, std::string_view>)
  axis_rule(F fn) : fn_(std::move(fn)) {}  // NOLINT: implicit on purpose

  int operator()(std::string_view group) const { return fn_(group); }

 private:
  std::function<int(std::string_view)> fn_;
};

struct concat_by_group_options {
  concat_order order = concat_order::by_source_checkpoint();
  axis_rule axis = 0;
};

/// A key function from regex rules (ECMAScript), tried in order: the first rule whose pattern is
/// found in the name (std::regex_search; anchor with ^...$ to match whole names) names the group:
/// the name with that match replaced by `format` ($1, $2, ... as std::regex_replace). The captures
/// go into the group_key, for concat_order::numeric_capture. Copies share the compiled regexes.
/// Throws std::regex_error for a bad pattern (as name_regex does).
class regex_grouping {
 public:
  regex_grouping() = default;
  explicit regex_grouping(const std::vector<std::pair<std::string, std::string>>& rules) {
    auto compiled = std::make_shared<std::vector<rule>>();
    for (const auto& [pattern, format] : rules) compiled->push_back({std::regex(pattern), pattern, format});
    rules_ = std::move(compiled);
  }

  std::optional<group_key> operator()(std::string_view name) const {
    if (!rules_) return std::nullopt;
    const std::string s(name);
    for (std::size_t i = 0; i < rules_->size(); ++i) {
      const rule& r = (*rules_)[i];
      std::smatch m;
      if (!std::regex_search(s, m, r.re)) continue;
      group_key key;
      key.name = m.prefix().str() + m.format(r.format) + m.suffix().str();
      for (const auto& sub : m) key.captures.push_back(sub.str());
      key.rule = i;
      return key;
    }
    return std::nullopt;
  }
  std::optional<group_key> operator()(const tensor& t) const { return (*this)(std::string_view(t.name)); }

  std::size_t num_rules() const { return rules_ ? rules_->size() : 0; }
  /// Rule i's pattern and format, as given.
  const std::string& pattern(std::size_t i) const { return (*rules_)[i].pattern; }
  const std::string& format(std::size_t i) const { return (*rules_)[i].format; }

 private:
  struct rule {
    std::regex re;
    std::string pattern;
    std::string format;
  };
  std::shared_ptr<const std::vector<rule>> rules_;
};

/// group_by_regex(R"(^out(\d+)/(weights|biases)$)", "out/$2"): see regex_grouping.
inline regex_grouping group_by_regex(const std::string& pattern, const std::string& format) {
  return regex_grouping({{pattern, format}});
}
/// Several (pattern, format) rules; the first that matches wins.
inline regex_grouping group_by_regex(const std::vector<std::pair<std::string, std::string>>& rules) {
  return regex_grouping(rules);
}

namespace detail {

// A group key function's answer, as a group_key.
template <class KeyFn>
std::optional<group_key> group_of(const KeyFn& key, const tensor& t) {
  using result = std::invoke_result_t<const KeyFn&, const tensor&>;
  if constexpr (std::convertible_to<result, std::optional<group_key>>) {
    return std::optional<group_key>(std::invoke(key, t));
  } else {
    std::optional<std::string> name = std::invoke(key, t);
    if (!name) return std::nullopt;
    return group_key{std::move(*name), {}, 0};
  }
}

// One member of a planned concatenation.
struct concat_member {
  std::string name;
  byte_source source;
  const entry* stored = nullptr;  // set when the member's bytes are this entry's, unchanged
  std::uint64_t block = 0;        // bytes per outer index: dim[axis] * inner * element size
};

// The recipe a concatenated tensor's reader and streamer follow. For outer index i = 0 .. outer-1
// and each member m in order, member m's block i: bytes [i * block_m, (i + 1) * block_m) of its
// payload. Streaming, a stored member in a mapped shard is read by pread, a batch of rows at a time
// into a buffer of its own (not through the mapping, whose first touch of a page can cost more than
// a copy: see entry::crc32c_by_pread); blocks of kDirect bytes or more are emitted from there,
// smaller ones, and computed members' blocks (read() in pieces), are gathered into a staging buffer
// of kStaging bytes first, so that a sink sees few large chunks rather than one call per row (the
// CRC and the write then run at full speed). When every member is stored in a mapped shard with
// blocks under kDirect, their rows are read straight into the staging buffer instead.
struct concat_recipe {
  static constexpr std::size_t kDirect = std::size_t{64} << 10;
  static constexpr std::size_t kStaging = std::size_t{4} << 20;  // the writer overlaps CRC and write from 4 MiB
  static constexpr std::uint64_t kResidentBudget = std::uint64_t{16} << 20;  // rows read ahead, all members

  std::string group;
  std::uint64_t outer = 1;
  std::uint64_t size = 0;
  std::vector<concat_member> members;

  std::uint64_t row_bytes() const {
    std::uint64_t r = 0;
    for (const concat_member& m : members) r += m.block;
    return r;
  }

  // Bytes [offset, offset + out.size()): each piece from the member block it falls in.
  absl::Status read(std::uint64_t offset, std::span<std::byte> out) const {
    const std::uint64_t row = row_bytes();
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t at = offset + done;
      const std::uint64_t i = at / row;
      std::uint64_t within = at % row;
      std::size_t k = 0;
      while (within >= members[k].block) within -= members[k++].block;
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(out.size() - done, members[k].block - within));
      TFCKPT_RETURN_IF_ERROR(members[k].source.read(i * members[k].block + within, out.subspan(done, take)));
      done += take;
    }
    return absl::OkStatus();
  }

  // A hint for the members' bytes behind output bytes [offset, offset + n).
  void release(std::uint64_t offset, std::uint64_t n) const {
    const std::uint64_t row = row_bytes();
    if (row == 0 || n == 0) return;
    const std::uint64_t first = offset / row, last = (offset + n - 1) / row;
    for (const concat_member& m : members) m.source.release(first * m.block, (last - first + 1) * m.block);
  }

  absl::Status stream(const byte_source::emit_fn& emit) const {
    if (outer <= 1) {  // axis 0 (or nothing before the axis): the members one after the other
      for (const concat_member& m : members)
        TFCKPT_RETURN_IF_ERROR(m.stored != nullptr ? stream_stored(*m.stored, emit) : m.source.stream(emit));
      return absl::OkStatus();
    }
    std::vector<std::span<const std::byte>> spans(members.size());
    std::vector<bool> releasable(members.size(), false);
    for (std::size_t k = 0; k < members.size(); ++k) {
      const concat_member& m = members[k];
      if (m.stored != nullptr) {
        TFCKPT_ASSIGN_OR_RETURN(spans[k], m.stored->bytes());
        releasable[k] = m.stored->bytes_are_mapped();
        if (spans[k].size() != m.block * outer)
          return absl::InternalError(absl::StrFormat("concat_by_group '%s': member '%s' holds %d bytes, planned %d",
                                                     printable_key(group), printable_key(m.name), spans[k].size(),
                                                     m.block * outer));
      } else if (auto bytes = m.source.contiguous()) {
        spans[k] = *bytes;
      } else if (!m.source.random_access()) {
        return absl::InternalError(absl::StrFormat("concat_by_group '%s': member '%s' cannot be read in ranges",
                                                   printable_key(group), printable_key(m.name)));
      }
      if (m.source.size() != m.block * outer)
        return absl::InternalError(absl::StrFormat("concat_by_group '%s': member '%s' holds %d bytes, planned %d",
                                                   printable_key(group), printable_key(m.name), m.source.size(),
                                                   m.block * outer));
    }
    const std::uint64_t batch_bytes =
        std::clamp<std::uint64_t>(kResidentBudget / members.size(), std::uint64_t{64} << 10, std::uint64_t{4} << 20);
    // Mapped stored members: rows by pread, `rows_per_batch` at a time; one whose block alone exceeds
    // the batch is read in pieces like a computed member.
    std::uint64_t widest = 1;
    for (std::size_t k = 0; k < members.size(); ++k) {
      if (!releasable[k]) continue;
      if (members[k].block > batch_bytes) {
        spans[k] = {};
        releasable[k] = false;
      } else {
        widest = std::max(widest, members[k].block);
      }
    }
    const std::size_t staging_size = static_cast<std::size_t>(std::min<std::uint64_t>(kStaging, size));
    const auto staging = std::make_unique_for_overwrite<std::byte[]>(staging_size);
    // Every member stored in a mapped shard in host order, with blocks under kDirect (the rows of
    // matrices joined along an inner axis): each member's rows are read straight into their places
    // in the staging buffer (entry::read_rows, a few preadv calls per member), with no copy between.
    const std::uint64_t row = row_bytes();
    bool gather = row > 0 && row <= staging_size;
    for (std::size_t k = 0; k < members.size() && gather; ++k)
      gather = members[k].block == 0 ||
               (releasable[k] && members[k].block < kDirect && members[k].stored->bytes_in_host_order());
    if (gather) {
      const std::uint64_t rows_per_fill = staging_size / row;
      for (std::uint64_t first = 0; first < outer; first += rows_per_fill) {
        const std::size_t rows = static_cast<std::size_t>(std::min(rows_per_fill, outer - first));
        std::size_t at = 0;
        for (const concat_member& m : members) {
          if (m.block == 0) continue;
          TFCKPT_RETURN_IF_ERROR(m.stored->read_rows(first * m.block, static_cast<std::size_t>(m.block), rows,
                                                     {staging.get() + at, staging_size - at}, static_cast<std::size_t>(row)));
          at += static_cast<std::size_t>(m.block);
        }
        TFCKPT_RETURN_IF_ERROR(emit({staging.get(), static_cast<std::size_t>(rows * row)}));
      }
      return absl::OkStatus();
    }
    const std::uint64_t rows_per_batch = std::max<std::uint64_t>(1, batch_bytes / widest);
    std::vector<std::unique_ptr<std::byte[]>> batch(members.size());
    for (std::size_t k = 0; k < members.size(); ++k)
      if (releasable[k] && members[k].block != 0)
        batch[k] = std::make_unique_for_overwrite<std::byte[]>(
            static_cast<std::size_t>(std::min(rows_per_batch, outer) * members[k].block));
    std::vector<std::uint64_t> released(members.size(), 0);  // sources told their rows are done with
    std::size_t used = 0;
    const auto flush = [&]() -> absl::Status {
      if (used == 0) return absl::OkStatus();
      absl::Status s = emit({staging.get(), used});
      used = 0;
      return s;
    };
    for (std::uint64_t first = 0; first < outer; first += rows_per_batch) {
      const std::uint64_t rows = std::min(rows_per_batch, outer - first);
      for (std::size_t k = 0; k < members.size(); ++k)
        if (batch[k] != nullptr)
          TFCKPT_RETURN_IF_ERROR(members[k].stored->read(
              first * members[k].block, {batch[k].get(), static_cast<std::size_t>(rows * members[k].block)}));
      for (std::uint64_t i = first; i < first + rows; ++i) {
        for (std::size_t k = 0; k < members.size(); ++k) {
          const std::uint64_t block = members[k].block;
          if (block == 0) continue;
          if (spans[k].empty()) {  // computed: read the block in pieces into the staging buffer
            for (std::uint64_t at = 0; at < block;) {
              if (used == staging_size) TFCKPT_RETURN_IF_ERROR(flush());
              const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(block - at, staging_size - used));
              TFCKPT_RETURN_IF_ERROR(members[k].source.read(i * block + at, {staging.get() + used, take}));
              used += take;
              at += take;
            }
          } else {
            const auto bytes =
                batch[k] != nullptr
                    ? std::span<const std::byte>(batch[k].get() + (i - first) * block, static_cast<std::size_t>(block))
                    : spans[k].subspan(static_cast<std::size_t>(i * block), static_cast<std::size_t>(block));
            if (block >= kDirect) {
              TFCKPT_RETURN_IF_ERROR(flush());
              TFCKPT_RETURN_IF_ERROR(emit(bytes));
            } else {
              if (bytes.size() > staging_size - used) TFCKPT_RETURN_IF_ERROR(flush());
              std::memcpy(staging.get() + used, bytes.data(), bytes.size());
              used += bytes.size();
            }
          }
          // What is copied or emitted is no longer needed from a source that can drop it.
          const std::uint64_t done = (i + 1) * block;
          if (batch[k] == nullptr && done - released[k] >= batch_bytes) {
            members[k].source.release(released[k], done - released[k]);
            released[k] = done;
          }
        }
      }
    }
    TFCKPT_RETURN_IF_ERROR(flush());
    for (std::size_t k = 0; k < members.size(); ++k)
      if (batch[k] == nullptr) members[k].source.release(released[k], members[k].source.size() - released[k]);
    return absl::OkStatus();
  }
};

// "'out3/weights' (log_3/model.ckpt)" for messages.
inline std::string describe_member(const tensor& t) {
  if (t.origins.size() != 1) return absl::StrFormat("'%s'", printable_key(t.name));
  const tensor_origin& o = t.origins[0];
  if (o.name == t.name) return absl::StrFormat("'%s' (%s)", printable_key(t.name), o.checkpoint);
  return absl::StrFormat("'%s' (%s:%s)", printable_key(t.name), o.checkpoint, printable_key(o.name));
}

inline bool is_decimal(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Compares two decimal strings by value, without overflow.
TFCKPT_DECL bool decimal_less(std::string_view a, std::string_view b);

struct group_member {
  std::size_t input_index = 0;
  tensor t;
  std::vector<std::string> captures;
};

// Orders the members; returns a problem when the order asks for captures the members lack.
TFCKPT_DECL std::optional<std::string> order_members(std::vector<group_member>& members, const concat_order& order);

// One group's output: the concatenated tensor, or an error tensor listing every problem.
TFCKPT_DECL tensor plan_group(const std::string& name, std::vector<group_member> members,
                              const concat_by_group_options& options);

// The whole plan: pass-through tensors keep their relative order; each group's output sits where
// its first member (in input order) was.
template <class KeyFn>
std::vector<tensor> plan_concat(std::vector<tensor> in, const KeyFn& key, const concat_by_group_options& options) {
  std::map<std::string, std::vector<group_member>> groups;
  std::vector<std::optional<std::string>> slot(in.size());  // group of input i, if any
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!in[i].status.ok()) continue;  // an upstream finding passes through to the sink
    std::optional<group_key> g = group_of(key, std::as_const(in[i]));
    if (!g) continue;
    slot[i] = g->name;
    groups[g->name].push_back({i, std::move(in[i]), std::move(g->captures)});
  }
  std::vector<tensor> out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!slot[i]) {
      out.push_back(std::move(in[i]));
      continue;
    }
    auto it = groups.find(*slot[i]);
    if (it == groups.end()) continue;  // planned at its first member
    out.push_back(plan_group(it->first, std::move(it->second), options));
    groups.erase(it);
  }
  return out;
}

// The planner behind views::concat_by_group.
template <class KeyFn>
struct concat_planner {
  KeyFn key;
  concat_by_group_options options;
  std::vector<tensor> operator()(std::vector<tensor> in) const { return plan_concat(std::move(in), key, options); }
};

}  // namespace detail

/// One tensor per group of a key function, concatenated along the group's axis (see the file
/// comment); other tensors pass through unchanged, in their order, and each group's output takes the
/// place of its first member. The output of a group has the group's name, the members' dtype, their
/// shape with the axis dimension summed, every member's origins (in member order), no stored entry,
/// and a reader that streams the concatenation row block by row block when a sink pulls it.
///
/// Checks, reported as an error tensor per group (all of them at once through check_pipeline, before
/// any byte is written), naming the group and the offending members with their checkpoints: equal
/// dtypes, equal ranks, every dimension but the axis equal, the axis in range; string, variant and
/// resource members are kUnimplemented. Upstream error tensors pass through untouched.
///
/// Cost: a planning_view (views/planning_view.hpp): the first begin() walks the whole input once
/// (metadata only: no tensor byte is read, no producer runs) and caches the plan, so the view is not
/// const-iterable; copies plan again. When
/// streamed: stored members are read from their mapped shards with no copy for blocks of 64 KiB and
/// more (smaller blocks are gathered into a 4 MiB buffer), and their pages are released behind the
/// stream (about 16 MiB of them stay mapped, across all members, plus the page-cache folio each fault
/// maps), so memory does not grow with the tensors' size; computed members (cast, permuted,
/// byte-swapped, averaged, ...) stream as they are along axis 0 and along other axes are read block
/// by block in pieces of at most 4 MiB through their read(), never buffered whole. The output's
/// source is a reader too: read(offset, span) reads just the member ranges that range covers. A
/// member whose source is producer-only (byte_source::from_producer, user code) can only be
/// concatenated along axis 0 (or when nothing precedes the axis); along other axes the group is a
/// kUnimplemented error tensor. Members are assumed to share the host's byte order (as every writer
/// in this library assumes).
template <std::ranges::input_range V, group_key_fn KeyFn>
  requires std::ranges::view<V> && tensor_range<V>
using concat_by_group_view = planning_view<V, detail::concat_planner<KeyFn>>;

struct concat_by_group_fn {
  template <std::ranges::viewable_range R, group_key_fn KeyFn>
    requires tensor_range<std::views::all_t<R>>
  auto operator()(R&& r, KeyFn key, concat_by_group_options options = {}) const {
    return planning_view(std::views::all(std::forward<R>(r)), detail::concat_planner<KeyFn>{std::move(key), std::move(options)});
  }
  template <group_key_fn KeyFn>
  auto operator()(KeyFn key, concat_by_group_options options = {}) const {
    return views::planned(detail::concat_planner<KeyFn>{std::move(key), std::move(options)});
  }
};

namespace views {
/// entries({&a, &b}) | views::concat_by_group(group_by_regex(R"(^out(\d+)/w$)", "out/w"), {.axis = 1})
inline constexpr concat_by_group_fn concat_by_group{};
}  // namespace views

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_VIEWS_CONCAT_BY_GROUP)

namespace tfckpt::detail {

TFCKPT_DECL bool decimal_less(std::string_view a, std::string_view b) {
  const auto strip = [](std::string_view s) {
    const auto nz = s.find_first_not_of('0');
    return nz == std::string_view::npos ? std::string_view() : s.substr(nz);
  };
  a = strip(a);
  b = strip(b);
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

TFCKPT_DECL std::optional<std::string> order_members(std::vector<group_member>& members, const concat_order& order) {
  const auto by_checkpoint = [](const group_member& a, const group_member& b) {
    const std::size_t ca = a.t.origins.empty() ? 0 : a.t.origins[0].checkpoint_index;
    const std::size_t cb = b.t.origins.empty() ? 0 : b.t.origins[0].checkpoint_index;
    return ca != cb ? ca < cb : a.input_index < b.input_index;
  };
  std::size_t k = 0;
  if (order.how() == concat_order::kind::capture) {
    k = static_cast<std::size_t>(std::max(order.capture(), 0));
    for (const group_member& m : members)
      if (m.captures.size() <= k || !is_decimal(m.captures[k]))
        return absl::StrFormat("members are ordered by the number in capture $%d, but %s has %s", k,
                               describe_member(m.t),
                               m.captures.size() <= k ? std::string("no such capture")
                                                      : absl::StrFormat("'%s' there", m.captures[k]));
  } else if (order.how() == concat_order::kind::automatic) {
    std::size_t most = SIZE_MAX;
    for (const group_member& m : members) most = std::min(most, m.captures.size());
    for (std::size_t c = 1; c < most && k == 0; ++c)
      if (std::all_of(members.begin(), members.end(), [c](const group_member& m) { return is_decimal(m.captures[c]); }))
        k = c;
  }
  if (k == 0) {
    std::stable_sort(members.begin(), members.end(), by_checkpoint);
  } else {
    std::stable_sort(members.begin(), members.end(), [&](const group_member& a, const group_member& b) {
      if (decimal_less(a.captures[k], b.captures[k])) return true;
      if (decimal_less(b.captures[k], a.captures[k])) return false;
      return by_checkpoint(a, b);
    });
  }
  return std::nullopt;
}

TFCKPT_DECL tensor plan_group(const std::string& name, std::vector<group_member> members,
                              const concat_by_group_options& options) {
  std::vector<absl::Status> problems;
  const auto problem = [&](absl::StatusCode code, std::string what) { problems.emplace_back(code, std::move(what)); };
  if (auto p = order_members(members, options.order)) problem(absl::StatusCode::kInvalidArgument, std::move(*p));
  const tensor& ref = members.front().t;
  const int requested = options.axis(name);
  const auto rank = static_cast<int>(ref.shape.size());
  const int axis = requested < 0 ? requested + rank : requested;
  bool shapes_usable = true;
  if (rank == 0) {
    problem(absl::StatusCode::kInvalidArgument, absl::StrFormat("%s is a scalar; scalars cannot be concatenated",
                                                                describe_member(ref)));
    shapes_usable = false;
  } else if (axis < 0 || axis >= rank) {
    problem(absl::StatusCode::kInvalidArgument,
            absl::StrFormat("axis %d is outside the rank %d of %s %s", requested, rank, describe_member(ref),
                            shape_string(ref.shape)));
    shapes_usable = false;
  }
  for (const group_member& gm : members) {
    const tensor& t = gm.t;
    if (!is_fixed_size(t.dtype)) {
      problem(absl::StatusCode::kUnimplemented,
              absl::StrFormat("%s is %s; only fixed-size dtypes can be concatenated", describe_member(t), dtype_name(t.dtype)));
      shapes_usable = false;
      continue;
    }
    if (t.dtype != ref.dtype)
      problem(absl::StatusCode::kInvalidArgument, absl::StrFormat("%s is %s but %s is %s", describe_member(t),
                                                                  dtype_name(t.dtype), describe_member(ref), dtype_name(ref.dtype)));
    const auto n = checked_num_elements(t.shape);
    if (!n || !checked_mul(*n, static_cast<std::int64_t>(element_size(t.dtype))) ||
        static_cast<std::uint64_t>(*n) * element_size(t.dtype) != t.size()) {
      problem(absl::StatusCode::kInvalidArgument, absl::StrFormat("%s is %s %s but its source holds %d bytes",
                                                                  describe_member(t), dtype_name(t.dtype), shape_string(t.shape), t.size()));
      shapes_usable = false;
    }
    if (!shapes_usable || &t == &ref) continue;
    bool agree = t.shape.size() == ref.shape.size();
    for (std::size_t d = 0; agree && d < t.shape.size(); ++d)
      agree = static_cast<int>(d) == axis || t.shape[d] == ref.shape[d];
    if (!agree)
      problem(absl::StatusCode::kInvalidArgument,
              absl::StrFormat("%s is %s but %s is %s (all dimensions but %d must agree)", describe_member(t),
                              shape_string(t.shape), describe_member(ref), shape_string(ref.shape), axis));
  }
  tensor out;
  out.name = name;
  out.dtype = ref.dtype;
  out.shape = ref.shape;
  for (const group_member& gm : members) out.origins.insert(out.origins.end(), gm.t.origins.begin(), gm.t.origins.end());
  auto recipe = std::make_shared<concat_recipe>();
  recipe->group = name;
  if (shapes_usable && problems.empty()) {
    const auto us = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
    std::int64_t inner = static_cast<std::int64_t>(element_size(ref.dtype)), outer = 1, along = 0;
    for (int d = 0; d < rank; ++d) {
      if (d < axis) outer *= ref.shape[static_cast<std::size_t>(d)];  // cannot overflow: the members' sizes did not
      if (d > axis) inner *= ref.shape[static_cast<std::size_t>(d)];
    }
    bool overflow = false;
    for (const group_member& gm : members) {
      const std::int64_t dim = gm.t.shape[static_cast<std::size_t>(axis)];
      overflow = overflow || __builtin_add_overflow(along, dim, &along);
      concat_member m;
      m.name = gm.t.name;
      m.source = gm.t.source;
      const entry* s = gm.t.stored;
      if (s != nullptr && s->dtype() == gm.t.dtype && s->size() == gm.t.size() && s->bytes_in_host_order()) m.stored = s;
      m.block = us(dim) * us(inner);
      if (m.stored == nullptr && !m.source.random_access() && outer > 1)
        problem(absl::StatusCode::kUnimplemented,
                absl::StrFormat("%s is a producer-only byte source (byte_source::from_producer), which along axis %d "
                                "would have to be read in pieces; build it with byte_source::from_reader",
                                describe_member(gm.t), axis));
      recipe->members.push_back(std::move(m));
    }
    out.shape.set(static_cast<std::size_t>(axis), along);
    const auto total = checked_num_elements(out.shape);
    if (overflow || !total || !checked_mul(*total, static_cast<std::int64_t>(element_size(ref.dtype))))
      problem(absl::StatusCode::kInvalidArgument, absl::StrFormat("the concatenated shape overflows"));
    recipe->outer = us(outer);
    if (problems.empty()) recipe->size = us(*total) * element_size(ref.dtype);
  }
  if (!problems.empty()) {
    absl::StatusCode code = problems[0].code();
    for (const absl::Status& p : problems)
      if (p.code() != code) code = absl::StatusCode::kFailedPrecondition;
    std::string message = absl::StrFormat("concat_by_group: group '%s' (%d member%s, axis %d) cannot be concatenated: ",
                                          printable_key(name), members.size(), members.size() == 1 ? "" : "s", requested);
    for (std::size_t i = 0; i < problems.size(); ++i) absl::StrAppendFormat(&message, "%s%s", i ? "; " : "", problems[i].message());
    out.status = absl::Status(code, message);
    out.source = byte_source();
    return out;
  }
  const std::uint64_t size = recipe->size;
  std::shared_ptr<const concat_recipe> shared = std::move(recipe);
  out.source = byte_source::from_reader(
      size, [shared](std::uint64_t offset, std::span<std::byte> bytes) { return shared->read(offset, bytes); },
      [shared](const byte_source::emit_fn& emit) { return shared->stream(emit); },
      [shared](std::uint64_t offset, std::uint64_t n) { shared->release(offset, n); });
  return out;
}

}  // namespace tfckpt::detail
#endif  // TFCKPT_COMPILE_VIEWS_CONCAT_BY_GROUP

#endif  // TFCKPT_VIEWS_CONCAT_BY_GROUP_HPP_
