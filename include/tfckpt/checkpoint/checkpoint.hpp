// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/checkpoint/checkpoint.hpp
//
// Opening a TensorFlow V2 checkpoint (a "tensor bundle": `P.index` + `P.data-0000i-of-0000N`) and
// reading its tensors without copying them.
//
// `open()` maps the index and checks all of it (every block checksum, the header, every entry
// against its dtype, shape and shard); it never touches tensor data, so opening a 100 GB
// checkpoint costs only its index. After a successful open, iterating entries cannot fail. Data
// shards are mapped on first use; a missing or short shard is reported then, and by `verify()`.
//
// Example:
//   TFCKPT_ASSIGN_OR_RETURN(tfckpt::checkpoint ckpt, tfckpt::open("train/model.ckpt-1000"));
//   for (const tfckpt::entry& e : ckpt.entries())
//     std::printf("%s %s %s\n", e.name().data(), dtype_name(e.dtype()).data(), shape_string(e.shape()).c_str());
//   TFCKPT_ASSIGN_OR_RETURN(const tfckpt::entry* w, ckpt.get("dense/kernel"));
//   TFCKPT_ASSIGN_OR_RETURN(auto values, w->values<float>());   // zero-copy when aligned
#ifndef TFCKPT_CHECKPOINT_CHECKPOINT_HPP_
#define TFCKPT_CHECKPOINT_CHECKPOINT_HPP_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/checkpoint/bundle.hpp"
#include "tfckpt/checkpoint/bundle_loader.hpp"
#include "tfckpt/checkpoint/entry.hpp"
#include "tfckpt/checkpoint/prefix.hpp"
#include "tfckpt/checkpoint/v1_reader.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/detail/config.hpp"
#include "tfckpt/io/mapped_file.hpp"
#include "tfckpt/status.hpp"
#include "tfckpt/tensor/byte_order.hpp"
#include "tfckpt/tensor/dtype.hpp"

namespace tfckpt {

/// Progress and outcome of checkpoint::verify().
struct verify_report {
  std::vector<absl::Status> problems;  // one per bad tensor or missing shard
  std::uint64_t tensors_checked = 0;   // tensors whose bytes could be read and checked
  std::uint64_t bytes_checked = 0;
  std::uint64_t tensors_total = 0;     // stored tensors (slices of partitioned tensors count each)
  std::uint64_t bytes_total = 0;
  bool ok() const { return problems.empty(); }
};

struct verify_options {
  /// Called as the check proceeds (after each tensor or run of small neighbouring tensors, and
  /// every 64 MiB inside large ones) with (bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
  /// Threads that checksum tensors (and 64 MiB pieces of large ones) side by side; 0: one per core,
  /// at most 4. Never more than one per 4 MiB to check. The threads live for the call; progress is
  /// reported from one at a time.
  unsigned threads = 0;
};

/// An open V2 checkpoint. Move-only; cheap to move.
class checkpoint {
 public:
  /// Opens a checkpoint given its prefix (`dir/model.ckpt-1000`), its `.index` path, a directory
  /// holding a `checkpoint` state file (the newest prefix it names is opened), or a SavedModel
  /// directory (its `variables/variables`). Reads and checks the
  /// whole index; touches no tensor data. Errors name the file and byte offset, and say what to pass
  /// instead for the usual mistakes (a `.data-*` path, a V1 checkpoint, a `.meta` file).
  static absl::StatusOr<checkpoint> open(const std::filesystem::path& path, open_options options = {});

  checkpoint(checkpoint&&) noexcept = default;
  checkpoint& operator=(checkpoint&&) noexcept = default;
  ~checkpoint();

  /// Every tensor in key order (bytewise), slice entries of partitioned tensors hidden. A borrowed
  /// range: valid until the checkpoint is destroyed, also across moves.
  std::span<const entry> entries() const;
  std::size_t size() const { return entries().size(); }

