#!/usr/bin/env bash
# Web UI benchmark: `tracetool -http` against Go 1.19's `go tool trace -http` on this machine.
#
#   bash bench/web/run.sh [BIG_TRACE] [GO_TRACE]
#
# BIG_TRACE (default /work/main/bench/out/mixed-120mb.trace, bench/gentrace's 120 MB trace) is
# served by tracetool only; GO_TRACE (default bench/out/mixed-20mb.trace: `gentrace -mb 20`) by
# both tools, since Go 1.19 needs many GiB and minutes on the big one. Measured: time until the
# server answers (wall and CPU), until the background analyses are done, first timeline paint in
# headless Chromium, server time of pan/zoom requests at every zoom level, peak RSS (GNU time).
# Go's first paint cannot be measured the same way (its Catapult viewer needs HTML imports, gone
# from current Chromium): its /jsontrace answer, which the viewer needs first, is timed instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIG=${1:-/work/main/bench/out/mixed-120mb.trace}
SMALL=${2:-bench/out/mixed-20mb.trace}
TT=${TRACETOOL:-build/bin/tracetool}
GOROOT=${GOROOT:-/usr/lib/go-1.19}
OUT=${OUT:-bench/web/results/$(date -u +%Y-%m-%dT%H%MZ)}  # OUT=dir SKIP_TT=1: Go's part only
mkdir -p "$OUT"
if [[ ! -f $SMALL ]]; then
  echo "bench/web: $SMALL missing; make it with: gentrace -mb 20 -o $SMALL (bench/gentrace)" >&2
  exit 2
fi
cpu_seconds() {  # utime+stime of a pid, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}
now() { date +%s.%N; }

# tracetool on TRACE: prints "ready_s ready_cpu_s analyses_s" and leaves the server running.
tt_serve() {
  local trace=$1 name=$2
  local start; start=$(now)
  /usr/bin/time -v "$TT" -http=127.0.0.1:0 "$trace" 2> "$OUT/tt-$name.stderr" &
  local tpid=$!
  TT_TIME_PID=$tpid
  local pid=""
  while [[ -z $pid ]]; do pid=$(pgrep -P $tpid tracetool || true); sleep 0.05; done
  until grep -q "serving the web UI" "$OUT/tt-$name.stderr"; do sleep 0.05; done
  local ready; ready=$(echo "$(now) - $start" | bc)
  local cpu; cpu=$(cpu_seconds "$pid")
  URL=$(grep -o 'http://[^ ]*' "$OUT/tt-$name.stderr")
  until grep -q "analyses ready\|analyses failed" "$OUT/tt-$name.stderr"; do sleep 0.2; done
  local an; an=$(echo "$(now) - $start" | bc)
  TT_PID=$pid
  echo "$ready $cpu $an"
}
peak_rss() {  # after SIGINT: wait for GNU time's report, print the peak RSS in KiB
  local i
  for i in $(seq 1 600); do grep -q "Maximum resident" "$1" && break; sleep 0.1; done
  grep "Maximum resident" "$1" | awk '{print $NF}'
}

{
echo "# tracetool -http benchmark, $(date -u), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
for spec in $([[ -n ${SKIP_TT:-} ]] || echo "$BIG:big $SMALL:small"); do
  trace=${spec%:*}; name=${spec##*:}
  size=$(stat -c %s "$trace")
  tt_serve "$trace" "$name" > "$OUT/tt-$name.ready"  # not a subshell: URL and TT_PID stay set
  read -r ready cpu an < "$OUT/tt-$name.ready"
  meta=$(curl -s "${URL}api/overview")
  node bench/web/measure.mjs "$URL" "$(echo "$meta" | python3 -c 'import json,sys; print(json.load(sys.stdin)["duration_ns"])')" \
       "$(echo "$meta" | python3 -c 'import json,sys; print(json.load(sys.stdin)["goroutines"])')" > "$OUT/tt-$name-measure.json"
  kill -INT "$TT_PID"
  rss=$(peak_rss "$OUT/tt-$name.stderr")
  echo "## tracetool on $trace ($size bytes)"
  echo "ready to serve (timeline indexed): ${ready} s wall, ${cpu} s CPU"
  echo "all analyses done: ${an} s wall"
  echo "peak RSS: ${rss} KiB = $(echo "scale=2; $rss * 1024 / $size" | bc)x the trace"
  python3 - "$OUT/tt-$name-measure.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
s = m["server_ms"]
print(f"pan/zoom requests: {m['requests']}, server time p50 {s['p50']:.1f} ms, p90 {s['p90']:.1f} ms, p99 {s['p99']:.1f} ms, max {s['max']:.1f} ms; largest response {m['max_bytes']} bytes")
w = m["worst"]
print(f"  slowest: lens {w['lens']} window {w['span']:.0f} ns rows from {w['first']}: {w['server_ms']:.1f} ms server, {w['wall_ms']:.1f} ms wall, {w['bytes']} bytes")
for p in m["first_paint"]:
    print(f"first timeline paint (lens {p['lens']}): {p['first_paint_ms']:.0f} ms after navigation")
EOF
  echo
done

# Go 1.19 on the small trace.
export BROWSER=/bin/true HOME=${TMPDIR:-/tmp}
tooldir=$(GOROOT=$GOROOT "$GOROOT/bin/go" env GOTOOLDIR)
size=$(stat -c %s "$SMALL")
start=$(now)
GOROOT=$GOROOT /usr/bin/time -v "$tooldir/trace" -http=127.0.0.1:0 "$SMALL" 2> "$OUT/go-small.stderr" &
tpid=$!
until grep -q "listening on" "$OUT/go-small.stderr"; do sleep 0.1; done
port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$OUT/go-small.stderr" | grep -o '[0-9]*$')
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.1; done
ready=$(echo "$(now) - $start" | bc)
# The first of Go's 100 MB ranges (its page writes "&amp;"), or the whole trace if not split.
first=$(curl -s "http://127.0.0.1:$port/" | sed 's/&amp;/\&/g' | grep -o '/trace?start=[0-9]*&end=[0-9]*' | head -1 | sed 's/.*?//' || true)
ranges=$(curl -s "http://127.0.0.1:$port/" | grep -c 'trace?start=' || true)
jt=$(curl -s -o /dev/null -w '%{time_total} %{size_download}' "http://127.0.0.1:$port/jsontrace?${first}")
gpid=$(pgrep -P $tpid || true)
kill -TERM "${gpid:-$tpid}" 2>/dev/null || true  # Go keeps SIGINT ignored when GNU time ignores it
grss=$(peak_rss "$OUT/go-small.stderr")
echo "## go tool trace 1.19 on $SMALL ($size bytes)"
echo "ready to serve (index page answers): ${ready} s wall"
echo "index page lists ${ranges} trace ranges; first /jsontrace${first:+?$first} (viewer data): ${jt% *} s, ${jt#* } bytes"
echo "peak RSS: ${grss} KiB = $(echo "scale=2; $grss * 1024 / $size" | bc)x the trace"
} | tee -a "$OUT/results.txt"
