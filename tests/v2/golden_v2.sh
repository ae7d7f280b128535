#!/usr/bin/env bash
# golden_v2.sh: one golden comparison of tracetool on a real Go 1.22+ trace (no oracle exists:
# Go 1.19's tools cannot read these traces; the goldens were reviewed by hand).
#
#   golden_v2.sh --tool TRACETOOL --canon PPROF_CANON --trace FILE
#                --mode d|net|sync|syscall|sched|goroutines --golden FILE
#
# d: the first 200 lines of -d; net|sync|syscall|sched: the -pprof profile as pprof_canon text;
# goroutines: -goroutines. With TRACETOOL_UPDATE_GOLDEN=1 the golden file is (re)written and the
# test passes; review the diff like code. A missing trace (TRACETOOL_SHARED_DIR) is a failure.
set -uo pipefail
tool="" canon="" trace="" mode="" golden=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --tool) tool=$2; shift 2 ;;
    --canon) canon=$2; shift 2 ;;
    --trace) trace=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --golden) golden=$2; shift 2 ;;
    *) echo "golden_v2.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
export LC_ALL=C
fail() { echo "golden_v2 $(basename "$golden"): FAIL $*"; exit 1; }
[[ -f $trace ]] || fail "trace $trace is missing: the shared reference folder (TRACETOOL_SHARED_DIR, normally ../shared beside the clone) is absent or incomplete"
[[ -x $tool ]] || fail "tracetool binary not found at $tool"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case $mode in
  d)
    "$tool" -d "$trace" > "$tmp/full" 2> "$tmp/err"; rc=$?
    head -n 200 "$tmp/full" > "$tmp/out" ;;
  goroutines)
    "$tool" -goroutines "$trace" > "$tmp/out" 2> "$tmp/err"; rc=$? ;;
  net|sync|syscall|sched)
    "$tool" "-pprof=$mode" "$trace" > "$tmp/prof" 2> "$tmp/err"; rc=$?
    if [[ $rc -eq 0 ]]; then
      "$canon" "$tmp/prof" > "$tmp/out" 2> "$tmp/canon.err" || fail "cannot decode the profile: $(head -1 "$tmp/canon.err")"
    fi ;;
  *) fail "unknown mode $mode" ;;
esac
[[ $rc -eq 0 ]] || fail "tracetool exited $rc: $(head -1 "$tmp/err")"
if [[ ${TRACETOOL_UPDATE_GOLDEN:-0} == 1 ]]; then
  mkdir -p "$(dirname "$golden")"
  cp "$tmp/out" "$golden"
  echo "golden_v2 $(basename "$golden"): UPDATED ($(wc -l < "$golden") lines): review with git diff"
  exit 0
fi
[[ -f $golden ]] || fail "golden file $golden does not exist (regenerate with TRACETOOL_UPDATE_GOLDEN=1, then review)"
if cmp -s "$tmp/out" "$golden"; then
  echo "golden_v2 $(basename "$golden"): PASS ($(wc -l < "$golden") lines)"
  exit 0
fi
diff "$golden" "$tmp/out" | head -30 | sed 's/^/    /'
fail "differs from the golden file in $(diff "$golden" "$tmp/out" | grep -c '^[<>]') lines"
