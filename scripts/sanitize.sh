#!/usr/bin/env bash
# Builds the library, CLI, examples and tests with AddressSanitizer + UndefinedBehaviorSanitizer and
# runs the whole test suite. Any sanitizer report aborts the test that triggered it. The packaging
# checks (headers compiling on their own, consumer projects building) execute none of our code, so
# they are left to the plain build.
#   scripts/sanitize.sh        # build dir: build/asan (clang-16, installed if missing and root)
# Environment: TFCKPT_FIXTURES (TensorFlow-written checkpoints, default ../shared/fixtures),
#              TFCKPT_JOBS (parallel jobs, default: number of cores),
#              TFCKPT_SANITIZE_FUZZ_REPLAY (ON, the default: the fuzz seeds and regressions are
#              replayed here too; scripts/test.sh sets OFF, as its fuzzing stage has just run
#              every one of them under the same sanitizers).
# Prints the wall time of the build and of the test run separately.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs="${TFCKPT_JOBS:-$(nproc)}"
build=build/asan

# clang builds the instrumented suite in about half of g++'s time (a test unit at -O0 with ASan +
# UBSan: 9.3 s against 18.3 s); g++ is the fallback when clang-16 cannot be installed.
packages=(clang-16 libclang-rt-16-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})) && [[ $(id -u) -eq 0 ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" && missing=()
fi
compiler=(-DCMAKE_CXX_COMPILER=clang++-16)
if ((${#missing[@]})); then
  echo "sanitize.sh: building with the default compiler; for a build twice as fast: sudo apt-get install -y ${missing[*]}" >&2
  compiler=()
fi
# -O0 with line tables only: it compiles fastest (the build is most of this script's time; the tests
# run in a few minutes even unoptimised), and reports still name files and lines. The library too:
# at -O1 its seven units took 240 s of compile time instead of 82 s, and the tests 198 s instead of
# 194 s (they spend their time in system calls, not in its loops).
cmake -S . -B "$build" -G Ninja "${compiler[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O0 -g1" \
  -DTFCKPT_SANITIZE=ON -DTFCKPT_BUILD_BENCH=OFF -DTFCKPT_PACKAGING_TESTS=OFF \
  -DTFCKPT_FUZZ_REPLAY_TESTS="${TFCKPT_SANITIZE_FUZZ_REPLAY:-ON}"

start=$(date +%s)
cmake --build "$build" -j "$jobs"
built=$(date +%s)

# detect_leaks needs ptrace-like access (LeakSanitizer stops the process to scan it); where that is
# refused (some containers) it would fail every test, so it is switched off with a notice.
leaks=1
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int main(){return 0;}\n' >"$probe/p.cpp"
cxx=$( ((${#compiler[@]})) && echo clang++-16 || echo c++)
if "$cxx" -fsanitize=address "$probe/p.cpp" -o "$probe/p" 2>/dev/null; then
  if ! ASAN_OPTIONS=detect_leaks=1 "$probe/p" >/dev/null 2>&1; then
    echo "sanitize.sh: LeakSanitizer does not work here; running without leak detection" >&2
    leaks=0
  fi
fi

export ASAN_OPTIONS="detect_leaks=${leaks}:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 900 || status=$?
done_at=$(date +%s)
echo "sanitize.sh: build $((built - start)) s, tests $((done_at - built)) s"
exit "$status"
