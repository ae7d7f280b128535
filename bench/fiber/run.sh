#!/usr/bin/env bash
# Runs lib/fiber's benchmarks and their Go 1.19 twins side by side at procs 1 and 2 and prints
# C++/Go time ratios (< 1 means lib/fiber is faster).
#
#   bash bench/fiber/run.sh            # full run (~1-2 minutes)
#   bash bench/fiber/run.sh --smoke    # every benchmark once: proves it all still runs
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/bench/out/fiber"
mkdir -p "$out"
smoke=0
[[ "${1:-}" == "--smoke" ]] && smoke=1
GO="${GO:-$(command -v go || echo /usr/lib/go-1.19/bin/go)}"

# BUILD_BENCH explicitly: other scripts configure build-bench/ without the benchmarks.
cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRACETOOL_BUILD_BENCH=ON >/dev/null
cmake --build "$root/build-bench" --target fiber_bench >/dev/null

if (( smoke )); then
  export TRACETOOL_BENCH_SMOKE=1
  gobench=(-benchtime=1x)
else
  gobench=(-benchtime=1s)
fi
"$root/build-bench/bin/fiber_bench" --benchmark_format=json >"$out/cpp.json"
(cd "$root/bench/fiber/go" && GOCACHE="$out/gocache" GOFLAGS=-mod=mod \
  "$GO" test -run '^$' -bench . -cpu 1,2 "${gobench[@]}") | tee "$out/go.txt" >/dev/null

python3 - "$out/cpp.json" "$out/go.txt" <<'PY'
import json, re, sys
cpp = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    m = re.match(r"BM_(\w+)/procs:(\d+)", b["name"])
    if not m: continue
    unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
    cpp[(m.group(1), int(m.group(2)))] = b["real_time"] * unit
go = {}
for line in open(sys.argv[2]):
    m = re.match(r"Benchmark(\w+?)(?:-(\d+))?\s+\d+\s+([\d.]+) ns/op", line)
    if m: go[(m.group(1), int(m.group(2) or 1))] = float(m.group(3))
print(f"{'benchmark':<16} {'procs':>5} {'lib/fiber ns':>14} {'Go 1.19 ns':>14} {'fiber/Go':>9}")
for key in sorted(cpp):
    c, g = cpp[key], go.get(key)
    ratio = f"{c / g:9.2f}" if g else "        -"
    gs = f"{g:14.1f}" if g else "             -"
    print(f"{key[0]:<16} {key[1]:>5} {c:14.1f} {gs} {ratio}")
PY
