#!/usr/bin/env bash
# make-fiber-demo.sh: regenerates testdata/fiber/demo.trace, a small Go 1.19-format trace written
# by lib/fiber's tracer while examples/fiberload runs every load on 2 Ps (about 40 ms traced:
# channels, select with timers, tasks/regions/logs, mutexes, a condition variable, TCP, blocking
# system calls, sleeps, preemption, GOMAXPROCS changes and GC cycles). It then checks that both
# tracetool and Go 1.19's `go tool trace` accept it.
#
#   bash scripts/make-fiber-demo.sh [BUILD_DIR]     # default build/
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake -S . -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target fiberload tracetool -j2
out=testdata/fiber/demo.trace
"$build/bin/fiberload" --duration=90ms --trace-after=45ms --procs=2 --quiet --trace="$out"
"$build/bin/tracetool" -d "$out" > /dev/null
gotrace=/usr/lib/go-1.19/pkg/tool/linux_amd64/trace
if [[ -x $gotrace ]]; then
  HOME=${TMPDIR:-/tmp} "$gotrace" -d "$out" > /dev/null
  for m in net sync syscall sched; do HOME=${TMPDIR:-/tmp} "$gotrace" -pprof=$m "$out" > /dev/null; done
fi
echo "wrote $out ($(wc -c < "$out") bytes, $("$build/bin/tracetool" -d "$out" | wc -l) events)"
