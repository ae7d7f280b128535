#!/usr/bin/env bash
# README's second command, and exactly what CI runs (.ci/run): installs the dependencies, then
# builds and runs every test of tracetool in stages:
#
#   deps      scripts/install-deps.sh
#   main      RelWithDebInfo, -Werror, into build/: ctest (all labels: unit, oracle, golden, fiber…)
#   asan      ASan+UBSan (gcc) into build-asan/: ctest -L 'unit|fiber'
#   tsan      TSan into build-tsan/: ctest -L 'fiber|threads' (only when lib/fiber exists)
#   arm64     lib/fiber and tests/fiber cross-compiled for aarch64 into build-aarch64/ (the
#             tests/aarch64 project), run under qemu-user: the aarch64 context switch for real
#   fuzz      libFuzzer (clang) into build-fuzz/: parse_fuzzer for $FUZZ_SECONDS s on a copy of
#             the seed corpus, then every file of testdata/corrupt/ replayed (must not crash)
#   bench     bench/compare.sh --smoke: both tools on a tiny generated trace, and parse_bench
#
# Every stage runs even when an earlier one failed; each prints a banner and its time. The last
# line counts checks: every CTest test of every stage, plus one per non-CTest stage.
#
#   bash scripts/test.sh                     # everything
#   STAGES="main fuzz" bash scripts/test.sh  # a subset
#   FUZZ_SECONDS=600 bash scripts/test.sh    # fuzz longer
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
STAGES=${STAGES:-"deps main asan tsan arm64 fuzz bench"}
GO=/usr/lib/go-1.19/bin/go
export CTEST_OUTPUT_ON_FAILURE=1
# Go needs a build cache; CI's environment may lack HOME. Go programs here use the standard
# library only: never reach for the module proxy.
if [[ -z "${HOME:-}" && -z "${GOCACHE:-}" ]]; then export GOCACHE=/tmp/tracetool-gocache; fi
export GOPROXY=${GOPROXY:-off} GOFLAGS=${GOFLAGS:-} GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/tsan.supp}

LOGDIR=$ROOT/build-logs
mkdir -p "$LOGDIR"

T0=$SECONDS
PASSED=0
FAILED=0
declare -a REPORT=()

banner() {
  echo
  echo "=================================================================================="
  echo "== stage $1: $2"
  echo "=================================================================================="
}

want() { [[ " $STAGES " == *" $1 "* ]]; }

# record STAGE RC START [NPASS NFAIL]: one line for the summary, and the counts. $NOTE, if set,
# is appended to the summary line (and cleared).
NOTE=""
record() {
  local stage=$1 rc=$2 start=$3 np=${4:-} nf=${5:-}
  local dt=$((SECONDS - start))
  if [[ -z "$np" ]]; then
    if [[ $rc -eq 0 ]]; then np=1 nf=0; else np=0 nf=1; fi
  fi
  PASSED=$((PASSED + np))
  FAILED=$((FAILED + nf))
  local verdict=ok
  [[ $rc -ne 0 ]] && verdict="FAILED (exit $rc)"
  REPORT+=("$(printf '%-6s %-18s %5ds   %s passed, %s failed%s' "$stage" "$verdict" "$dt" "$np" "$nf" \
    "${NOTE:+   ($NOTE)}")")
  NOTE=
  echo "-- stage $stage: $verdict in ${dt}s"
}

# configure DIR ARGS...: (re)configure a build directory with Ninja.
configure() {
  local dir=$1; shift
  cmake -S "$ROOT" -B "$dir" -G Ninja -DTRACETOOL_SHARED_DIR="$ROOT/../shared" "$@"
}

