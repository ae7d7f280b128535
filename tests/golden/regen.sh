#!/usr/bin/env bash
# regen.sh [BUILD_DIR]: rewrites the golden files under tests/golden/ from the current tracetool
# (default build dir: build). Equivalent to
#   TRACETOOL_UPDATE_GOLDEN=1 ctest --test-dir BUILD_DIR -L golden
# Afterwards review every change with `git diff tests/golden` against the spec before committing
# (see tests/golden/README.md for what to check).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
cmake --build "$build" --target tracetool pprof_canon
TRACETOOL_UPDATE_GOLDEN=1 ctest --test-dir "$build" -L golden --output-on-failure
git -C "$here" status --short -- .
