#!/bin/sh
# Oracle: every profile the debug server serves must be accepted by `go tool pprof -raw`.
# usage: pprof_oracle.sh GO DEBUG_SERVER_TEST_BINARY
set -eu
go=$1
bin=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
TRACETOOL_PPROF_OUT=$out "$bin" --gtest_filter='DebugServer.EveryEndpoint'
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
