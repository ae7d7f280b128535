#!/bin/sh
# Oracle: capture Go 1.19's schedtrace/scheddetail output now and check our lines against it.
# usage: schedtrace_oracle.sh GO SCHEDTRACE_TEST_BINARY
set -eu
go=$1
bin=$2
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sh "$here/../go/schedtrace/capture.sh" "$go" "$out"
grep -q '^SCHED ' "$out/go119_schedtrace.txt" || { echo "Go printed no SCHED line"; exit 1; }
TRACETOOL_SCHEDTRACE_REF=$out "$bin" --gtest_filter='Schedtrace.*'
