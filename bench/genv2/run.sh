#!/usr/bin/env bash
# bench/genv2/run.sh [MB]: builds a ~MB-megabyte (default 400) Go 1.22+ trace from the real
# go125_encoding_json trace (../shared/testdata/go1.22plus) with genv2, checks that tracetool
# reads it, and measures the reader's throughput on one core next to a v1 trace of similar size
# (bench/out/mixed-120mb.trace, written by bench/compare.sh, if present).
# Builds into build-bench/ (Release). Outputs go to bench/out/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
mb=${1:-400}
shared=${TRACETOOL_SHARED_DIR:-../shared}
src=$shared/testdata/go1.22plus/go125_encoding_json.trace
[[ -f $src ]] || { echo "run.sh: $src is missing (TRACETOOL_SHARED_DIR)" >&2; exit 1; }
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRACETOOL_BUILD_BENCH=OFF \
  -DTRACETOOL_BUILD_TESTS=OFF > /dev/null
cmake --build build-bench -j2 --target tracetool_parser > /dev/null
mkdir -p bench/out
c++ -std=c++20 -O2 -DNDEBUG -I. bench/genv2/genv2.cc -o bench/out/genv2
c++ -std=c++20 -O2 -DNDEBUG -I. bench/genv2/throughput.cc build-bench/lib/parser/libtracetool_parser.a \
  -lzstd -lz -o bench/out/v2_throughput
big=bench/out/v2-${mb}mb.trace
[[ -f $big ]] || bench/out/genv2 "$src" "$big" "$mb"
traces=("$big")
[[ -f bench/out/mixed-120mb.trace ]] && traces+=(bench/out/mixed-120mb.trace)
echo "one core (taskset -c 0), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c 0 bench/out/v2_throughput "${traces[@]}"
