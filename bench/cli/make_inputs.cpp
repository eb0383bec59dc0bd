// SPDX-License-Identifier: Apache-2.0
// Writes the inputs of bench/cli/run.sh with the library (bundle_writer, no fsync):
//
//   make_inputs verify DIR   DIR/model.ckpt: 64 float32 tensors `layer_NN/kernel` [4096,4096] (4 GiB)
//   make_inputs merge DIR    DIR/log_I/model.ckpt, I = 0..15, 256 MiB each (seed 000's shape): a trunk
//                            `trunk/convJ/{weights [1024,1792],biases [1792]}` the same in every log,
//                            `outI/weights` [30000,1024], `outI/biases` [1024], their Momentum slots,
//                            and `global_step`
//   make_inputs merge4x DIR  the same at 4 times the rows: `outI/weights` [120000,1024], trunk weights
//                            [4096,1792]; 1 GiB each (16 GiB)
//   make_inputs index DIR    DIR/model.ckpt: 1,000,000 entries `layer_NNNNNN/{bias,bias/Adam,kernel,
//                            kernel/Adam}` (float32 [16] and [4,4])
//   make_inputs remote DIR   DIR/model.ckpt: 32 float32 `layer_NN/kernel` [4096,4096] and `layer_NN/bias`
//                            [4096] (2 GiB), for the jobs reading it over HTTP
//   make_inputs single DIR   DIR/model.ckpt: one float32 tensor `embedding` [327680,4096] (5 GiB)
//   make_inputs square DIR   DIR/model.ckpt: one float32 tensor `dense/kernel` [16384,16384] (1 GiB)
//   make_inputs safetensors DIR  DIR/model.safetensors (the library's safetensors sink): 16 float32
//                            tensors `layer_NN/kernel` [4096,4096] (1 GiB)
//
// --tiny divides the byte counts by 1024 (the entry count of `index` by 1000), for a run that only
// shows the benchmark works. Payloads are pseudo-random, every 1 MiB piece distinct, so that no
// layer of the stack can take a shortcut over repeated bytes.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/sinks/safetensors.hpp"

namespace {
namespace fs = std::filesystem;

// `size` bytes from a generator seeded by `seed`: a 1 MiB buffer, its first 8 bytes stamped with the
// piece number.
tfckpt::byte_source pattern(std::uint64_t size, std::uint32_t seed) {
  return tfckpt::byte_source::from_producer(size, [size, seed](const tfckpt::byte_source::emit_fn& emit) -> absl::Status {
    std::vector<std::byte> buf(std::size_t{1} << 20);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : buf) b = static_cast<std::byte>((x = x * 1664525u + 1013904223u) >> 24);
    for (std::uint64_t done = 0, piece = 0; done < size; done += buf.size(), ++piece) {
      std::memcpy(buf.data(), &piece, sizeof piece);
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done));
      TFCKPT_RETURN_IF_ERROR(emit(std::span(buf).first(n)));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<tfckpt::bundle_writer> writer(const fs::path& prefix) {
  fs::create_directories(prefix.parent_path());
  return tfckpt::bundle_writer::create(prefix, {.sync = false, .overwrite = true});  // throwaway input
}

absl::Status add_f32(tfckpt::bundle_writer& w, const std::string& name, std::vector<std::int64_t> shape, std::uint32_t seed) {
  const auto n = static_cast<std::uint64_t>(*tfckpt::checked_num_elements(shape));
  return w.add(name, tfckpt::dtype::float32, shape, pattern(n * 4, seed));
}

// `rows` is the outermost dimension at full size; tiny keeps at least one row.
std::int64_t scaled(std::int64_t rows, bool tiny) { return tiny ? std::max<std::int64_t>(1, rows / 1024) : rows; }

absl::Status make_verify(const fs::path& dir, bool tiny) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, writer(dir / "model.ckpt"));
  for (int i = 0; i < 64; ++i)
    TFCKPT_RETURN_IF_ERROR(add_f32(w, absl::StrFormat("layer_%02d/kernel", i), {scaled(4096, tiny), 4096}, 1 + static_cast<std::uint32_t>(i)));
  return w.finish();
}

absl::Status make_remote(const fs::path& dir, bool tiny) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, writer(dir / "model.ckpt"));
  for (int i = 0; i < 32; ++i) {
    TFCKPT_RETURN_IF_ERROR(add_f32(w, absl::StrFormat("layer_%02d/bias", i), {4096}, 100 + static_cast<std::uint32_t>(i)));
    TFCKPT_RETURN_IF_ERROR(add_f32(w, absl::StrFormat("layer_%02d/kernel", i), {scaled(4096, tiny), 4096}, 1 + static_cast<std::uint32_t>(i)));
  }
  return w.finish();
}

