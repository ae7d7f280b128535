#!/usr/bin/env bash
# run.sh [BUILD_DIR] [JOBS]: runs the oracle and golden suites (ctest -L 'oracle|golden') and
# prints their summary lines at the end (CTest shows a passing test's output only with -V).
#
#   cmake -S . -B build-oracle -G Ninja -DTRACETOOL_BUILD_BENCH=OFF && cmake --build build-oracle -j2
#   tests/oracle/run.sh build-oracle
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
jobs=${2:-2}
start=$(date +%s)
ctest --test-dir "$build" -L 'oracle|golden' -j "$jobs" --output-on-failure
rc=$?
for suite in oracle golden; do
  bash "$here/summary.sh" "$build/$suite/results" "$build/tests/${suite}_cases.txt" "$suite" 2>&1 |
    grep -E 'summary|FAIL|tie-reordered'
done
echo "oracle+golden wall time: $(( $(date +%s) - start )) s"
exit $rc
