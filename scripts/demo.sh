#!/usr/bin/env bash
# The main job on an embedded default: builds the library and the tfckpt tool, writes a demo set of
# checkpoints with the library (log_0 ... log_3: a shared trunk, one head each, Momentum slots), then
# lists, verifies and prints them with the tool.
#   scripts/demo.sh [OUT_DIR]        (default: build/demo/tfckpt-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

build=build/demo
out="${1:-$build/tfckpt-demo}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTFCKPT_BUILD_TESTS=OFF -DTFCKPT_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target tfckpt_cli example_demo_checkpoints
tfckpt="$build/cli/tfckpt"

run() { echo; echo "\$ $*"; "$@"; }
run "$build/examples/example_demo_checkpoints" "$out"
run "$tfckpt" ls "$out/log_0/model.ckpt-1000"
run "$tfckpt" verify "$out/log_3/model.ckpt-1000"
run "$tfckpt" cat "$out/log_2/model.ckpt-1000" out2/biases
