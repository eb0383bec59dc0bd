#!/usr/bin/env bash
# What CI runs, in three stages:
#   1. build everything with warnings as errors and run the whole test suite (build/ci), but for the
#      fuzz replays, which stage 2 covers;
#   2. scripts/fuzz.sh: every libFuzzer target for TFCKPT_FUZZ_SECONDS (default 60) each (build/fuzz),
#      starting from every seed and regression input;
#   3. scripts/sanitize.sh: the whole test suite again under ASan + UBSan (build/asan), but for the
#      fuzz replays.
# Environment: TFCKPT_FIXTURES (TensorFlow-written checkpoints, default ../shared/fixtures),
#              TFCKPT_JOBS (parallel jobs, default: number of cores), TFCKPT_FUZZ_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs="${TFCKPT_JOBS:-$(nproc)}"
build=build/ci
stage_start=$(date +%s)
# Optimised, without debug info: debug info would make the build (most of CI's time)
# slower to compile and link, and a failure is easier to debug in a local build anyway.
# The fuzz replays (each fuzz target run once over its seeds and regression inputs) are left to
# stage 2, whose fuzzers start by running every one of those inputs, under ASan and UBSan.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DTFCKPT_WERROR=ON \
  -DTFCKPT_FUZZ_REPLAY_TESTS=OFF
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 900
echo "test.sh: stage 1 (build + tests) took $(( $(date +%s) - stage_start )) s"

stage_start=$(date +%s)
scripts/fuzz.sh
echo "test.sh: stage 2 (fuzzing) took $(( $(date +%s) - stage_start )) s"

stage_start=$(date +%s)
# Stage 2 has just run every fuzz seed and regression input through the fuzz targets, with the same
# sanitizers: stage 3 does not build and run their replay drivers again.
TFCKPT_SANITIZE_FUZZ_REPLAY=OFF scripts/sanitize.sh
echo "test.sh: stage 3 (sanitizers) took $(( $(date +%s) - stage_start )) s"
