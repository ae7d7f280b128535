#!/usr/bin/env bash
# CLI behaviour of tracetool: flag spellings, exit codes, stdin/compressed input, -o, broken pipes.
# Usage: cli_test.sh <tracetool binary>
set -u
TT="$1"
T=/usr/lib/go-1.19/src/internal/trace/testdata/http_1_19_good
BIG=/usr/lib/go-1.19/src/internal/trace/testdata/stress_1_19_good
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
pass=0
fail=0
check() {  # check NAME CONDITION-COMMAND...
  local name="$1"
  shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}
rc() { "$@" > "$W/out" 2> "$W/err"; echo $?; }

[ -f "$T" ] || { echo "FAIL: Go 1.19's canned traces are missing (apt-get install golang-1.19-src)"; exit 1; }

check "-h exits 0" test "$(rc "$TT" -h)" = 0
check "-h shows examples" grep -q "tracetool -pprof=sched trace.out" "$W/out"
check "-help works" test "$(rc "$TT" -help)" = 0
check "--help works" test "$(rc "$TT" --help)" = 0
check "unknown pprof type exits 2" test "$(rc "$TT" -pprof=bogus "$T")" = 2
check "unknown pprof type says so" grep -q "unknown pprof type bogus" "$W/err"
check "unknown flag exits 2" test "$(rc "$TT" -frobnicate "$T")" = 2
# -http serves until interrupted (tests/web covers it); here only its usage errors.
check "-http without a port exits 2" test "$(rc "$TT" -http=localhost "$T")" = 2
check "-http without a port says what it wants" grep -q "want \[host\]:port" "$W/err"
check "-http with a bad port exits 2" test "$(rc "$TT" -http=:99999 "$T")" = 2
check "-http on a missing file exits 2" test "$(rc "$TT" -http=127.0.0.1:0 /nonexistent/trace.out)" = 2
check "nothing to do exits 2" test "$(rc "$TT" "$T")" = 2
check "missing file exits 2" test "$(rc "$TT" -d /nonexistent/trace.out)" = 2
check "missing file names the file" grep -q "/nonexistent/trace.out" "$W/err"
check "directory exits 2" test "$(rc "$TT" -d /)" = 2
head -c 5003 "$T" > "$W/cut.trace"
check "truncated trace exits 1" test "$(rc "$TT" -d "$W/cut.trace")" = 1
check "error is one line" test "$(wc -l < "$W/err")" = 1
check "error names file and offset" grep -q "cut.trace: offset 0x" "$W/err"
printf 'hello world, this is not a trace' > "$W/junk"
check "not a trace exits 1" test "$(rc "$TT" -d "$W/junk")" = 1
printf 'go 1.23 trace\0\0\0xyz' > "$W/new.trace"
check "Go 1.22+ exits 1" test "$(rc "$TT" -d "$W/new.trace")" = 1
check "Go 1.22+ names the version" grep -q "Go 1.23" "$W/err"

"$TT" -pprof=sched "$T" > "$W/a.prof"
"$TT" --pprof=sched "$T" > "$W/b.prof"
"$TT" -pprof sched "$T" > "$W/c.prof"
check "-pprof=x, --pprof=x, -pprof x agree" sh -c "cmp -s '$W/a.prof' '$W/b.prof' && cmp -s '$W/a.prof' '$W/c.prof'"
check "-o writes the file" test "$(rc "$TT" -pprof=sched -o "$W/o.prof" "$T")" = 0
check "-o file equals stdout" cmp -s "$W/a.prof" "$W/o.prof"
check "-o leaves no temp files" test "$(ls "$W" | grep -c tmp-)" = 0
# -o onto something that is not a regular file writes into it, never renames over it (that once
# turned /dev/null into a regular file).
mkfifo "$W/fifo"
cat "$W/fifo" > "$W/from_fifo" &
check "-o to a FIFO exits 0" test "$(rc "$TT" -pprof=sched -o "$W/fifo" "$T")" = 0
wait
check "-o to a FIFO keeps the FIFO" test -p "$W/fifo"
check "-o to a FIFO writes through it" cmp -s "$W/a.prof" "$W/from_fifo"
echo old > "$W/target"
ln -s target "$W/link"
check "-o to a symlink exits 0" test "$(rc "$TT" -pprof=sched -o "$W/link" "$T")" = 0
check "-o to a symlink keeps the link" test -L "$W/link"
check "-o to a symlink writes its target" cmp -s "$W/a.prof" "$W/target"
check "-o to /dev/null exits 0" test "$(rc "$TT" -pprof=sched -o /dev/null "$T")" = 0
check "-o to /dev/null leaves it a device" test -c /dev/null
check "-o to a directory exits 2" test "$(rc "$TT" -pprof=sched -o "$W" "$T")" = 2
check "-o to a directory says so" grep -q "is a directory" "$W/err"
check "-o to an unwritable dir exits 2" test "$(rc "$TT" -pprof=sched -o /nonexistent/x.prof "$T")" = 2
check "failed run leaves no output file" sh -c "! '$TT' -d -o '$W/never.txt' '$W/cut.trace' 2>/dev/null && test ! -e '$W/never.txt'"

