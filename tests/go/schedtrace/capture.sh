#!/bin/sh
# Regenerates the Go 1.19 reference output for the schedtrace format tests.
# usage: tests/go/schedtrace/capture.sh [path/to/go]   (default /usr/lib/go-1.19/bin/go)
set -eu
GO=${1:-/usr/lib/go-1.19/bin/go}
dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOCACHE="$tmp/cache" GOFLAGS=-mod=mod GO111MODULE=off "$GO" build -o "$tmp/schedtrace" "$dir/main.go"
GODEBUG=schedtrace=100 "$tmp/schedtrace" 2> "$dir/go119_schedtrace.txt"
GODEBUG=schedtrace=100,scheddetail=1 "$tmp/schedtrace" 2> "$dir/go119_scheddetail.txt"
"$GO" version > "$dir/go119_version.txt"
