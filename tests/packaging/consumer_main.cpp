// SPDX-License-Identifier: Apache-2.0
// Packaging smoke test, shared by the three consumer projects (find_package, add_subdirectory,
// fetch_content): our headers and the generated proto headers are reachable through
// tfckpt::tfckpt, and the proto library links and works.
#include <string>

#include "tfckpt/proto/tensor_bundle.pb.h"
#include "tfckpt/status.hpp"
#if __has_include("tfckpt/tfckpt.hpp")
#include "tfckpt/tfckpt.hpp"
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
  return 0;
}
