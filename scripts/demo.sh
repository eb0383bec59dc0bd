#!/usr/bin/env bash
# The main job on an embedded default: builds the library and the tfckpt tool, writes a demo set of
# checkpoints with the library (log_0 ... log_3: a shared trunk, one head out{i} each, Momentum
# slots), merges them as seed 000 asks (trunk of log_0, heads concatenated, no optimizer slots),
# then lists and verifies the merged checkpoint.
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
run "$tfckpt" merge --force --out "$out/merged/model.ckpt" \
  --group '^out(\d+)/(weights|biases)$=out/$2' --axis out/weights=1 --axis out/biases=0 \
  "$out"/log_{0,1,2,3}/model.ckpt-1000
run "$tfckpt" ls "$out/merged/model.ckpt"
run "$tfckpt" verify "$out/merged/model.ckpt"
run "$tfckpt" cat "$out/merged/model.ckpt" out/biases
