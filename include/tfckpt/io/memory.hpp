// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/io/memory.hpp
//
// Hints about the process's own memory. `advise_huge_pages` asks the kernel to back a large heap
// buffer with transparent huge pages when it is touched: filling tens of MiB then takes one page
// fault per 2 MiB instead of one per 4 KiB (the kernel's default mode, "madvise", does so only when
// asked). Best effort: a no-op where huge pages are off or unsupported.
//
// Example:
//   std::vector<std::int64_t> v;
//   v.reserve(n);
//   io::advise_huge_pages(v.data(), v.capacity() * sizeof(std::int64_t));
#ifndef TFCKPT_IO_MEMORY_HPP_
#define TFCKPT_IO_MEMORY_HPP_

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace tfckpt::io {

/// Advises MADV_HUGEPAGE for the whole 2 MiB-aligned pieces of [data, data + size); smaller buffers
/// are left alone. Changes no contents.
inline void advise_huge_pages(const void* data, std::size_t size) {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t start = (begin + kHuge - 1) / kHuge * kHuge;
  const std::uintptr_t end = (begin + size) / kHuge * kHuge;
  if (end > start) ::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
#else
  (void)data;
  (void)size;
#endif
}

}  // namespace tfckpt::io

#endif  // TFCKPT_IO_MEMORY_HPP_
