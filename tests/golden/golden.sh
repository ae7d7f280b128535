#!/usr/bin/env bash
# golden.sh: one golden comparison: tracetool's output for (trace, mode) against a reviewed file.
#
#   golden.sh --tool TRACETOOL --canon PPROF_CANON --trace FILE --mode d|net|sync|syscall|sched
#             --golden FILE [--results DIR --case NAME]
#
# -d output is compared byte for byte; profiles are compared as pprof_canon text (tests/tools).
# With TRACETOOL_UPDATE_GOLDEN=1 in the environment the golden file is (re)written instead and the
# test passes; review the diff like code (`git diff tests/golden`). A missing trace is a failure
# (the traces live in ../shared/testdata, outside the repository), never a skip.
set -uo pipefail

tool="" canon="" trace="" mode="" golden="" results="" case=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --tool) tool=$2; shift 2 ;;
    --canon) canon=$2; shift 2 ;;
    --trace) trace=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --golden) golden=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --case) case=$2; shift 2 ;;
    *) echo "golden.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
export LC_ALL=C
: "${case:=$(basename "$golden" .txt)}"

finish() {  # finish STATUS MESSAGE...
  local status=$1; shift
  [[ -n $results ]] && { mkdir -p "$results"; echo "$status $*" > "$results/$case"; }
  echo "golden $case: $status $*"
  [[ $status == FAIL* ]] && exit 1
  exit 0
}

if [[ ! -f $trace ]]; then
  finish FAIL "trace $trace is missing: the shared reference folder (TRACETOOL_SHARED_DIR, normally ../shared beside the clone) is absent or incomplete; these golden tests cannot run without it"
fi
[[ -x $tool ]] || finish FAIL "tracetool binary not found at $tool (is the 'tracetool' target built?)"
[[ -x $canon ]] || finish FAIL "pprof_canon not found at $canon"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ $mode == d ]]; then
  "$tool" -d "$trace" > "$tmp/out" 2> "$tmp/err"
else
  "$tool" "-pprof=$mode" "$trace" > "$tmp/prof" 2> "$tmp/err"
fi
rc=$?
if [[ $rc -ne 0 ]]; then
  sed -n '1,5s/^/    | /p' "$tmp/err"
  finish FAIL "tracetool exited $rc: $(head -1 "$tmp/err")"
fi
if [[ $mode != d ]]; then
  if ! "$canon" "$tmp/prof" > "$tmp/out" 2> "$tmp/canon.err"; then
    finish FAIL "cannot decode tracetool's profile: $(head -1 "$tmp/canon.err")"
  fi
fi

if [[ ${TRACETOOL_UPDATE_GOLDEN:-0} == 1 ]]; then
  mkdir -p "$(dirname "$golden")"
  if [[ -f $golden ]] && cmp -s "$tmp/out" "$golden"; then
    finish PASS "unchanged ($(wc -l < "$golden") lines)"
  fi
  cp "$tmp/out" "$golden.tmp.$$" && mv -f "$golden.tmp.$$" "$golden"  # atomic for parallel readers
  finish PASS "UPDATED $golden ($(wc -l < "$golden") lines): review with git diff"
fi
if [[ ! -f $golden ]]; then
  finish FAIL "golden file $golden does not exist (generate with tests/golden/regen.sh, then review it)"
fi
if cmp -s "$tmp/out" "$golden"; then
  finish PASS "matches ($(wc -l < "$golden") lines)"
fi
echo "tracetool's output differs from $golden ('<' golden, '>' tracetool):"
diff "$golden" "$tmp/out" | head -30 | sed 's/^/    /'
finish FAIL "differs from the golden file in $(diff "$golden" "$tmp/out" | grep -c '^[<>]') lines; if the change is intended, regenerate (tests/golden/regen.sh) and review"
