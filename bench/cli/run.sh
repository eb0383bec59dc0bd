#!/usr/bin/env bash
# End-to-end benchmark of the `tfckpt` tool as a user runs it: every command in a fresh process, warm
# page cache, inputs in a tmpfs, beside a yardstick doing comparable work with the system's own tools
# in the same run. Each job runs N rounds (default 5); a round runs the tfckpt command and its
# yardstick once each (hyperfine --runs 1, no shell, stdout to /dev/null), the order swapping every
# round. Reported: median and min-max wall time of each, the median and min-max of the per-round
# ratios tfckpt/yardstick, and the peak RSS over all rounds (GNU time's %M).
#
#   job     tfckpt command                                    yardstick
#   verify  verify of 64 float32 tensors (4 GiB)              cat of the data file
#   verify1 the same on one thread (--threads 1)              cat of the data file
#   rename  rename --rule of the same checkpoint              cp of its data file
#   select  select of 32 of its 64 tensors (2 GiB kept)       cp of its data file (4 GiB)
#   merge   merge of 16 x 256 MiB (seed 000), Momentum dropped cp -r of the 16 inputs
#   merge4x the same at 4x the size (16 x 1 GiB), inputs      cp -r of the 16 inputs, then
#           and outputs on a disk (--disk DIR, default        sync (tfckpt fsyncs what it
#           /var/tmp), warm page cache; only with --only      writes)
#   ls      ls of a 1,000,000-entry index                     leveldb_ls (LevelDB's Table, bench/cli)
#   cp      cp of a checkpoint holding one 5 GiB tensor       cp -r of the checkpoint's directory
#   import  import of a 1 GiB safetensors file (16 tensors)   cp of the file
#   rcp     cp of a 2 GiB checkpoint (32 x 64 MiB + 32 small   curl -o of its two files from the same
#           tensors) from nginx on loopback (http://)          server
#   rls     ls of the same URL; the bytes it fetched, and      curl -o of its index
#           those of `cat` of one small tensor, are counted
#           from nginx's access log
#   rverify verify of the same URL                             curl -o of its data file to /dev/null
#   convert convert --to safetensors of the verify input      cp of its data file
#   transpose  the same with --transpose (every tensor)       cp of its data file
#   transpose1g  convert --transpose of one [16384,16384]     cp of its data file
#               float32 tensor (1 GiB)
#
# Inputs come from bench/cli/make_inputs (the library's writer), are made one job at a time and
# deleted after it; each job also checks its output (verify OK, cp byte-identical).
#
# Usage: bench/cli/run.sh [--tiny] [--runs N] [--only JOB[,JOB...]] [--build DIR] [--scratch DIR] [--disk DIR]
#          [--report FILE] [--tfckpt EXE] [--make-inputs EXE] [--leveldb-ls EXE]
#   --tiny      inputs 1/1024 of the size (the index 1/1000): proves the script runs (ctest bench.cli_tiny)
#   --only      run only these jobs (names from the table above); the table is printed, and written
#               into a report only when --report is given
#   --build     build directory holding cli/tfckpt and bench/cli_bench_* (default: build)
#   --scratch   where inputs go (default: $TMPDIR if it is a tmpfs, else /dev/shm)
#   --disk      where the merge4x job's inputs and outputs go: a directory on a disk (default /var/tmp)
#   --report    markdown file whose run-time table (between the bench/cli/run.sh markers) is replaced;
#               default docs/PERFORMANCE.md, or nothing with --tiny
# Needs hyperfine, GNU time (/usr/bin/time) and python3 (scripts/install-deps.sh); exits 77 when one is
# missing (ctest counts it as skipped).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

tiny=0
runs=5
only=""
build="$repo/build"
scratch_parent=""
disk_parent=/var/tmp
report=""
tfckpt="" make_inputs="" leveldb_ls=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) tiny=1 ;;
    --runs) runs=$2; shift ;;
    --only) only=$2; shift ;;
    --build) build=$2; shift ;;
    --scratch) scratch_parent=$2; shift ;;
    --disk) disk_parent=$2; shift ;;
    --report) report=$2; shift ;;
    --tfckpt) tfckpt=$2; shift ;;
    --make-inputs) make_inputs=$2; shift ;;
    --leveldb-ls) leveldb_ls=$2; shift ;;
    *) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ "${TFCKPT_BENCH_TINY:-0}" = 1 ] && tiny=1