  /// Every stored record in key order, including the slice entries that entries() hides (their
  /// names are encoded slice keys starting with a NUL byte). What a byte-exact copy needs.
  std::span<const entry> stored_entries() const;

  /// True when the index's data blocks were stored snappy-compressed (some TensorFlow builds do;
  /// pip builds do not). A byte-exact rewrite compresses likewise.
  bool index_compressed() const;

  /// The entry named `name`, or nullptr. O(log n).
  const entry* find(std::string_view name) const;
  /// As find, but a kNotFound status naming the checkpoint when absent.
  absl::StatusOr<const entry*> get(std::string_view name) const;

  /// The prefix (path without `.index`).
  const std::string& prefix() const;
  std::string index_path() const { return prefix() + ".index"; }
  /// The file name of data shard `shard`: `<prefix>.data-%05d-of-%05d`.
  std::string data_path(std::int32_t shard) const;
  std::int32_t num_shards() const;
  /// Byte order of tensor payloads (TensorFlow writes the host's; big-endian is rare).
  bool big_endian() const;
  tfckpt::byte_order payload_order() const { return big_endian() ? byte_order::big : byte_order::little; }
  /// True for a V1 checkpoint (one SSTable of tensor slices): its values were decoded at open and
  /// live in memory this checkpoint owns (entry::bytes_are_mapped() is false); there are no data
  /// shards, and V1 stores no tensor checksums (verify() checks the SSTable's block checksums, read
  /// at open, and recomputes CRCs over the decoded values).
  bool is_v1() const;

  /// Checks every tensor: its shard is present and long enough, and the CRC-32C of its bytes
  /// (for strings also the length checksum) matches the index. Reads all tensor data once.
  verify_report verify(const verify_options& options = {}) const;

 private:
  explicit checkpoint(std::unique_ptr<detail::bundle> b);
  std::unique_ptr<detail::bundle> bundle_;
};

/// Same as checkpoint::open.
inline absl::StatusOr<checkpoint> open(const std::filesystem::path& path, open_options options = {}) {
  return checkpoint::open(path, options);
}

// --- checkpoint ---

inline checkpoint::checkpoint(std::unique_ptr<detail::bundle> b) : bundle_(std::move(b)) {}
inline checkpoint::~checkpoint() = default;

inline absl::StatusOr<checkpoint> checkpoint::open(const std::filesystem::path& path, open_options options) {
  TFCKPT_ASSIGN_OR_RETURN(std::unique_ptr<detail::bundle> b, detail::open_bundle(path, options));
  return checkpoint(std::move(b));
}

inline std::span<const entry> checkpoint::stored_entries() const { return bundle_->all; }
inline bool checkpoint::index_compressed() const { return bundle_->index_stats.snappy_blocks > 0; }

inline std::span<const entry> checkpoint::entries() const {
  return std::span<const entry>(bundle_->all).subspan(bundle_->first_visible);
}

inline const entry* checkpoint::find(std::string_view name) const {
  if (!name.empty() && name[0] == '\0') return nullptr;  // slice keys are not names
  return bundle_->find_any(name);
}

inline absl::StatusOr<const entry*> checkpoint::get(std::string_view name) const {
  if (const entry* e = find(name)) return e;
  return absl::NotFoundError(absl::StrFormat("%s: no tensor named '%s' (the checkpoint has %d tensors)",
                                             bundle_->index_file, printable_key(name), size()));
}

inline const std::string& checkpoint::prefix() const { return bundle_->prefix; }
inline std::int32_t checkpoint::num_shards() const { return bundle_->header.num_shards; }
inline bool checkpoint::big_endian() const { return bundle_->header.big_endian; }
inline bool checkpoint::is_v1() const { return bundle_->v1; }
inline std::string checkpoint::data_path(std::int32_t shard) const {
  return data_file_name(bundle_->prefix, shard, bundle_->header.num_shards);
}

}  // namespace tfckpt

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_CHECKPOINT_CHECKPOINT)

