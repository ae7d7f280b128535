#!/usr/bin/env bash
# summary.sh RESULTS_DIR CASES_FILE SUITE
#
# Prints one line per failed comparison and a final summary line for a suite (oracle or golden)
# from the per-test result files written by compare.sh / golden.sh (RESULTS_DIR/<case>: "PASS ...",
# "PASS-TIE ..." or "FAIL ..."). CASES_FILE lists every registered case, one per line; cases
# without a result were not run (filtered out, or their fixture failed). Runs as the suite's
# FIXTURES_CLEANUP test, i.e. after all its comparisons. Exits 1 if any comparison failed.
set -uo pipefail
results=$1 cases=$2 suite=$3
if [[ ! -s $cases ]]; then
  echo "$suite summary: FAIL: the list of registered cases $cases is missing (re-run cmake)" >&2
  exit 1
fi
total=0 pass=0 tie=0 fail=0 notrun=0
failed=()
while IFS= read -r c; do
  [[ -z $c ]] && continue
  total=$((total + 1))
  f=$results/$c
  if [[ ! -f $f ]]; then
    notrun=$((notrun + 1))
    continue
  fi
  read -r status rest < "$f"
  case $status in
    PASS) pass=$((pass + 1)) ;;
    PASS-TIE) pass=$((pass + 1)); tie=$((tie + 1)); echo "$suite tie-reordered: $c: $rest" ;;
    *) fail=$((fail + 1)); failed+=("$c: $rest") ;;
  esac
done < "$cases"
for f in "${failed[@]}"; do echo "$suite FAIL: $f"; done
ran=$((pass + fail))
ties=""
[[ $suite == oracle ]] && ties=" ($tie of them equal only up to Go's random order of equal timestamps)"
echo "$suite summary: $pass of $ran comparisons pass$ties, $fail fail, $notrun of $total registered not run"
[[ $fail -eq 0 ]]
