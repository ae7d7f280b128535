#!/usr/bin/env bash
# make-fiber-demo.sh: regenerates testdata/fiber/demo.trace, a small Go 1.19-format trace written
# by lib/fiber's tracer while examples/fiberload runs on 2 Ps (about 15 ms of steady state plus
# shutdown: channels, select with timers, tasks/regions/logs, mutexes, a condition variable, TCP,
# preemption, GOMAXPROCS changes and GC cycles; the syscall load is left out because its 50 ms
# calls would triple the file). It then checks that tracetool and Go 1.19's `go tool trace`
# (-d and the four -pprof modes) accept it.
#
#   bash scripts/make-fiber-demo.sh [BUILD_DIR]     # default build/
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake -S . -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target fiberload tracetool -j2
out=testdata/fiber/demo.trace
"$build/bin/fiberload" --duration=50ms --trace-after=35ms --procs=2 --quiet --trace="$out" \
  --loads=pipeline,select,sync,net,stw,gc
"$build/bin/tracetool" -d "$out" > /dev/null
gotrace=/usr/lib/go-1.19/pkg/tool/linux_amd64/trace
if [[ -x $gotrace ]]; then
  HOME=${TMPDIR:-/tmp} "$gotrace" -d "$out" > /dev/null
  for m in net sync syscall sched; do HOME=${TMPDIR:-/tmp} "$gotrace" -pprof=$m "$out" > /dev/null; done
fi
echo "wrote $out ($(wc -c < "$out") bytes, $("$build/bin/tracetool" -d "$out" | wc -l) events)"
