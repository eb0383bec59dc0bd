// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/io/memory.hpp
//
// The process's own memory: `reserved_memory`, address space paid for only where it is written, and
// hints. `advise_huge_pages` asks the kernel to back a large heap
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
#include <span>
#include <utility>

#include "tfckpt/detail/config.hpp"

namespace tfckpt::io {

/// Address space for `size` bytes that costs memory only where it is written: an anonymous private
/// mapping with no swap reserved. What stands in for a mapped data shard of a remote checkpoint,
/// whose tensors are written into place as they arrive. Move-only; empty when the mapping failed.
class reserved_memory {
 public:
  reserved_memory() = default;
  explicit reserved_memory(std::size_t size) {
    if (size == 0) return;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;
    data_ = static_cast<std::byte*>(p);
    size_ = size;
  }
  reserved_memory(reserved_memory&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  reserved_memory& operator=(reserved_memory&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  reserved_memory(const reserved_memory&) = delete;
  reserved_memory& operator=(const reserved_memory&) = delete;
  ~reserved_memory() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  std::span<std::byte> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Advises MADV_HUGEPAGE for the whole 2 MiB-aligned pieces of [data, data + size); smaller buffers
/// are left alone. Changes no contents.
TFCKPT_DECL void advise_huge_pages(const void* data, std::size_t size);

}  // namespace tfckpt::io

// Definitions: here unless TFCKPT_SEPARATE_COMPILATION, then compiled once into tfckpt::compiled.
#if !defined(TFCKPT_SEPARATE_COMPILATION) || defined(TFCKPT_COMPILE_IO_MEMORY)

namespace tfckpt::io {

TFCKPT_DECL void advise_huge_pages(const void* data, std::size_t size) {
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
#endif  // TFCKPT_COMPILE_IO_MEMORY

#endif  // TFCKPT_IO_MEMORY_HPP_
