#!/usr/bin/env bash
# compare.sh: one oracle comparison, tracetool against Go 1.19's `go tool trace`, for one
# (trace, mode). Registered once per pair by tests/oracle/oracle.cmake.
#
#   compare.sh --goroot DIR --tool TRACETOOL --canon PPROF_CANON --out DIR --name NAME
#              --trace FILE --mode d|net|sync|syscall|sched [--go-binary BIN] [--frames sym|addr]
#              [--expect-fail REGEX] [--stdin | --gzip-stdin]
#
# -d:      stdout must be byte-identical. If not, the outputs are compared again after sorting the
#          lines inside each run of equal timestamps, because Go 1.19 merges events with equal
#          ticks on different Ps in random order (spec §3.3); a match there passes and is reported
#          as a tie-reordering. Anything else fails with the first differing lines.
# -pprof:  both profiles are decoded by pprof_canon (tests/tools) and must print identically
#          (equal multisets of stack → [contentions, delay]); tracetool's output must be gzip, and
#          `go tool pprof -raw` must read it and agree on the number of samples and value totals.
# --expect-fail: Go must fail with a message matching REGEX; tracetool must exit 1 with exactly
#          one line on stderr and nothing on stdout.
# --stdin: tracetool reads the trace from stdin (`-`) instead of the file (Go reads the file).
# --gzip-stdin: the same, gzip-compressed on the way (`gzip -c FILE | tracetool -d -`).
# --go-binary: Go 1.5 traces need a binary argument (any binary; -d prints no stacks). Their
#          stacks are bare PCs that Go symbolizes with that binary ("?"), so their profiles are
#          compared by location address (--frames addr) instead of by function/file/line.
#
# The outcome is also written to OUT/results/NAME.MODE (PASS, PASS-TIE or FAIL ...) for the
# summary test (summary.sh). Exit status: 0 pass, 1 fail.
set -uo pipefail

goroot="" tool="" canon="" out="" name="" trace="" mode="" gobin="" frames=sym expect_fail=""
stdin=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --goroot) goroot=$2; shift 2 ;;
    --tool) tool=$2; shift 2 ;;
    --canon) canon=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --trace) trace=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --go-binary) gobin=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    --expect-fail) expect_fail=$2; shift 2 ;;
    --stdin) stdin=1; shift ;;
    --gzip-stdin) stdin=2; shift ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

