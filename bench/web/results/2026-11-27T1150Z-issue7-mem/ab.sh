#!/bin/bash
# A/B pan/zoom: base and final servers loaded at once, measured one after the other.
cd /work/wt/webmem2
for b in base final; do
  /tmp/wm2/tt.$b -http=127.0.0.1:0 /work/main/bench/out/mixed-120mb.trace 2> /tmp/wm2/ab-$b.stderr &
  echo $! > /tmp/wm2/ab-$b.pid
done
for b in base final; do
  until grep -q "analyses ready\|analyses failed" /tmp/wm2/ab-$b.stderr; do sleep 1; done
done
for b in final base final base; do
  URL=$(grep -o 'http://[^ ]*' /tmp/wm2/ab-$b.stderr)
  meta=$(curl -s "${URL}api/overview")
  echo "$b $(uptime)" >> /tmp/wm2/ab.log
  node bench/web/measure.mjs "$URL" "$(echo "$meta" | python3 -c 'import json,sys; print(json.load(sys.stdin)["duration_ns"])')" "$(echo "$meta" | python3 -c 'import json,sys; print(json.load(sys.stdin)["goroutines"])')" > /tmp/wm2/ab-$b-$(date +%s).json
  grep -E "VmHWM|VmRSS|VmSwap" /proc/$(cat /tmp/wm2/ab-$b.pid)/status >> /tmp/wm2/ab.log
  awk '{print "majflt", $12}' /proc/$(cat /tmp/wm2/ab-$b.pid)/stat >> /tmp/wm2/ab.log
done
for b in base final; do kill -INT $(cat /tmp/wm2/ab-$b.pid); done
