#!/usr/bin/env bash
# tracetool vs Go 1.19's `go tool trace`, on the same machine in one run (issue 2 "Speed and
# memory"). See bench/README.md.
#
#   bash bench/compare.sh                # ~120 MB trace: both tools; ~1 GB trace: tracetool only
#   bash bench/compare.sh --smoke        # a ~1 MB trace, seconds (CI; also TRACETOOL_BENCH_SMOKE=1)
#   bash bench/compare.sh --mb 200 --big-mb 0   # another size; no 1 GB run
#
# Environment: TRACETOOL_BIN (a tracetool binary to use instead of building one),
# TRACETOOL_BUILD_DIR (a configured build directory to build tracetool and parse_bench in;
# default build-bench/, Release), TRACETOOL_BENCH_OUT (where traces and results go; default
# bench/out/, or <build dir>/bench-smoke in smoke mode).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

GO=/usr/lib/go-1.19/bin/go
TIME=/usr/bin/time
SMOKE=${TRACETOOL_BENCH_SMOKE:-0}
MB=120
BIG_MB=1000
RUN_GO=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --smoke) SMOKE=1 ;;
    --mb) MB=$2; shift ;;
    --big-mb) BIG_MB=$2; shift ;;
    --no-go) RUN_GO=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ "$SMOKE" == 0 || -z "$SMOKE" ]] && SMOKE=0 || SMOKE=1
if [[ $SMOKE == 1 ]]; then MB=1; BIG_MB=3; fi

[[ -x $GO ]] || { echo "compare.sh: $GO missing: bash scripts/install-deps.sh" >&2; exit 2; }
[[ -x $TIME ]] || { echo "compare.sh: GNU time missing: bash scripts/install-deps.sh" >&2; exit 2; }
if [[ -z "${HOME:-}" && -z "${GOCACHE:-}" ]]; then export GOCACHE=/tmp/tracetool-gocache; fi
export GOPROXY=${GOPROXY:-off}

# --- tracetool and parse_bench -----------------------------------------------------------------
BUILD=${TRACETOOL_BUILD_DIR:-build-bench}
if [[ -z "${TRACETOOL_BIN:-}" ]]; then
  if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRACETOOL_BUILD_TESTS=OFF \
      -DTRACETOOL_BUILD_BENCH=ON >/dev/null
  fi
  targets=(tracetool)
  grep -q '^parse_bench:\|parse_bench' "$BUILD/build.ninja" 2>/dev/null && targets+=(parse_bench)
  cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}" >/dev/null
  TRACETOOL_BIN=$BUILD/bin/tracetool
fi
PARSE_BENCH=$(dirname "$TRACETOOL_BIN")/parse_bench
[[ -x $TRACETOOL_BIN ]] || { echo "compare.sh: no tracetool at $TRACETOOL_BIN" >&2; exit 2; }
BUILD_TYPE=$(grep -E '^CMAKE_BUILD_TYPE:' "$(dirname "$TRACETOOL_BIN")/../CMakeCache.txt" 2>/dev/null | cut -d= -f2 || true)

# --- traces ------------------------------------------------------------------------------------
if [[ $SMOKE == 1 ]]; then
  OUT=${TRACETOOL_BENCH_OUT:-$BUILD/bench-smoke}
else
  OUT=${TRACETOOL_BENCH_OUT:-bench/out}
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
GENTRACE=$OUT/gentrace
if [[ ! -x $GENTRACE || bench/gentrace/main.go -nt $GENTRACE ]]; then
  (cd bench/gentrace && "$GO" build -o "$GENTRACE" main.go)
fi
# make_trace MB: prints the path of a cached mixed trace of about MB megabytes.
make_trace() {
  local path=$OUT/mixed-${1}mb.trace
  if [[ ! -s $path ]]; then
    echo "generating $path (${1} MB; takes about $(( $1 / 4 + 1 ))s)..." >&2
    "$GENTRACE" -mb "$1" -o "$path.tmp" >&2
    mv "$path.tmp" "$path"
  fi
  echo "$path"
}
TRACE=$(make_trace "$MB")
BYTES=$(stat -c %s "$TRACE")