id="$name.$mode"
[[ $stdin -eq 1 ]] && id="$id-stdin"
[[ $stdin -eq 2 ]] && id="$id-gzip-stdin"
work=$out/work/$id
result=$out/results/$id
mkdir -p "$work" "$out/results"
rm -f "$result" "$work"/*

export LC_ALL=C HOME=$work GOROOT=$goroot PATH=$goroot/bin:$PATH PPROF_TMPDIR=$work
gotrace=$goroot/pkg/tool/linux_amd64/trace
[[ -x $gotrace ]] || gotrace=$("$goroot/bin/go" env GOTOOLDIR)/trace

finish() {  # finish STATUS MESSAGE...
  local status=$1; shift
  # Traces written at test time are rewritten by the next run: keep the one that failed.
  if [[ $status == FAIL* && $trace == "$out/traces/"* && -f $trace ]]; then
    cp "$trace" "$work/" && echo "(trace kept as $work/$(basename "$trace"))"
  fi
  echo "$status $*" > "$result"
  echo "oracle $id: $status $*"
  [[ $status == FAIL* ]] && exit 1
  exit 0
}

[[ -f $trace ]] || finish FAIL "trace file $trace does not exist"
[[ -x $gotrace ]] || finish FAIL "Go 1.19 trace tool not found under $goroot"
[[ -x $tool ]] || finish FAIL "tracetool binary not found at $tool (is the 'tracetool' target built?)"
[[ -x $canon ]] || finish FAIL "pprof_canon not found at $canon"

go_args=()
tt_args=()
if [[ $mode == d ]]; then
  go_args+=(-d); tt_args+=(-d)
else
  go_args+=("-pprof=$mode"); tt_args+=("-pprof=$mode")
fi
[[ -n $gobin ]] && go_args+=("$gobin")
go_args+=("$trace")
tt_in=/dev/null
if [[ $stdin -eq 0 ]]; then tt_args+=("$trace"); else tt_args+=(-); tt_in=$trace; fi
if [[ $stdin -eq 2 ]]; then gzip -c "$trace" > "$work/trace.gz"; tt_in=$work/trace.gz; fi

"$gotrace" "${go_args[@]}" > "$work/go.out" 2> "$work/go.err" < /dev/null
go_rc=$?
"$tool" "${tt_args[@]}" > "$work/tt.out" 2> "$work/tt.err" < "$tt_in"
tt_rc=$?

show_err() {  # show_err FILE: the first lines of a stderr capture, indented
  sed -n '1,5{s/^/    | /;p}' "$1"
}

# ---- expected failure --------------------------------------------------------------------------
if [[ -n $expect_fail ]]; then
  if [[ $go_rc -eq 0 ]] || ! grep -Eq "$expect_fail" "$work/go.err"; then
    echo "Go was expected to fail with /$expect_fail/ but exited $go_rc:"; show_err "$work/go.err"
    finish FAIL "oracle broken: Go did not fail as expected"
  fi
  echo "Go (exit $go_rc): $(grep -E "$expect_fail" "$work/go.err" | head -1)"
  echo "tracetool (exit $tt_rc):"; show_err "$work/tt.err"
  problems=()
  [[ $tt_rc -eq 1 ]] || problems+=("exit code $tt_rc, want 1")
  nl=$(wc -l < "$work/tt.err")
  [[ $nl -eq 1 && -s $work/tt.err ]] || problems+=("$nl lines on stderr, want exactly one")
  [[ -s $work/tt.out ]] && problems+=("$(wc -c < "$work/tt.out") bytes on stdout, want none (Go prints nothing)")
  if [[ ${#problems[@]} -gt 0 ]]; then
    finish FAIL "bad-trace handling: $(printf '%s; ' "${problems[@]}")"
  fi
  finish PASS "both tools reject the trace"
fi

if [[ $go_rc -ne 0 ]]; then
  echo "Go 1.19 failed (exit $go_rc):"; show_err "$work/go.err"
  finish FAIL "oracle broken: go tool trace exited $go_rc"
fi
if [[ $tt_rc -ne 0 ]]; then
  echo "tracetool failed (exit $tt_rc):"; show_err "$work/tt.err"
  finish FAIL "tracetool exited $tt_rc: $(head -1 "$work/tt.err")"
fi

# ---- -d -----------------------------------------------------------------------------------------
# tie_sort: sort lines within each run of consecutive lines with the same first field (timestamp).
tie_sort() {
  awk 'BEGIN { g = 0 } $1 != prev { g++; prev = $1 } { printf "%d\t%s\n", g, $0 }' "$1" |
    sort -s -t "$(printf '\t')" -k1,1n -k2 | cut -f2-
}

if [[ $mode == d ]]; then
  go_lines=$(wc -l < "$work/go.out"); tt_lines=$(wc -l < "$work/tt.out")
  if cmp -s "$work/go.out" "$work/tt.out"; then
    finish PASS "byte-identical ($go_lines lines)"
  fi
  tie_sort "$work/go.out" > "$work/go.tie"
  tie_sort "$work/tt.out" > "$work/tt.tie"
  if cmp -s "$work/go.tie" "$work/tt.tie"; then
    moved=$(diff "$work/go.out" "$work/tt.out" | grep -c '^<')
    echo "Not byte-identical, but equal after sorting within equal timestamps:"
    diff "$work/go.out" "$work/tt.out" | head -8 | sed 's/^/    /'
    # Evidence for the report: does Go itself ever produce tracetool's order? (Go's order is
    # random only when the tied events enter its merge frontier in the same step, so on some
    # traces it is stable in practice.) Informational: the tie rule above decides the outcome.
    same=1 tt_seen=0
    for i in 1 2 3; do
      "$gotrace" "${go_args[@]}" > "$work/go.rerun" 2> /dev/null < /dev/null
      cmp -s "$work/go.rerun" "$work/go.out" && same=$((same + 1))
      cmp -s "$work/go.rerun" "$work/tt.out" && tt_seen=$((tt_seen + 1))
    done
    echo "Go reruns: its first order in $same of 4 runs, tracetool's order in $tt_seen of 3 reruns"
    finish PASS-TIE "tie-reordering only: $moved of $go_lines lines at equal timestamps in another order (Go's order for equal ticks is random, spec §3.3; Go repeated its own order in $same/4 runs, tracetool's in $tt_seen/3)"
  fi
  echo "Go: $go_lines lines, tracetool: $tt_lines lines"
  echo "First differences (diff go tracetool; '<' = Go, '>' = tracetool):"
  diff "$work/go.out" "$work/tt.out" | head -20 | sed 's/^/    /'
  line=$(cmp "$work/go.out" "$work/tt.out" 2>/dev/null | sed -n 's/.* line \([0-9]*\).*/\1/p')
  if [[ -n $line ]]; then
    echo "Go        line $line: $(sed -n "${line}p" "$work/go.out")"
    echo "tracetool line $line: $(sed -n "${line}p" "$work/tt.out")"
    first="first difference at line $line"
  else
    first="one output is a prefix of the other"
  fi
  echo "Outputs kept in $work/{go,tt}.out"
  finish FAIL "-d differs ($first; Go $go_lines lines, tracetool $tt_lines lines)"