namespace tfckpt {

TFCKPT_DECL verify_report checkpoint::verify(const verify_options& options) const {
  verify_report report;
  const std::vector<entry>& all = bundle_->all;
  std::uint64_t total = 0;
  for (const entry& e : all)
    if (!e.is_partitioned()) total += e.size();
  report.bytes_total = total;

  // The work, planned in key order: whole tensors (entry::verify); 64 MiB pieces of large numeric
  // tensors in mapped shards, whose CRCs are combined afterwards; and runs of small numeric tensors
  // lying close together in one mapped shard, read with one pread (a checkpoint of many small
  // tensors took a system call per tensor). A missing shard is reported once, at its first tensor,
  // and its tensors are not checked.
  constexpr std::uint64_t kPieceBytes = std::uint64_t{64} << 20;
  constexpr std::uint64_t kRunBytes = std::uint64_t{256} << 10;  // as entry::crc32c_by_pread's buffer
  constexpr std::uint64_t kRunGapBytes = 4096;                   // bytes between two tensors a run reads past
  enum class piece_kind { whole, part, run };
  struct piece {
    piece_kind kind;
    std::size_t entry_index;  // a run: its first tensor
    std::uint64_t from, to;   // a part: bytes of the tensor; a run: bytes of the shard
    std::size_t members_begin = 0, members_end = 0;  // a run: its tensors, in run_members
  };
  std::vector<piece> pieces;
  std::vector<std::size_t> run_members;
  std::uint64_t longest_run = 0;  // bytes: what each thread's run buffer holds
  std::vector<absl::Status> outcome(all.size());
  std::vector<bool> shard_seen(static_cast<std::size_t>(bundle_->header.num_shards), false);
  for (std::size_t i = 0; i < all.size(); ++i) {  // slice entries included: they hold the data
    const entry& e = all[i];
    if (e.is_partitioned()) continue;
    ++report.tensors_total;
    const auto shard = bundle_->shard_bytes(e.shard());
    const auto s = static_cast<std::size_t>(e.shard());
    if (!shard.ok()) {
      if (!shard_seen[s]) outcome[i] = shard.status();
      shard_seen[s] = true;
      continue;
    }
    if (!shard_seen[s]) bundle_->shards[e.shard()].file.advise(io::access::sequential);
    shard_seen[s] = true;
    ++report.tensors_checked;
    report.bytes_checked += e.size();
    const bool numeric_mapped = e.dtype() != tfckpt::dtype::string && e.bytes_are_mapped();
    if (numeric_mapped && e.size() < kRunBytes && e.bytes().ok()) {  // bytes(): within the shard
      const std::uint64_t begin = e.offset(), end = begin + e.size();
      piece* run = pieces.empty() || pieces.back().kind != piece_kind::run ? nullptr : &pieces.back();
      if (run != nullptr && all[run->entry_index].shard() == e.shard() && begin >= run->from &&
          begin <= run->to + kRunGapBytes && std::max(end, run->to) - run->from <= kRunBytes) {
        run->to = std::max(end, run->to);
      } else {
        pieces.push_back({piece_kind::run, i, begin, end, run_members.size(), run_members.size()});
      }
      run_members.push_back(i);
      pieces.back().members_end = run_members.size();
      longest_run = std::max(longest_run, pieces.back().to - pieces.back().from);
    } else if (!numeric_mapped || e.size() <= kPieceBytes) {
      pieces.push_back({piece_kind::whole, i, 0, e.size()});
    } else {
      for (std::uint64_t at = 0; at < e.size(); at += kPieceBytes)
        pieces.push_back({piece_kind::part, i, at, std::min(e.size(), at + kPieceBytes)});
    }
  }
  if (report.bytes_checked < total && options.progress) options.progress(total - report.bytes_checked, total);

  std::vector<std::uint32_t> piece_crc(pieces.size(), 0);
  std::atomic<std::size_t> next{0};
  std::uint64_t done = total - report.bytes_checked;
  std::mutex progress_mutex;  // guards `done` and the callback: reports arrive in order, one at a time
  const auto advance = [&](std::uint64_t n) {
    std::lock_guard lock(progress_mutex);
    done += n;
    if (options.progress) options.progress(done, total);
  };
  const auto verify_whole = [&](const entry& e, absl::Status& result) {
    std::uint64_t reported = 0;
    result = e.verify([&](std::uint64_t n) {
      advance(n - reported);
      reported = n;
    });
    advance(e.size() - reported);
  };
  const auto work = [&] {
    std::unique_ptr<std::byte[]> run_buffer;  // this thread's, for runs
    for (std::size_t k; (k = next.fetch_add(1)) < pieces.size();) {
      const piece& p = pieces[k];
      const entry& e = all[p.entry_index];
      if (p.kind == piece_kind::whole) {
        verify_whole(e, outcome[p.entry_index]);
      } else if (p.kind == piece_kind::run) {
        if (run_buffer == nullptr) run_buffer = std::make_unique_for_overwrite<std::byte[]>(longest_run);
        const std::span<std::byte> bytes(run_buffer.get(), static_cast<std::size_t>(p.to - p.from));
        const absl::Status read = bundle_->shards[e.shard()].file.read(p.from, bytes);
        std::uint64_t sizes = 0;
        for (std::size_t m = p.members_begin; m < p.members_end; ++m) {
          const entry& member = all[run_members[m]];
          if (!read.ok()) {  // each tensor on its own then, for an error that names it
            verify_whole(member, outcome[run_members[m]]);
            continue;
          }
          const std::span<const std::byte> payload =
              bytes.subspan(static_cast<std::size_t>(member.offset() - p.from), static_cast<std::size_t>(member.size()));
          outcome[run_members[m]] = member.checksum_status(codec::crc32c(payload));
          sizes += member.size();
        }
        if (sizes != 0) advance(sizes);
      } else {
        // The shard is mapped and long enough: planning checked it.
        auto crc = e.crc32c_by_pread(p.from, p.to, {});
        if (crc.ok()) {
          piece_crc[k] = *crc;
        } else {
          std::lock_guard lock(progress_mutex);  // pieces of one tensor may fail on two threads
          if (outcome[p.entry_index].ok()) outcome[p.entry_index] = crc.status();
        }
        advance(p.to - p.from);
      }
    }
  };
  // A thread is worth starting for a few MiB of checking, not for a small checkpoint: starting
  // one cost more than checking a checkpoint of a few KiB.
  constexpr std::uint64_t kBytesPerThread = std::uint64_t{4} << 20;
  unsigned threads = options.threads;
  if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  threads = static_cast<unsigned>(std::min<std::uint64_t>(
      {threads, std::max<std::uint64_t>(pieces.size(), 1), std::max<std::uint64_t>(report.bytes_checked / kBytesPerThread, 1)}));
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // fewer threads: the others take the work
    }
  }
  work();
  for (std::thread& t : helpers) t.join();

  for (std::size_t k = 0; k < pieces.size();) {  // combine the pieces of split tensors, in order
    if (pieces[k].kind != piece_kind::part) {
      ++k;
      continue;
    }
    const std::size_t i = pieces[k].entry_index;
    std::uint32_t crc = 0;
    for (; k < pieces.size() && pieces[k].entry_index == i; ++k)
      crc = codec::crc32c_combine(crc, piece_crc[k], pieces[k].to - pieces[k].from);
    if (outcome[i].ok()) outcome[i] = all[i].checksum_status(crc);  // else a read failed
  }
  for (std::size_t i = 0; i < all.size(); ++i)
    if (!outcome[i].ok()) report.problems.push_back(std::move(outcome[i]));
  return report;
}

}  // namespace tfckpt
#endif  // TFCKPT_COMPILE_CHECKPOINT_CHECKPOINT

#endif  // TFCKPT_CHECKPOINT_CHECKPOINT_HPP_