[ -n "$report" ] || { [ "$tiny" = 1 ] || [ -n "$only" ] || report="$repo/docs/PERFORMANCE.md"; }
for job in ${only//,/ }; do
  case "$job" in
    verify | verify1 | rename | select | merge | merge4x | ls | cp | import | convert | transpose | transpose1g | rcp | rls | rverify) ;;
    *) echo "run.sh: unknown job '$job' for --only" >&2; exit 2 ;;
  esac
done
# wanted JOB...: true when one of the jobs is to run.
wanted() {
  [ -z "$only" ] && return 0
  local job
  for job in "$@"; do [[ ",$only," == *",$job,"* ]] && return 0; done
  return 1
}
tfckpt=${tfckpt:-$build/cli/tfckpt}
make_inputs=${make_inputs:-$build/bench/cli_bench_make_inputs}
leveldb_ls=${leveldb_ls:-$build/bench/cli_bench_leveldb_ls}

for tool in hyperfine /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 77; }
done
for exe in "$tfckpt" "$make_inputs" "$leveldb_ls"; do
  [ -x "$exe" ] || { echo "run.sh: $exe is not built (ninja tfckpt_cli cli_bench_make_inputs cli_bench_leveldb_ls)" >&2; exit 2; }
done

if [ -z "$scratch_parent" ]; then
  scratch_parent=/dev/shm
  if [ -n "${TMPDIR:-}" ] && [ "$(stat -f -c %T "$TMPDIR")" = tmpfs ]; then scratch_parent=$TMPDIR; fi
