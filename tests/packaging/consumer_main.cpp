// SPDX-License-Identifier: Apache-2.0
// Packaging smoke test, shared by the three consumer projects (find_package, add_subdirectory,
// fetch_content): our headers and the generated proto headers are reachable through
// tfckpt::tfckpt, and the proto library links and works. It also writes a checkpoint and reads it
// back, so that the writer and the loader run: from the headers (tfckpt::tfckpt), or from the
// separately compiled library (tfckpt::compiled, the find_package project's app_compiled).
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tfckpt/proto/tensor_bundle.pb.h"
#include "tfckpt/status.hpp"
#if defined(TFCKPT_CONSUMER_INCLUDES_EVERYTHING)
// The umbrella header, so every public header and the include directories of every dependency
// behind them (Eigen, xtensor, protobuf, ...): the installed package must provide them all. It
// costs the most time of the consumer builds, so one program (the find_package one) does it; the
// header self-test already compiles each header against the build tree's targets.
#include "tfckpt/tfckpt.hpp"
#else
#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#endif

int main() {
  tensorflow::BundleHeaderProto header;
  header.set_num_shards(1);
  header.mutable_version()->set_producer(1);
  std::string bytes;
  if (!header.SerializeToString(&bytes)) return 1;
  // What TensorFlow writes for a one-shard bundle (endianness LITTLE is omitted).
  if (bytes != std::string("\x08\x01\x1a\x02\x08\x01", 6)) return 2;

  tensorflow::BundleHeaderProto parsed;
  if (!parsed.ParseFromString(bytes)) return 3;
  if (parsed.num_shards() != 1 || parsed.version().producer() != 1 ||
      parsed.endianness() != tensorflow::BundleHeaderProto::LITTLE) {
    return 4;
  }

  const absl::Status status = tfckpt::data_loss("x.index", 7, "bad %s", "block");
  if (status.code() != absl::StatusCode::kDataLoss || status.message() != "x.index @7: bad block") return 5;

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tfckpt_consumer_" + std::to_string(::getpid()));
  const std::string prefix = (dir / "model").string();
  const float written[3] = {1.5f, -2.0f, 3.25f};
  {
    auto writer = tfckpt::bundle_writer::create(prefix, {.sync = false});
    if (!writer.ok()) return 6;
    const auto bytes = std::as_bytes(std::span<const float>(written));
    if (!writer->add("w", tfckpt::dtype::float32, std::vector<std::int64_t>{3}, tfckpt::byte_source::from_span(bytes)).ok())
      return 7;
    if (!writer->finish().ok()) return 8;
  }
  int result = 0;
  auto ckpt = tfckpt::open(prefix);
  if (!ckpt.ok() || !ckpt->verify().ok()) {
    result = 9;
  } else {
    auto w = ckpt->get("w");
    auto values = w.ok() ? (*w)->values<float>() : absl::InternalError("no tensor");
    if (!values.ok() || values->span().size() != 3 || std::memcmp(values->span().data(), written, sizeof written) != 0)
      result = 10;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return result;
}