// `scale` multiplies the rows of the large tensors: 4 makes each checkpoint 1 GiB.
absl::Status make_merge(const fs::path& dir, bool tiny, std::int64_t scale = 1) {
  for (int i = 0; i < 16; ++i) {
    TFCKPT_ASSIGN_OR_RETURN(auto w, writer(dir / absl::StrFormat("log_%d", i) / "model.ckpt"));
    const auto u = 1000 + static_cast<std::uint32_t>(i) * 10;
    TFCKPT_RETURN_IF_ERROR(add_f32(w, "global_step", {}, 7));
    for (int j = 0; j < 3; ++j) {
      const auto s = 10 + static_cast<std::uint32_t>(j);
      TFCKPT_RETURN_IF_ERROR(add_f32(w, absl::StrFormat("trunk/conv%d/biases", j), {1792}, s + 100));
      TFCKPT_RETURN_IF_ERROR(add_f32(w, absl::StrFormat("trunk/conv%d/weights", j), {scaled(1024 * scale, tiny), 1792}, s));
    }
    TFCKPT_RETURN_IF_ERROR(add_f32(w, absl::StrFormat("out%d/biases", i), {1024}, u));
    TFCKPT_RETURN_IF_ERROR(add_f32(w, absl::StrFormat("out%d/biases/Momentum", i), {1024}, u + 1));
    TFCKPT_RETURN_IF_ERROR(add_f32(w, absl::StrFormat("out%d/weights", i), {scaled(30000 * scale, tiny), 1024}, u + 2));
    TFCKPT_RETURN_IF_ERROR(add_f32(w, absl::StrFormat("out%d/weights/Momentum", i), {scaled(30000 * scale, tiny), 1024}, u + 3));
    TFCKPT_RETURN_IF_ERROR(w.finish());
  }
  return absl::OkStatus();
}

absl::Status make_index(const fs::path& dir, bool tiny) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, writer(dir / "model.ckpt"));
  const int layers = tiny ? 250 : 250000;
  std::vector<float> values(16);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.25f;
  const auto bytes = std::as_bytes(std::span(values));
  const std::vector<std::int64_t> bias{16}, kernel{4, 4};
  for (int layer = 0; layer < layers; ++layer) {
    const std::string base = absl::StrFormat("layer_%06d/", layer);
    // Key order: "bias" < "bias/Adam" < "kernel" < "kernel/Adam".
    TFCKPT_RETURN_IF_ERROR(w.add(base + "bias", tfckpt::dtype::float32, bias, tfckpt::byte_source::from_span(bytes)));
    TFCKPT_RETURN_IF_ERROR(w.add(base + "bias/Adam", tfckpt::dtype::float32, bias, tfckpt::byte_source::from_span(bytes)));
    TFCKPT_RETURN_IF_ERROR(w.add(base + "kernel", tfckpt::dtype::float32, kernel, tfckpt::byte_source::from_span(bytes)));
    TFCKPT_RETURN_IF_ERROR(w.add(base + "kernel/Adam", tfckpt::dtype::float32, kernel, tfckpt::byte_source::from_span(bytes)));
  }
  return w.finish();
}

absl::Status make_single(const fs::path& dir, bool tiny) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, writer(dir / "model.ckpt"));
  TFCKPT_RETURN_IF_ERROR(add_f32(w, "embedding", {scaled(327680, tiny), 4096}, 99));
  return w.finish();
}

absl::Status make_square(const fs::path& dir, bool tiny) {
  TFCKPT_ASSIGN_OR_RETURN(auto w, writer(dir / "model.ckpt"));
  TFCKPT_RETURN_IF_ERROR(add_f32(w, "dense/kernel", {scaled(16384, tiny), 16384}, 77));
  return w.finish();
}

absl::Status make_safetensors(const fs::path& dir, bool tiny) {
  std::vector<tfckpt::tensor> planned;
  for (int i = 0; i < 16; ++i) {
    tfckpt::tensor t;
    t.name = absl::StrFormat("layer_%02d/kernel", i);
    t.dtype = tfckpt::dtype::float32;
    t.shape = {scaled(4096, tiny), 4096};
    t.source = pattern(static_cast<std::uint64_t>(t.shape[0] * t.shape[1]) * 4, 200 + static_cast<std::uint32_t>(i));
    planned.push_back(std::move(t));
  }
  fs::create_directories(dir);
  return tfckpt::write_safetensors(std::span<const tfckpt::tensor>(planned), dir / "model.safetensors",
                                   {.overwrite = true, .sync = false});  // throwaway input
}

int usage() {
  std::fprintf(stderr, "usage: make_inputs {verify|remote|merge|merge4x|index|single|square|safetensors} DIR [--tiny]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) return usage();
  const std::string_view what = argv[1];
  const fs::path dir = argv[2];
  bool tiny = false;
  if (argc == 4) {
    if (std::string_view(argv[3]) != "--tiny") return usage();
    tiny = true;
  }
  absl::Status s;
  if (what == "verify") {
    s = make_verify(dir, tiny);
  } else if (what == "remote") {
    s = make_remote(dir, tiny);
  } else if (what == "merge") {
    s = make_merge(dir, tiny);
  } else if (what == "merge4x") {
    s = make_merge(dir, tiny, 4);
  } else if (what == "index") {
    s = make_index(dir, tiny);
  } else if (what == "single") {
    s = make_single(dir, tiny);
  } else if (what == "square") {
    s = make_square(dir, tiny);
  } else if (what == "safetensors") {
    s = make_safetensors(dir, tiny);
  } else {
    return usage();
  }
  if (!s.ok()) {
    std::fprintf(stderr, "make_inputs: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