# --- measuring -----------------------------------------------------------------------------------
# measure NAME CMD...: runs CMD with stdout to /dev/null under GNU time -v; sets WALL_<NAME> (s),
# RSS_<NAME> (KiB) and RC_<NAME>.
measure() {
  local name=$1; shift
  local tf=$OUT/time-$name.txt
  echo "  running $name: $*" >&2
  set +e
  "$TIME" -v -o "$tf" "$@" > /dev/null 2> "$OUT/stderr-$name.txt"
  local rc=$?
  set -e
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tf" | awk -F: '{
    if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
  printf -v "WALL_$name" '%s' "${wall:-nan}"
  printf -v "RSS_$name" '%s' "${rss:-0}"
  printf -v "RC_$name" '%s' "$rc"
  if [[ $rc -ne 0 ]]; then
    echo "  !! $name exited $rc: $(tail -n 3 "$OUT/stderr-$name.txt")" >&2
  fi
}
warm() { cat "$1" > /dev/null; }

echo "== bench/compare.sh$([[ $SMOKE == 1 ]] && echo ' (smoke)'): $(date -u +%FT%TZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "   tracetool: $TRACETOOL_BIN (${BUILD_TYPE:-?})"
echo "   go:        $("$GO" version)"
echo "   trace:     $TRACE ($(awk -v b="$BYTES" 'BEGIN {printf "%.1f MB", b/1e6}'))"

warm "$TRACE"
measure tt_pprof "$TRACETOOL_BIN" -pprof=sched "$TRACE"
measure tt_d "$TRACETOOL_BIN" -d "$TRACE"
# The parser alone, pinned to one core (taskset, when it works here).
PIN=()
taskset -c 0 true 2>/dev/null && PIN=(taskset -c 0)
measure tt_pprof_1core "${PIN[@]}" "$TRACETOOL_BIN" -pprof=sched "$TRACE"
EVENTS=$("$TRACETOOL_BIN" -d "$TRACE" 2>/dev/null | wc -l || true)
if [[ $RUN_GO == 1 ]]; then
  measure go_pprof "$GO" tool trace -pprof=sched "$TRACE"
  measure go_d "$GO" tool trace -d "$TRACE"
fi

PB_LINE=""
if [[ -x $PARSE_BENCH ]]; then
  echo "  running parse_bench (1 core) on $TRACE" >&2
  set +e
  PB_JSON=$OUT/parse_bench.json
  "${PIN[@]}" "$PARSE_BENCH" --benchmark_format=json --benchmark_out="$PB_JSON" \
    --benchmark_out_format=json "$TRACE" > /dev/null 2> "$OUT/stderr-parse_bench.txt"
  pb_rc=$?
  set -e
  if [[ $pb_rc -eq 0 ]]; then
    PB_LINE=$(python3 - "$PB_JSON" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["benchmarks"][0]
if b.get("error_occurred"):
    print("error: " + b.get("error_message", "?"))
else:
    print("%.0f MB/s, %.1f M events/s" % (b["bytes_per_second"] / 1e6, b.get("events", 0) / 1e6))
PY
)
  else
    PB_LINE="parse_bench exited $pb_rc"
  fi
fi

BIG_TRACE=""
if [[ $BIG_MB -gt 0 ]]; then
  BIG_TRACE=$(make_trace "$BIG_MB")
  BIG_BYTES=$(stat -c %s "$BIG_TRACE")
  warm "$BIG_TRACE"
  measure tt_big_pprof "$TRACETOOL_BIN" -pprof=sched "$BIG_TRACE"
fi