"$TT" -d "$T" > "$W/d.txt"
check "stdin with -" sh -c "cat '$T' | '$TT' -d - | cmp -s - '$W/d.txt'"
check "stdin without a file" sh -c "cat '$T' | '$TT' -d | cmp -s - '$W/d.txt'"
check "zstd on stdin" sh -c "zstd -q -c '$T' | '$TT' -d - | cmp -s - '$W/d.txt'"
check "gzip on stdin" sh -c "gzip -c '$T' | '$TT' -d - | cmp -s - '$W/d.txt'"
zstd -q -c "$T" > "$W/t.zst"
check "zstd file" sh -c "'$TT' -d '$W/t.zst' | cmp -s - '$W/d.txt'"
check "truncated zstd exits 1" sh -c "head -c 3000 '$W/t.zst' | '$TT' -d - > /dev/null 2>&1; test \$? = 1"
check "go tool trace's [binary] argument is accepted" sh -c "'$TT' -d /bin/true '$T' | cmp -s - '$W/d.txt'"

"$TT" -d "$BIG" 2> "$W/pipe.err" | head -1 > /dev/null
st=${PIPESTATUS[0]}
check "closed pipe exits 0" test "$st" = 0
check "closed pipe is quiet" test ! -s "$W/pipe.err"
check "-debug prints statistics" sh -c "'$TT' -debug -pprof=net '$T' 2>&1 >/dev/null | grep -q 'events'"

check "-goroutines before the trace keeps the trace" test "$(rc "$TT" -goroutines "$T")" = 0
check "-goroutines prints the group table" grep -q "START FUNCTION" "$W/out"
check "--goroutines works too" test "$(rc "$TT" --goroutines "$T")" = 0
check "-goroutines=FUNC selects a group" test "$(rc "$TT" -goroutines=runtime.main "$T")" = 0
check "-goroutines=FUNC prints goroutines" grep -q "^GOROUTINE" "$W/out"
check "-goroutines -json is JSON" sh -c "'$TT' -goroutines -json '$T' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"schema\"]==\"tracetool.goroutine_groups.v1\" and d[\"groups\"]'"
check "unknown group exits 2" test "$(rc "$TT" -goroutines=no.such.func "$T")" = 2
check "-sort=sched works" test "$(rc "$TT" -goroutines -sort=sched "$T")" = 0
check "unknown -sort exits 2" test "$(rc "$TT" -goroutines -sort=bogus "$T")" = 2
check "two verbs exit 2" test "$(rc "$TT" -d -goroutines "$T")" = 2
U=/usr/lib/go-1.19/src/internal/trace/testdata/user_task_region_1_19_good
check "-tasks lists task types" sh -c "'$TT' -tasks '$U' | grep -q '^task0 '"
check "-tasks=all lists tasks" sh -c "'$TT' -tasks=all '$U' | grep -q 'task0'"
check "-regions lists region types" sh -c "'$TT' -regions '$U' | grep -q '^region0 '"
check "-regions=TYPE lists instances" sh -c "'$TT' -regions=region1 '$U' | grep -q '^region1 '"
check "-logs lists logs" sh -c "'$TT' -logs '$U' | grep -q '0123456789abcdef'"
check "-logs=TEXT filters" sh -c "! '$TT' -logs=nomatch '$U' | grep -q '0123456789abcdef'"
check "-tasks -json has its schema" sh -c "'$TT' -tasks -json '$U' | grep -q tracetool.task_types.v1"
check "-regions -json has its schema" sh -c "'$TT' -regions -json '$U' | grep -q tracetool.region_types.v1"
check "-mmu prints the curve" sh -c "'$TT' -mmu '$BIG' | grep -q '^WINDOW'"
check "-mmu=FLAGS works" test "$(rc "$TT" -mmu=perProc,stw,sweep "$BIG")" = 0
check "-mmu-window lists worst windows" sh -c "'$TT' -mmu -mmu-window=1ms '$BIG' | grep -q 'Worst 1ms windows'"
check "-mmu -json has its schema" sh -c "'$TT' -mmu -json '$BIG' | grep -q tracetool.mmu.v1"
check "unknown -mmu flag exits 2" test "$(rc "$TT" -mmu=bogus "$BIG")" = 2
check "bad -mmu-window exits 2" test "$(rc "$TT" -mmu -mmu-window=soon "$BIG")" = 2
check "-schedlat prints groups" sh -c "'$TT' -schedlat '$BIG' | grep -q '(all goroutines)'"
check "-schedlat -json has its schema" sh -c "'$TT' -schedlat -json '$BIG' | grep -q tracetool.sched_latency.v1"
check "-pprof=schedlat is a profile" sh -c "'$TT' -pprof=schedlat '$BIG' | gzip -t"
check "-logs -json has its schema" sh -c "'$TT' -logs -json '$U' | grep -q tracetool.logs.v1"

echo "cli_test: $pass passed, $fail failed"
[ "$fail" = 0 ]
