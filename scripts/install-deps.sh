#!/usr/bin/env bash
# Installs the Debian 12 packages tfckpt needs to build, test and benchmark, if any are missing.
# As root it runs apt-get itself; otherwise it prints the exact command to run and fails.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libabsl-dev libprotobuf-dev protobuf-compiler libsnappy-dev zlib1g-dev libeigen3-dev xtensor-dev
  libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libleveldb-dev libopencv-dnn-dev python3-numpy python3-crc32c
  hyperfine time  # bench/cli/run.sh: the end-to-end benchmark and its peak-RSS readings
  libcurl4-openssl-dev  # tfckpt::remote: checkpoints behind https://, s3:// and gs:// URLs
  nginx-light           # tests/remote: a real HTTP server with Range requests, on loopback
)
# tests/remote also runs an S3-compatible server from npm; any Node.js with npm will do.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "tfckpt: installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "tfckpt: not root; run this first, then try again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