# --- table -------------------------------------------------------------------------------------
RESULTS=$OUT/results-$(date -u +%Y%m%dT%H%M%SZ).txt
{
python3 - <<PY
import math
smoke = $SMOKE
mb = $BYTES / 1e6
def f(x):
    try: return float(x)
    except ValueError: return math.nan
tt_p, tt_d, tt_1 = f("$WALL_tt_pprof"), f("$WALL_tt_d"), f("$WALL_tt_pprof_1core")
rss_tt_p, rss_tt_d = f("$RSS_tt_pprof") / 1024, f("$RSS_tt_d") / 1024
go = $RUN_GO
go_p = f("${WALL_go_pprof:-nan}"); go_d = f("${WALL_go_d:-nan}")
rss_go_p = f("${RSS_go_pprof:-0}") / 1024; rss_go_d = f("${RSS_go_d:-0}") / 1024
rc = {"tracetool -pprof": $RC_tt_pprof, "tracetool -d": $RC_tt_d,
      "go -pprof": ${RC_go_pprof:-0}, "go -d": ${RC_go_d:-0}}
def sec(x): return "-" if math.isnan(x) else ("%.2f s" % x)
def mib(x): return "-" if not x else ("%.0f MiB" % x)
def ratio(a, b): return "-" if (math.isnan(a) or math.isnan(b) or b <= 0) else ("%.1fx" % (a / b))
def inv(a, b): return "-" if (not a or not b) else ("1/%.0f" % (a / b))
print()
print("trace: %.1f MB, %s events (tracetool -d lines)" % (mb, "$EVENTS" or "?"))
print("%-22s %14s %14s %10s %10s" % ("", "go tool trace", "tracetool", "ratio", "target"))
print("%-22s %14s %14s %10s %10s" % ("-pprof=sched wall", sec(go_p), sec(tt_p), ratio(go_p, tt_p), ">=50x"))
print("%-22s %14s %14s %10s %10s" % ("-pprof=sched peak RSS", mib(rss_go_p), mib(rss_tt_p), inv(rss_go_p, rss_tt_p), "<=1/20"))
print("%-22s %14s %14s %10s %10s" % ("-d wall (>/dev/null)", sec(go_d), sec(tt_d), ratio(go_d, tt_d), ">=20x"))
print("%-22s %14s %14s %10s %10s" % ("-d peak RSS", mib(rss_go_d), mib(rss_tt_d), inv(rss_go_d, rss_tt_d), ""))
tp = mb / tt_1 if tt_1 and not math.isnan(tt_1) else math.nan
print("%-22s %14s %14s %10s %10s" % ("-pprof=sched, 1 core", "", ("%.0f MB/s" % tp) if not math.isnan(tp) else "-", "", ">=300MB/s"))
pb = """$PB_LINE"""
if pb:
    print("%-22s %14s %14s" % ("parse_bench, 1 core", "", pb))
if "$BIG_TRACE":
    print()
    print("big trace: %.1f MB (tracetool only)" % ($BIG_BYTES / 1e6 if "$BIG_TRACE" else 0))
    big_w, big_r = f("${WALL_tt_big_pprof:-nan}"), f("${RSS_tt_big_pprof:-0}") / 1024
    print("%-22s %14s %14s %10s %10s" % ("-pprof=sched wall", "", sec(big_w), "", ""))
    print("%-22s %14s %14s %10s %10s" % ("-pprof=sched peak RSS", "", mib(big_r), "", "<256MiB"))
    rc["tracetool big -pprof"] = ${RC_tt_big_pprof:-0}
bad = [k for k, v in rc.items() if v != 0]
if bad:
    print()
    print("FAILED runs (non-zero exit): " + ", ".join(bad))
if smoke:
    print()
    print("(smoke mode: the trace is tiny, so the figures are start-up costs, not the targets')")
PY
} | tee "$RESULTS"
echo "results: $RESULTS"

# Any tool failure fails the script (tracetool's always; Go's too, so that a broken comparison is
# never mistaken for a result).
for rc in "$RC_tt_pprof" "$RC_tt_d" "$RC_tt_pprof_1core" "${RC_go_pprof:-0}" "${RC_go_d:-0}" \
          "${RC_tt_big_pprof:-0}"; do
  [[ $rc -eq 0 ]] || exit 1
done
if [[ -n "$PB_LINE" && "$PB_LINE" == error* || "$PB_LINE" == parse_bench\ exited* ]]; then exit 1; fi
exit 0
