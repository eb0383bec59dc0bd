// SPDX-License-Identifier: Apache-2.0
// Packaging smoke test of tfckpt::remote (built by each consumer project where libcurl was found):
// the libcurl store links, installs itself for open(), and maps an s3:// URL to a request.
#include <cstdlib>

#include "tfckpt/io/remote_http.hpp"

int main() {
  if (tfckpt::io::default_remote_store() == nullptr) return 1;
  ::setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
  auto target = tfckpt::io::resolve_http_target("s3://bucket/run/ckpt-1.index");
  if (!target.ok() || target->http_url != "http://127.0.0.1:9/bucket/run/ckpt-1.index") return 2;
  return 0;
}
