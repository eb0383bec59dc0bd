// SPDX-License-Identifier: Apache-2.0
// The readers of foreign formats (sources/): the first input byte picks the format (0 safetensors,
// 1 .npz, 2 .npy, modulo 3), the rest is the file. Opening must succeed or fail with a status
// naming the file; every tensor of a file that opens must stream exactly its announced bytes (or
// fail naming the file: a deflated member is only inflated then), agree with its dtype and shape,
// and pass the checkpoint sink's checks.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tfckpt/sources/npy.hpp"
#include "tfckpt/sources/safetensors.hpp"
#include "tfckpt/views/plan.hpp"

namespace {

void check_tensors(std::span<const tfckpt::tensor> tensors, const std::string& file) {
  const absl::Status planned = tfckpt::check_pipeline(tensors);
  if (!planned.ok()) tfckpt_fuzz::broken_promise("an opened source yields tensors the sink refuses", planned);
  for (const tfckpt::tensor& t : tensors) {
    if (tfckpt::is_fixed_size(t.dtype) &&
        t.size() != static_cast<std::uint64_t>(t.num_elements()) * tfckpt::element_size(t.dtype))
      tfckpt_fuzz::broken_promise("a tensor's size disagrees with its dtype and shape", absl::OkStatus());
    std::uint64_t seen = 0;
    const absl::Status s = t.source.stream([&](std::span<const std::byte> chunk) {
      seen += chunk.size();
      return absl::OkStatus();
    });
    tfckpt_fuzz::expect_names(s, file);
    if (s.ok() && seen != t.size()) tfckpt_fuzz::broken_promise("a source streamed the wrong number of bytes", s);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* const kNames[] = {"input.safetensors", "input.npz", "input.npy"};
  const int format = data[0] % 3;
  const std::filesystem::path file = tfckpt_fuzz::scratch_dir() / kNames[format];
  tfckpt_fuzz::write_file(file, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  if (format == 0) {
    auto st = tfckpt::open_safetensors(file);
    tfckpt_fuzz::expect_names(st.status(), file.string());
    if (!st.ok()) return 0;
    const std::vector<tfckpt::tensor> tensors = tfckpt::collect(tfckpt::entries(*st));
    check_tensors(tensors, file.string());
    return 0;
  }
  auto arrays = format == 1 ? tfckpt::open_npz(file) : tfckpt::open_npy(file);
  tfckpt_fuzz::expect_names(arrays.status(), file.string());
  if (arrays.ok()) check_tensors(arrays->tensors(), file.string());
  return 0;
}
