#!/usr/bin/env bash
# README's first command: installs the dependencies, builds tracetool (Release, into build/), and
# runs it on the bundled demo traces:
#   - testdata/go1.19/demo.trace (written by Go 1.19): the scheduler-latency profile, shown with
#     Go's own `go tool pprof -top`, and the first lines of the event dump (-d), as
#     `go tool trace -d` prints it;
#   - testdata/fiber/demo.trace (written by lib/fiber's fiberload): its synchronization-blocking
#     profile, the same way.
#
#   bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

GO=/usr/lib/go-1.19/bin/go
TRACE=testdata/go1.19/demo.trace
JOBS=${JOBS:-$(nproc)}

bash scripts/install-deps.sh

echo "== configure + build (Release, build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target tracetool -j "$JOBS"

echo
echo "== build/bin/tracetool -pprof=sched $TRACE > build/demo-sched.prof"
build/bin/tracetool -pprof=sched "$TRACE" > build/demo-sched.prof
echo
echo "== go tool pprof -top build/demo-sched.prof"
"$GO" tool pprof -top build/demo-sched.prof 2>&1 | head -n 25

echo
echo "== build/bin/tracetool -d $TRACE | head -n 20"
# head closes the pipe early; tracetool exits quietly then (and pipefail must not trip on it).
set +o pipefail
build/bin/tracetool -d "$TRACE" | head -n 20
set -o pipefail

FIBER_TRACE=testdata/fiber/demo.trace
echo
echo "== a trace written by lib/fiber (examples/fiberload --trace): tracetool -pprof=sync $FIBER_TRACE"
build/bin/tracetool -pprof=sync "$FIBER_TRACE" > build/demo-fiber-sync.prof
"$GO" tool pprof -top build/demo-fiber-sync.prof 2>&1 | head -n 15

echo
echo "More: build/bin/tracetool -help; profiles: -pprof=net|sync|syscall|sched; the web UI:"
echo "      build/bin/tracetool -http=:8080 $TRACE"
