#!/usr/bin/env bash
# Compile cost of including tfckpt: wall time (median of --runs), peak compiler memory and
# preprocessed lines (g++ -E | wc -l) of
#   bench/compile/open_and_read.cpp  open a checkpoint, read one tensor as a span (with the flags of
#                                    the examples, i.e. what a user's target gets from tfckpt::compiled)
#   examples/inspect_checkpoint.cpp, examples/merge_heads.cpp, cli/cmd_*.cpp
# The first three also as "X (header-only)": without TFCKPT_SEPARATE_COMPILATION, as a target
# linking tfckpt::tfckpt compiles them.
# each compiled by g++ exactly as the project compiles it (CI's flags: -O2 -DNDEBUG, no debug info),
# one compile at a time. Prints a Markdown table and, with --write, puts it with the machine into the
# "Compile time" section of docs/PERFORMANCE.md.
#
#   bench/compile_time.sh [--runs N] [--tree DIR] [--tsv FILE] [--before FILE] [--reuse] [--write] [UNIT...]
#     --tree DIR    measure another checkout (e.g. `git worktree add /tmp/base main`); the
#                   open-and-read unit is always this script's copy
#     --tsv FILE    also write the figures as TSV (default DIR/build/compile-time/figures.tsv)
#     --before FILE a TSV of an earlier run: the table shows both
#     --reuse       compile nothing: print (and --write) the figures already in the --tsv file
#     UNIT...       only these units (paths relative to the tree, e.g. cli/cmd_ls.cpp, or
#                   "examples/merge_heads.cpp (header-only)")
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tree="$here" runs=3 tsv="" before="" write=0 reuse=0 units=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --tree) tree="$(cd "$2" && pwd)"; shift 2 ;;
    --tsv) tsv="$2"; shift 2 ;;
    --before) before="$2"; shift 2 ;;
    --write) write=1; shift ;;
    --reuse) reuse=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "compile_time.sh: unknown option $1" >&2; exit 2 ;;
    *) units+=("$1"); shift ;;
  esac
done
build="$tree/build/compile-time"
tsv="${tsv:-$build/figures.tsv}"

# Configure like CI, export the compile commands, and build only the generated protobuf headers.
# Each unit on its own, as a user's unit compiles: without the project's batches (TFCKPT_UNITY_BUILD,
# which would list the CLI as two unity_*.cxx units) and without its precompiled headers.
if [ "$reuse" = 0 ]; then
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$tree" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DCMAKE_CXX_COMPILER=g++ -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DTFCKPT_BUILD_TESTS=OFF -DTFCKPT_BUILD_BENCH=OFF -DTFCKPT_BUILD_CLI=ON -DTFCKPT_BUILD_EXAMPLES=ON \
  -DTFCKPT_UNITY_BUILD=OFF -DTFCKPT_PCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" --target tfckpt_proto -j "$(nproc)" >/dev/null
fi

python3 - "$here" "$tree" "$build" "$runs" "$tsv" "$before" "$write" "$reuse" "${units[@]}" <<'PY'
import json, os, re, shlex, statistics, subprocess, sys, tempfile, time

HEADER_ONLY = " (header-only)"

here, tree, build, runs, tsv, before, write, reuse = sys.argv[1:9]
runs, write, reuse = int(runs), write == "1", reuse == "1"
wanted = sys.argv[9:]

commands = {} if reuse else {os.path.relpath(c["file"], tree): c for c in json.load(open(os.path.join(build, "compile_commands.json")))}
units = ["bench/compile/open_and_read.cpp", "examples/inspect_checkpoint.cpp", "examples/merge_heads.cpp"]
units = [v for u in units for v in (u, u + HEADER_ONLY)]
units += sorted(u for u in commands if re.fullmatch(r"cli/cmd_\w+\.cpp", u))
if wanted:
    units = [u for u in units if u in wanted]

def command_for(unit, out):
    """The project's compile command for `unit`, writing `out`, without dependency-file flags. A unit
    named "X (header-only)" is X compiled without TFCKPT_SEPARATE_COMPILATION, as a program that
    links tfckpt::tfckpt instead of tfckpt::compiled compiles it."""
    header_only = unit.endswith(HEADER_ONLY)
    unit = unit.removesuffix(HEADER_ONLY)
    if unit == "bench/compile/open_and_read.cpp":
        base, source = commands["examples/inspect_checkpoint.cpp"], os.path.join(here, unit)
    else:
        base, source = commands[unit], os.path.join(tree, unit)
    args = shlex.split(base["command"]) if "command" in base else list(base["arguments"])
    result, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ", "-c"):
            skip = True
            continue
        if a in ("-MD", "-MMD") or a == base["file"]:
            continue
        if header_only and a == "-DTFCKPT_SEPARATE_COMPILATION":
            continue
        result.append(a)
    return ["g++"] + result + ["-c", source, "-o", out], base["directory"]

