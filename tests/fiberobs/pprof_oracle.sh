#!/bin/sh
# Oracle: every profile the debug server serves must be accepted by `go tool pprof -raw`, and
# its execution traces (capture and flight recorder) by `go tool trace -d`.
# usage: pprof_oracle.sh GO DEBUG_SERVER_TEST_BINARY
set -eu
go=$1
bin=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
TRACETOOL_PPROF_OUT=$out "$bin" --gtest_filter='DebugServer.EveryEndpoint:DebugServer.FlightRecorderDump'
n=0
for f in "$out"/*.pb.gz; do
  name=$(basename "$f" .pb.gz)
  if ! "$go" tool pprof -raw "$f" > "$out/$name.raw" 2> "$out/$name.err"; then
    echo "go tool pprof -raw rejected $name:"; cat "$out/$name.err"; exit 1
  fi
  grep -q '^Samples:' "$out/$name.raw" || { echo "$name: no Samples section"; exit 1; }
  n=$((n + 1))
done
[ "$n" -eq 7 ] || { echo "expected 7 profiles, got $n"; exit 1; }
echo "go tool pprof -raw accepted $n profiles"
# /debug/pprof/trace?seconds=N and ?flight=1: `go tool trace -d` must accept both.
for name in trace flight; do
  f=$out/$name.trace
  [ -s "$f" ] || { echo "no $name.trace fetched"; exit 1; }
  if ! "$go" tool trace -d "$f" > "$out/$name.d" 2> "$out/$name.err"; then
    echo "go tool trace -d rejected $name.trace:"; cat "$out/$name.err"; exit 1
  fi
  grep -q ' GoStart ' "$out/$name.d" || { echo "$name.trace: no GoStart in go tool trace -d"; exit 1; }
done
echo "go tool trace -d accepted trace and flight"
