#!/usr/bin/env bash
# Builds everything with warnings as errors and runs the whole test suite.
#   scripts/test.sh            # build dir: build/ci
# Environment: TFCKPT_FIXTURES (TensorFlow-written checkpoints, default ../shared/fixtures),
#              TFCKPT_JOBS (parallel jobs, default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs="${TFCKPT_JOBS:-$(nproc)}"
build=build/ci
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTFCKPT_WERROR=ON
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 900
