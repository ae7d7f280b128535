#!/bin/bash
# RSS and CPU of `tracetool -http` over its loading phases, with TRACETOOL_MEMLOG's itemized
# memory per phase on its stderr:
#
#   TRACETOOL_MEMLOG=1 bash bench/web/rss_phases.sh BINARY TRACE OUTPREFIX
#
# OUTPREFIX.rss gets "seconds RSS_KiB CPU_seconds" every 0.25 s until the analyses are ready,
# then VmHWM; OUTPREFIX.stderr the server's stderr. The server is stopped afterwards.
BIN=$1; TRACE=$2; OUT=$3
start=$(date +%s.%N)
$BIN -http=127.0.0.1:0 "$TRACE" 2> $OUT.stderr &
pid=$!
: > $OUT.rss
while kill -0 $pid 2>/dev/null; do
  t=$(echo "$(date +%s.%N) - $start" | bc)
  r=$(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null)
  c=$(awk -v hz=$(getconf CLK_TCK) '{print ($14+$15)/hz}' /proc/$pid/stat 2>/dev/null)
  echo "$t $r $c" >> $OUT.rss
  if grep -q "analyses ready\|analyses failed" $OUT.stderr; then break; fi
  sleep 0.25
done
grep VmHWM /proc/$pid/status >> $OUT.rss
kill -INT $pid
wait $pid
