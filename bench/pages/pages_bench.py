#!/usr/bin/env python3
"""Every tracetool analysis vs the Go 1.19 `go tool trace -http` page that serves the same result
(issue 6 "Speed": at least 20x faster), on one trace, side by side.

Usage:
  python3 bench/pages/pages_bench.py [--trace T] [--tracetool BIN] [--goroot DIR]
                                     [--no-go [--go-startup SECONDS]]

Defaults: T = /work/main/bench/out/mixed-120mb.trace (read in place; bench/compare.sh makes it,
bench/gentrace writes one of any size), BIN = build/bin/tracetool, DIR = /usr/lib/go-1.19.

What is timed (wall clock, each once; output discarded):
  tracetool     one process per analysis, from exec to exit: reading the whole trace + analysis
                + output. Peak RSS and CPU time (user + sys) from wait4().
  go (startup)  `go tool trace -http=127.0.0.1:0 T` until it prints "listening": Go parses the
                whole trace and splits it once for all pages.
  go (page)     the first fetch of the page on that warm server (Go computes a page's analysis
                on its first request; /usertasks and /userregions share one annotation pass, so
                whichever comes second is cheap: /userregions is fetched first here).
A page's cost for a user who opens it from a fresh `go tool trace` is startup + page; the ratio
column uses that, and the "warm" column compares with the page alone (the best case for Go).

  tracetool -goroutines      /goroutines
  tracetool -regions         /userregions
  tracetool -tasks           /usertasks
  tracetool -mmu             /mmuPlot?flags=stw|background|assist (the MMU page's default)
  tracetool -pprof=net       /io?raw=1        (raw=1: the profile itself, not Go's SVG rendering)
  tracetool -pprof=sync      /block?raw=1
  tracetool -pprof=syscall   /syscall?raw=1
  tracetool -pprof=sched     /sched?raw=1
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "analysis"))
from gotrace_http import GoTraceServer  # noqa: E402

ROWS = [
    (["-goroutines"], "/goroutines", {}),
    (["-regions"], "/userregions", {}),
    (["-tasks"], "/usertasks", {}),
    (["-mmu"], "/mmuPlot", {"flags": "stw|background|assist"}),
    (["-pprof=net"], "/io", {"raw": "1"}),
    (["-pprof=sync"], "/block", {"raw": "1"}),
    (["-pprof=syscall"], "/syscall", {"raw": "1"}),
    (["-pprof=sched"], "/sched", {"raw": "1"}),
]


def run_tracetool(binary, args, trace):
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        p = subprocess.Popen([binary, *args, trace], stdout=devnull, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"tracetool {' '.join(args)} failed: {p.stderr.read().decode()[:300]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trace", default="/work/main/bench/out/mixed-120mb.trace")
    ap.add_argument("--tracetool", default=os.path.join(ROOT, "build", "bin", "tracetool"))
    ap.add_argument("--goroot", default="/usr/lib/go-1.19")
    ap.add_argument("--no-go", action="store_true")
    ap.add_argument("--go-startup", type=float,
                    help="with --no-go: a Go startup time (s) measured before on the same trace, "
                         "to print ratios against it")
    ap.add_argument("--go-timeout", type=float, default=1800,
                    help="seconds to wait for go tool trace to parse the trace (default 1800)")
    a = ap.parse_args()
    size = os.path.getsize(a.trace) / 1e6
    print(f"trace: {a.trace} ({size:.1f} MB); cores: {os.cpu_count()}; load before: {loadavg()}")

    tt = {}
    for args, _, _ in ROWS:
        tt[args[0]] = run_tracetool(a.tracetool, args, a.trace)
        # CPU (user + sys) beside wall: on a shared machine the wall time includes waiting for a
        # core, the CPU time does not.
        print(f"  tracetool {args[0]:<16} {tt[args[0]][0]:8.2f} s  {tt[args[0]][1]:7.0f} MiB"
              f"  cpu {tt[args[0]][2]:6.2f} s", flush=True)

    go, startup = {}, None
    if not a.no_go:
        t0 = time.perf_counter()
        with GoTraceServer(a.goroot, a.trace, startup_timeout=a.go_timeout) as srv:
            startup = time.perf_counter() - t0
            print(f"  go tool trace startup (parse + split) {startup:8.2f} s", flush=True)
            for args, page, query in ROWS:
                t1 = time.perf_counter()
                body = srv.get(page, attempts=3, timeout=a.go_timeout, binary=True, **query)
                go[args[0]] = time.perf_counter() - t1
                print(f"  go {page:<14} {go[args[0]]:8.2f} s  ({len(body)} bytes)", flush=True)
            try:
                with open(f"/proc/{srv.proc.pid}/status") as f:
                    hwm = next((l.split()[1] for l in f if l.startswith("VmHWM")), "?")
                print(f"  go tool trace peak RSS: {int(hwm) / 1024:.0f} MiB")
            except (OSError, ValueError):
                pass

    print(f"\nload after: {loadavg()}")
    print(f"{'analysis':<18}{'go page':>22}{'tracetool':>12}{'ratio':>9}{'warm ratio':>12}"
          f"{'target':>8}")
    for args, page, _ in ROWS:
        k = args[0]
        t = tt[k][0]
        if k in go:
            total = startup + go[k]
            print(f"{k:<18}{total:>10.2f} s ({go[k]:6.2f} s){t:>10.2f} s{total / t:>8.1f}x"
                  f"{go[k] / t:>11.1f}x{'>=20x':>8}")
        else:
            if a.go_startup:
                print(f"{k:<18}{a.go_startup:>10.2f} s (+ page){t:>10.2f} s"
                      f"{a.go_startup / t:>8.1f}x{'-':>12}{'>=20x':>8}")
            else:
                print(f"{k:<18}{'-':>22}{t:>10.2f} s")


if __name__ == "__main__":
    main()
