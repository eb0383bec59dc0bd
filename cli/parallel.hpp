// SPDX-License-Identifier: Apache-2.0
// Work cut into numbered pieces, done on several threads and consumed in order: what lets `ls`
// decode and format the parts of an index on every core while its output stays in key order.
#ifndef TFCKPT_CLI_PARALLEL_HPP_
#define TFCKPT_CLI_PARALLEL_HPP_

#include <sched.h>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace tfckpt_cli {

/// Cores this process may run on (its CPU affinity, which a container or `taskset` narrows), at
/// least 1.
inline std::size_t available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Runs work(k) for every k in [0, n) on up to `threads` threads, and hands each result to
/// consume(k, result) on the calling thread in order of k, as soon as it and all before it are
/// done. At most `window` results are done and waiting or being worked on at a time, so memory stays
/// bounded however large n is. consume returning false stops the run: work not yet started is
/// skipped. With one thread (or one piece) everything runs on the calling thread.
template <class Work, class Consume>
void run_in_order(std::size_t n, std::size_t threads, std::size_t window, Work&& work, Consume&& consume) {
  using result = decltype(work(std::size_t{0}));
  if (threads <= 1 || n <= 1) {
    for (std::size_t k = 0; k < n; ++k)
      if (!consume(k, work(k))) return;
    return;
  }
  window = std::max(window, threads);
  std::vector<std::optional<result>> done(n);
  std::mutex m;
  std::condition_variable finished;  // a piece is done
  std::condition_variable room;      // a piece was consumed, or the run stops
  std::size_t next = 0;              // the next piece to start
  std::size_t consumed = 0;
  bool stop = false;
  const auto worker = [&] {
    for (;;) {
      std::size_t k = 0;
      {
        std::unique_lock lock(m);
        room.wait(lock, [&] { return stop || next >= n || next < consumed + window; });
        if (stop || next >= n) return;
        k = next++;
      }
      result r = work(k);
      {
        std::lock_guard lock(m);
        done[k].emplace(std::move(r));
      }
      finished.notify_one();
    }
  };
  std::vector<std::jthread> pool;
  threads = std::min(threads, n);
  pool.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::size_t k = 0; k < n; ++k) {
    std::optional<result> r;
    {
      std::unique_lock lock(m);
      finished.wait(lock, [&] { return done[k].has_value(); });
      r = std::move(done[k]);
      done[k].reset();
      consumed = k + 1;
    }
    room.notify_all();
    if (!consume(k, std::move(*r))) {
      {
        std::lock_guard lock(m);
        stop = true;
      }
      room.notify_all();
      return;  // the pool joins as it goes out of scope: pieces being worked on finish first
    }
  }
}

}  // namespace tfckpt_cli

#endif  // TFCKPT_CLI_PARALLEL_HPP_