def compile_once(unit):
    """(wall seconds, CPU seconds, peak MiB) of one compile; retried when the compiler is killed
    (the kernel's OOM killer on a crowded machine)."""
    for attempt in range(4):
        with tempfile.TemporaryDirectory() as tmp:
            cmd, cwd = command_for(unit, os.path.join(tmp, "unit.o"))
            start = time.monotonic()
            proc = subprocess.Popen(cmd, cwd=cwd)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.monotonic() - start
        if status == 0:
            # g++ waits for cc1plus, so its usage includes the compiler proper's.
            return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1 and attempt == 0:
            break  # a real compile error: no point retrying
        print(f"compile_time.sh: {unit}: compiler failed (status {status}), retrying", file=sys.stderr)
        time.sleep(30)
    sys.exit(f"compile_time.sh: {unit} does not compile: {shlex.join(cmd)}")

def preprocessed(unit):
    cmd, cwd = command_for(unit, "-")
    cmd = [a for a in cmd if a != "-c"] + ["-E"]
    text = subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout
    files = set(re.findall(r'^# \d+ "([^"]+)"', text, re.M))
    heavy = {name: sum(1 for f in files if re.search(pattern, f)) for name, pattern in
             [("eigen", r"/(Eigen|unsupported/Eigen)/"), ("xtensor", r"/xtensor/|/xtl/"),
              ("protobuf", r"/google/protobuf/|\.pb\.h$"), ("absl", r"/absl/"), ("cli11", r"/CLI/")]}
    return text.count("\n"), heavy

def read_tsv(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        return [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f]

rows = []
if reuse:
    numeric = {"seconds": float, "cpu": float, "mib": float, "lines": int}
    rows = [{k: numeric.get(k, str)(v) if k in numeric else v for k, v in r.items()} for r in read_tsv(tsv)]
    units = []
for unit in units:
    samples = [compile_once(unit) for _ in range(runs)]
    lines, heavy = preprocessed(unit)
    row = {"unit": unit, "seconds": statistics.median(s for s, _, _ in samples),
           "cpu": statistics.median(c for _, c, _ in samples),
           "mib": statistics.median(m for _, _, m in samples), "lines": lines, **heavy}
    rows.append(row)
    print(f"{unit}: {row['seconds']:.1f} s ({row['cpu']:.1f} s CPU), {row['mib']:.0f} MiB, {lines} lines", file=sys.stderr)

keys = ["unit", "seconds", "cpu", "mib", "lines", "eigen", "xtensor", "protobuf", "absl", "cli11"]
if not reuse:
    os.makedirs(os.path.dirname(os.path.abspath(tsv)), exist_ok=True)
    with open(tsv, "w") as f:
        f.write("\t".join(keys) + "\n")
        for r in rows:
            f.write("\t".join(str(r[k]) for k in keys) + "\n")

old = {r["unit"]: r for r in read_tsv(before)} if before else {}

def headers(r):
    parts = [f"{r[k]} {k}" for k in ("eigen", "xtensor", "protobuf", "cli11") if int(r[k])]
    return ", ".join(parts + [f"{r['absl']} absl"])

table = []
if old:
    table.append("| translation unit | before: wall s | CPU s | MiB | lines | now: wall s | CPU s | MiB | lines | headers now |")
    table.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
else:
    table.append("| translation unit | wall s | CPU s | MiB | lines | headers |")
    table.append("|---|---:|---:|---:|---:|---|")
for r in rows:
    now = f"{r['seconds']:.1f} | {r['cpu']:.1f} | {r['mib']:.0f} | {r['lines']:,}"
    if old:
        o = old.get(r["unit"])
        was = f"{float(o['seconds']):.1f} | {float(o['cpu']):.1f} | {float(o['mib']):.0f} | {int(o['lines']):,}" if o else "| | |"
        table.append(f"| `{r['unit']}` | {was} | {now} | {headers(r)} |")
    else:
        table.append(f"| `{r['unit']}` | {now} | {headers(r)} |")
print("\n".join(table))

if write:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    gxx = subprocess.run(["g++", "-dumpfullversion"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    section = ["## Compile time", "",
               f"`bench/compile_time.sh --write`: g++ {gxx}, CI's flags (`-O2 -DNDEBUG`), one compile at a time, "
               f"median of {runs} runs; {cpu}, {os.cpu_count()} cores; tree at {commit}. "
               "Wall time suffers most from other work on the machine; CPU time (user + system) much less. "
               "MiB is the compiler's peak resident memory, lines the preprocessed size (`g++ -E | wc -l`), "
               "headers how many files of Eigen, xtensor, protobuf, CLI11 and Abseil the unit reads.", ""] + table + [""]
    if old and before:
        section.insert(3, f"Before: `{os.path.basename(before)}`, an earlier run of the script (`--before`).")
        section.insert(4, "")
    doc = os.path.join(here, "docs", "PERFORMANCE.md")
    text = open(doc).read() if os.path.exists(doc) else "# Performance\n\n## Run time\n\n## Compile time\n"
    if "## Compile time" not in text:
        text = text.rstrip("\n") + "\n\n## Compile time\n"
    start = text.index("## Compile time")
    nxt = text.find("\n## ", start + 1)
    text = text[:start] + "\n".join(section) + ("\n" + text[nxt + 1:] if nxt != -1 else "")
    with open(doc, "w") as f:
        f.write(text)
    print(f"compile_time.sh: wrote the Compile time section of {doc}", file=sys.stderr)
PY
