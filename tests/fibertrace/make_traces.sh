#!/usr/bin/env bash
# make_traces.sh FIBERLOAD FIBERTRACE_TEST OUTDIR: writes the traces the oracle tests compare:
# three fiberload runs (1 and 2 Ps, and a flight recorder dump) and the traces of the gtest suite (TT_FIBERTRACE_DUMP).
set -euo pipefail
fiberload=$1 suite=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
"$fiberload" --duration=300ms --procs=1 --quiet --trace="$out/fiberload_p1.trace"
"$fiberload" --duration=300ms --procs=2 --quiet --trace="$out/fiberload_p2.trace"
"$fiberload" --duration=600ms --procs=2 --quiet --flight="$out/fiberload_flight.trace" --flight-age=200ms
TT_FIBERTRACE_DUMP=$out "$suite" --gtest_brief=1 > "$out/suite.log" 2>&1 || {
  cat "$out/suite.log"; exit 1; }
ls -l "$out"
