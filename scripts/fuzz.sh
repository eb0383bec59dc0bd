#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan), generates their seed corpora and
# runs each target for a while, two at a time. Prints one summary line per target; exits non-zero
# when a target crashed (or leaked, timed out, ran out of memory), saying where the input is.
#   scripts/fuzz.sh                         # every target, 60 s each
#   TFCKPT_FUZZ_SECONDS=3600 scripts/fuzz.sh
#   scripts/fuzz.sh sstable checkpoint      # only these targets
# Environment: TFCKPT_FUZZ_SECONDS (per target, default 60), TFCKPT_FIXTURES (TensorFlow-written
# checkpoints for the seeds, default ../shared/fixtures), TFCKPT_FUZZ_JOBS (targets at once, default 2).
# Layout: build/fuzz (the build), build/fuzz/seeds/<target> (generated seeds),
#         build/fuzz/corpus/<target> (the working corpus, kept between runs),
#         build/fuzz/artifacts/<target> (crashing inputs), build/fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang-16 libclang-rt-16-dev libfuzzer-16-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  else
    echo "fuzz.sh: missing Debian packages; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
scripts/install-deps.sh

seconds="${TFCKPT_FUZZ_SECONDS:-60}"
jobs="${TFCKPT_FUZZ_JOBS:-2}"
fixtures="${TFCKPT_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
build=build/fuzz
all_targets=(sstable bundle_entry string_tensor slice_key v1 checkpoint graph state_file foreign_formats)
if (($#)); then targets=("$@"); else targets=("${all_targets[@]}"); fi

declare -A max_len=([sstable]=65536 [bundle_entry]=4096 [string_tensor]=16384 [slice_key]=4096 [v1]=65536
                    [checkpoint]=131072 [graph]=131072 [state_file]=4096 [foreign_formats]=65536)

# Line tables only: reports still name files and lines, and the targets compile about 17% faster
# than with full debug info.
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" \
  -DTFCKPT_BUILD_FUZZERS=ON -DTFCKPT_BUILD_TESTS=OFF -DTFCKPT_BUILD_BENCH=OFF -DTFCKPT_BUILD_EXAMPLES=OFF \
  -DTFCKPT_BUILD_CLI=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target make_fuzz_seeds "${targets[@]/%/_fuzz}"
rm -rf "$build/seeds"
"$build/fuzz/make_fuzz_seeds" "$fixtures" "$build/seeds"

# run_one TARGET [LOG_SUFFIX [SECONDS]]
run_one() {
  local t=$1 corpus="$build/corpus/$1" artifacts="$build/artifacts/$1/" log="$build/logs/$1${2:-}.log"
  local time=${3:-$seconds}
  mkdir -p "$corpus" "$artifacts" "$build/seeds/$t"
  local extra=()
  [[ -d fuzz/regressions/$t ]] && extra+=("fuzz/regressions/$t")
  # Seeds and regressions are read-only inputs; new units go to the first directory.
  "$build/fuzz/${t}_fuzz" "$corpus" "$build/seeds/$t" "${extra[@]}" -max_total_time="$time" \
    -dict=fuzz/tfckpt.dict -max_len="${max_len[$t]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts" >"$log" 2>&1
}

# With an odd number of targets two at a time, the last one would run alone beside an idle core:
# it runs as two processes side by side instead, each for half its time, sharing its corpus
# directory (libFuzzer reloads it every second), so that it still gets its seconds of fuzzing.
split=""
if ((jobs == 2 && ${#targets[@]} > 1 && ${#targets[@]} % 2 == 1)); then split=${targets[-1]}; fi

mkdir -p "$build/logs"
rm -f "$build/logs/"*.2.log "$build/logs/"*.2.rc
start=$(date +%s)
running=0
for t in "${targets[@]}"; do
  if [[ $t == "$split" ]]; then
    wait
    half=$(( (seconds + 1) / 2 ))
    ( run_one "$t" "" "$half"; echo $? >"$build/logs/$t.rc" ) &
    ( run_one "$t" ".2" "$half"; echo $? >"$build/logs/$t.2.rc" ) &
    continue
  fi
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
  ( run_one "$t"; echo $? >"$build/logs/$t.rc" ) &
  running=$((running + 1))
done
wait
elapsed=$(( $(date +%s) - start ))

failed=0
printf '%-14s %12s %8s %8s %8s %8s %s\n' target executions exec/s corpus cov ft crashes
for t in "${targets[@]}"; do
  log="$build/logs/$t.log"
  logs=("$log")
  rc=$(cat "$build/logs/$t.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [[ $t == "$split" ]]; then  # the second half: its executions count too, and so does its exit
    logs+=("$build/logs/$t.2.log")
    rc2=$(cat "$build/logs/$t.2.rc" 2>/dev/null || echo 1)
    [[ $rc == 0 ]] && rc=$rc2
    execs2=$(sed -n 's/^stat::number_of_executed_units: *//p' "${logs[1]}" | tail -1)
    execs=$(( ${execs:-0} + ${execs2:-0} ))
  fi
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(find "$build/corpus/$t" -type f | wc -l)
  crashes=$(find "$build/artifacts/$t" -type f | wc -l)
  printf '%-14s %12s %8s %8s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "${cov:-?}" "${ft:-?}" "$crashes"
  if [[ $rc != 0 ]]; then
    failed=1
    echo "  $t FAILED (exit $rc): see ${logs[*]}" >&2
    grep -h -E 'Test unit written to|ERROR: |SUMMARY: ' "${logs[@]}" | sed 's/^/    /' >&2 || true
  fi
done
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each, ${jobs} at a time${split:+ ($split as two halves side by side)}: ${elapsed} s wall"
exit "$failed"
