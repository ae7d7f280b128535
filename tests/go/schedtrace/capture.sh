#!/bin/sh
# Regenerates the Go 1.19 reference output for the schedtrace format tests.
# usage: tests/go/schedtrace/capture.sh [path/to/go] [outdir]
#   (defaults: /usr/lib/go-1.19/bin/go, this directory)
set -eu
GO=${1:-/usr/lib/go-1.19/bin/go}
out=${2:-}
dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
[ -n "$out" ] || out=$dir
mkdir -p "$out"
trap 'rm -rf "$tmp"' EXIT
GOCACHE="$tmp/cache" GOFLAGS=-mod=mod GO111MODULE=off "$GO" build -o "$tmp/schedtrace" "$dir/main.go"
GODEBUG=schedtrace=100 "$tmp/schedtrace" 2> "$out/go119_schedtrace.txt"
GODEBUG=schedtrace=100,scheddetail=1 "$tmp/schedtrace" 2> "$out/go119_scheddetail.txt"
"$GO" version > "$out/go119_version.txt"
