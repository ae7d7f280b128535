#!/usr/bin/env bash
# README's first command: installs the dependencies, builds tracetool (Release, into build/), and
# runs it on the bundled demo trace (testdata/go1.19/demo.trace):
#   - the scheduler-latency profile, shown with Go's own `go tool pprof -top`;
#   - the first lines of the event dump (-d), as `go tool trace -d` prints it.
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

echo
echo "More: build/bin/tracetool -help; profiles: -pprof=net|sync|syscall|sched"