# run_ctest STAGE START DIR ARGS...: runs ctest, parses its summary into counts, records.
# A stage with a few failures (at most 5) reruns just those once: a test that fails and then
# passes counts as passed but is reported loudly as FLAKY in the summary, with the output of its
# failing run, so that it gets fixed (every flake so far was a real race or a test bug). Either
# way the tail of each failing test's output is kept for the end of the log.
FLAKY=()
EXCERPTS=$LOGDIR/failure-excerpts.txt
: > "$EXCERPTS"
run_ctest() {
  local stage=$1 start=$2 dir=$3; shift 3
  local log=$LOGDIR/ctest-$stage.log
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" --timeout 900 "$@") 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line total failed
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [[ -z "$line" ]]; then
    record "$stage" "$rc" "$start"
    return
  fi
  failed=$(sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  if [[ $failed -gt 0 ]]; then
    # Each failing test's own output follows its "Test #N: name ...***Failed" line.
    awk -v stage="$stage" '
      /^ *[0-9]+\/[0-9]+ Test +#[0-9]+: / { cur = ""; if ($0 ~ /\*\*\*/) { cur = $0; n = 0 } ; if (cur != "") print "[" stage "] " $0; next }
      /^[0-9]+% tests passed/ { cur = "" }
      cur != "" { if (++n <= 40) print "[" stage "]     " $0 }
    ' "$log" >> "$EXCERPTS"
  fi
  if [[ $failed -gt 0 && $failed -le 5 ]]; then
    echo "-- stage $stage: rerunning the $failed failed test(s) once"
    local rlog=$LOGDIR/ctest-$stage-rerun.log
    (cd "$dir" && ctest --rerun-failed --output-on-failure --timeout 900) 2>&1 | tee "$rlog"
    local rrc=${PIPESTATUS[0]}
    local names
    names=$(grep -E '^\s+[0-9]+ - ' "$log" | sed -E 's/^\s+[0-9]+ - ([^ ]+).*/\1/' | tr '\n' ' ')
    if [[ $rrc -eq 0 ]]; then
      FLAKY+=("$stage: ${names% } (failed, then passed on rerun)")
      NOTE="FLAKY: ${names% }"
      rc=0 failed=0
    else
      line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$rlog" | tail -n 1)
      [[ -n "$line" ]] && failed=$(sed -E 's/.*passed, ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
    fi
  fi
  record "$stage" "$rc" "$start" $((total - failed)) "$failed"
}

# build_failed STAGE START RC: a stage whose build failed counts as one failure.
build_failed() {
  echo "!! stage $1: configure/build failed"
  record "$1" "$3" "$2" 0 1
}

# ---------------------------------------------------------------------------------------------
if want deps; then
  banner deps "scripts/install-deps.sh"
  t=$SECONDS
  bash scripts/install-deps.sh
  rc=$?
  [[ $rc -ne 0 ]] && record deps $rc $t
  # Success is not a check of its own: it counts nothing in the summary.
  [[ $rc -eq 0 ]] && REPORT+=("$(printf '%-6s %-18s %5ds' deps ok $((SECONDS - t)))")
fi

# ---------------------------------------------------------------------------------------------
if want main; then
  banner main "RelWithDebInfo, -Werror, build/: ctest (all labels)"
  t=$SECONDS
  if configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRACETOOL_WERROR=ON \
       -DTRACETOOL_SANITIZE= -DTRACETOOL_FUZZ=OFF -DTRACETOOL_BUILD_TESTS=ON \
       -DTRACETOOL_BUILD_BENCH=ON &&
     cmake --build build -j "$JOBS"; then
    run_ctest main $t build --no-tests=error
  else
    build_failed main $t $?
  fi
fi

# ---------------------------------------------------------------------------------------------
if want asan; then
  banner asan "ASan+UBSan, build-asan/: ctest -L 'unit|fiber'"
  t=$SECONDS
  if configure build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 \
       -DTRACETOOL_SANITIZE="address;undefined" -DTRACETOOL_WERROR=OFF \
       -DTRACETOOL_BUILD_TESTS=ON -DTRACETOOL_BUILD_BENCH=OFF -DTRACETOOL_FUZZ=OFF &&
     cmake --build build-asan -j "$JOBS"; then
    run_ctest asan $t build-asan -L 'unit|fiber' --no-tests=error
  else
    build_failed asan $t $?
  fi
fi

# ---------------------------------------------------------------------------------------------
if want tsan; then
  if [[ -f lib/fiber/CMakeLists.txt ]]; then
    banner tsan "TSan, build-tsan/: ctest -L 'fiber|threads'"
    t=$SECONDS
    if configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
         -DTRACETOOL_SANITIZE=thread -DTRACETOOL_WERROR=OFF \
         -DTRACETOOL_BUILD_TESTS=ON -DTRACETOOL_BUILD_BENCH=OFF -DTRACETOOL_FUZZ=OFF &&
       cmake --build build-tsan -j "$JOBS"; then
      run_ctest tsan $t build-tsan -L 'fiber|threads' --no-tests=error
    else
      build_failed tsan $t $?
    fi
  else
    banner tsan "skipped: no lib/fiber/CMakeLists.txt"
  fi
fi

# ---------------------------------------------------------------------------------------------
if want arm64; then
  banner arm64 "lib/fiber for aarch64 (cross g++, static), build-aarch64/: ctest under qemu-aarch64"
  t=$SECONDS
  if cmake -S tests/aarch64 -B build-aarch64 -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/aarch64-linux-gnu.cmake" &&
     cmake --build build-aarch64 -j "$JOBS"; then
    run_ctest arm64 $t build-aarch64 --no-tests=error
  else
    build_failed arm64 $t $?
  fi
fi

# ---------------------------------------------------------------------------------------------
if want fuzz; then
  banner fuzz "libFuzzer (clang), build-fuzz/: parse_fuzzer ${FUZZ_SECONDS}s, then testdata/corrupt replay"
  t=$SECONDS
  if configure build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
       -DTRACETOOL_FUZZ=ON -DTRACETOOL_SANITIZE= -DTRACETOOL_WERROR=OFF \
       -DTRACETOOL_BUILD_TESTS=ON -DTRACETOOL_BUILD_BENCH=OFF &&
     cmake --build build-fuzz -j "$JOBS" --target parse_fuzzer v2asm; then
    # A fresh copy of the seeds, inside the build directory: the fuzzer writes new inputs into
    # its corpus directory, and CI must never write into the repository.
    corpus=build-fuzz/corpus
    artifacts=build-fuzz/artifacts
    rm -rf "$corpus" && mkdir -p "$corpus" "$artifacts"
    cp /usr/lib/go-1.19/src/internal/trace/testdata/* "$corpus"/ 2>/dev/null || true
    cp ../shared/testdata/go1.21/* "$corpus"/ 2>/dev/null || true
    cp testdata/go1.19/*.trace "$corpus"/
    cp testdata/corrupt/* "$corpus"/
    # Go 1.22+ (v2): the upstream fuzz seeds and text tests in binary form (the real v2 traces,
    # megabytes each, would only slow every execution down).
    if bash tests/fuzz/v2_seeds.sh build-fuzz/bin/v2asm ../shared build-fuzz/v2seeds >/dev/null; then
      cp build-fuzz/v2seeds/fuzz-* build-fuzz/v2seeds/text-* "$corpus"/
    else
      echo "!! no Go 1.22+ seeds for the fuzzer (../shared/testdata missing?)"
    fi
    echo "seed corpus: $(ls "$corpus" | wc -l) files, $(du -sh "$corpus" | cut -f1)"
    build-fuzz/bin/parse_fuzzer "$corpus" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
      -timeout=30 -print_final_stats=1 -artifact_prefix="$artifacts/" 2>&1 |
      tee "$LOGDIR/fuzz.log" | grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)' 
    rc=${PIPESTATUS[0]}
    if [[ $rc -ne 0 ]]; then
      echo "!! the fuzzer found a crash: inputs in $artifacts/ (add each to testdata/corrupt/):"
      ls -l "$artifacts"
    fi
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$LOGDIR/fuzz.log" | tail -n 1)
    NOTE="${execs:-?} executions, $(ls "$artifacts" | wc -l) crash inputs"
    record fuzz $rc $t
    t2=$SECONDS
    echo "-- replaying testdata/corrupt/ ($(ls testdata/corrupt | wc -l) files) under ASan+UBSan+libFuzzer"
    build-fuzz/bin/parse_fuzzer -rss_limit_mb=2048 -timeout=60 testdata/corrupt/* \
      > "$LOGDIR/fuzz-replay.log" 2>&1
    rc=$?
    [[ $rc -ne 0 ]] && tail -n 60 "$LOGDIR/fuzz-replay.log"
    replayed=$(grep -c '^Running: ' "$LOGDIR/fuzz-replay.log")
    echo "$replayed inputs replayed, exit $rc"
    NOTE="$replayed inputs of testdata/corrupt"
    record replay $rc $t2
  else
    build_failed fuzz $t $?
  fi
fi

# ---------------------------------------------------------------------------------------------
if want bench; then
  banner bench "bench/compare.sh --smoke (tiny trace; proves the benchmarks run)"
  t=$SECONDS
  TRACETOOL_BENCH_SMOKE=1 TRACETOOL_BUILD_DIR=build bash bench/compare.sh --smoke
  record bench $? $t
fi

# ---------------------------------------------------------------------------------------------
if [[ -s $EXCERPTS ]]; then
  echo
  echo "=================================================================================="
  echo "== output of the failing tests (first 40 lines each; full logs in build-logs/)"
  head -n 240 "$EXCERPTS"
fi
echo
echo "=================================================================================="
echo "== summary (total $((SECONDS - T0))s)"
for line in "${REPORT[@]}"; do echo "   $line"; done
echo "=================================================================================="
for f in "${FLAKY[@]}"; do echo "FLAKY $f"; done
echo "tests: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