fi
scratch=$(mktemp -d "$scratch_parent/tfckpt-cli-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
results="$scratch/results.jsonl"
tiny_arg=()
[ "$tiny" = 1 ] && tiny_arg=(--tiny)

# measure JOB DESCRIPTION YARDSTICK_DESCRIPTION TFCKPT_CMD YARDSTICK_CMD [TFCKPT_PREPARE YARDSTICK_PREPARE]
# Commands are single strings split by hyperfine without a shell (quote as in sh); a prepare command
# (removing the previous round's output) runs, untimed, before its command.
measure() {
  local job=$1 what=$2 yard_what=$3 cmd=$4 yard=$5 prepare_t=${6:-true} prepare_y=${7:-true}
  local dir="$scratch/$job.samples"
  mkdir -p "$dir"
  local t="/usr/bin/time -f %M -a -o $dir/rss.tfckpt $cmd"
  local y="/usr/bin/time -f %M -a -o $dir/rss.yardstick $yard"
  for ((i = 0; i < runs; i++)); do
    local order=(-p "$prepare_t" -p "$prepare_y" -n tfckpt -n yardstick "$t" "$y")
    if ((i % 2)); then order=(-p "$prepare_y" -p "$prepare_t" -n yardstick -n tfckpt "$y" "$t"); fi
    hyperfine -N --style none --runs 1 --export-json "$dir/round$i.json" "${order[@]}" >/dev/null
  done
  python3 - "$job" "$what" "$yard_what" "$dir" "$runs" >>"$results" <<'EOF'
import json, statistics, sys
job, what, yard_what, d, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
t, y, ratios = [], [], []
for i in range(runs):
    r = {x["command"]: x["times"][0] for x in json.load(open(f"{d}/round{i}.json"))["results"]}
    t.append(r["tfckpt"]); y.append(r["yardstick"]); ratios.append(r["tfckpt"] / r["yardstick"])
rss = lambda f: max(int(l) for l in open(f"{d}/{f}") if l.strip().isdigit()) / 1024
stats = lambda v: {"median": statistics.median(v), "min": min(v), "max": max(v)}
print(json.dumps({"job": job, "what": what, "yardstick": yard_what, "tfckpt_s": stats(t), "yardstick_s": stats(y),
                  "ratio": stats(ratios), "tfckpt_rss_mib": rss("rss.tfckpt"), "yardstick_rss_mib": rss("rss.yardstick")}))
EOF
  tail -n 1 "$results" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
print("%-7s tfckpt %.3f s (%.3f-%.3f) %.0f MiB | yardstick %.3f s (%.3f-%.3f) %.0f MiB | ratio %.3g (%.3g-%.3g)" % (
    r["job"], r["tfckpt_s"]["median"], r["tfckpt_s"]["min"], r["tfckpt_s"]["max"], r["tfckpt_rss_mib"],
    r["yardstick_s"]["median"], r["yardstick_s"]["min"], r["yardstick_s"]["max"], r["yardstick_rss_mib"],
    r["ratio"]["median"], r["ratio"]["min"], r["ratio"]["max"]))' >&2
}

size_of() { du -sh --apparent-size "$@" | awk 'END { print $1 }'; }

# --- verify and rename: 64 x 64 MiB ---
if wanted verify verify1 rename select convert transpose; then
in="$scratch/verify"
"$make_inputs" verify "$in" "${tiny_arg[@]}"
data="$in/model.ckpt.data-00000-of-00001"
wanted verify && measure verify "verify, 64 float32 tensors ($(size_of "$data"))" "cat DATA" \
  "$tfckpt verify -q $in/model.ckpt" "cat $data"
wanted verify1 && measure verify1 "verify --threads 1 of the same" "cat DATA" \
  "$tfckpt verify -q --threads 1 $in/model.ckpt" "cat $data"
out="$scratch/renamed.ckpt"
if wanted rename; then
measure rename "rename --rule (every name changes) of the same" "cp DATA" \
  "$tfckpt rename -q $in/model.ckpt --rule '^layer_(.*)\$=renamed_\$1' --out $out" "cp $data $scratch/copied.data" \
  "rm -f $out.index $out.data-00000-of-00001" "rm -f $scratch/copied.data"
"$tfckpt" verify -q "$out" >/dev/null
fi
out="$scratch/selected.ckpt"
if wanted select; then
measure select "select of every other tensor of the same (32 of 64 kept, half the bytes)" "cp DATA" \
  "$tfckpt select -q $in/model.ckpt --regex '^layer_.[02468]/' --out $out" "cp $data $scratch/copied.data" \
  "rm -f $out.index $out.data-00000-of-00001" "rm -f $scratch/copied.data"
"$tfckpt" verify -q "$out" >/dev/null
[ "$("$tfckpt" ls "$out" | tail -n +2 | wc -l)" = 32 ] || { echo "run.sh: select kept the wrong tensors" >&2; exit 1; }
fi
out="$scratch/converted.safetensors"
wanted convert && measure convert "convert --to safetensors of the same" "cp DATA" \
  "$tfckpt convert -q $in/model.ckpt --to safetensors $out --force" "cp $data $scratch/copied.data" \
  "rm -f $out" "rm -f $scratch/copied.data"
wanted transpose && measure transpose "convert --to safetensors --transpose 'kernel\$' (every tensor) of the same" "cp DATA" \
  "$tfckpt convert -q $in/model.ckpt --to safetensors $out --force --transpose 'kernel\$'" "cp $data $scratch/copied.data" \
  "rm -f $out" "rm -f $scratch/copied.data"
rm -rf "$in" "$out"* "$scratch/renamed.ckpt".* "$scratch/selected.ckpt".* "$scratch/copied.data"
fi

# --- merge: seed 000, 16 x 256 MiB ---
if wanted merge; then
in="$scratch/merge"
"$make_inputs" merge "$in" "${tiny_arg[@]}"
out="$scratch/merged.ckpt"
logs=$(for i in $(seq 0 15); do printf '%s ' "$in/log_$i/model.ckpt"; done)
measure merge "merge 16 checkpoints ($(size_of "$in")), --drop '/Momentum\$'" "cp -r INPUTS" \
  "$tfckpt merge -q --out $out --group '^out(\\d+)/(weights|biases)\$=out/\$2' --axis out/weights=1 --drop '/Momentum\$' $logs" \
  "cp -r $in $scratch/inputs.copy" "rm -f $out.index $out.data-00000-of-00001" "rm -rf $scratch/inputs.copy"
"$tfckpt" verify -q "$out" >/dev/null
rm -rf "$in" "$out".* "$scratch/inputs.copy"
fi

# --- merge4x: 16 x 1 GiB on disk ---
# Not part of a full run (--only merge4x): it writes 40 GiB to the disk and takes some minutes.
if [ -n "$only" ] && wanted merge4x; then
disk=$(mktemp -d "$disk_parent/tfckpt-cli-bench.XXXXXX")
trap 'rm -rf "$scratch" "$disk"' EXIT
in="$disk/merge"
"$make_inputs" merge4x "$in" "${tiny_arg[@]}"
sync
out="$disk/merged.ckpt"
logs=$(for i in $(seq 0 15); do printf '%s ' "$in/log_$i/model.ckpt"; done)
# tfckpt fsyncs what it writes (a checkpoint survives a crash once written); on a disk, unlike on
# tmpfs, that is the time of writing it out, so the copy is synced too (sync -f: its file system).
measure merge4x "merge 16 checkpoints ($(size_of "$in")) on disk ($(stat -f -c %T "$disk")), --drop '/Momentum\$'" \
  "cp -r INPUTS; sync" \
  "$tfckpt merge -q --out $out --group '^out(\\d+)/(weights|biases)\$=out/\$2' --axis out/weights=1 --drop '/Momentum\$' $logs" \
  "sh -c 'cp -r $in $disk/inputs.copy && sync -f $disk/inputs.copy'" "rm -f $out.index $out.data-00000-of-00001" \
  "rm -rf $disk/inputs.copy"
"$tfckpt" verify -q "$out" >/dev/null
rm -rf "$disk"
fi

# --- ls: 1,000,000 entries ---
if wanted ls; then
in="$scratch/index"
"$make_inputs" index "$in" "${tiny_arg[@]}"
entries=$("$leveldb_ls" "$in/model.ckpt" | wc -l)
measure ls "ls of $entries entries ($(size_of "$in/model.ckpt.index") index)" "leveldb_ls" \
  "$tfckpt ls $in/model.ckpt" "$leveldb_ls $in/model.ckpt"
rm -rf "$in"
fi

# --- cp: one 5 GiB tensor ---
if wanted cp; then
in="$scratch/single"
"$make_inputs" single "$in" "${tiny_arg[@]}"
out="$scratch/copy.ckpt"
measure cp "cp of one float32 tensor ($(size_of "$in"))" "cp -r DIR" \
  "$tfckpt cp -q $in/model.ckpt $out" "cp -r $in $scratch/dir.copy" \
  "rm -f $out.index $out.data-00000-of-00001" "rm -rf $scratch/dir.copy"
cmp "$in/model.ckpt.index" "$out.index"
cmp "$in/model.ckpt.data-00000-of-00001" "$out.data-00000-of-00001"
rm -rf "$in" "$out".* "$scratch/dir.copy"
fi

# --- transpose1g: one 1 GiB matrix ---
if wanted transpose1g; then
in="$scratch/square"
"$make_inputs" square "$in" "${tiny_arg[@]}"
data="$in/model.ckpt.data-00000-of-00001"
out="$scratch/transposed.safetensors"
measure transpose1g "convert --to safetensors --transpose of one float32 [16384,16384] ($(size_of "$data"))" "cp DATA" \
  "$tfckpt convert -q $in/model.ckpt --to safetensors $out --force --transpose 'kernel\$'" "cp $data $scratch/copied.data" \
  "rm -f $out" "rm -f $scratch/copied.data"
rm -rf "$in" "$out" "$scratch/copied.data"
fi

# --- import: a 1 GiB safetensors file ---
if wanted import; then
in="$scratch/safetensors"
"$make_inputs" safetensors "$in" "${tiny_arg[@]}"
out="$scratch/imported.ckpt"
measure import "import of a safetensors file, 16 float32 tensors ($(size_of "$in/model.safetensors"))" "cp FILE" \
  "$tfckpt import -q $in/model.safetensors --out $out" "cp $in/model.safetensors $scratch/file.copy" \
  "rm -f $out.index $out.data-00000-of-00001" "rm -f $scratch/file.copy"
"$tfckpt" verify -q "$out" >/dev/null
rm -rf "$in" "$out".* "$scratch/file.copy"
fi

# --- rcp, rls, rverify: a 2 GiB checkpoint over HTTP from nginx on loopback (tests/remote/servers) ---
if wanted rcp rls rverify; then
servers="$scratch/servers"
mkdir -p "$scratch/no-fixtures" "$servers"
echo "no fixtures: the servers here serve the benchmark's own input" >"$scratch/no-fixtures/MANIFEST.md"
# The servers' npm packages are kept beside the tool's build, not fetched again each run.
node_cache="$(cd "$(dirname "$tfckpt")/.." && pwd)/remote-servers-node"
mkdir -p "$node_cache"
ln -s "$node_cache" "$servers/node"
started=0
bash "$repo/tests/remote/servers/start.sh" "$servers" "$scratch/no-fixtures" >/dev/null || started=$?
if [ "$started" = 77 ]; then
  echo "run.sh: the loopback servers cannot start here (see above): rcp, rls and rverify skipped" >&2
elif [ "$started" != 0 ]; then
  echo "run.sh: the loopback servers failed to start" >&2
  exit 1
fi
fi
if [ "${started:-1}" = 0 ]; then
trap 'bash "$repo/tests/remote/servers/stop.sh" "$servers" >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
www=$(sed -n 's/^TFCKPT_TEST_WWW_DIR=//p' "$servers/endpoints.env")
base=$(sed -n 's/^TFCKPT_TEST_HTTP=//p' "$servers/endpoints.env")
log=$(sed -n 's/^TFCKPT_TEST_NGINX_LOG=//p' "$servers/endpoints.env")
"$make_inputs" remote "$www/remote" "${tiny_arg[@]}"
url="$base/www/remote/model.ckpt"
index_bytes=$(stat -c %s "$www/remote/model.ckpt.index")
# fetched CMD...: body bytes nginx sent while CMD ran.
fetched() {
  local mark
  mark=$(stat -c %s "$log")
  "$@" >/dev/null
  tail -c +$((mark + 1)) "$log" | awk '{ s += $NF } END { print s + 0 }'
}
ls_bytes=$(fetched "$tfckpt" ls "$url")
bias_bytes=$("$tfckpt" ls "$url" | awk '$1 == "layer_00/bias" { print $NF }')
cat_bytes=$(fetched "$tfckpt" cat "$url" layer_00/bias)
echo "run.sh: over HTTP, ls fetched $ls_bytes bytes (the index is $index_bytes); cat of layer_00/bias fetched $cat_bytes (index + tensor: $((index_bytes + bias_bytes)))" >&2
out="$scratch/rcopy.ckpt"
mkdir -p "$scratch/curl.copy"
wanted rcp && measure rcp "cp over HTTP of 64 float32 tensors ($(size_of "$www/remote"), nginx on loopback)" "curl -o FILES" \
  "$tfckpt cp -q $url $out" "curl -sS --fail -o $scratch/curl.copy/model.ckpt.index $url.index -o $scratch/curl.copy/model.ckpt.data-00000-of-00001 $url.data-00000-of-00001" \
  "rm -f $out.index $out.data-00000-of-00001" "rm -f $scratch/curl.copy/model.ckpt.index $scratch/curl.copy/model.ckpt.data-00000-of-00001"
if wanted rcp; then
  cmp "$www/remote/model.ckpt.index" "$out.index"
  cmp "$www/remote/model.ckpt.data-00000-of-00001" "$out.data-00000-of-00001"
fi
wanted rls && measure rls "ls over HTTP of the same (fetched $ls_bytes bytes; its index is $index_bytes; cat of one tensor fetched $cat_bytes = index + $bias_bytes)" "curl -o INDEX" \
  "$tfckpt ls $url" "curl -sS --fail -o $scratch/curl.copy/index $url.index"
wanted rverify && measure rverify "verify over HTTP of the same" "curl -o /dev/null DATA" \
  "$tfckpt verify -q $url" "curl -sS --fail -o /dev/null $url.data-00000-of-00001"
rm -rf "$www/remote" "$out".* "$scratch/curl.copy"
fi

# --- the table ---
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine="$cpu, $(nproc) cores, $(awk '{ printf "%.0f GiB", $2 / 1048576 }' <(grep MemTotal /proc/meminfo)) RAM, \
inputs on $(stat -f -c %T "$scratch") ($scratch_parent), Linux $(uname -r), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" "$machine" "$runs" "$tiny" "$report" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  "$(hyperfine --version)" <<'EOF'
import json, os, sys
results, machine, runs, tiny, report, when, hf = sys.argv[1:8]
rows = [json.loads(l) for l in open(results)]
s = lambda x: "%.3f s (%.3f–%.3f)" % (x["median"], x["min"], x["max"])
lines = [
    f"Measured {when} with `bench/cli/run.sh{' --tiny' if tiny == '1' else ''}` ({hf}, {runs} alternating rounds, "
    f"fresh processes, warm page cache). Machine: {machine}.",
    "",
    "| job | tfckpt: median (min–max) | peak RSS | yardstick | yardstick: median (min–max) | peak RSS | tfckpt / yardstick: median (min–max) |",
    "|---|---|---|---|---|---|---|",
]
for r in rows:
    lines.append(f"| {r['what']} | {s(r['tfckpt_s'])} | {r['tfckpt_rss_mib']:.0f} MiB | `{r['yardstick']}` | "
                 f"{s(r['yardstick_s'])} | {r['yardstick_rss_mib']:.0f} MiB | "
                 f"{r['ratio']['median']:.3g} ({r['ratio']['min']:.3g}–{r['ratio']['max']:.3g}) |")
table = "\n".join(lines) + "\n"
print(table)
if report:
    begin, end = "<!-- bench/cli/run.sh: begin -->\n", "<!-- bench/cli/run.sh: end -->\n"
    text = open(report).read() if os.path.exists(report) else ""
    if begin in text and end in text:
        text = text[: text.index(begin) + len(begin)] + table + text[text.index(end):]
    else:
        text += ("\n" if text else "") + begin + table + end
    open(report, "w").write(text)
    print(f"run.sh: wrote the table into {report}", file=sys.stderr)
EOF
