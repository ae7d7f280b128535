#!/usr/bin/env bash
# coverage.sh FIBERLOAD TRACETOOL OUTDIR: one fiberload run must write every event type the fiber
# runtime emits (issue 4's list), as tracetool -d prints them.
set -uo pipefail
fiberload=$1 tracetool=$2 out=$3
mkdir -p "$out"
trace=$out/fiberload.trace
# A few event types depend on timing (GoInSyscall needs the trace to start while a fiber sits in
# a syscall whose P was retaken; sysmon may be late on a loaded machine): up to three runs.
for attempt in 1 2 3; do
  "$fiberload" --duration=400ms --procs=2 --quiet --trace="$trace" || { echo "fiberload failed"; exit 1; }
  "$tracetool" -d "$trace" > "$out/d.txt" || { echo "tracetool -d failed on $trace"; exit 1; }
  # String, Stack and Frequency are records, not events: -d shows them only through their use
  # (stack=N arguments, names), so check their presence in the bytes via tracetool's parse instead.
  missing=()
  for e in GoCreate GoStart GoEnd GoStop GoSched GoPreempt GoSleep GoBlock GoBlockSend GoBlockRecv \
           GoBlockSelect GoBlockSync GoBlockCond GoBlockNet GoBlockGC GoUnblock GoSysCall GoSysBlock \
           GoSysExit GoWaiting GoInSyscall ProcStart ProcStop Gomaxprocs GCStart GCDone GCSTWStart \
           GCSTWDone GCSweepStart GCSweepDone GCMarkAssistStart GCMarkAssistDone HeapAlloc HeapGoal \
           UserTaskCreate UserTaskEnd UserRegion UserLog; do
    n=$(awk -v e="$e" '$2 == e { n++ } END { print n + 0 }' "$out/d.txt")
    printf '%-18s %d\n' "$e" "$n"
    [[ $n -gt 0 ]] || missing+=("$e")
  done
  # Strings and stacks: a user log line names its category, creation stacks name functions.
  grep -q 'UserLog .*category=tick' "$out/d.txt" || missing+=("String(category)")
  grep -Eq 'GoCreate .* stack=[1-9]' "$out/d.txt" || missing+=("Stack")
  [[ ${#missing[@]} -eq 0 ]] && break
  echo "run $attempt: missing ${missing[*]}"
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "missing event types after 3 runs: ${missing[*]} (trace kept in $trace)"
  exit 1
fi
echo "all event types present"
