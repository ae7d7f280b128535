#!/usr/bin/env bash
# make_traces.sh GOROOT SRC_DIR OUT_DIR NAME...
#
# Builds the Go programs SRC_DIR/tests/go/<NAME>/main.go with Go 1.19 (standard library
# only, GOPATH mode, no network, caches inside OUT_DIR so nothing is written to $HOME) and runs
# each one to write OUT_DIR/traces/<name>.trace. This is the FIXTURES_SETUP step of the oracle
# suite (tests/oracle/oracle.cmake); a failure here makes the program-trace comparisons not run.
set -euo pipefail

if [[ $# -lt 4 ]]; then
  echo "usage: $0 GOROOT SRC_DIR OUT_DIR NAME..." >&2
  exit 2
fi
goroot=$1 src=$2 out=$3
shift 3
names=("$@")
go=$goroot/bin/go
if [[ ! -x $go ]]; then
  echo "make_traces: FAIL: Go 1.19 not found at $go (install golang-1.19-go)" >&2
  exit 1
fi

mkdir -p "$out/bin" "$out/traces" "$out/gocache" "$out/gopath" "$out/tmp"
export GOROOT=$goroot GOCACHE=$out/gocache GOPATH=$out/gopath GOTMPDIR=$out/tmp TMPDIR=$out/tmp
export GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 HOME=$out/tmp
export PATH=$goroot/bin:$PATH

for n in "${names[@]}"; do
  if [[ ! -f $src/tests/go/$n/main.go ]]; then
    echo "make_traces: FAIL: $src/tests/go/$n/main.go does not exist" >&2
    exit 1
  fi
done

# One go build for all programs (shares the compile of the standard library).
pkgs=()
for n in "${names[@]}"; do pkgs+=("./tests/go/$n"); done
start=$(date +%s%N)
(cd "$src" && "$go" build -trimpath -o "$out/bin/" "${pkgs[@]}")
echo "make_traces: built ${#names[@]} programs in $(( ($(date +%s%N) - start) / 1000000 )) ms"

# Run them (in parallel: each is short and mostly sleeps).
pids=()
for n in "${names[@]}"; do
  rm -f "$out/traces/$n.trace"
  ( cd "$out/tmp" && exec timeout 60 "$out/bin/$n" "$out/traces/$n.trace" ) &
  pids+=($!)
done
rc=0
for i in "${!names[@]}"; do
  wait "${pids[$i]}" && prc=0 || prc=$?
  if [[ $prc -ne 0 ]]; then
    echo "make_traces: FAIL: ${names[$i]} exited $prc$([[ $prc -eq 124 ]] && echo ' (timed out)')" >&2
    rc=1
  fi
done
for n in "${names[@]}"; do
  t=$out/traces/$n.trace
  if [[ ! -s $t ]]; then
    echo "make_traces: FAIL: $t missing or empty" >&2
    rc=1
    continue
  fi
  size=$(stat -c %s "$t")
  echo "make_traces: $n.trace $size bytes"
  if (( size > 2 * 1024 * 1024 )); then
    echo "make_traces: FAIL: $t is larger than 2 MB" >&2
    rc=1
  fi
done

# Coverage, for information (timing decides some kinds, e.g. whether sysmon retakes a P during
# a short syscall): which event types the traces hold, according to Go's own -d.
if [[ $rc -eq 0 ]]; then
  gotrace=$goroot/pkg/tool/linux_amd64/trace
  for n in "${names[@]}"; do
    "$gotrace" -d "$out/traces/$n.trace" 2> /dev/null | awk '{ print $2 }' | sort | uniq -c |
      awk -v n="$n" '{ s = s " " $2 "=" $1 } END { print "make_traces: " n ":" s }'
  done
  all=$(for n in "${names[@]}"; do "$gotrace" -d "$out/traces/$n.trace" 2> /dev/null; done | awk '{ print $2 }' | sort -u)
  missing=""
  for kind in GoBlockSend GoBlockRecv GoBlockSelect GoBlockSync GoBlockCond GoBlockNet GoBlockGC \
              GoSysCall GoSysBlock GoSysExit GoInSyscall GoWaiting GoSleep GoSched GoPreempt \
              GCStart GCSTWStart GCMarkAssistStart Gomaxprocs CPUSample UserTaskCreate UserTaskEnd UserRegion UserLog; do
    grep -qx "$kind" <<< "$all" || missing+=" $kind"
  done
  echo "make_traces: event kinds not seen in this run:${missing:- none}"
fi
exit $rc
