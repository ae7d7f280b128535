#!/usr/bin/env bash
# crosscheck.sh: checks a go1.21 golden file against Go 1.19 itself, independently of tracetool.
#
#   crosscheck.sh --goroot DIR --canon PPROF_CANON --trace FILE --mode d|net|sync|syscall|sched
#                 --golden FILE --out DIR
#
# Go 1.19 cannot read "go 1.21 trace" files, but the v1 format only changed in the header and in
# the STW kind numbering (spec §1.10). to119/main.go rewrites both in place (offsets unchanged);
# Go 1.19's `go tool trace` then reads the result. The golden -d file must equal Go's output after
# mapping its two STW lines back to 1.19 numbering ("kindid=2 kind=GC sweep termination" →
# "kindid=1 kind=sweep termination", "kindid=1 kind=GC mark termination" → "kindid=0 kind=mark
# termination"); golden profiles must equal pprof_canon of Go's profiles exactly.
# Equal timestamps on different Ps would make Go's -d order random; the tie rule of
# tests/oracle/compare.sh applies (sorted within equal timestamps).
set -uo pipefail
goroot="" canon="" trace="" mode="" golden="" out=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --goroot) goroot=$2; shift 2 ;;
    --canon) canon=$2; shift 2 ;;
    --trace) trace=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --golden) golden=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "crosscheck.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
export LC_ALL=C
name=$(basename "$trace" .trace)
fail() { echo "golden crosscheck $name.$mode: FAIL $*"; exit 1; }

[[ -f $trace ]] || fail "trace $trace is missing: the shared reference folder (TRACETOOL_SHARED_DIR, normally ../shared beside the clone) is absent or incomplete"
[[ -f $golden ]] || fail "golden file $golden does not exist"
[[ -x $goroot/bin/go ]] || fail "Go 1.19 not found at $goroot"

work=$out/crosscheck/$name.$mode
mkdir -p "$work" "$out/gocache" "$out/tmp"
export GOROOT=$goroot GOCACHE=$out/gocache GOPATH=$out/gopath GO111MODULE=off GOFLAGS= GOPROXY=off
export HOME=$out/tmp TMPDIR=$out/tmp CGO_ENABLED=0 PATH=$goroot/bin:$PATH
# Each test builds its own copy (tests may run in parallel); the Go build cache makes it cheap.
"$goroot/bin/go" build -o "$work/to119" "$here/to119/main.go" || fail "cannot build to119"
"$work/to119" "$trace" "$work/trace.119" || fail "to119 could not convert $trace"

gotrace=$goroot/pkg/tool/linux_amd64/trace
if [[ $mode == d ]]; then
  "$gotrace" -d "$work/trace.119" > "$work/go.out" 2> "$work/go.err" || fail "Go 1.19 rejects the converted trace: $(tail -1 "$work/go.err")"
  sed -e 's/ kindid=2 kind=GC sweep termination$/ kindid=1 kind=sweep termination/' \
      -e 's/ kindid=1 kind=GC mark termination$/ kindid=0 kind=mark termination/' "$golden" > "$work/golden.mapped"
  if cmp -s "$work/go.out" "$work/golden.mapped"; then
    echo "golden crosscheck $name.$mode: PASS golden equals Go 1.19 on the converted trace ($(wc -l < "$golden") lines)"
    exit 0
  fi
  tie_sort() {
    awk 'BEGIN { g = 0 } $1 != prev { g++; prev = $1 } { printf "%d\t%s\n", g, $0 }' "$1" |
      sort -s -t "$(printf '\t')" -k1,1n -k2 | cut -f2-
  }
  if cmp -s <(tie_sort "$work/go.out") <(tie_sort "$work/golden.mapped"); then
    echo "golden crosscheck $name.$mode: PASS up to the order of equal timestamps (Go's order is random, spec §3.3)"
    exit 0
  fi
  diff "$work/golden.mapped" "$work/go.out" | head -20 | sed 's/^/    /'
  fail "golden -d differs from Go 1.19 on the converted trace ('<' golden, '>' Go)"
fi
"$gotrace" "-pprof=$mode" "$work/trace.119" > "$work/go.prof" 2> "$work/go.err" || fail "Go 1.19 -pprof=$mode fails on the converted trace: $(tail -1 "$work/go.err")"
"$canon" "$work/go.prof" > "$work/go.canon" || fail "cannot decode Go's profile"
if cmp -s "$work/go.canon" "$golden"; then
  echo "golden crosscheck $name.$mode: PASS golden equals Go 1.19 on the converted trace ($(tail -1 "$golden"))"
  exit 0
fi
diff "$golden" "$work/go.canon" | head -20 | sed 's/^/    /'
fail "golden profile differs from Go 1.19's on the converted trace ('<' golden, '>' Go)"
