#!/bin/bash
# snap.sh BIN OUTDIR
BIN=$1; OUT=$2; mkdir -p $OUT
files=$(ls /usr/lib/go-1.19/src/internal/trace/testdata/* /work/shared/testdata/go1.21/* ; find /work/wt/parse3/testdata -type f | grep -v '\.go$\|\.md$\|\.txt$\|\.json$' ; echo /tmp/parse3/t10.trace /tmp/parse3/t2.trace)
i=0
for f in $files; do
  i=$((i+1))
  n=$(echo $f | tr '/' '_')
  for m in d net sync syscall sched; do
    if [ $m = d ]; then a="-d"; else a="-pprof=$m"; fi
    $BIN $a $f > $OUT/$n.$m.out 2> $OUT/$n.$m.err; echo $? > $OUT/$n.$m.rc
  done
done
echo files=$i
