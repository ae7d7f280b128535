#!/usr/bin/env bash
# Regenerates the traces under testdata/go1.19/ that this project writes itself, with Go 1.19
# (Debian's golang-1.19-go). Traces depend on timing, so a regenerated file differs byte for byte;
# commit the new one only with the golden outputs that depend on it.
#
#   bash testdata/regen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-/usr/lib/go-1.19/bin/go}
"$GO" version | grep -q 'go1\.19' || { echo "regen.sh: $GO is not Go 1.19" >&2; exit 2; }

# demo.trace: bench/demo/main.go (echo server on 127.0.0.1, worker pool over channels, mutex,
# sync.Cond, select with timers, sleeps, file syscalls, GC, user tasks/regions/logs). ~100 KB.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$GO" build -o "$tmp/demo" ./bench/demo/main.go
"$tmp/demo" -rounds 100 -o "$tmp/demo.trace"
mv "$tmp/demo.trace" testdata/go1.19/demo.trace
ls -l testdata/go1.19/demo.trace