fi

# ---- -pprof ---------------------------------------------------------------------------------------
if [[ $(head -c 2 "$work/tt.out" | od -An -tx1 | tr -d ' \n') != 1f8b ]]; then
  finish FAIL "tracetool -pprof=$mode output is not gzip data ($(wc -c < "$work/tt.out") bytes)"
fi
if ! "$canon" "--frames=$frames" "$work/go.out" > "$work/go.canon" 2> "$work/go.canon.err"; then
  show_err "$work/go.canon.err"
  finish FAIL "oracle broken: cannot decode Go's profile"
fi
if ! "$canon" "--frames=$frames" "$work/tt.out" > "$work/tt.canon" 2> "$work/tt.canon.err"; then
  show_err "$work/tt.canon.err"
  finish FAIL "cannot decode tracetool's profile: $(head -1 "$work/tt.canon.err")"
fi
go_total=$(tail -1 "$work/go.canon"); tt_total=$(tail -1 "$work/tt.canon")
if ! cmp -s "$work/go.canon" "$work/tt.canon"; then
  echo "Go:        $go_total"
  echo "tracetool: $tt_total"
  echo "Differences of the canonical profiles ('<' only in Go, '>' only in tracetool; lines are"
  echo "'frames leaf-first | contentions delay'):"
  diff "$work/go.canon" "$work/tt.canon" | grep '^[<>]' | head -30 | sed 's/^/    /'
  echo "Canonical texts kept in $work/{go,tt}.canon"
  ndiff=$(diff "$work/go.canon" "$work/tt.canon" | grep -c '^[<>]')
  finish FAIL "profiles differ in $ndiff lines (Go: $go_total; tracetool: $tt_total)"
fi

# go tool pprof must read our profile, and its view of it must match the canonical decoding.
# (The pprof tool binary directly: the same program `go tool pprof` runs, without the go wrapper.)
gopprof=$goroot/pkg/tool/linux_amd64/pprof
[[ -x $gopprof ]] || gopprof=$("$goroot/bin/go" env GOTOOLDIR)/pprof
if ! "$gopprof" -raw "$work/tt.out" > "$work/tt.raw" 2> "$work/tt.raw.err"; then
  show_err "$work/tt.raw.err"
  finish FAIL "go tool pprof -raw cannot read tracetool's profile"
fi
raw_total=$(awk '
  /^Samples:/ { s = 1; next }
  /^Locations/ { s = 0 }
  s && /^ *-?[0-9]+ +-?[0-9]+:/ { n++; c += $1; sub(":", "", $2); d += $2 }
  END { printf "total samples=%d values=%.0f,%.0f\n", n, c, d }' "$work/tt.raw")
if [[ $raw_total != "$tt_total" ]]; then
  finish FAIL "go tool pprof -raw reads tracetool's profile differently: pprof says '$raw_total', decoder says '$tt_total'"
fi
finish PASS "profiles equal (${tt_total#total }); go tool pprof reads it"
